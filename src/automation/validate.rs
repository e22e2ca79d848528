//! Request bodies to tasks: every rejection is a 400 that names the field.
//! Bodies are read as JSON objects by hand (not derived structs) so that a
//! wrong type says which field it is, and a PATCH can tell `null` (remove,
//! as JSON merge patch says) from an absent field (keep).

use super::model::{
    Action, Misfire, Schedule, ScopeType, ShapeError, Task, TaskAction, TaskStatus,
};
use super::timing::parse_cron;
use super::TaskError;
use chrono::{DateTime, Utc};

mod options;

type Result<T, E = TaskError> = std::result::Result<T, E>;
use options::{
    catch_up_within, check_catch_up, every_seconds, implied_action, max_runs, misfire_of,
    scope_name, title,
};
use serde_json::{Map, Value};

const CREATE_FIELDS: &[&str] = &[
    "scope_type",
    "scope_id",
    "action",
    "text",
    "prompt",
    "workflow",
    "cron",
    "run_at",
    "every_seconds",
    "status",
    "title",
    "max_runs",
    "misfire",
    "catch_up_within",
];
const PATCH_FIELDS: &[&str] = &[
    "status",
    "cron",
    "run_at",
    "every_seconds",
    "text",
    "prompt",
    "workflow",
    "title",
    "max_runs",
    "misfire",
    "catch_up_within",
];
const WORKFLOW_MAX: usize = 64;

/// The bot's own rules for its tasks (from `[bots.<id>.automation]`).
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub min_every_seconds: u64,
}

/// The fields a client sets when creating a task.
pub struct NewTask {
    pub scope_type: ScopeType,
    pub scope_id: String,
    pub action: TaskAction,
    pub schedule: Schedule,
    pub status: TaskStatus,
    pub title: Option<String>,
    pub max_runs: u64,
    pub misfire: Misfire,
    pub catch_up_within: Option<u64>,
}

/// Reads a create body; the caller builds the task and runs [`check`].
/// `own`: the caller's conversation (a run token's, or the request's
/// headers'), the scope when the body names none.
pub fn new_task(
    body: Value,
    now: DateTime<Utc>,
    rules: Rules,
    own: Option<(ScopeType, String)>,
) -> Result<NewTask> {
    let map = object(body, CREATE_FIELDS)?;
    let required = |name: &str, hint: &str| {
        string(&map, name)?.ok_or_else(|| bad(format!("`{name}` is required{hint}")))
    };
    let (scope_type, scope_id) = match (
        &own,
        map.contains_key("scope_type") || map.contains_key("scope_id"),
    ) {
        (Some((kind, id)), false) => (scope_name(*kind).to_string(), id.clone()),
        _ => (
            required("scope_type", " (\"chat\" or \"user\")")?,
            required("scope_id", "")?,
        ),
    };
    let action = match string(&map, "action")? {
        Some(action) => action,
        None => implied_action(&map)?,
    };
    let status = match string(&map, "status")?.as_deref() {
        None | Some("active") => TaskStatus::Active,
        Some("paused") => TaskStatus::Paused,
        Some(_) => {
            return Err(bad(
                "`status` of a new task must be \"active\" or \"paused\"",
            ))
        }
    };
    let scope_type = scope_type_of(&scope_type)?;
    let kind = action_of(&action)?;
    // Every payload field is read, so a wrong type is refused whichever
    // action it belongs to; only the action's own is kept.
    let (text, prompt, workflow) = (
        string(&map, "text")?,
        string(&map, "prompt")?,
        string(&map, "workflow")?,
    );
    let cron = string(&map, "cron")?;
    let run_at = future_time(string(&map, "run_at")?, now)?;
    let every = every_seconds(&map, rules)?;
    check_scope_id(&scope_id)?;
    let schedule = Schedule::new(cron, run_at, every).map_err(shape)?;
    let misfire = misfire_of(&map)?.unwrap_or(schedule.default_misfire());
    let catch_up_within = catch_up_within(&map)?;
    check_catch_up(misfire, catch_up_within)?;
    Ok(NewTask {
        scope_type,
        scope_id,
        action: TaskAction::new(kind, text, prompt, workflow).map_err(shape)?,
        schedule,
        status,
        title: title(&map)?,
        max_runs: max_runs(&map)?,
        misfire,
        catch_up_within,
    })
}

