//! Starting and stopping one bot's Runtime API server.

use super::state::BotState;
use crate::http::server::RunningServer;
use crate::http::AccessGuard;
use crate::runtime_api;
use actix_web::{web, HttpServer};
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

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

pub(super) fn start_server(state: BotState) -> Result<RunningServer, StartError> {
    let config = state.config().clone();
    let addr = config.listen_addr();
    let listener = TcpListener::bind(addr)
        .and_then(|l| l.set_nonblocking(true).map(|_| l))
        .map_err(|source| StartError::Bind { addr, source })?;
    // (Not `http::server::bind`: a taken port is this bot's own start error.)
    let guard = web::Data::new(AccessGuard::new(
        state.authenticator(),
        config.limits.requests_per_minute,
        config.limits.failed_auth_per_minute,
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
    Ok(RunningServer::spawn(addr, server))
}
