//! What can go wrong with automation tasks, in the service's own terms.

use crate::error::{Code, ErrorCode};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// A field of a create or patch body breaks a rule; the text names it.
    #[error("{0}")]
    Invalid(String),
    #[error("no automation task `{0}`")]
    NotFound(String),
    #[error("this token is limited to its own conversation")]
    OutsideScope,
    #[error("the scheduler could not start: {0}")]
    Scheduler(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ErrorCode for TaskError {
    fn code(&self) -> Code {
        match self {
            TaskError::Invalid(_) => Code::InvalidTask,
            TaskError::NotFound(_) => Code::TaskNotFound,
            TaskError::OutsideScope => Code::OutsideScope,
            TaskError::Scheduler(_) | TaskError::Store(_) => Code::Internal,
        }
    }
}

/// Why a task's run did not succeed (recorded on the task and its run).
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error(transparent)]
    Agent(#[from] crate::agent::AgentError),
    #[error("the agent answered nothing")]
    EmptyAnswer,
    #[error(transparent)]
    Send(#[from] crate::connector::ConnectorError),
    #[error("interrupted: the bot stopped during the run")]
    Interrupted,
}
