//! The local connector's conversations, for admins and `alice chat`.

use crate::connector::local::{ConversationSummary, StoredMessage};
use crate::error::{ErrorBody, Result};
use crate::http::resource;
use crate::supervisor::Supervisor;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Deserialize, IntoParams)]
pub struct Page {
    /// Default 50, at most 200.
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

/// The bot's local conversations, most recent first.
#[utoipa::path(get, path = "/api/bots/{id}/conversations", tag = "conversations",
    params(("id" = String, Path, description = "Bot id")),
    responses((status = 200, body = [ConversationSummary]), (status = 404, body = ErrorBody),
        (status = 409, description = "The bot does not use the local connector", body = ErrorBody)))]
pub async fn list(sup: web::Data<Supervisor>, id: web::Path<String>) -> Result<HttpResponse> {
    let local = sup.local_conversations(&id).await?;
    Ok(HttpResponse::Ok().json(local.conversations()?))
}

/// One conversation's messages, oldest first; `X-Total-Count` has the total.
#[utoipa::path(get, path = "/api/bots/{id}/conversations/{receive_id}/messages", tag = "conversations",
    params(("id" = String, Path, description = "Bot id"),
        ("receive_id" = String, Path, description = "Conversation (receive id)"), Page),
    responses((status = 200, body = [StoredMessage]), (status = 404, body = ErrorBody)))]
pub async fn messages(
    sup: web::Data<Supervisor>,
    path: web::Path<(String, String)>,
    page: web::Query<Page>,
) -> Result<HttpResponse> {
    let (id, receive_id) = path.into_inner();
    let local = sup.local_conversations(&id).await?;
    let limit = page.limit.unwrap_or(50).min(200);
    let (items, total) = local.messages(&receive_id, page.offset.unwrap_or(0), limit)?;
    Ok(HttpResponse::Ok()
        .insert_header(("X-Total-Count", total.to_string()))
        .json(items))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/bots/{id}/conversations").route(web::get().to(list)))
        .service(
            resource("/api/bots/{id}/conversations/{receive_id}/messages")
                .route(web::get().to(messages)),
        );
}
