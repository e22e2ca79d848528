use crate::http::resource;
pub use crate::http::Health;
use actix_web::{web, HttpResponse};

/// Liveness probe; needs no token.
#[utoipa::path(get, path = "/healthz", operation_id = "health", tag = "health", security(()),
    responses((status = 200, description = "The server is running", body = Health)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/healthz").get(healthz));
}
