//! A task as the API shows it and sled keeps it: flat, one field per
//! payload and both schedule fields, every absent one `null` — the shape
//! tasks had before [`Task`] held enums, so old records still load.

use super::model::{
    Action, Creator, Misfire, Schedule, ScopeType, ShapeError, Task, TaskAction, TaskStatus,
};
use super::timing::{format_span, parse_span};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The OpenAPI document shows the wire form, under the name `Task`.
impl utoipa::PartialSchema for Task {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        TaskJson::schema()
    }
}

impl ToSchema for Task {
    fn name() -> std::borrow::Cow<'static, str> {
        "Task".into()
    }

    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        TaskJson::schemas(schemas)
    }
}

/// An automation task. Times are RFC 3339 UTC; absent values are `null`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub(super) struct TaskJson {
    #[schema(example = "task_3f9c2a7d1b8e4c60")]
    id: String,
    scope_type: ScopeType,
    /// A chat id (`chat`) or an open id (`user`).
    scope_id: String,
    action: Action,
    /// For `send_text`.
    text: Option<String>,
    /// For `run_llm`.
    prompt: Option<String>,
    /// For `run_workflow`: the skill `<workspace>/skills/<workflow>/run`.
    workflow: Option<String>,
    /// A standard 5-field crontab in the bot's timezone, or one of
    /// `@hourly`, `@daily`, `@midnight`, `@weekly`, `@monthly`, `@yearly`.
    #[schema(example = "0 9 * * *")]
    cron: Option<String>,
    /// A one-shot time.
    run_at: Option<DateTime<Utc>>,
    /// Repeats every so many seconds, counted from `created_at`.
    #[serde(default)]
    #[schema(example = 3600)]
    every_seconds: Option<u64>,
    /// Shown in lists; at most 200 characters.
    #[serde(default)]
    #[schema(example = "Morning summary")]
    title: Option<String>,
    /// After this many runs the task is `completed`; 0: no limit.
    #[serde(default)]
    max_runs: u64,
    /// What happens to due times that passed while the bot was not running
    /// (default: `skip` for `cron`/`every_seconds`, `run_once` for `run_at`).
    #[serde(default)]
    #[schema(value_type = Misfire)]
    misfire: Option<Misfire>,
    /// For `catch_up`: a missed time at most this old is run (`"1h"`,
    /// `"30m"`, `"90s"`, `"2d"`); `null` for other policies.
    #[serde(default)]
    #[schema(example = "1h")]
    catch_up_within: Option<String>,
    status: TaskStatus,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// When it runs next; `null` when it will not run.
    next_run_at: Option<DateTime<Utc>>,
    last_run_at: Option<DateTime<Utc>>,
    run_count: u64,
    /// The last run's failure; `null` after a success.
    last_error: Option<String>,
    /// `null` when the request carried no actor headers.
    created_by: Option<Creator>,
}

impl From<Task> for TaskJson {
    fn from(task: Task) -> Self {
        let payload =
            |kind: Action| (task.action.kind() == kind).then(|| task.action.payload().to_string());
        TaskJson {
            text: payload(Action::SendText),
            prompt: payload(Action::RunLlm),
            workflow: payload(Action::RunWorkflow),
            action: task.action.kind(),
            cron: task.schedule.cron().map(str::to_string),
            run_at: task.schedule.run_at(),
            every_seconds: task.schedule.every_seconds(),
            catch_up_within: (task.misfire == Misfire::CatchUp)
                .then(|| format_span(task.catch_up_window())),
            misfire: Some(task.misfire),
            title: task.title,
            max_runs: task.max_runs,
            id: task.id,
            scope_type: task.scope_type,
            scope_id: task.scope_id,
            status: task.status,
            created_at: task.created_at,
            updated_at: task.updated_at,
            next_run_at: task.next_run_at,
            last_run_at: task.last_run_at,
            run_count: task.run_count,
            last_error: task.last_error,
            created_by: task.created_by,
        }
    }
}

impl TryFrom<TaskJson> for Task {
    type Error = ShapeError;

