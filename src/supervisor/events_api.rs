//! The events listener (`supervisor.events_addr`, off unless set): platform
//! callbacks for every bot, `POST /webhooks/feishu/{bot_id}` and
//! `/webhooks/telegram/{bot_id}`, and the OneBot reverse WebSocket
//! `GET /onebot/{bot_id}`. No Runtime API token: Feishu proves itself with
//! the signature and Verification Token, Telegram with its secret token,
//! a OneBot implementation with the bot's `access_token`.

use super::callback::{connector_for, header, Route};
use super::Supervisor;
use super::SupervisorError;
use crate::bot::BotHandle;
use crate::connector::feishu_events::webhook::{self, Callback};
use crate::connector::onebot;
use crate::error::{ErrorBody, Result};
use crate::http::server::RunningServer;
use crate::http::{self, resource};
use actix_web::{web, HttpRequest, HttpResponse, HttpServer};
use std::net::SocketAddr;
use utoipa::OpenApi;

/// Feishu's events are small; this bounds what an unsigned caller can send.
const BODY_LIMIT: usize = 1024 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "alice events listener",
        description = "Platform callbacks (Feishu and Telegram webhooks) for the bots of one alice process. Authenticated by the platform's signature, Verification Token or secret token, not by a bearer token."
    ),
    paths(feishu, telegram, onebot, health, openapi_json)
)]
pub struct EventsDoc;

pub struct EventsServer(RunningServer);

impl EventsServer {
    pub fn start(supervisor: Supervisor, addr: SocketAddr) -> std::io::Result<Self> {
        let listener = http::server::bind(addr, "supervisor.events_addr")?;
        let addr = listener.local_addr()?;
        let data = web::Data::new(supervisor);
        let server = HttpServer::new(move || {
            let data = data.clone();
            http::open_app("events", BODY_LIMIT, move |cfg| {
                cfg.app_data(data).configure(configure);
            })
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(5)
        .listen(listener)?
        .run();
        Ok(Self(RunningServer::spawn(addr, server)))
    }

    pub fn addr(&self) -> SocketAddr {
        self.0.addr.expect("spawned on its TCP address")
    }

    pub async fn stop(self) {
        self.0.stop().await;
    }
}

fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/webhooks/feishu/{bot_id}").post(feishu))
        .service(resource("/webhooks/telegram/{bot_id}").post(telegram))
        .service(resource("/onebot/{bot_id}").get(onebot))
        .service(resource("/healthz").get(health))
        .service(resource("/openapi.json").get(openapi_json));
}

/// A Feishu event callback for one bot: answers the `url_verification`
/// handshake, checks `X-Lark-Signature` and the Verification Token, decrypts
/// `encrypt` bodies, and acknowledges `im.message.receive_v1` at once (the
/// bot handles it after). A redelivered message is acknowledged and dropped.
#[utoipa::path(post, path = "/webhooks/feishu/{bot_id}", tag = "events",
    params(("bot_id" = String, Path, description = "Bot id"),
        ("X-Lark-Signature" = Option<String>, Header, description = "hex SHA-256 of timestamp + nonce + encrypt key + body; required when the bot has an encrypt_key"),
        ("X-Lark-Request-Timestamp" = Option<String>, Header),
        ("X-Lark-Request-Nonce" = Option<String>, Header)),
    request_body(content = Object, description = "Feishu's callback: `{\"encrypt\": …}`, `url_verification`, or a schema 2.0 event"),
    responses(
        (status = 200, description = "`{\"challenge\": …}` for the handshake, `{\"msg\": \"success\"}` for an event"),
        (status = 400, body = ErrorBody), (status = 401, description = "Bad signature or token; nothing processed", body = ErrorBody),
        (status = 404, description = "No such bot", body = ErrorBody),
        (status = 409, description = "The bot does not take Feishu events by webhook", body = ErrorBody),
        (status = 503, description = "The bot is not running; Feishu retries later", body = ErrorBody)))]
