//! `/api/v1/runs…`: agent runs of this bot, in the caller's conversation.
//! The supervisor's headless routes reuse the request and answer shapes.

use super::extract::TokenScope;
use crate::agent::{AgentRunner, EventFeed, EventsPage, RunRecord, RunRequest, RunStatus};
use crate::bot::BotState;
use crate::error::{Error, ErrorBody, Result};
use crate::http::{resource, sse};
use crate::scope::Scope;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Starts an agent run.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRun {
    /// A standalone instruction, at most 16 000 characters.
    pub prompt: Option<String>,
    /// The agent to use: the bot's command name or `default`.
    pub agent: Option<String>,
    /// Watchdog in milliseconds: default 300 000, at most 1 800 000.
    #[serde(rename = "timeoutMs", alias = "timeout_ms")]
    pub timeout_ms: Option<u64>,
    /// Block until the run ends and answer with its record.
    #[serde(default)]
    pub wait: bool,
    /// The conversation the run acts for (supervisor route only; a bot
    /// takes it from the `X-Alice-*` headers).
    pub scope: Option<Scope>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RunAccepted {
    #[serde(rename = "taskId")]
    pub task_id: String,
    pub status: RunStatus,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ListQuery {
    /// running, succeeded, failed, timeout or cancelled.
    pub status: Option<String>,
    /// Default 50, at most `limits.list_max`.
    pub limit: Option<usize>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct EventsQuery {
    /// Only events with a greater sequence number (default 0: all).
    /// `Last-Event-ID` overrides it.
    pub after: Option<u64>,
}

/// Starts `body` on `agent`: 202 with the task id, or 200 with the finished
/// record when `wait` is set.
pub async fn start(
    agent: &AgentRunner,
    body: StartRun,
    scope: Scope,
    origin: &str,
) -> Result<HttpResponse> {
    let mut request = RunRequest::new(body.prompt.as_deref().unwrap_or(""), scope, origin);
    request.agent = body.agent;
    request.timeout_ms = body.timeout_ms;
    let handle = agent.start(request).await?;
    if body.wait {
        return Ok(HttpResponse::Ok().json(handle.finished().await));
    }
    Ok(HttpResponse::Accepted().json(RunAccepted {
        task_id: handle.task_id,
        status: RunStatus::Running,
    }))
}

/// JSON after a sequence number, or Server-Sent Events when asked for.
pub fn events_answer(
    req: &HttpRequest,
    after: Option<u64>,
    feed: impl FnOnce(u64) -> Result<EventFeed>,
    page: impl FnOnce(u64) -> Result<EventsPage>,
) -> Result<HttpResponse> {
    let after = sse::resume_after(req, after);
    if sse::wants_event_stream(req) {
        Ok(sse::event_stream(feed(after)?))
    } else {
        Ok(HttpResponse::Ok().json(page(after)?))
    }
}

pub fn parse_status(status: Option<&str>) -> Result<Option<RunStatus>> {
    status.map(RunStatus::parse).transpose()
}

/// Starts an agent run in the caller's conversation.
#[utoipa::path(post, path = "/api/v1/runs", tag = "runs", request_body = StartRun,
    responses(
        (status = 202, description = "Started", body = RunAccepted),
        (status = 200, description = "`wait: true`: the finished run", body = RunRecord),
        (status = 400, description = "Missing or long prompt, unknown agent, bad timeout", body = ErrorBody),
        (status = 403, description = "Another conversation than the token's", body = ErrorBody),
        (status = 429, description = "Capacity reached", body = ErrorBody),
        (status = 500, description = "The agent could not be started", body = ErrorBody)))]
pub async fn create(
    state: web::Data<BotState>,
    scope: Scope,
    body: web::Json<StartRun>,
) -> Result<HttpResponse> {
    let body = body.into_inner();
    if body.scope.is_some() {
        return Err(Error::bad_request(
            "`scope` is not accepted here: the conversation comes from the X-Alice-* headers",
        ));
    }
    start(state.agent(), body, scope, "runtime").await
}

/// This bot's runs, most recent first (a run token sees its own conversation's).
#[utoipa::path(get, path = "/api/v1/runs", tag = "runs", params(ListQuery),
    responses((status = 200, body = [RunRecord]), (status = 400, body = ErrorBody)))]
pub async fn list(
    TokenScope(limit_to): TokenScope,
    state: web::Data<BotState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse> {
    let status = parse_status(query.status.as_deref())?;
    let limit = query
        .limit
        .unwrap_or(50)
        .min(state.config().limits.list_max);
    let runs = state.agent().list(status, limit_to.as_ref(), limit)?;
    Ok(HttpResponse::Ok().json(runs))
}

/// One run.
#[utoipa::path(get, path = "/api/v1/runs/{task_id}", tag = "runs",
    params(("task_id" = String, Path, description = "Task id")),
    responses((status = 200, body = RunRecord), (status = 404, body = ErrorBody)))]
pub async fn get(
    TokenScope(limit_to): TokenScope,
    state: web::Data<BotState>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let record = state.agent().get(&id, limit_to.as_ref())?;
    Ok(HttpResponse::Ok().json(record))
}

/// A run's events after a sequence number: JSON, or Server-Sent Events
/// (`Accept: text/event-stream`, resumable with `Last-Event-ID`).
#[utoipa::path(get, path = "/api/v1/runs/{task_id}/events", tag = "runs",
    params(("task_id" = String, Path, description = "Task id"), EventsQuery),
    responses((status = 200, description = "JSON page or an event stream", body = EventsPage),
        (status = 404, body = ErrorBody)))]
pub async fn events(
    req: HttpRequest,
    TokenScope(limit_to): TokenScope,
    state: web::Data<BotState>,
    id: web::Path<String>,
    query: web::Query<EventsQuery>,
) -> Result<HttpResponse> {
    let agent = state.agent();
    events_answer(
        &req,
        query.after,
        |after| agent.feed(&id, after, limit_to.as_ref()),
        |after| agent.events(&id, after, limit_to.as_ref()),
    )
}

/// Cancels a running run and answers with its final record.
#[utoipa::path(post, path = "/api/v1/runs/{task_id}/cancel", tag = "runs",
    params(("task_id" = String, Path, description = "Task id")),
    responses((status = 200, body = RunRecord), (status = 404, body = ErrorBody),
        (status = 409, description = "Already finished", body = ErrorBody)))]
pub async fn cancel(
    TokenScope(limit_to): TokenScope,
    state: web::Data<BotState>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let record = state.agent().cancel(&id, limit_to.as_ref()).await?;
    Ok(HttpResponse::Ok().json(record))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/v1/runs").post(create).get(list))
        .service(resource("/api/v1/runs/{task_id}").get(get))
        .service(resource("/api/v1/runs/{task_id}/events").get(events))
        .service(resource("/api/v1/runs/{task_id}/cancel").post(cancel));
}
