//! What can go wrong with agent runs, in the run service's own terms.

use super::{MAX_PROMPT_CHARS, MAX_TIMEOUT};
use crate::error::{Code, ErrorCode};
use crate::goal::GoalError;
use crate::skills::SkillError;
use crate::store::StoreError;
use std::time::Duration;

/// A run could not be started, found or changed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("`prompt` is required")]
    MissingPrompt,
    #[error("`prompt` has {0} characters; the limit is {MAX_PROMPT_CHARS}")]
    PromptTooLong(usize),
    #[error("`timeoutMs` must be between 1 and {}", MAX_TIMEOUT.as_millis())]
    BadTimeout,
    #[error("unknown status `{0}` (running, succeeded, failed, timeout, cancelled)")]
    UnknownStatus(String),
    #[error("unknown agent `{asked}`; bot `{bot}` runs `{runs}` (or say `default`)")]
    UnknownAgent {
        asked: String,
        bot: String,
        runs: String,
    },
    #[error("bot `{0}` has no agent (set bots.{0}.agent.command)")]
    NoAgent(String),
    /// `who`: the bot (`bot \`x\``) or `this host`.
    #[error("{who} is running as many agent runs as it may; retry later")]
    Busy { who: String, retry_after: u64 },
    #[error("bot `{0}` is stopping")]
    Stopping(String),
    #[error("no run `{0}`")]
    NotFound(String),
    #[error("run `{id}` has already finished ({status})")]
    Finished { id: String, status: &'static str },
    #[error("cannot start the agent `{program}`: {reason}")]
    Spawn { program: String, reason: String },
    /// The task that starts the run on the bot's runtime ended abnormally.
    #[error("the run's launch failed: {0}")]
    Launch(String),
    #[error(transparent)]
    Skill(#[from] SkillError),
    #[error(transparent)]
    Goal(#[from] GoalError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ErrorCode for RunError {
    fn code(&self) -> Code {
        match self {
            RunError::MissingPrompt
            | RunError::PromptTooLong(_)
            | RunError::BadTimeout
            | RunError::UnknownStatus(_)
            | RunError::UnknownAgent { .. } => Code::InvalidRun,
            RunError::NoAgent(_) => Code::AgentNotConfigured,
            RunError::Busy { .. } => Code::CapacityExhausted,
            RunError::Stopping(_) => Code::BotStopping,
            RunError::NotFound(_) => Code::RunNotFound,
            RunError::Finished { .. } => Code::RunFinished,
            RunError::Spawn { .. } => Code::SpawnFailed,
            RunError::Launch(_) => Code::Internal,
            RunError::Skill(e) => e.code(),
            RunError::Goal(e) => e.code(),
            RunError::Store(e) => e.code(),
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            RunError::Busy { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }
}

/// Why asking the agent (chat, `run_llm`, workflows) gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("no agent command is configured (bots.<id>.agent.command)")]
    NotConfigured,
    #[error("the agent timed out after {0:?}")]
    Timeout(Duration),
    #[error("the agent exited with {code:?}: {stderr}")]
    Failed { code: Option<i32>, stderr: String },
    #[error("the agent run was cancelled")]
    Cancelled,
    /// The bot is stopping: the run was refused, or cancelled by the stop.
    #[error("the bot is stopping")]
    Stopping,
    /// The run could not be started (a full or stopping bot, a missing
    /// program, an unknown skill, storage).
    #[error(transparent)]
    Start(#[from] RunError),
}
