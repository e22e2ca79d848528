//! `/api/v1/goal…`: the goal of the caller's conversation (session key).

use crate::bot::{BotState, Permission};
use crate::error::{Code, Error, ErrorBody, Result};
use crate::goal::{Goal, GoalStatus, Transition};
use crate::http::resource;
use crate::runtime_api::extract::ConversationHeaders;
use crate::scope::Scope;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewGoal {
    /// What the conversation is after: not blank, at most 4 000 characters.
    #[schema(example = "Review PR #42", value_type = String, required = true, min_length = 1, max_length = 4000, pattern = r"\S")]
    pub description: Option<String>,
    /// How long until the deadline: a duration such as `"48h"`, `"90m"`,
    /// `"1h30m"`; default 48 h, at most 30 days.
    #[schema(example = "48h")]
    pub deadline_in: Option<String>,
}

/// The agent's word on when the goal's next iteration starts.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewDelay {
    /// `"0s"` (go on at once) or 1 min … 12 h (`goal.min_delay` …
    /// `goal.max_delay`).
    #[schema(example = "12m", value_type = String, required = true)]
    pub duration: Option<String>,
    /// What the goal waits for: not blank, at most 500 characters.
    #[schema(example = "waiting for CI on PR #225", value_type = String, required = true, min_length = 1, max_length = 500)]
    pub reason: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GoalsQuery {
    /// `in_progress`, `paused`, `completed` or `timeout`; all without it.
    #[param(value_type = Option<GoalStatus>)]
    pub status: Option<String>,
    /// Default 50, at most `limits.list_max`.
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

/// Goals belong to a conversation: its session key, given or derived.
fn session(scope: &Scope) -> Result<String> {
    scope.session_key().ok_or_else(|| {
        Error::new(
            Code::MissingConversation,
            "goals belong to a conversation: send X-Alice-Session-Key or X-Alice-Receive-Id",
        )
    })
}

/// The conversation's unfinished goal (`in_progress` or `paused`); 204
/// when it has none (finished ones are in `/api/v1/goals`).
#[utoipa::path(get, path = "/api/v1/goal", operation_id = "getGoal", tag = "goal", params(ConversationHeaders),
    responses((status = 200, body = Goal), (status = 204, description = "No active goal"),
        (status = 400, description = "No conversation named", body = ErrorBody),
        (status = 403, description = "Another conversation than the token's", body = ErrorBody)))]
pub async fn get(state: web::Data<BotState>, scope: Scope) -> Result<HttpResponse> {
    Ok(match state.goals().current(&session(&scope)?)? {
        Some(goal) => HttpResponse::Ok().json(goal),
        None => HttpResponse::NoContent().finish(),
    })
}

/// A new goal for the conversation (a completed one is replaced).
#[utoipa::path(post, path = "/api/v1/goal", operation_id = "createGoal", tag = "goal", params(ConversationHeaders), request_body = NewGoal,
    responses((status = 201, body = Goal),
        (status = 400, description = "Missing or empty description, or a bad `deadline_in`", body = ErrorBody),
        (status = 403, description = "permissions.runtime_goal is disabled", body = ErrorBody),
        (status = 409, description = "An unfinished goal exists", body = ErrorBody)))]
pub async fn create(
    state: web::Data<BotState>,
    scope: Scope,
    body: crate::http::JsonObject<NewGoal>,
) -> Result<HttpResponse> {
    state.require(Permission::Goal)?;
    let body = body.into_inner();
    let description = body.description.as_deref().unwrap_or_default();
    let goal = state
        .goals()
        .create(
            &scope,
            &session(&scope)?,
            description,
            body.deadline_in.as_deref(),
        )
        .await?;
    Ok(HttpResponse::Created().json(goal))
}

async fn transition(state: &BotState, scope: &Scope, change: Transition) -> Result<HttpResponse> {
    state.require(Permission::Goal)?;
    let goal = state.goals().transition(&session(scope)?, change).await?;
    Ok(HttpResponse::Ok().json(goal))
}

/// Pauses the goal in progress.
#[utoipa::path(post, path = "/api/v1/goal/pause", operation_id = "pauseGoal", tag = "goal", params(ConversationHeaders),
    responses((status = 200, body = Goal), (status = 403, body = ErrorBody),
        (status = 404, description = "No goal", body = ErrorBody),
        (status = 409, description = "Not in progress", body = ErrorBody)))]
pub async fn pause(state: web::Data<BotState>, scope: Scope) -> Result<HttpResponse> {
    transition(&state, &scope, Transition::Pause).await
}

