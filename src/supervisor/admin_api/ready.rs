//! `/readyz`: the readiness probe of an orchestrator (Kubernetes), open like
//! `/healthz` because probes carry no token.

use crate::http::resource;
use crate::supervisor::Supervisor;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// `ready`, or `starting` while some bot has not started.
    #[schema(example = "ready")]
    pub status: &'static str,
    /// Bots meant to run that do not run yet (starting or failed).
    pub waiting: Vec<String>,
}

/// Ready once every bot this supervisor runs has started (a bot stopped on
/// purpose does not count); needs no token.
#[utoipa::path(get, path = "/readyz", operation_id = "ready", tag = "meta", security(()),
    responses(
        (status = 200, description = "Every bot of this supervisor has started", body = Readiness),
        (status = 503, description = "Some bot is starting or failed", body = Readiness)))]
pub async fn ready(sup: web::Data<Supervisor>) -> HttpResponse {
    let waiting = sup.not_started().await;
    if waiting.is_empty() {
        HttpResponse::Ok().json(Readiness {
            status: "ready",
            waiting,
        })
    } else {
        HttpResponse::ServiceUnavailable().json(Readiness {
            status: "starting",
            waiting,
        })
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/readyz").get(ready));
}