    fn try_from(json: TaskJson) -> Result<Self, ShapeError> {
        let schedule = Schedule::new(json.cron, json.run_at, json.every_seconds)?;
        let catch_up_within = json
            .catch_up_within
            .map(|text| parse_span(&text).map_err(|_| ShapeError::BadSpan))
            .transpose()?;
        Ok(Task {
            action: TaskAction::new(json.action, json.text, json.prompt, json.workflow)?,
            misfire: json.misfire.unwrap_or(schedule.default_misfire()),
            schedule,
            catch_up_within,
            title: json.title,
            max_runs: json.max_runs,
            id: json.id,
            scope_type: json.scope_type,
            scope_id: json.scope_id,
            status: json.status,
            created_at: json.created_at,
            updated_at: json.updated_at,
            next_run_at: json.next_run_at,
            last_run_at: json.last_run_at,
            run_count: json.run_count,
            last_error: json.last_error,
            created_by: json.created_by,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::automation::model::StoredTask;
    use serde_json::{json, Value};

    /// A task as the code before the enums wrote it to sled.
    fn old_stored(action: &str, payloads: Value, schedule: Value) -> Value {
        let mut task = json!({
            "id": "task_00000000000000aa", "scope_type": "chat", "scope_id": "oc_1",
            "action": action, "text": null, "prompt": null, "workflow": null,
            "cron": null, "run_at": null, "status": "active",
            "created_at": "2025-01-15T09:00:00Z", "updated_at": "2025-01-15T09:00:00Z",
            "next_run_at": null, "last_run_at": null, "run_count": 3, "last_error": null,
            "created_by": {"actor_user_id": "u_1", "actor_open_id": null}
        });
        for (key, value) in payloads.as_object().into_iter().flatten() {
            task[key] = value.clone();
        }
        for (key, value) in schedule.as_object().into_iter().flatten() {
            task[key] = value.clone();
        }
        json!({"seq": 7, "handled_due": null, "task": task})
    }

    #[test]
    fn tasks_stored_by_the_old_code_load_and_write_back_the_same() {
        let at = "2030-01-15T09:00:00Z".parse::<DateTime<Utc>>().unwrap();
        for (action, payload, schedule, want_action, want_schedule) in [
            (
                "send_text",
                json!({"text": "hi"}),
                json!({"cron": "0 9 * * *"}),
                TaskAction::SendText { text: "hi".into() },
                Schedule::Cron("0 9 * * *".into()),
            ),
            (
                "run_llm",
                json!({"prompt": "sum up"}),
                json!({"run_at": "2030-01-15T09:00:00Z"}),
                TaskAction::RunLlm {
                    prompt: "sum up".into(),
                },
                Schedule::At(at),
            ),
            (
                "run_workflow",
                json!({"workflow": "report"}),
                json!({"cron": "*/5 * * * *"}),
                TaskAction::RunWorkflow {
                    workflow: "report".into(),
                },
                Schedule::Cron("*/5 * * * *".into()),
            ),
        ] {
            let old = old_stored(action, payload, schedule);
            let stored: StoredTask = serde_json::from_value(old.clone()).expect(action);
            assert_eq!(stored.task.action, want_action);
            assert_eq!(stored.task.schedule, want_schedule);
            assert_eq!(stored.task.run_count, 3);
            // Written back: the old fields as they were, the new ones at
            // their defaults.
            let mut back = serde_json::to_value(&stored).unwrap();
            let misfire = if action == "run_llm" {
                "run_once"
            } else {
                "skip"
            };
            let added = json!({"every_seconds": null, "title": null, "max_runs": 0,
                "misfire": misfire, "catch_up_within": null});
            for (key, value) in added.as_object().unwrap() {
                let task = back["task"].as_object_mut().unwrap();
                assert_eq!(task.remove(key).as_ref(), Some(value), "{action} {key}");
            }
            assert_eq!(back, old, "{action}");
        }
    }

    #[test]
    fn another_actions_payload_in_an_old_task_is_dropped() {
        let old = old_stored(
            "run_workflow",
            json!({"workflow": "report", "prompt": "unused"}),
            json!({"cron": "0 9 * * *"}),
        );
        let stored: StoredTask = serde_json::from_value(old).unwrap();
        let back = serde_json::to_value(&stored.task).unwrap();
        assert_eq!(
            (back["workflow"].as_str(), &back["prompt"]),
            (Some("report"), &Value::Null)
        );
    }

    #[test]
    fn a_task_without_its_payload_or_schedule_does_not_load() {
        for (action, payload, schedule, error) in [
            (
                "run_llm",
                json!({"text": "hi"}),
                json!({"cron": "0 9 * * *"}),
                "`prompt` is required",
            ),
            ("send_text", json!({"text": "hi"}), json!({}), "give `cron`"),
            (
                "send_text",
                json!({"text": "hi"}),
                json!({"cron": "0 9 * * *", "run_at": "2030-01-15T09:00:00Z"}),
                "exactly one of",
            ),
        ] {
            let old = old_stored(action, payload, schedule);
            let e = serde_json::from_value::<StoredTask>(old).unwrap_err();
            assert!(e.to_string().contains(error), "{e}");
        }
    }
}
