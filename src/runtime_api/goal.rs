//! `/api/v1/goal…`: the goal of the caller's conversation (session key).

use crate::bot::{BotState, Permission};
use crate::error::{Code, Error, ErrorBody, Result};
use crate::goal::{Goal, Transition};
use crate::http::resource;
use crate::runtime_api::extract::ConversationHeaders;
use crate::scope::Scope;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewGoal {
    /// What the conversation is after: not blank, at most 4 000 characters.
    #[schema(example = "Review PR #42", value_type = String, required = true, min_length = 1, max_length = 4000, pattern = r"\S")]
    pub description: Option<String>,
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

/// The conversation's goal; 204 when it has none.
#[utoipa::path(get, path = "/api/v1/goal", operation_id = "getGoal", tag = "goal", params(ConversationHeaders),
    responses((status = 200, body = Goal), (status = 204, description = "No goal"),
        (status = 400, description = "No conversation named", body = ErrorBody),
        (status = 403, description = "Another conversation than the token's", body = ErrorBody)))]
pub async fn get(state: web::Data<BotState>, scope: Scope) -> Result<HttpResponse> {
    Ok(match state.goals().get(&session(&scope)?)? {
        Some(goal) => HttpResponse::Ok().json(goal),
        None => HttpResponse::NoContent().finish(),
    })
}

/// A new goal for the conversation (a completed one is replaced).
#[utoipa::path(post, path = "/api/v1/goal", operation_id = "createGoal", tag = "goal", params(ConversationHeaders), request_body = NewGoal,
    responses((status = 201, body = Goal),
        (status = 400, description = "Missing or empty description", body = ErrorBody),
        (status = 403, description = "permissions.runtime_goal is disabled", body = ErrorBody),
        (status = 409, description = "An unfinished goal exists", body = ErrorBody)))]
pub async fn create(
    state: web::Data<BotState>,
    scope: Scope,
    body: crate::http::JsonObject<NewGoal>,
) -> Result<HttpResponse> {
    state.require(Permission::Goal)?;
    let description = body.0.description.as_deref().unwrap_or_default();
    let goal = state.goals().create(&session(&scope)?, description).await?;
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

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/api/v1/goal")
            .get(get)
            .post(create)
            .delete(delete),
    )
    .service(resource("/api/v1/goal/pause").post(pause))
    .service(resource("/api/v1/goal/resume").post(resume))
    .service(resource("/api/v1/goal/complete").post(complete));
}
