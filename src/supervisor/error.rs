//! What can go wrong with the supervisor's operations on its bots.

use crate::agent::RunError;
use crate::config::ConfigError;
use crate::connector::ConnectorError;
use crate::error::{Code, ErrorCode};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    #[error("no bot `{0}`")]
    UnknownBot(String),
    /// The file has the bot, but another supervisor (shard) runs it.
    #[error("bot `{id}` is not run by this supervisor; {owner} runs it")]
    OtherShard { id: String, owner: String },
    #[error("bot `{0}` is not running; start it first")]
    NotRunning(String),
    /// The bot is not running to take a platform's callback: the platform
    /// should deliver again later.
    #[error("bot `{0}` is not running")]
    Offline(String),
    /// A start, stop or restart did not happen (the source says why).
    #[error("bot `{id}`: {source}")]
    Unavailable {
        id: String,
        source: super::unit::UnitError,
    },
    #[error("bot `{0}` does not use the local connector")]
    NotLocal(String),
    #[error("bot `{bot}` does not take {}", route.describe())]
    WrongCallback {
        bot: String,
        route: super::callback::Route,
    },
    #[error("the OneBot access token is missing or wrong")]
    BadOneBotToken,
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Connector(#[from] ConnectorError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Archive(#[from] crate::archive::ArchiveError),
}

impl ErrorCode for SupervisorError {
    fn code(&self) -> Code {
        match self {
            SupervisorError::UnknownBot(_) => Code::BotNotFound,
            SupervisorError::OtherShard { .. } => Code::BotOnOtherShard,
            SupervisorError::NotRunning(_) => Code::BotNotRunning,
            SupervisorError::Unavailable { .. } | SupervisorError::Offline(_) => {
                Code::BotUnavailable
            }
            SupervisorError::NotLocal(_) | SupervisorError::WrongCallback { .. } => {
                Code::WrongConnector
            }
            SupervisorError::BadOneBotToken => Code::InvalidSignature,
            SupervisorError::Config(_) => Code::InvalidConfig,
            SupervisorError::Run(e) => e.code(),
            SupervisorError::Connector(e) => e.code(),
            SupervisorError::Store(e) => e.code(),
            SupervisorError::Archive(e) => e.code(),
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            SupervisorError::Run(e) => e.retry_after(),
            SupervisorError::Connector(e) => e.retry_after(),
            _ => None,
        }
    }
}
