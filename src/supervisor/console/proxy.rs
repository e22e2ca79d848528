//! What the console reads and does on a bot through the supervisor: the
//! config summary (secrets masked by the config's own `Debug`), a local
//! message's file, and a narrow pass-through to the bot's Runtime API for
//! tasks, goals, skills and the bot's identity, sent with the bot's token
//! so the browser never holds it.

use super::ConsoleError;
use crate::error::{ErrorBody, Result};
use crate::http::resource;
use crate::supervisor::Supervisor;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

/// Runtime API paths (without the leading `/`) the console may reach: each
/// is a route or a route's prefix. Runs and their scoped tokens are not.
const PROXIED: &[&str] = &[
    "api/v1/automation/tasks",
    "api/v1/goal",
    "api/v1/goals",
    "api/v1/skills",
    "api/v1/bot",
];

fn proxied(tail: &str) -> bool {
    !tail.contains("..")
        && PROXIED
            .iter()
            .any(|p| tail == *p || tail.strip_prefix(p).is_some_and(|r| r.starts_with('/')))
}

/// One HTTP client per worker, for the calls to the bots.
pub struct BotClient(reqwest::Client);

/// The bot's config, secrets shown as `***`.
#[utoipa::path(get, path = "/console/api/bots/{id}/config", operation_id = "consoleBotConfig", tag = "console",
    params(("id" = String, Path, description = "Bot id")),
    responses((status = 200, description = "The config summary", body = String, content_type = "text/plain"),
        (status = 404, body = ErrorBody)))]
pub async fn bot_config(sup: web::Data<Supervisor>, id: web::Path<String>) -> Result<HttpResponse> {
    let config = sup.status(&id).await?.config;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(format!("{config:#?}")))
}

/// The image or file of a local conversation's message.
#[utoipa::path(get, path = "/console/api/bots/{id}/conversations/{receive_id}/messages/{message_id}/file",
    operation_id = "consoleMessageFile", tag = "console",
    params(("id" = String, Path, description = "Bot id"),
        ("receive_id" = String, Path, description = "Conversation"),
        ("message_id" = String, Path, description = "Message")),
    responses((status = 200, description = "The file's bytes"), (status = 404, body = ErrorBody),
        (status = 409, description = "Not a local bot", body = ErrorBody)))]
pub async fn message_file(
    sup: web::Data<Supervisor>,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse> {
    let (id, receive_id, message_id) = path.into_inner();
    let local = sup.local_conversations(&id).await?;
    let (_, total) = local.messages(&receive_id, 0, 0)?;
    let (items, _) = local.messages(&receive_id, 0, total.max(1))?;
    let message = items
        .into_iter()
        .find(|m| m.message_id == message_id)
        .ok_or(ConsoleError::NoFile)?;
    let file = local.file_on_disk(&message).ok_or(ConsoleError::NoFile)?;
    let bytes = tokio::fs::read(file)
        .await
        .map_err(|_| ConsoleError::NoFile)?;
    let mut res = HttpResponse::Ok();
    match crate::messages::sniff::image_format(&bytes) {
        Some(ext) => res.content_type(format!("image/{}", if ext == "jpg" { "jpeg" } else { ext })),
        // Anything else is downloaded, never rendered in the console's origin.
        None => res
            .content_type("application/octet-stream")
            .insert_header((header::CONTENT_DISPOSITION, "attachment")),
    };
    Ok(res
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(bytes))
}

/// One conversation's kept turns.
#[derive(Serialize, ToSchema)]
pub struct SessionHistory {
    pub session: String,
    #[schema(value_type = Vec<Object>)]
    pub turns: Vec<crate::chat::Turn>,
}

/// What the bot's conversations said and what it answered, per session
/// (any connector; for Feishu bots the console's read-only history). The
/// bot must be running.
#[utoipa::path(get, path = "/console/api/bots/{id}/history", operation_id = "consoleBotHistory", tag = "console",
    params(("id" = String, Path, description = "Bot id")),
    responses((status = 200, body = [SessionHistory]), (status = 404, body = ErrorBody),
        (status = 409, description = "The bot is not running", body = ErrorBody)))]
