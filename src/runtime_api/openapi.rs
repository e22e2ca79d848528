//! The Runtime API's OpenAPI 3.1 document, generated from the handlers'
//! annotations and served without a token.

use crate::http::{resource, BearerAuth};
use actix_web::{web, HttpResponse};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "alice Runtime API", description = "The local API of one bot: skills call it through ALICE_RUNTIME_API_BASE_URL with ALICE_RUNTIME_API_TOKEN."),
    paths(
        super::health::healthz,
        super::info::bot_info,
        super::messages::send_image,
        super::messages::send_file,
        super::goal::get,
        super::goal::create,
        super::goal::pause,
        super::goal::resume,
        super::goal::complete,
        super::goal::delete,
        super::goal::list,
        super::goal::delay,
        super::runs::create,
        super::runs::list,
        super::runs::get,
        super::runs::events,
        super::runs::cancel,
        super::skills::list,
        super::automation::list,
        super::automation::create,
        super::automation::get,
        super::automation::update,
        super::automation::delete,
        super::automation::runs,
        super::metrics::metrics,
        super::probes::internal,
        super::tools::list,
        super::tools::invoke,
        openapi_json,
    ),
    components(schemas(super::extract::ReceiveIdTypeHeader)),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
)]
pub struct ApiDoc;

/// This document.
#[utoipa::path(get, path = "/openapi.json", operation_id = "openApiDocument", tag = "meta", security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document")))]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(crate::http::served_openapi(ApiDoc::openapi()))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/openapi.json").get(openapi_json));
}
