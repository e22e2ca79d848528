//! A goal as stored and as the API shows it.

use crate::scope::Scope;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GoalStatus {
    InProgress,
    Paused,
    Completed,
    /// The deadline passed (after one wrap-up iteration).
    Timeout,
}

impl GoalStatus {
    pub fn name(self) -> &'static str {
        match self {
            GoalStatus::InProgress => "in_progress",
            GoalStatus::Paused => "paused",
            GoalStatus::Completed => "completed",
            GoalStatus::Timeout => "timeout",
        }
    }

    /// `in_progress` or `paused`: the conversation's current goal.
    pub fn unfinished(self) -> bool {
        matches!(self, GoalStatus::InProgress | GoalStatus::Paused)
    }

    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(text.to_string())).ok()
    }
}

/// The delay an agent declared at the end of an iteration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Delay {
    /// As declared (`"0s"`, `"12m"`).
    #[schema(example = "12m")]
    pub duration: String,
    #[schema(example = "waiting for CI on PR #225")]
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// How an iteration ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IterationOutcome {
    Succeeded,
    Failed,
    Timeout,
    /// Cut by a stop or a crash of alice; the goal was due again at start.
    Interrupted,
}

/// The iteration running now (written and flushed before its run starts,
/// so a restart knows it was cut).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InFlight {
    pub iteration: u32,
    /// The run's id (`taskId` of `/api/v1/runs`).
    pub run_id: String,
    /// When it was due; `started_at - due_at` is the engine's lateness.
    pub due_at: DateTime<Utc>,
    pub started_at: DateTime<Utc>,
    /// The last iteration after the deadline passed.
    pub wrap_up: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Goal {
    #[schema(example = "goal_3f2a9c1d7e4b")]
    pub id: String,
    #[schema(example = "Review PR #42")]
    pub description: String,
    pub status: GoalStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the engine wraps up and sets `timeout`.
    #[serde(default = "old_deadline")]
    pub deadline_at: DateTime<Utc>,
    /// When the next iteration is due; `null` unless `in_progress` and idle.
    #[serde(default)]
    pub next_run_at: Option<DateTime<Utc>>,
    /// Iterations started so far.
    #[serde(default)]
    pub iterations: u32,
    #[serde(default)]
    pub last_iteration_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub last_delay: Option<Delay>,
    /// Why the goal is where it is (a default delay, a back-off, the
    /// runaway guard, a limit, an interruption).
    #[serde(default)]
    pub status_reason: Option<String>,
    /// The last finished iteration's run, how it ended and its error.
    #[serde(default)]
    pub last_run_id: Option<String>,
    #[serde(default)]
    pub last_outcome: Option<IterationOutcome>,
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(default)]
    pub in_flight: Option<InFlight>,
    /// Failed iterations in a row (the back-off's exponent).
    #[serde(default)]
    pub failures: u32,
    /// Fast `0s` iterations in a row (the runaway guard's count).
    #[serde(default)]
    pub fast_iterations: u32,
    /// `iterations` when the goal was last resumed (`max_iterations`
    /// counts from there).
    #[serde(default)]
    pub iterations_at_resume: u32,
    /// The conversation iterations answer in.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub scope: Scope,
}

/// Goals stored before deadlines existed get the default one from now.
fn old_deadline() -> DateTime<Utc> {
    Utc::now() + chrono::Duration::hours(48)
}

/// A change of a goal's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Pause,
    Resume,
    Complete,
}

impl Transition {
    pub(super) fn apply(self, from: GoalStatus) -> Option<GoalStatus> {
        use GoalStatus::*;
        match (self, from) {
            (Transition::Pause, InProgress) => Some(Paused),
            (Transition::Resume, Paused) => Some(InProgress),
            (Transition::Complete, InProgress | Paused) => Some(Completed),
            _ => None,
        }
    }

    pub fn verb(self) -> &'static str {
        match self {
            Transition::Pause => "pause",
            Transition::Resume => "resume",
            Transition::Complete => "complete",
        }
    }
}
