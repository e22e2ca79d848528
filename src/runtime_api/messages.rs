//! `POST /api/v1/messages/image` and `/file`: send an upload, or what the
//! platform already holds by its key, to the conversation of the
//! `X-Alice-*` headers (no plain-text route, by design).

use super::multipart::read_form;
use crate::bot::{BotState, Permission};
use crate::connector::Sent;
use crate::error::{ErrorBody, Result};
use crate::http::resource;
use crate::messages;
use crate::runtime_api::extract::ConversationHeaders;
use crate::scope::Scope;
use actix_web::{web, HttpRequest, HttpResponse};
use utoipa::ToSchema;

/// The multipart fields of an image message: `image` or `image_key`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ImageUpload {
    /// PNG, JPEG, GIF, WebP, BMP, TIFF or ICO (checked by content).
    #[schema(value_type = Option<String>, format = Binary)]
    image: Option<Vec<u8>>,
    /// Instead of `image`: an image the platform already holds (an
    /// `image_key` from an earlier answer, or Feishu's own).
    #[schema(example = "img_v3_xxxxxxxxxxxxx")]
    image_key: Option<String>,
    /// Sent after the image as a text message.
    caption: Option<String>,
}

/// The multipart fields of a file message: `file` or `file_key`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct FileUpload {
    /// Any non-empty file.
    #[schema(value_type = Option<String>, format = Binary)]
    file: Option<Vec<u8>>,
    /// Instead of `file`: a file the platform already holds (a `file_key`
    /// from an earlier answer, or Feishu's own).
    #[schema(example = "file_v3_xxxxxxxxxxxxx")]
    file_key: Option<String>,
    /// Display name; default the uploaded file's name (not with `file_key`).
    filename: Option<String>,
    /// Sent after the file as a text message.
    caption: Option<String>,
}

/// Sends an image to the current conversation (a reply when
/// `X-Alice-Source-Message-Id` is set).
#[utoipa::path(post, path = "/api/v1/messages/image", operation_id = "sendImage", tag = "messages",
    params(ConversationHeaders,
        ("X-Alice-Source-Message-Id" = Option<String>, Header, description = "Reply to this message")),
    request_body(content = ImageUpload, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "Sent", body = Sent),
        (status = 400, description = "Missing, empty or non-image part; both `image` and `image_key`; no such key (local connector); not multipart; no receive id", body = ErrorBody),
        (status = 403, description = "permissions.runtime_message is disabled", body = ErrorBody),
        (status = 413, description = "The body exceeds limits.body_bytes", body = ErrorBody),
        (status = 501, description = "The bot's platform cannot send this at all (unsupported_by_platform)", body = ErrorBody),
        (status = 502, description = "The platform refused (its code and message)", body = ErrorBody),
        (status = 504, description = "The platform did not answer in time", body = ErrorBody)))]
pub async fn send_image(
    state: web::Data<BotState>,
    scope: Scope,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse> {
    state.require(Permission::Message)?;
    let to = messages::destination(&scope)?;
    let form = read_form(&req, body, state.config().limits.body_bytes).await?;
    let sent = messages::send_image(state.messenger().as_ref(), &to, form).await?;
    Ok(HttpResponse::Ok().json(sent))
}

/// Sends a file to the current conversation (a reply when
/// `X-Alice-Source-Message-Id` is set).
#[utoipa::path(post, path = "/api/v1/messages/file", operation_id = "sendFile", tag = "messages",
    params(ConversationHeaders,
        ("X-Alice-Source-Message-Id" = Option<String>, Header, description = "Reply to this message")),
    request_body(content = FileUpload, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "Sent", body = Sent),
        (status = 400, description = "Missing or empty part; both `file` and `file_key`; no such key (local connector); not multipart; no receive id", body = ErrorBody),
        (status = 403, description = "permissions.runtime_message is disabled", body = ErrorBody),
        (status = 413, description = "The body exceeds limits.body_bytes", body = ErrorBody),
        (status = 501, description = "The bot's platform cannot send this at all (unsupported_by_platform)", body = ErrorBody),
        (status = 502, description = "The platform refused (its code and message)", body = ErrorBody),
        (status = 504, description = "The platform did not answer in time", body = ErrorBody)))]
pub async fn send_file(
    state: web::Data<BotState>,
    scope: Scope,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse> {
    state.require(Permission::Message)?;
    let to = messages::destination(&scope)?;
    let form = read_form(&req, body, state.config().limits.body_bytes).await?;
    let sent = messages::send_file(state.messenger().as_ref(), &to, form).await?;
    Ok(HttpResponse::Ok().json(sent))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/v1/messages/image").post(send_image))
        .service(resource("/api/v1/messages/file").post(send_file));
}
