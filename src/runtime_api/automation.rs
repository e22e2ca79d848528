//! `/api/v1/automation/tasks`: the bot's scheduled tasks. Handlers only
//! extract and answer; the rules live in `crate::automation`.

use crate::automation::{Access, Creator, ListFilter, Task, TaskRun};
use crate::bot::{BotState, Permission};
use crate::error::{ErrorBody, Result};
use crate::http::resource_in;
use crate::runtime_api::extract::{token_scope, TokenScope};
use crate::scope::Scope;
use actix_web::http::header::ContentType;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

const TASKS: &str = "/api/v1/automation/tasks";
const TASK: &str = "/api/v1/automation/tasks/{task_id}";
const RUNS: &str = "/api/v1/automation/tasks/{task_id}/runs";

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Items per page: default 50, larger values are clamped to
    /// `limits.list_max` (200).
    pub limit: Option<usize>,
    /// Tasks to skip.
    pub offset: Option<usize>,
    /// `active`, `paused`, `completed`, `cancelled`, or `all` (the same as
    /// no filter).
    #[param(value_type = Option<String>, example = "all",
        pattern = "^(active|paused|completed|cancelled|all)$")]
    pub status: Option<String>,
}

/// A new task. `text`, `prompt` or `workflow` as the action needs; exactly
/// one of `cron`, `run_at` and `every_seconds`.
#[derive(ToSchema)]
#[allow(dead_code)] // Documents the body, which is read field by field.
pub struct NewTaskBody {
    /// `chat` or `user`. Without `scope_type` and `scope_id` the task goes
    /// to the caller's conversation (a run token's own, or the one the
    /// `X-Alice-Receive-Id*` headers name).
    #[schema(example = "chat")]
    scope_type: Option<String>,
    #[schema(example = "oc_xxxxxxxxxxxxx")]
    scope_id: Option<String>,
    /// `send_text`, `run_llm` or `run_workflow`; without it, the action
    /// whose payload alone is given (`prompt` → `run_llm`, `text` →
    /// `send_text`, `workflow` → `run_workflow`).
    #[schema(example = "send_text")]
    action: Option<String>,
    /// For `send_text`; `{{now}}`, `{{date}}`, `{{time}}`, `{{unix}}` are
    /// filled in at each run (bot's timezone).
    text: Option<String>,
    /// For `run_llm`; placeholders as in `text`.
    prompt: Option<String>,
    workflow: Option<String>,
    /// 5 fields, or `@hourly`, `@daily`, `@midnight`, `@weekly`,
    /// `@monthly`, `@yearly`.
    #[schema(example = "0 9 * * *")]
    cron: Option<String>,
    #[schema(example = "2030-01-15T09:00:00Z")]
    run_at: Option<String>,
    /// Repeats every so many seconds (at least
    /// `automation.min_every_seconds`, default 60).
    #[schema(example = 3600)]
    every_seconds: Option<u64>,
    /// `active` (default) or `paused`.
    status: Option<String>,
    /// At most 200 characters.
    #[schema(example = "Morning summary")]
    title: Option<String>,
    /// After this many runs the task is `completed`; 0 or `null`: no limit.
    #[schema(example = 5)]
    max_runs: Option<u64>,
    /// `skip` (default for `cron`/`every_seconds`), `run_once` (default for
    /// `run_at`) or `catch_up`.
    #[schema(value_type = Option<crate::automation::Misfire>)]
    misfire: Option<String>,
    /// For `catch_up` (default `"1h"`): `"90s"`, `"30m"`, `"2h"`, `"1d"`, or
    /// whole seconds.
    #[schema(example = "2h")]
    catch_up_within: Option<String>,
}

/// A JSON merge patch: a field set to `null` is removed.
#[derive(ToSchema)]
#[allow(dead_code)] // Documents the body, which is read field by field.
pub struct TaskPatch {
    #[schema(example = "cancelled")]
    status: Option<String>,
    cron: Option<String>,
    run_at: Option<String>,
    every_seconds: Option<u64>,
    text: Option<String>,
    prompt: Option<String>,
    workflow: Option<String>,
    title: Option<String>,
    /// Lowered to the runs already made, the task completes.
    max_runs: Option<u64>,
    #[schema(value_type = Option<crate::automation::Misfire>)]
    misfire: Option<String>,
    catch_up_within: Option<String>,
}

/// The bot's tasks in creation order; `X-Total-Count` has the number matching.
#[utoipa::path(get, path = "/api/v1/automation/tasks", operation_id = "listTasks", tag = "automation", params(ListQuery),
    responses((status = 200, body = [Task], headers(("X-Total-Count" = usize, description = "Tasks matching the filter"))),
        (status = 400, description = "Bad limit, offset or status", body = ErrorBody),
        (status = 403, description = "The headers name another conversation than the token's", body = ErrorBody)))]