pub async fn history(sup: web::Data<Supervisor>, id: web::Path<String>) -> Result<HttpResponse> {
    let bot = sup.running(&id).await?;
    let all = web::block(move || bot.history().all())
        .await
        .map_err(crate::error::Error::internal)??;
    let sessions: Vec<SessionHistory> = all
        .into_iter()
        .map(|(session, turns)| SessionHistory { session, turns })
        .collect();
    Ok(HttpResponse::Ok().json(sessions))
}

async fn forward(
    req: HttpRequest,
    sup: web::Data<Supervisor>,
    client: web::Data<BotClient>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse> {
    let (id, tail) = path.into_inner();
    if !proxied(&tail) {
        return Err(ConsoleError::NotProxied(format!("/{tail}")).into());
    }
    let (token, base_url) = sup.token(&id).await?;
    // A bot on a Unix socket only: HTTP over its socket file.
    let (http, base) = match base_url.strip_prefix("unix://") {
        Some(path) => (
            reqwest::Client::builder()
                .unix_socket(std::path::PathBuf::from(path))
                .build()
                .map_err(|e| ConsoleError::Bot(e.to_string()))?,
            "http://localhost".to_string(),
        ),
        None => (client.0.clone(), base_url),
    };
    let mut url = format!("{base}/{tail}");
    if let Some(query) = req.uri().query() {
        url.push('?');
        url.push_str(query);
    }
    let method = reqwest::Method::from_bytes(req.method().as_str().as_bytes())
        .map_err(|e| ConsoleError::Bot(e.to_string()))?;
    let mut out = http.request(method, url).bearer_auth(token).body(body);
    for (name, value) in req.headers() {
        if name == header::CONTENT_TYPE || name.as_str().starts_with("x-alice-") {
            out = out.header(name.as_str(), value.as_bytes());
        }
    }
    let res = out
        .send()
        .await
        .map_err(|e| ConsoleError::Bot(e.to_string()))?;
    let status = StatusCode::from_u16(res.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = res
        .bytes()
        .await
        .map_err(|e| ConsoleError::Bot(e.to_string()))?;
    let mut answer = HttpResponse::build(status);
    if let Some(content_type) = content_type {
        answer.content_type(content_type);
    }
    Ok(answer.body(bytes))
}

macro_rules! passthrough {
    ($name:ident, $method:ident, $op:literal) => {
        /// The bot's Runtime API for tasks, goals, skills and `/api/v1/bot`
        /// (`tail` without the leading `/`), answered as the bot answers.
        #[utoipa::path($method, path = "/console/api/bots/{id}/rt/{tail}", operation_id = $op, tag = "console",
            params(("id" = String, Path, description = "Bot id"),
                ("tail" = String, Path, description = "Runtime API path, e.g. api/v1/automation/tasks")),
            request_body(content = String, content_type = "application/json", description = "Forwarded as it is"),
            responses((status = 200, description = "The bot's answer"),
                (status = 403, description = "Not a path the console reaches", body = ErrorBody),
                (status = 404, body = ErrorBody),
                (status = 409, description = "The bot is not running", body = ErrorBody)))]
        pub async fn $name(
            req: HttpRequest,
            sup: web::Data<Supervisor>,
            client: web::Data<BotClient>,
            path: web::Path<(String, String)>,
            body: web::Bytes,
        ) -> Result<HttpResponse> {
            forward(req, sup, client, path, body).await
        }
    };
}

passthrough!(runtime_get, get, "consoleRuntimeGet");
passthrough!(runtime_post, post, "consoleRuntimePost");
passthrough!(runtime_patch, patch, "consoleRuntimePatch");
passthrough!(runtime_delete, delete, "consoleRuntimeDelete");

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::Data::new(BotClient(reqwest::Client::new())))
        .service(resource("/console/api/bots/{id}/config").get(bot_config))
        .service(resource("/console/api/bots/{id}/history").get(history))
        .service(
            resource(
                "/console/api/bots/{id}/conversations/{receive_id}/messages/{message_id}/file",
            )
            .get(message_file),
        )
        .service(
            resource("/console/api/bots/{id}/rt/{tail:.*}")
                .get(runtime_get)
                .post(runtime_post)
                .patch(runtime_patch)
                .delete(runtime_delete),
        );
}
