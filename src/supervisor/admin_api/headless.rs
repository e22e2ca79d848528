//! The headless-run webhook (the upstream Alice's workspace webhook, where
//! one workspace is one bot here): start agent runs on a bot, read their
//! records and events, cancel them. `taskId` is that webhook's name for a
//! run and stays so on the wire.

use crate::agent::api::{self, EventsQuery, RunAccepted, StartRun, Started};
use crate::agent::{AgentRun, RunOrigin, RunStatus};
use crate::bot::RunEvents;
use crate::error::{ErrorBody, Result};
use crate::http::{resource, sse};
use crate::supervisor::Supervisor;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

/// Most records one listing returns.
const LIST_MAX: usize = 200;

#[derive(Debug, Deserialize, IntoParams)]
pub struct HeadlessQuery {
    /// The bot (workspace) id; all bots when absent.
    #[serde(rename = "wsId")]
    #[param(rename = "wsId")]
    pub ws_id: Option<String>,
    /// running, succeeded, failed, timeout or cancelled (`status=`: 400).
    #[param(value_type = Option<crate::agent::RunStatus>)]
    pub status: Option<String>,
    /// Default 50, at most 200.
    pub limit: Option<usize>,
}

/// Starts an agent run in a bot's workspace.
#[utoipa::path(post, path = "/api/workspaces/{bot_id}/headless", operation_id = "startHeadlessRun", tag = "headless",
    params(("bot_id" = String, Path, description = "Bot (workspace) id")),
    request_body = StartRun,
    responses(
        (status = 202, description = "Started", body = RunAccepted),
        (status = 200, description = "`wait: true`: the finished run", body = AgentRun),
        (status = 400, description = "Missing or long prompt, unknown agent, bad timeout", body = ErrorBody),
        (status = 404, description = "Unknown bot", body = ErrorBody),
        (status = 409, description = "The bot is not running", body = ErrorBody),
        (status = 429, description = "Capacity reached", body = ErrorBody),
        (status = 500, description = "The agent could not be started", body = ErrorBody)))]
pub async fn start(
    sup: web::Data<Supervisor>,
    bot_id: web::Path<String>,
    body: crate::http::JsonObject<StartRun>,
) -> Result<HttpResponse> {
    let runner = sup.runner(&bot_id).await?;
    let mut body = body.into_inner();
    let scope = body.scope.take().unwrap_or_default();
    Ok(
        match api::start(&runner, body, scope, RunOrigin::Headless).await? {
            Started::Accepted(accepted) => HttpResponse::Accepted().json(accepted),
            Started::Finished(record) => HttpResponse::Ok().json(record),
        },
    )
}

/// Recent runs, most recent first.
#[utoipa::path(get, path = "/api/headless", operation_id = "listHeadlessRuns", tag = "headless", params(HeadlessQuery),
    responses((status = 200, body = [AgentRun]),
        (status = 400, description = "`status` empty or unknown, or a bad `limit`", body = ErrorBody),
        (status = 404, description = "Unknown bot", body = ErrorBody)))]
pub async fn list(
    sup: web::Data<Supervisor>,
    query: web::Query<HeadlessQuery>,
) -> Result<HttpResponse> {
    let status = query.status.as_deref().map(RunStatus::parse).transpose()?;
    let limit = query.limit.unwrap_or(50).min(LIST_MAX);
    let found = sup
        .list_runs(
            query.ws_id.as_deref().filter(|id| !id.is_empty()),
            status,
            limit,
        )
        .await?;
    Ok(HttpResponse::Ok().json(found))
}

/// One run's record.
#[utoipa::path(get, path = "/api/headless/{task_id}", operation_id = "getHeadlessRun", tag = "headless",
    params(("task_id" = String, Path, description = "Task id")),
    responses((status = 200, body = AgentRun), (status = 404, body = ErrorBody)))]
pub async fn get(sup: web::Data<Supervisor>, id: web::Path<String>) -> Result<HttpResponse> {
    let (_, record) = sup.find_run(&id).await?;
    Ok(HttpResponse::Ok().json(record))
}

/// A run's events after a sequence number: JSON, or Server-Sent Events
/// (`Accept: text/event-stream`, resumable with `Last-Event-ID`).
#[utoipa::path(get, path = "/api/headless/{task_id}/events", operation_id = "getHeadlessRunEvents", tag = "headless",
    params(("task_id" = String, Path, description = "Task id"), EventsQuery),
    responses((status = 200, description = "JSON page or an event stream", body = crate::agent::EventsPage),
        (status = 400, description = "`after` is not a whole number ≥ 0 (`after=-1`)", body = ErrorBody),
        (status = 404, description = "No such run", body = ErrorBody)))]
pub async fn events(
    req: HttpRequest,
    sup: web::Data<Supervisor>,
    id: web::Path<String>,
    query: web::Query<EventsQuery>,
) -> Result<HttpResponse> {
    let (owner, _) = sup.find_run(&id).await?;
    Ok(sse::answer(
        &req,
        query.after,
        |after| owner.feed(&id, after).map(RunEvents),
        |after| owner.page(&id, after),
    )?)
}

/// Cancels a running run (its process group is stopped) and answers with
/// the final record.
#[utoipa::path(post, path = "/api/headless/{task_id}/cancel", operation_id = "cancelHeadlessRun", tag = "headless",
    params(("task_id" = String, Path, description = "Task id")),
    responses((status = 200, body = AgentRun), (status = 404, body = ErrorBody),
        (status = 409, description = "Already finished", body = ErrorBody)))]
pub async fn cancel(sup: web::Data<Supervisor>, id: web::Path<String>) -> Result<HttpResponse> {
    let (owner, _) = sup.find_run(&id).await?;
    Ok(HttpResponse::Ok().json(owner.cancel(&id).await?))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/workspaces/{bot_id}/headless").post(start))
        .service(resource("/api/headless").get(list))
        .service(resource("/api/headless/{task_id}").get(get))
        .service(resource("/api/headless/{task_id}/events").get(events))
        .service(resource("/api/headless/{task_id}/cancel").post(cancel));
}
