//! `/api/v1/runs…`: agent runs of this bot, in the caller's conversation.
//! The request and answer shapes live with the run service
//! (`crate::agent::api`): the supervisor's headless routes speak them too.

use super::extract::TokenScope;
use crate::agent::api::{self, EventsQuery, RunAccepted, StartRun, Started};
use crate::agent::{AgentRun, EventsPage, RunOrigin, RunStatus};
use crate::bot::{BotState, RunEvents};
use crate::error::{Error, ErrorBody, Result};
use crate::http::{resource_in, sse};
use crate::scope::Scope;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

/// [`StartRun`] as a bot's own route takes it: the conversation comes from
/// the `X-Alice-*` headers, never from the body.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // Documents the body, which is read as `StartRun`.
pub struct StartBotRun {
    /// A standalone instruction, at most 16 000 characters, not blank.
    #[schema(min_length = 1, max_length = 16000, pattern = r"\S")]
    prompt: String,
    /// The agent to use: the bot's command name or `default`.
    agent: Option<String>,
    /// Watchdog in milliseconds: default 300 000, at most 1 800 000.
    #[serde(rename = "timeoutMs")]
    #[schema(minimum = 1, maximum = 1_800_000)]
    timeout_ms: Option<u64>,
    /// Block until the run ends and answer with its record.
    #[serde(default)]
    wait: bool,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ListQuery {
    /// running, succeeded, failed, timeout or cancelled (`status=`: 400).
    #[param(value_type = Option<RunStatus>)]
    pub status: Option<String>,
    /// Default 50, at most `limits.list_max`.
    pub limit: Option<usize>,
}

/// 202 with the run's id, or 200 with the finished record (`wait`).
fn started(started: Started) -> HttpResponse {
    match started {
        Started::Accepted(accepted) => HttpResponse::Accepted().json(accepted),
        Started::Finished(record) => HttpResponse::Ok().json(record),
    }
}

/// Starts an agent run in the caller's conversation.
#[utoipa::path(post, path = "/api/v1/runs", operation_id = "startRun", tag = "runs", request_body = StartBotRun,
    responses(
        (status = 202, description = "Started", body = RunAccepted),
        (status = 200, description = "`wait: true`: the finished run", body = AgentRun),
        (status = 400, description = "Missing or long prompt, unknown agent, bad timeout", body = ErrorBody),
        (status = 403, description = "Another conversation than the token's", body = ErrorBody),
        (status = 429, description = "Capacity reached", body = ErrorBody),
        (status = 500, description = "The agent could not be started", body = ErrorBody)))]
pub async fn create(
    state: web::Data<BotState>,
    scope: Scope,
    body: crate::http::JsonObject<StartRun>,
) -> Result<HttpResponse> {
    let body = body.into_inner();
    if body.scope.is_some() {
        return Err(Error::bad_request(
            "`scope` is not accepted here: the conversation comes from the X-Alice-* headers",
        ));
    }
    Ok(started(
        api::start(state.agent(), body, scope, RunOrigin::Runtime).await?,
    ))
}

/// This bot's runs, most recent first (a run token sees its own conversation's).
#[utoipa::path(get, path = "/api/v1/runs", operation_id = "listRuns", tag = "runs", params(ListQuery),
    responses((status = 200, body = [AgentRun]),
        (status = 400, description = "`status` empty or unknown, or a bad `limit`", body = ErrorBody),
        (status = 403, description = "The headers name another conversation than the token's", body = ErrorBody)))]
pub async fn list(
    TokenScope(limit_to): TokenScope,
    state: web::Data<BotState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse> {
    let status = query.status.as_deref().map(RunStatus::parse).transpose()?;
    let limit = query
        .limit
        .unwrap_or(50)
        .min(state.config().limits.list_max);
    let runs = state.agent().list(status, limit_to.as_ref(), limit).await?;
    Ok(HttpResponse::Ok().json(runs))
}

/// One run.
#[utoipa::path(get, path = "/api/v1/runs/{task_id}", operation_id = "getRun", tag = "runs",
    params(("task_id" = String, Path, description = "Task id")),
    responses((status = 200, body = AgentRun), (status = 404, description = "No such run (in the token's conversation)", body = ErrorBody),
        (status = 403, description = "The headers name another conversation than the token's", body = ErrorBody)))]
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
#[utoipa::path(get, path = "/api/v1/runs/{task_id}/events", operation_id = "getRunEvents", tag = "runs",
    params(("task_id" = String, Path, description = "Task id"), EventsQuery),
    responses((status = 200, description = "JSON page or an event stream", body = EventsPage),
        (status = 400, description = "`after` is not a whole number ≥ 0 (`after=-1`)", body = ErrorBody),
        (status = 403, description = "The headers name another conversation than the token's", body = ErrorBody),
        (status = 404, description = "No such run", body = ErrorBody)))]
pub async fn events(
    req: HttpRequest,
    TokenScope(limit_to): TokenScope,
    state: web::Data<BotState>,
    id: web::Path<String>,
    query: web::Query<EventsQuery>,
) -> Result<HttpResponse> {
    let agent = state.agent();
    Ok(sse::answer(
        &req,
        query.after,
        |after| agent.feed(&id, after, limit_to.as_ref()).map(RunEvents),
        |after| agent.events(&id, after, limit_to.as_ref()),
    )?)
}

/// Cancels a running run and answers with its final record.
#[utoipa::path(post, path = "/api/v1/runs/{task_id}/cancel", operation_id = "cancelRun", tag = "runs",
    params(("task_id" = String, Path, description = "Task id")),
    responses((status = 200, body = AgentRun),
        (status = 403, description = "The headers name another conversation than the token's", body = ErrorBody),
        (status = 404, description = "No such run", body = ErrorBody),
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
    // A scope: other routes do not pay for these three regexes.
    const RUNS: &str = "/api/v1/runs";
    cfg.service(
        web::scope(RUNS)
            .service(resource_in(RUNS, "/api/v1/runs").post(create).get(list))
            .service(resource_in(RUNS, "/api/v1/runs/{task_id}").get(get))
            .service(resource_in(RUNS, "/api/v1/runs/{task_id}/events").get(events))
            .service(resource_in(RUNS, "/api/v1/runs/{task_id}/cancel").post(cancel)),
    );
}
