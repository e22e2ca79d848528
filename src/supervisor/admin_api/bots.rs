//! `/api/bots…` and `/api/reload`.

use crate::config::ConnectorKind;
use crate::error::{ErrorBody, Result};
use crate::http::resource;
use crate::supervisor::{ReloadReport, RunState, Supervisor, UnitStatus};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One bot as the admin sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct BotView {
    pub id: String,
    pub name: String,
    /// Runtime API address: `127.0.0.1:7331`, `unix:/path`, or both.
    pub address: String,
    pub enabled: bool,
    pub state: RunState,
    /// Seconds since the bot entered its current state.
    pub uptime_secs: Option<u64>,
    pub restarts: u32,
    pub last_error: Option<String>,
    pub connector: ConnectorKind,
}

impl From<UnitStatus> for BotView {
    fn from(s: UnitStatus) -> Self {
        let c = &s.config;
        Self {
            id: c.id.clone(),
            name: c.display_name().to_string(),
            address: c.listen_addr().to_string(),
            enabled: c.enabled,
            state: s.state,
            uptime_secs: (s.state == RunState::Running).then(|| s.since.elapsed().as_secs()),
            restarts: s.restarts,
            last_error: s.last_error,
            connector: c.connector.kind,
        }
    }
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct TokenView {
    pub id: String,
    pub token: String,
    /// What its agents get as `ALICE_RUNTIME_API_BASE_URL`: `http://…`, or
    /// `unix:///…` for a bot on a Unix socket only.
    pub base_url: String,
}

/// Every bot, in the file's order.
#[utoipa::path(get, path = "/api/bots", operation_id = "listBots", tag = "bots",
    responses((status = 200, body = [BotView]), (status = 401, body = ErrorBody)))]
pub async fn list(sup: web::Data<Supervisor>) -> HttpResponse {
    let bots: Vec<BotView> = sup.list().await.into_iter().map(Into::into).collect();
    HttpResponse::Ok().json(bots)
}

/// One bot.
#[utoipa::path(get, path = "/api/bots/{id}", operation_id = "getBot", tag = "bots",
    params(("id" = String, Path, description = "Bot id")),
    responses((status = 200, body = BotView), (status = 404, body = ErrorBody)))]
pub async fn get(sup: web::Data<Supervisor>, id: web::Path<String>) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(BotView::from(sup.status(&id).await?)))
}

/// Starts a stopped or failed bot; answers once it runs.
#[utoipa::path(post, path = "/api/bots/{id}/start", operation_id = "startBot", tag = "bots",
    params(("id" = String, Path, description = "Bot id")),
    responses((status = 200, body = BotView), (status = 404, body = ErrorBody),
        (status = 503, description = "The bot could not start", body = ErrorBody)))]
pub async fn start(sup: web::Data<Supervisor>, id: web::Path<String>) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(BotView::from(sup.start_bot(&id).await?)))
}

/// Stops one bot gracefully (within its shutdown timeout).
#[utoipa::path(post, path = "/api/bots/{id}/stop", operation_id = "stopBot", tag = "bots",
    params(("id" = String, Path, description = "Bot id")),
    responses((status = 200, body = BotView), (status = 404, body = ErrorBody)))]
pub async fn stop(sup: web::Data<Supervisor>, id: web::Path<String>) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(BotView::from(sup.stop_bot(&id).await?)))
}

/// Stops and starts one bot; the others are not touched.
#[utoipa::path(post, path = "/api/bots/{id}/restart", operation_id = "restartBot", tag = "bots",
    params(("id" = String, Path, description = "Bot id")),
    responses((status = 200, body = BotView), (status = 404, body = ErrorBody),
        (status = 503, description = "The bot could not start", body = ErrorBody)))]
pub async fn restart(sup: web::Data<Supervisor>, id: web::Path<String>) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(BotView::from(sup.restart_bot(&id).await?)))
}

/// The bot's main Runtime API token (for admins and `alice bots token`).
#[utoipa::path(get, path = "/api/bots/{id}/token", operation_id = "getBotToken", tag = "bots",
    params(("id" = String, Path, description = "Bot id")),
    responses((status = 200, body = TokenView), (status = 404, body = ErrorBody),
        (status = 403, description = "Asked from a console session", body = ErrorBody),
        (status = 409, description = "The bot is not running", body = ErrorBody)))]
pub async fn token(
    req: HttpRequest,
    sup: web::Data<Supervisor>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    // The console's browser never holds a bot token.
    crate::supervisor::console::refuse_console(&req, "read a bot's token")?;
    let (token, base_url) = sup.token(&id).await?;
    Ok(HttpResponse::Ok().json(TokenView {
        id: id.into_inner(),
        token,
        base_url,
    }))
}

/// Every bot's state, health, connector state, pending inbox and last
/// error, and the supervisor's own.
#[utoipa::path(get, path = "/api/probes", operation_id = "getProbes", tag = "bots",
    responses((status = 200, body = crate::supervisor::Probes), (status = 401, body = ErrorBody)))]
pub async fn probes(sup: web::Data<Supervisor>) -> HttpResponse {
    HttpResponse::Ok().json(sup.probes().await)
}

/// Re-reads the config file. A bad file changes nothing (400).
#[utoipa::path(post, path = "/api/reload", operation_id = "reloadConfig", tag = "bots",
    responses((status = 200, body = ReloadReport), (status = 400, body = ErrorBody)))]
pub async fn reload(sup: web::Data<Supervisor>) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(sup.reload().await?))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/bots").get(list))
        .service(resource("/api/bots/{id}").get(get))
        .service(resource("/api/bots/{id}/start").post(start))
        .service(resource("/api/bots/{id}/stop").post(stop))
        .service(resource("/api/bots/{id}/restart").post(restart))
        .service(resource("/api/bots/{id}/token").get(token))
        .service(resource("/api/reload").post(reload))
        .service(resource("/api/probes").get(probes));
}
