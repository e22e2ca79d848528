//! `GET /metrics`: this bot's Prometheus series, for the bot's main token
//! only (a run's token is limited to its conversation: 403).

use super::extract::main_token_only;
use crate::bot::BotState;
use crate::error::{Error, ErrorBody};
use crate::http::resource;
use actix_web::{web, HttpRequest, HttpResponse};

/// This bot's metrics in the Prometheus text format (0.0.4).
#[utoipa::path(get, path = "/metrics", operation_id = "getMetrics", tag = "meta",
    responses(
        (status = 200, description = "Prometheus text exposition (version 0.0.4)", body = String, content_type = "text/plain"),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "A run's token: metrics need the bot's main token", body = ErrorBody),
        (status = 429, description = "Rate limited", body = ErrorBody)))]
pub async fn metrics(req: HttpRequest, state: web::Data<BotState>) -> Result<HttpResponse, Error> {
    main_token_only(&req, "metrics")?;
    Ok(HttpResponse::Ok()
        .content_type(crate::metrics::CONTENT_TYPE)
        .body(state.metrics().encode()))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/metrics").get(metrics));
}
