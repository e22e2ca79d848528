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

/// When a task runs: recurring on a crontab or an interval, or once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// A standard 5-field crontab (or an `@daily`-style macro) in the bot's
    /// timezone.
    Cron(String),
    /// A one-shot time.
    At(DateTime<Utc>),
    /// Every so many seconds, counted from the task's creation.
    Every(u64),
}

impl Schedule {
    /// Exactly one of the three wire fields.
    pub fn new(
        cron: Option<String>,
        run_at: Option<DateTime<Utc>>,
        every_seconds: Option<u64>,
    ) -> Result<Self, ShapeError> {
        match (cron, run_at, every_seconds) {
            (None, None, None) => Err(ShapeError::NoSchedule),
            (Some(cron), None, None) => Ok(Schedule::Cron(cron)),
            (None, Some(at), None) => Ok(Schedule::At(at)),
            (None, None, Some(every)) => Ok(Schedule::Every(every)),
            _ => Err(ShapeError::TwoSchedules),
        }
    }

    pub fn cron(&self) -> Option<&str> {
        match self {
            Schedule::Cron(cron) => Some(cron),
            _ => None,
        }
    }

    pub fn run_at(&self) -> Option<DateTime<Utc>> {
        match self {
            Schedule::At(at) => Some(*at),
            _ => None,
        }
    }

    pub fn every_seconds(&self) -> Option<u64> {
        match self {
            Schedule::Every(every) => Some(*every),
            _ => None,
        }
    }

    /// What a task of this schedule does with due times the bot was down
    /// for, unless it says otherwise: a one-shot still runs, a repeating
    /// task skips them (as cron does).
    pub fn default_misfire(&self) -> Misfire {
        match self {
            Schedule::At(_) => Misfire::RunOnce,
            Schedule::Cron(_) | Schedule::Every(_) => Misfire::Skip,
        }
    }
}

/// What happens to due times that passed while the bot was not running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Misfire {
    /// They are recorded as `missed`; the task waits for its next time.
    Skip,
    /// The task runs once at start; earlier missed times are recorded.
    RunOnce,
    /// As `run_once` if the newest missed time lies within
    /// `catch_up_within`, else as `skip`.
    CatchUp,
}

impl Misfire {
    pub fn name(self) -> &'static str {
        match self {
            Misfire::Skip => "skip",
            Misfire::RunOnce => "run_once",
            Misfire::CatchUp => "catch_up",
        }
    }
}

/// `catch_up_within` when a `catch_up` task gives none: one hour.
pub const CATCH_UP_WITHIN: u64 = 3600;

/// Why the flat wire fields make no task; each message names the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    #[error("`{}` is required for the action `{}`", .0.needs(), .0.name())]
    MissingPayload(Action),
    #[error("give `cron` or `every_seconds` (recurring) or `run_at` (one-shot)")]
    NoSchedule,
    #[error("give exactly one of `cron`, `run_at` and `every_seconds` (in a PATCH, set the others to null)")]
    TwoSchedules,
    #[error("`catch_up_within` must be a duration such as \"1h\", \"30m\" or \"90s\"")]
    BadSpan,
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
    /// Shown in lists; at most 200 characters.
    pub title: Option<String>,
    /// After this many runs the task is completed; 0: no limit.
    pub max_runs: u64,
    pub misfire: Misfire,
    /// For `catch_up`: how old the newest missed time may be (seconds).
    pub catch_up_within: Option<u64>,
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

impl Task {
    /// Whether the task has had the runs `max_runs` allows.
    pub fn used_up(&self) -> bool {
        self.max_runs > 0 && self.run_count >= self.max_runs
    }

    /// How old a missed due time may be and still be caught up (seconds).
    pub fn catch_up_window(&self) -> u64 {
        self.catch_up_within.unwrap_or(CATCH_UP_WITHIN)
    }
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
    /// Due times that passed while the bot was not running and were not
    /// run (one record per outage; `missed_count` says how many).
    Missed,
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
    /// For a `missed` record: how many due times it stands for (the first
    /// is `due_at`); `null` for other outcomes.
    #[serde(default)]
    pub missed_count: Option<u64>,
}
