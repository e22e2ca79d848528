//! The local connector's conversations, for admins and `alice chat`.

use crate::connector::inbound::InboundMessage;
use crate::connector::local::{new_message_id, ConversationSummary, StoredMessage};
use crate::error::{Error, ErrorBody, Result};
use crate::http::resource;
use crate::scope::{ChatType, ReceiveIdType};
use crate::supervisor::Supervisor;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, IntoParams)]
pub struct Page {
    /// Default 50, at most 200.
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

/// The bot's local conversations, most recent first.
#[utoipa::path(get, path = "/api/bots/{id}/conversations", operation_id = "listConversations", tag = "conversations",
    params(("id" = String, Path, description = "Bot id")),
    responses((status = 200, body = [ConversationSummary]), (status = 404, body = ErrorBody),
        (status = 409, description = "The bot does not use the local connector", body = ErrorBody)))]
pub async fn list(sup: web::Data<Supervisor>, id: web::Path<String>) -> Result<HttpResponse> {
    let local = sup.local_conversations(&id).await?;
    Ok(HttpResponse::Ok().json(local.conversations().await?))
}

/// One conversation's messages, oldest first; `X-Total-Count` has the total.
#[utoipa::path(get, path = "/api/bots/{id}/conversations/{receive_id}/messages", operation_id = "listMessages", tag = "conversations",
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

/// Inbound messages not answered yet (queued or being answered), oldest
/// first: how `alice chat` knows a message will get no reply.
#[utoipa::path(get, path = "/api/bots/{id}/inbox", operation_id = "listUnanswered", tag = "conversations",
    params(("id" = String, Path, description = "Bot id")),
    responses((status = 200, body = [String]), (status = 404, body = ErrorBody)))]
pub async fn inbox(sup: web::Data<Supervisor>, id: web::Path<String>) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(sup.unanswered(&id).await?))
}

/// A user's message to a local conversation.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Say {
    /// Not blank.
    #[schema(pattern = r"\S")]
    pub text: String,
    /// `p2p` (default) or `group`.
    #[schema(pattern = "^(p2p|group)$")]
    pub chat_type: Option<String>,
    /// Whether the message @mentions the bot (matters in groups).
    #[serde(default)]
    pub mentions_bot: bool,
    /// The user's open id; default `ou_local_<receive_id>`.
    pub sender_open_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Queued {
    pub message_id: String,
    pub status: &'static str,
}

/// Says something to the bot on a local conversation; the bot answers in
/// that conversation (202: queued).
#[utoipa::path(post, path = "/api/bots/{id}/conversations/{receive_id}/messages", operation_id = "sayInConversation", tag = "conversations",
    params(("id" = String, Path, description = "Bot id"),
        ("receive_id" = String, Path, description = "Conversation (receive id)")),
    request_body = Say,
    responses((status = 202, body = Queued), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The bot does not use the local connector", body = ErrorBody)))]
pub async fn say(
    sup: web::Data<Supervisor>,
    path: web::Path<(String, String)>,
    body: crate::http::JsonObject<Say>,
) -> Result<HttpResponse> {
    let (id, receive_id) = path.into_inner();
    let message = body.into_inner().into_inbound(receive_id)?;
    let stored = sup.local_say(&id, message).await?;
    Ok(HttpResponse::Accepted().json(Queued {
        message_id: stored.message_id,
        status: "queued",
    }))
}

impl Say {
    fn into_inbound(self, receive_id: String) -> Result<InboundMessage> {
        if self.text.trim().is_empty() {
            return Err(Error::bad_request("`text` must not be empty"));
        }
        let chat_type = match self.chat_type.as_deref() {
            None => ChatType::P2p,
            Some(kind) => kind
                .parse()
                .map_err(|()| Error::bad_request("`chat_type` must be `p2p` or `group`"))?,
        };
        Ok(InboundMessage {
            message_id: new_message_id(),
            receive_id_type: ReceiveIdType::ChatId,
            chat_type,
            // Like a Feishu p2p chat: one user per local conversation.
            sender_open_id: Some(
                self.sender_open_id
                    .unwrap_or_else(|| format!("ou_local_{receive_id}")),
            ),
            sender_user_id: None,
            receive_id,
            text: self.text,
            mentions_bot: self.mentions_bot,
        })
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/bots/{id}/conversations").get(list))
        .service(resource("/api/bots/{id}/inbox").get(inbox))
        .service(
            resource("/api/bots/{id}/conversations/{receive_id}/messages")
                .get(messages)
                .post(say),
        );
}
