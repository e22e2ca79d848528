//! What an automation task is in the code: one action with its payload,
//! one schedule. Its flat wire and storage form is in `wire.rs`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScopeType {
    Chat,
    User,
}

impl ScopeType {
    /// The connector's receive id type for this scope.
    pub fn receive_id_type(self) -> crate::scope::ReceiveIdType {
        match self {
            ScopeType::Chat => crate::scope::ReceiveIdType::ChatId,
            ScopeType::User => crate::scope::ReceiveIdType::OpenId,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    SendText,
    RunLlm,
    RunWorkflow,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::SendText => "send_text",
            Action::RunLlm => "run_llm",
            Action::RunWorkflow => "run_workflow",
        }
    }

    /// The field this action needs.
    pub fn needs(self) -> &'static str {
        match self {
            Action::SendText => "text",
            Action::RunLlm => "prompt",
            Action::RunWorkflow => "workflow",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Active,
    Paused,
    Completed,
    Cancelled,
}

/// Who created a task: the actor ids of the conversation it came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Creator {
    pub actor_user_id: Option<String>,
    pub actor_open_id: Option<String>,
}

/// What a task does when it runs, with what that needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskAction {
    SendText {
        text: String,
    },
    RunLlm {
        prompt: String,
    },
    /// `workflow`: the skill `<workspace>/skills/<workflow>/run`.
    RunWorkflow {
        workflow: String,
    },
}

impl TaskAction {
    /// Pairs `kind` with its own payload field; the others are ignored, as
    /// a typed task has no room for them.
    pub fn new(
        kind: Action,
        text: Option<String>,
        prompt: Option<String>,
        workflow: Option<String>,
    ) -> Result<Self, ShapeError> {
        let own = match kind {
            Action::SendText => text,
            Action::RunLlm => prompt,
            Action::RunWorkflow => workflow,
        };
        Self::with_payload(kind, own)
    }

    /// `kind` with its payload; a blank payload is a missing one.
    pub fn with_payload(kind: Action, payload: Option<String>) -> Result<Self, ShapeError> {
        let payload = payload
            .filter(|v| !v.trim().is_empty())
            .ok_or(ShapeError::MissingPayload(kind))?;
        Ok(match kind {
            Action::SendText => TaskAction::SendText { text: payload },
            Action::RunLlm => TaskAction::RunLlm { prompt: payload },
            Action::RunWorkflow => TaskAction::RunWorkflow { workflow: payload },
        })
    }

    pub fn kind(&self) -> Action {
        match self {
            TaskAction::SendText { .. } => Action::SendText,
            TaskAction::RunLlm { .. } => Action::RunLlm,
            TaskAction::RunWorkflow { .. } => Action::RunWorkflow,
        }
    }

    /// The payload, whichever field it travels in.
    pub fn payload(&self) -> &str {
        match self {
            TaskAction::SendText { text } => text,
            TaskAction::RunLlm { prompt } => prompt,
            TaskAction::RunWorkflow { workflow } => workflow,
        }
    }
}

/// When a task runs: recurring on a crontab, or once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// A standard 5-field crontab in the bot's timezone.
    Cron(String),
    /// A one-shot time.
    At(DateTime<Utc>),
}

impl Schedule {
    /// Exactly one of the two wire fields.
    pub fn new(cron: Option<String>, run_at: Option<DateTime<Utc>>) -> Result<Self, ShapeError> {
        match (cron, run_at) {
            (None, None) => Err(ShapeError::NoSchedule),
            (Some(_), Some(_)) => Err(ShapeError::TwoSchedules),
            (Some(cron), None) => Ok(Schedule::Cron(cron)),
            (None, Some(at)) => Ok(Schedule::At(at)),
        }
    }

    pub fn cron(&self) -> Option<&str> {
        match self {
            Schedule::Cron(cron) => Some(cron),
            Schedule::At(_) => None,
        }
    }

    pub fn run_at(&self) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Cron(_) => None,
            Schedule::At(at) => Some(*at),
        }
    }
}

/// Why the flat wire fields make no task; each message names the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    #[error("`{}` is required for the action `{}`", .0.needs(), .0.name())]
    MissingPayload(Action),
    #[error("give `cron` (recurring) or `run_at` (one-shot)")]
    NoSchedule,
    #[error("give either `cron` or `run_at`, not both (in a PATCH, set the other to null)")]
    TwoSchedules,
}

/// An automation task. On the wire and in sled it is the flat `TaskJson`
/// of `wire.rs`
/// (one field per payload, `cron` and `run_at`), as before the enums.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "super::wire::TaskJson", try_from = "super::wire::TaskJson")]
pub struct Task {
    pub id: String,
    pub scope_type: ScopeType,
    /// A chat id (`chat`) or an open id (`user`).
    pub scope_id: String,
    pub action: TaskAction,
    pub schedule: Schedule,
    pub status: TaskStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When it runs next; `None` when it will not run.
    pub next_run_at: Option<DateTime<Utc>>,
    pub last_run_at: Option<DateTime<Utc>>,
    pub run_count: u64,
    /// The last run's failure; `None` after a success.
    pub last_error: Option<String>,
    pub created_by: Option<Creator>,
}

/// What sled keeps under `<bot>/tasks` → `<task id>`: the task and the
/// scheduler's bookkeeping, which the API does not show.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredTask {
    /// Creation order (sled's increasing id): lists are sorted by it.
    pub seq: u64,
    /// The last due time the scheduler took on. Written (and flushed) before
    /// a run starts, so no due time ever runs twice, restarts included.
    pub handled_due: Option<DateTime<Utc>>,
    pub task: Task,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Running,
    Succeeded,
    Failed,
    /// The previous run of the task was still going at this due time.
    Skipped,
    /// The bot stopped (or the process died) during the run.
    Interrupted,
}

/// One run of a task, kept under `<bot>/task_runs` → `<task id>␟<seq:020>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TaskRun {
    pub task_id: String,
    /// The time the run was due.
    pub due_at: DateTime<Utc>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub outcome: Outcome,
    pub error: Option<String>,
    /// The message the run sent, if any.
    pub message_id: Option<String>,
}
