//! Starting and stopping one bot's Runtime API server.

use super::state::BotState;
use crate::http::AccessGuard;
use crate::runtime_api;
use actix_web::dev::ServerHandle;
use actix_web::{web, HttpServer};
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;
use tokio::task::JoinHandle;

/// Headers must arrive within this time (slowloris).
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot open the bot's state: {0}")]
    State(String),
}

pub(super) struct RunningServer {
    handle: ServerHandle,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Stops accepting, lets in-flight requests finish within the bot's
    /// shutdown timeout, then force-closes.
    pub async fn stop(self) {
        self.handle.stop(true).await;
        let _ = self.task.await;
    }

    /// Resolves when the server ends on its own (it died); the reason if any.
    pub async fn exited(&mut self) -> String {
        match (&mut self.task).await {
            Ok(Ok(())) => "the server stopped".into(),
            Ok(Err(e)) => format!("the server failed: {e}"),
            Err(e) => format!("the server task ended: {e}"),
        }
    }
}

pub(super) fn start_server(state: BotState) -> Result<RunningServer, StartError> {
    let config = state.config().clone();
    let addr = config.listen_addr();
    let listener = TcpListener::bind(addr)
        .and_then(|l| l.set_nonblocking(true).map(|_| l))
        .map_err(|source| StartError::Bind { addr, source })?;
    let guard = web::Data::new(AccessGuard::new(
        state.authenticator(),
        config.limits.requests_per_minute,
        config.limits.body_bytes,
    ));
    let factory_state = state.clone();
    let server = HttpServer::new(move || runtime_api::app(factory_state.clone(), guard.clone()))
        .workers(config.workers)
        .disable_signals()
        .shutdown_timeout(config.runtime_api_shutdown_timeout_secs)
        .client_request_timeout(HEADER_TIMEOUT)
        .listen(listener)
        .map_err(|source| StartError::Bind { addr, source })?
        .run();
    let handle = server.handle();
    let task = tokio::spawn(server);
    Ok(RunningServer { handle, task })
}
