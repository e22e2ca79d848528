//! What an automation task is, as the API shows it and as sled keeps it.

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

/// An automation task. Times are RFC 3339 UTC; absent values are `null`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Task {
    #[schema(example = "task_3f9c2a7d1b8e4c60")]
    pub id: String,
    pub scope_type: ScopeType,
    /// A chat id (`chat`) or an open id (`user`).
    pub scope_id: String,
    pub action: Action,
    /// For `send_text`.
    pub text: Option<String>,
    /// For `run_llm`.
    pub prompt: Option<String>,
    /// For `run_workflow`: the skill `<workspace>/skills/<workflow>/run`.
    pub workflow: Option<String>,
    /// A standard 5-field crontab in the bot's timezone.
    #[schema(example = "0 9 * * *")]
    pub cron: Option<String>,
    /// A one-shot time.
    pub run_at: Option<DateTime<Utc>>,
    pub status: TaskStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When it runs next; `null` when it will not run.
    pub next_run_at: Option<DateTime<Utc>>,
    pub last_run_at: Option<DateTime<Utc>>,
    pub run_count: u64,
    /// The last run's failure; `null` after a success.
    pub last_error: Option<String>,
    /// `null` when the request carried no actor headers.
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