/// Resumes a paused goal.
#[utoipa::path(post, path = "/api/v1/goal/resume", operation_id = "resumeGoal", tag = "goal", params(ConversationHeaders),
    responses((status = 200, body = Goal), (status = 403, body = ErrorBody),
        (status = 404, description = "No goal", body = ErrorBody),
        (status = 409, description = "Not paused", body = ErrorBody)))]
pub async fn resume(state: web::Data<BotState>, scope: Scope) -> Result<HttpResponse> {
    transition(&state, &scope, Transition::Resume).await
}

/// Marks the goal completed.
#[utoipa::path(post, path = "/api/v1/goal/complete", operation_id = "completeGoal", tag = "goal", params(ConversationHeaders),
    responses((status = 200, body = Goal), (status = 403, body = ErrorBody),
        (status = 404, description = "No goal", body = ErrorBody),
        (status = 409, description = "Already completed", body = ErrorBody)))]
pub async fn complete(state: web::Data<BotState>, scope: Scope) -> Result<HttpResponse> {
    transition(&state, &scope, Transition::Complete).await
}

/// Deletes the conversation's goal (204 also when there was none).
#[utoipa::path(delete, path = "/api/v1/goal", operation_id = "deleteGoal", tag = "goal", params(ConversationHeaders),
    responses((status = 204, description = "Deleted"), (status = 403, body = ErrorBody)))]
pub async fn delete(state: web::Data<BotState>, scope: Scope) -> Result<HttpResponse> {
    state.require(Permission::Goal)?;
    state.goals().delete(&session(&scope)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The conversation's goals, newest first (the unfinished one, then the
/// finished ones); `X-Total-Count` has the number matching.
#[utoipa::path(get, path = "/api/v1/goals", operation_id = "listGoals", tag = "goal", params(ConversationHeaders, GoalsQuery),
    responses((status = 200, body = [Goal], headers(("X-Total-Count" = usize, description = "Goals matching the filter"))),
        (status = 400, description = "No conversation named, or an unknown status", body = ErrorBody),
        (status = 403, description = "Another conversation than the token's", body = ErrorBody)))]
pub async fn list(
    state: web::Data<BotState>,
    scope: Scope,
    query: web::Query<GoalsQuery>,
) -> Result<HttpResponse> {
    let status = match query.status.as_deref() {
        None | Some("") | Some("all") => None,
        Some(text) => Some(GoalStatus::parse(text).ok_or_else(|| {
            Error::new(
                Code::InvalidQuery,
                format!("`status` must be in_progress, paused, completed or timeout, not `{text}`"),
            )
        })?),
    };
    let limit = query
        .limit
        .unwrap_or(50)
        .min(state.config().limits.list_max);
    let offset = query.offset.unwrap_or(0);
    let (goals, total) = state
        .goals()
        .list(&session(&scope)?, status, offset, limit)?;
    Ok(HttpResponse::Ok()
        .insert_header(("X-Total-Count", total.to_string()))
        .json(goals))
}

/// Declares when the goal's next iteration starts (the end of an
/// iteration): `"0s"` or 1 min … 12 h, with a reason.
#[utoipa::path(post, path = "/api/v1/goal/delay", operation_id = "delayGoal", tag = "goal", params(ConversationHeaders), request_body = NewDelay,
    responses((status = 200, body = Goal),
        (status = 400, description = "A bad `duration` or `reason`", body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, description = "No goal", body = ErrorBody),
        (status = 409, description = "Not in progress", body = ErrorBody)))]
pub async fn delay(
    state: web::Data<BotState>,
    scope: Scope,
    body: crate::http::JsonObject<NewDelay>,
) -> Result<HttpResponse> {
    state.require(Permission::Goal)?;
    let body = body.into_inner();
    let goal = state
        .goals()
        .delay(
            &session(&scope)?,
            body.duration.as_deref().unwrap_or_default(),
            body.reason.as_deref().unwrap_or_default(),
        )
        .await?;
    Ok(HttpResponse::Ok().json(goal))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/api/v1/goal")
            .get(get)
            .post(create)
            .delete(delete),
    )
    .service(resource("/api/v1/goal/pause").post(pause))
    .service(resource("/api/v1/goal/resume").post(resume))
    .service(resource("/api/v1/goal/complete").post(complete))
    .service(resource("/api/v1/goal/delay").post(delay))
    .service(resource("/api/v1/goals").get(list));
}
