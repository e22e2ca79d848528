//! How a bot gets its Runtime API server: started by a function the
//! supervisor lends through [`super::Host`] (`runtime_api::serve`), so the
//! bot never depends on the API that is built on it.

use super::state::BotState;
use crate::http::server::RunningServer;
use futures_util::future::BoxFuture;

/// Starts a bot's Runtime API server on the bot's own address, or on the
/// listening socket its previous server kept for it (a restart).
pub type Serve = fn(
    BotState,
    Option<std::net::TcpListener>,
) -> BoxFuture<'static, Result<RunningServer, StartError>>;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// `addr`: the address or `unix:<path>`.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("cannot open the bot's state: {0}")]
    State(#[from] super::state::OpenError),
    #[error(transparent)]
    Locked(#[from] super::lock::LockError),
}