pub async fn feishu(
    sup: web::Data<Supervisor>,
    bot_id: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse> {
    let connector = connector_for(&sup, &bot_id, Route::FeishuWebhook).await?;
    let header = |name: &str| header(&req, name);
    let callback = webhook::open(
        &connector,
        &webhook::Request {
            timestamp: header(webhook::TIMESTAMP_HEADER).unwrap_or(""),
            nonce: header(webhook::NONCE_HEADER).unwrap_or(""),
            signature: header(webhook::SIGNATURE_HEADER),
            body: &body,
        },
    )?;
    match callback {
        Callback::Challenge(challenge) => {
            // A bot not running yet still answers; only a running one counts it.
            if let Ok(inbound) = sup.receiver(&bot_id, BotHandle::feishu_events).await {
                inbound.handshake();
            }
            Ok(HttpResponse::Ok().json(serde_json::json!({ "challenge": challenge })))
        }
        Callback::Event(event) => {
            sup.receiver(&bot_id, BotHandle::feishu_events)
                .await?
                .accept(*event)
                .await?;
            Ok(HttpResponse::Ok().json(serde_json::json!({ "msg": "success" })))
        }
    }
}

/// A Telegram update for one bot: the `secret_token` given to `setWebhook`
/// must come back in `X-Telegram-Bot-Api-Secret-Token`; the message is
/// queued durably (or known as a copy) before the 200.
#[utoipa::path(post, path = "/webhooks/telegram/{bot_id}", tag = "events",
    params(("bot_id" = String, Path, description = "Bot id"),
        ("X-Telegram-Bot-Api-Secret-Token" = String, Header, description = "The bot's connector.webhook_secret")),
    request_body(content = Object, description = "A Telegram `Update`"),
    responses(
        (status = 200, description = "`{\"ok\": true}`"),
        (status = 400, body = ErrorBody),
        (status = 401, description = "Missing or wrong secret; nothing processed", body = ErrorBody),
        (status = 404, description = "No such bot", body = ErrorBody),
        (status = 409, description = "The bot does not take Telegram updates by webhook", body = ErrorBody),
        (status = 503, description = "The bot is not running; Telegram retries later", body = ErrorBody)))]
pub async fn telegram(
    sup: web::Data<Supervisor>,
    bot_id: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse> {
    connector_for(&sup, &bot_id, Route::TelegramWebhook).await?;
    let secret = header(&req, crate::connector::telegram::SECRET_HEADER);
    sup.receiver(&bot_id, BotHandle::telegram_events)
        .await?
        .accept(secret, &body)
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "ok": true })))
}

/// A OneBot implementation's reverse WebSocket for one bot (`Universal`:
/// events in, actions out, on one socket). The bot's `access_token` must
/// come as `Authorization: Bearer <t>` (or go-cqhttp's `Token <t>`, or
/// `?access_token=`), else 401 before the upgrade.
#[utoipa::path(get, path = "/onebot/{bot_id}", tag = "events",
    params(("bot_id" = String, Path, description = "Bot id"),
        ("Authorization" = String, Header, description = "`Bearer <connector.access_token>`")),
    responses(
        (status = 101, description = "Switched to the WebSocket"),
        (status = 400, description = "Not a WebSocket upgrade", body = ErrorBody),
        (status = 401, description = "Missing or wrong access token; nothing opened", body = ErrorBody),
        (status = 404, description = "No such bot", body = ErrorBody),
        (status = 409, description = "The bot is not a OneBot bot in reverse mode", body = ErrorBody),
        (status = 503, description = "The bot is not running; the implementation dials again", body = ErrorBody)))]
pub async fn onebot(
    sup: web::Data<Supervisor>,
    bot_id: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse> {
    let connector = connector_for(&sup, &bot_id, Route::OneBotReverse).await?;
    let authorization = header(&req, "authorization");
    if !onebot::authorized(&connector.access_token, authorization, req.query_string()) {
        return Err(SupervisorError::BadOneBotToken.into());
    }
    let inbound = sup.receiver(&bot_id, BotHandle::onebot_events).await?;
    super::ws::accept(&req, payload, move |frames, out| async move {
        inbound.serve(frames, out).await;
    })
    .map_err(|e| crate::error::Error::new(crate::error::Code::InvalidRequest, e.to_string()))
}

/// Liveness probe (for the reverse proxy in front).
#[utoipa::path(get, path = "/healthz", tag = "meta",
    responses((status = 200, description = "The listener is running", body = crate::http::Health)))]
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document")))]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(EventsDoc::openapi())
}