/// Applies a JSON merge patch to `task` and checks the result; on error
/// `task` may be half-changed, so callers patch a copy. A patch changes the
/// payload of the task's action (another action's field is ignored) and may
/// switch between `cron` and `run_at` (setting the other to `null`).
pub fn apply_patch(task: &mut Task, body: Value, now: DateTime<Utc>, rules: Rules) -> Result<()> {
    let map = object(body, PATCH_FIELDS)?;
    if map.contains_key("status") {
        let to = string(&map, "status")?.ok_or_else(|| bad("`status` cannot be null"))?;
        let to = status_of(&to)?;
        transition(task.status, to)?;
        task.status = to;
    }
    // Every payload field is read, so a wrong type is refused whichever
    // action it belongs to; only the action's own is applied.
    for name in ["text", "prompt", "workflow"] {
        string(&map, name)?;
    }
    let kind = task.action.kind();
    if map.contains_key(kind.needs()) {
        let payload = string(&map, kind.needs())?;
        task.action = TaskAction::with_payload(kind, payload).map_err(shape)?;
    }

    let mut cron = task.schedule.cron().map(str::to_string);
    let mut run_at = task.schedule.run_at();
    let mut every = task.schedule.every_seconds();
    if map.contains_key("cron") {
        cron = string(&map, "cron")?;
    }
    if map.contains_key("run_at") {
        run_at = future_time(string(&map, "run_at")?, now)?;
    }
    if map.contains_key("every_seconds") {
        every = every_seconds(&map, rules)?;
    }
    let old_default = task.schedule.default_misfire();
    task.schedule = Schedule::new(cron, run_at, every).map_err(shape)?;
    if map.contains_key("title") {
        task.title = title(&map)?;
    }
    if map.contains_key("max_runs") {
        task.max_runs = max_runs(&map)?;
    }
    // A policy left at its default follows the schedule to its new kind.
    task.misfire = match misfire_of(&map)? {
        Some(misfire) => misfire,
        None if map.contains_key("misfire") || task.misfire == old_default => {
            task.schedule.default_misfire()
        }
        None => task.misfire,
    };
    if map.contains_key("catch_up_within") {
        task.catch_up_within = catch_up_within(&map)?;
        check_catch_up(task.misfire, task.catch_up_within)?;
    } else if task.misfire != Misfire::CatchUp {
        task.catch_up_within = None;
    }
    // Fewer runs allowed than already made: nothing is left to run.
    if task.used_up() && matches!(task.status, TaskStatus::Active | TaskStatus::Paused) {
        task.status = TaskStatus::Completed;
    }
    check(task)
}

/// The rules every stored task satisfies beyond its shape.
pub fn check(task: &Task) -> Result<()> {
    check_scope_id(&task.scope_id)?;
    if let TaskAction::RunWorkflow { workflow } = &task.action {
        check_workflow_name(workflow)?;
    }
    match &task.schedule {
        Schedule::Cron(cron) => {
            let parsed = parse_cron(cron).map_err(TaskError::Invalid)?;
            // `0 9 31 2 *` parses but never comes: a task that never runs.
            match super::timing::next_cron(&parsed, chrono_tz::UTC, chrono::Utc::now()) {
                Some(_) => Ok(()),
                None => Err(bad("`cron` never matches a real date")),
            }
        }
        Schedule::At(_) | Schedule::Every(_) => Ok(()),
    }
}

fn check_scope_id(scope_id: &str) -> Result<()> {
    if scope_id.trim().is_empty() {
        return Err(bad("`scope_id` must not be empty"));
    }
    Ok(())
}

