//! `GET /api/bots/{id}/export`: a bot's archive while alice runs (the CLI
//! reads the data folder itself when alice is stopped).

use crate::error::{ErrorBody, Result};
use crate::http::resource;
use crate::supervisor::Supervisor;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Deserialize, IntoParams)]
pub struct ExportQuery {
    /// Include the agent's workspace folder (default false).
    #[serde(default)]
    pub with_workspace: bool,
}

/// The bot's trees, files and token as one tar with a manifest; a running
/// bot is stopped for the copy and started again after it.
#[utoipa::path(get, path = "/api/bots/{id}/export", operation_id = "exportBot", tag = "bots",
    params(("id" = String, Path, description = "Bot id"), ExportQuery),
    responses(
        (status = 200, description = "The archive (tar)", content_type = "application/x-tar", body = Vec<u8>),
        (status = 404, body = ErrorBody)))]
pub async fn export(
    sup: web::Data<Supervisor>,
    id: web::Path<String>,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse> {
    let archive = sup.export(&id, query.with_workspace).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/x-tar")
        .body(archive))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/bots/{id}/export").get(export));
}
