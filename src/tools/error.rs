//! Why an invocation was refused before it ran. Failures while running are
//! not errors here: they are answered as `ok: false` (200), as the seed has it.

use crate::error::{Code, ErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("the tool API is disabled for this bot (set bots.<id>.tools.invoke_enabled = true)")]
    Disabled,
    #[error("no tool `{0}` among this bot's tools")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("invalid callback: {0}")]
    BadCallback(String),
    #[error("the skills folder cannot be read: {0}")]
    Skills(#[from] crate::skills::SkillError),
}

impl ErrorCode for ToolError {
    fn code(&self) -> Code {
        match self {
            ToolError::Disabled => Code::ToolsDisabled,
            ToolError::NotFound(_) => Code::ToolNotFound,
            ToolError::BadRequest(_) => Code::InvalidRequest,
            ToolError::BadCallback(_) => Code::InvalidCallback,
            ToolError::Skills(_) => Code::Internal,
        }
    }
}