pub async fn list(
    state: web::Data<BotState>,
    limit: TokenScope,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse> {
    let query = query.into_inner();
    let filter = ListFilter {
        limit: query.limit,
        offset: query.offset.unwrap_or(0),
        status: query.status,
    };
    let (tasks, total) = state.automation().list(filter, &access(limit)).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("X-Total-Count", total.to_string()))
        .json(tasks))
}

/// Creates a task; answered once it is on disk and scheduled. The
/// `X-Alice-Actor-*` headers are recorded as its creator.
#[utoipa::path(post, path = "/api/v1/automation/tasks", operation_id = "createTask", tag = "automation", request_body = NewTaskBody,
    responses((status = 201, body = Task),
        (status = 400, description = "Invalid body; the message names the field", body = ErrorBody),
        (status = 403, description = "permissions.runtime_automation is disabled, or an agent run's token names another conversation", body = ErrorBody)))]
pub async fn create(
    state: web::Data<BotState>,
    req: HttpRequest,
    scope: Scope,
    body: web::Json<Value>,
) -> Result<HttpResponse> {
    state.require(Permission::Automation)?;
    let creator = Creator {
        actor_user_id: scope.actor_user_id.clone(),
        actor_open_id: scope.actor_open_id.clone(),
    };
    let task = state
        .automation()
        .create(
            body.into_inner(),
            creator,
            &scope,
            &Access {
                scope: token_scope(&req),
            },
        )
        .await?;
    Ok(HttpResponse::Created().json(task))
}

/// One task.
#[utoipa::path(get, path = "/api/v1/automation/tasks/{task_id}", operation_id = "getTask", tag = "automation",
    params(("task_id" = String, Path, description = "Task id")),
    responses((status = 200, body = Task), (status = 404, description = "No such task", body = ErrorBody),
        (status = 403, description = "The headers name another conversation than the token's", body = ErrorBody)))]
pub async fn get(
    state: web::Data<BotState>,
    limit: TokenScope,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    // Already encoded: the same bytes `.json(task)` would send.
    let body = state.automation().get_json(&id, &access(limit))?;
    Ok(HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(body))
}

/// Updates a task with a JSON merge patch of `status`, `cron`, `run_at`,
/// `every_seconds`, `text`, `prompt`, `workflow`, `title`, `max_runs`,
/// `misfire`, `catch_up_within`. Status changes: `active` ↔ `paused`,
/// anything → `cancelled`; `completed` is final.
#[utoipa::path(patch, path = "/api/v1/automation/tasks/{task_id}", operation_id = "updateTask", tag = "automation",
    params(("task_id" = String, Path, description = "Task id")), request_body = TaskPatch,
    responses((status = 200, body = Task),
        (status = 400, description = "Invalid update", body = ErrorBody),
        (status = 403, description = "permissions.runtime_automation is disabled", body = ErrorBody),
        (status = 404, description = "No such task", body = ErrorBody)))]
pub async fn update(
    state: web::Data<BotState>,
    limit: TokenScope,
    id: web::Path<String>,
    patch: web::Json<Value>,
) -> Result<HttpResponse> {
    state.require(Permission::Automation)?;
    let task = state
        .automation()
        .update(&id, patch.into_inner(), &access(limit))
        .await?;
    Ok(HttpResponse::Ok().json(task))
}

/// Deletes a task and its run history.
#[utoipa::path(delete, path = "/api/v1/automation/tasks/{task_id}", operation_id = "deleteTask", tag = "automation",
    params(("task_id" = String, Path, description = "Task id")),
    responses((status = 204, description = "Deleted"),
        (status = 403, description = "permissions.runtime_automation is disabled", body = ErrorBody),
        (status = 404, description = "No such task", body = ErrorBody)))]
pub async fn delete(
    state: web::Data<BotState>,
    limit: TokenScope,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    state.require(Permission::Automation)?;
    state.automation().delete(&id, &access(limit)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The task's last runs, newest first (at most 20 are kept).
#[utoipa::path(get, path = "/api/v1/automation/tasks/{task_id}/runs", operation_id = "listTaskRuns", tag = "automation",
    params(("task_id" = String, Path, description = "Task id")),
    responses((status = 200, body = [TaskRun]), (status = 404, description = "No such task", body = ErrorBody),
        (status = 403, description = "The headers name another conversation than the token's", body = ErrorBody)))]
pub async fn runs(
    state: web::Data<BotState>,
    limit: TokenScope,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.automation().runs(&id, &access(limit))?))
}

/// An agent run's token reaches only its own conversation's tasks.
fn access(TokenScope(scope): TokenScope) -> Access {
    Access { scope }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    // A scope: other routes do not pay for these regexes.
    const SCOPE: &str = "/api/v1/automation";
    cfg.service(
        web::scope(SCOPE)
            .service(resource_in(SCOPE, TASKS).get(list).post(create))
            .service(
                resource_in(SCOPE, TASK)
                    .get(get)
                    .patch(update)
                    .delete(delete),
            )
            .service(resource_in(SCOPE, RUNS).get(runs)),
    );
}
