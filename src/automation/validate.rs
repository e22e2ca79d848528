//! Request bodies to tasks: every rejection is a 400 that names the field.
//! Bodies are read as JSON objects by hand (not derived structs) so that a
//! wrong type says which field it is, and a PATCH can tell `null` (remove,
//! as JSON merge patch says) from an absent field (keep).

use super::model::{Action, ScopeType, Task, TaskStatus};
use super::timing::parse_cron;
use super::TaskError;
use chrono::{DateTime, Utc};

type Result<T, E = TaskError> = std::result::Result<T, E>;
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
    "status",
];
const PATCH_FIELDS: &[&str] = &["status", "cron", "run_at", "text", "prompt", "workflow"];
const WORKFLOW_MAX: usize = 64;

/// The fields a client sets when creating a task.
pub struct NewTask {
    pub scope_type: ScopeType,
    pub scope_id: String,
    pub action: Action,
    pub text: Option<String>,
    pub prompt: Option<String>,
    pub workflow: Option<String>,
    pub cron: Option<String>,
    pub run_at: Option<DateTime<Utc>>,
    pub status: TaskStatus,
}

/// Reads a create body; the caller builds the task and runs [`check`].
pub fn new_task(body: Value, now: DateTime<Utc>) -> Result<NewTask> {
    let map = object(body, CREATE_FIELDS)?;
    let required = |name: &str, hint: &str| {
        string(&map, name)?.ok_or_else(|| bad(format!("`{name}` is required{hint}")))
    };
    let scope_type = required("scope_type", " (\"chat\" or \"user\")")?;
    let scope_id = required("scope_id", "")?;
    let action = required(
        "action",
        " (\"send_text\", \"run_llm\" or \"run_workflow\")",
    )?;
    let status = match string(&map, "status")?.as_deref() {
        None | Some("active") => TaskStatus::Active,
        Some("paused") => TaskStatus::Paused,
        Some(_) => {
            return Err(bad(
                "`status` of a new task must be \"active\" or \"paused\"",
            ))
        }
    };
    Ok(NewTask {
        scope_type: scope_type_of(&scope_type)?,
        scope_id,
        action: action_of(&action)?,
        text: string(&map, "text")?,
        prompt: string(&map, "prompt")?,
        workflow: string(&map, "workflow")?,
        cron: string(&map, "cron")?,
        run_at: future_time(string(&map, "run_at")?, now)?,
        status,
    })
}

/// Applies a JSON merge patch to `task` and checks the result; on error
/// `task` may be half-changed, so callers patch a copy.
pub fn apply_patch(task: &mut Task, body: Value, now: DateTime<Utc>) -> Result<()> {
    let map = object(body, PATCH_FIELDS)?;
    if map.contains_key("status") {
        let to = string(&map, "status")?.ok_or_else(|| bad("`status` cannot be null"))?;
        let to = status_of(&to)?;
        transition(task.status, to)?;
        task.status = to;
    }
    for (name, slot) in [
        ("text", &mut task.text),
        ("prompt", &mut task.prompt),
        ("workflow", &mut task.workflow),
        ("cron", &mut task.cron),
    ] {
        if map.contains_key(name) {
            *slot = string(&map, name)?;
        }
    }
    if map.contains_key("run_at") {
        task.run_at = future_time(string(&map, "run_at")?, now)?;
    }
    check(task)
}

/// The rules every stored task satisfies.
pub fn check(task: &Task) -> Result<()> {
    if task.scope_id.trim().is_empty() {
        return Err(bad("`scope_id` must not be empty"));
    }
    let needed = task.action.needs();
    let value = match task.action {
        Action::SendText => &task.text,
        Action::RunLlm => &task.prompt,
        Action::RunWorkflow => &task.workflow,
    };
    match value.as_deref().map(str::trim) {
        None | Some("") => {
            return Err(bad(format!(
                "`{needed}` is required for the action `{}`",
                action_name(task.action)
            )))
        }
        Some(_) => {}
    }
    if let Some(name) = &task.workflow {
        check_workflow_name(name)?;
    }
    match (&task.cron, &task.run_at) {
        (None, None) => Err(bad("give `cron` (recurring) or `run_at` (one-shot)")),
        (Some(_), Some(_)) => Err(bad(
            "give either `cron` or `run_at`, not both (in a PATCH, set the other to null)",
        )),
        (Some(cron), None) => {
            let parsed = parse_cron(cron).map_err(TaskError::Invalid)?;
            // `0 9 31 2 *` parses but never comes: a task that never runs.
            match super::timing::next_cron(&parsed, chrono_tz::UTC, chrono::Utc::now()) {
                Some(_) => Ok(()),
                None => Err(bad("`cron` never matches a real date")),
            }
        }
        (None, Some(_)) => Ok(()),
    }
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

fn action_name(action: Action) -> &'static str {
    match action {
        Action::SendText => "send_text",
        Action::RunLlm => "run_llm",
        Action::RunWorkflow => "run_workflow",
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
fn string(map: &Map<String, Value>, name: &str) -> Result<Option<String>> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(bad(format!("`{name}` must be a string"))),
    }
}

fn bad(msg: impl Into<String>) -> TaskError {
    TaskError::Invalid(msg.into())
}
