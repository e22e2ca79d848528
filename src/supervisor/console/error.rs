//! Why the console refused a request.

use crate::error::{Code, ErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("wrong admin token")]
    WrongToken,
    #[error("too many failed logins from this address; retry in {0} s")]
    Throttled(u64),
    #[error("missing or wrong X-CSRF-Token: log in again if the page is old")]
    Csrf,
    #[error("a console session may not {0}")]
    Forbidden(&'static str),
    #[error("the console does not reach `{0}` on a bot")]
    NotProxied(String),
    #[error("no such message with a file")]
    NoFile,
    #[error("the bot did not answer: {0}")]
    Bot(String),
}

impl ErrorCode for ConsoleError {
    fn code(&self) -> Code {
        match self {
            ConsoleError::WrongToken => Code::InvalidToken,
            ConsoleError::Throttled(_) => Code::AuthThrottled,
            ConsoleError::Csrf => Code::CsrfRejected,
            ConsoleError::Forbidden(_) | ConsoleError::NotProxied(_) => Code::ConsoleForbidden,
            ConsoleError::NoFile => Code::RouteNotFound,
            ConsoleError::Bot(_) => Code::BotUnavailable,
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            ConsoleError::Throttled(secs) => Some(*secs),
            _ => None,
        }
    }
}
