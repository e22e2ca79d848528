use crate::http::{resource, BearerAuth};
use actix_web::{web, HttpResponse};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "alice supervisor admin API", description = "Lists, starts, stops, restarts and reloads the bots of one alice process. Every route needs the admin token."),
    paths(
        health,
        openapi_json,
        metrics,
        super::bots::list,
        super::bots::get,
        super::bots::start,
        super::bots::stop,
        super::bots::restart,
        super::bots::token,
        super::bots::reload,
        super::bots::probes,
        super::conversations::list,
        super::conversations::messages,
        super::conversations::say,
        super::conversations::inbox,
        super::headless::start,
        super::headless::list,
        super::headless::get,
        super::headless::events,
        super::headless::cancel,
        crate::supervisor::console::assets::index,
        crate::supervisor::console::assets::script,
        crate::supervisor::console::assets::style,
        crate::supervisor::console::login::login,
        crate::supervisor::console::login::logout,
        crate::supervisor::console::login::session,
        crate::supervisor::console::proxy::bot_config,
        crate::supervisor::console::proxy::history,
        crate::supervisor::console::proxy::message_file,
        crate::supervisor::console::proxy::runtime_get,
        crate::supervisor::console::proxy::runtime_post,
        crate::supervisor::console::proxy::runtime_patch,
        crate::supervisor::console::proxy::runtime_delete,
        super::ready::ready,
        super::archive::export,
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
)]
pub struct AdminDoc;

/// Liveness probe; needs no token.
#[utoipa::path(get, path = "/healthz", operation_id = "health", tag = "meta", security(()),
    responses((status = 200, description = "The supervisor is running", body = crate::http::Health)))]
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", operation_id = "openApiDocument", tag = "meta", security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document")))]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(crate::http::served_openapi(AdminDoc::openapi()))
}

/// The supervisor's series (bots up, restarts, store flushes) and every
/// running bot's, each labelled `bot`, in the Prometheus text format (0.0.4).
#[utoipa::path(get, path = "/metrics", operation_id = "getMetrics", tag = "meta",
    responses(
        (status = 200, description = "Prometheus text exposition (version 0.0.4)", body = String, content_type = "text/plain"),
        (status = 401, description = "Missing or invalid token", body = crate::error::ErrorBody),
        (status = 429, description = "Rate limited", body = crate::error::ErrorBody)))]
pub async fn metrics(sup: web::Data<super::Supervisor>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(crate::metrics::CONTENT_TYPE)
        .body(sup.metrics().await)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/healthz").get(health))
        .service(resource("/openapi.json").get(openapi_json))
        .service(resource("/metrics").get(metrics));
}