pub(super) fn shape(e: ShapeError) -> TaskError {
    bad(e.to_string())
}

/// `completed` is final; `active` ↔ `paused`; anything else → `cancelled`.
fn transition(from: TaskStatus, to: TaskStatus) -> Result<()> {
    use TaskStatus::*;
    match (from, to) {
        _ if from == to => Ok(()),
        (Completed, _) => Err(bad("`status`: a completed task cannot change")),
        (_, Cancelled) | (Active, Paused) | (Paused, Active) => Ok(()),
        (_, Completed) => Err(bad(
            "`status` cannot be set to completed: a one-shot task completes after it runs",
        )),
        (Cancelled, _) => Err(bad("`status`: a cancelled task cannot be resumed")),
        _ => Err(bad(format!(
            "`status` cannot change from {from:?} to {to:?}"
        ))),
    }
}

/// A workflow name is one folder name under `skills/`: no separators, no
/// leading dot, so it can never point outside the folder.
fn check_workflow_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= WORKFLOW_MAX
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(bad(format!(
            "`workflow` must be a skill name (letters, digits, `_`, `-`, `.`, starting with a letter or digit, at most {WORKFLOW_MAX} characters)"
        )))
    }
}

pub fn status_of(s: &str) -> Result<TaskStatus> {
    match s {
        "active" => Ok(TaskStatus::Active),
        "paused" => Ok(TaskStatus::Paused),
        "completed" => Ok(TaskStatus::Completed),
        "cancelled" => Ok(TaskStatus::Cancelled),
        _ => Err(bad(
            "`status` must be one of active, paused, completed, cancelled",
        )),
    }
}

/// A list's `status` filter: one status, or `all` (no filter).
pub fn list_status(s: &str) -> Result<Option<TaskStatus>> {
    match s {
        "all" => Ok(None),
        _ => status_of(s)
            .map(Some)
            .map_err(|_| bad("`status` must be one of active, paused, completed, cancelled, all")),
    }
}

fn scope_type_of(s: &str) -> Result<ScopeType> {
    match s {
        "chat" => Ok(ScopeType::Chat),
        "user" => Ok(ScopeType::User),
        _ => Err(bad("`scope_type` must be \"chat\" or \"user\"")),
    }
}

fn action_of(s: &str) -> Result<Action> {
    match s {
        "send_text" => Ok(Action::SendText),
        "run_llm" => Ok(Action::RunLlm),
        "run_workflow" => Ok(Action::RunWorkflow),
        _ => Err(bad(
            "`action` must be \"send_text\", \"run_llm\" or \"run_workflow\"",
        )),
    }
}

fn future_time(value: Option<String>, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
    let Some(text) = value else { return Ok(None) };
    let time = DateTime::parse_from_rfc3339(text.trim())
        .map_err(|_| {
            bad("`run_at` must be an RFC 3339 time, e.g. 2025-01-15T09:00:00Z or 2025-01-15T17:00:00+08:00")
        })?
        .with_timezone(&Utc);
    if time <= now {
        return Err(bad(format!(
            "`run_at` lies in the past ({})",
            time.to_rfc3339()
        )));
    }
    Ok(Some(time))
}

fn object(body: Value, allowed: &[&str]) -> Result<Map<String, Value>> {
    let Value::Object(map) = body else {
        return Err(bad("the body must be a JSON object"));
    };
    if let Some(unknown) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(bad(format!(
            "unknown field `{unknown}` (allowed: {})",
            allowed.join(", ")
        )));
    }
    Ok(map)
}

/// A string field: absent or `null` is `None`, another type is an error.
pub(super) fn string(map: &Map<String, Value>, name: &str) -> Result<Option<String>> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(bad(format!("`{name}` must be a string"))),
    }
}

pub(super) fn bad(msg: impl Into<String>) -> TaskError {
    TaskError::Invalid(msg.into())
}
