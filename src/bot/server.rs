//! Starting and stopping one bot's Runtime API server.

use super::state::BotState;
use crate::http::server::RunningServer;
use crate::http::{AccessGuard, BodyTimeout};
use crate::runtime_api;
use actix_web::{web, HttpServer};
use std::net::SocketAddr;
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

pub(super) async fn start_server(state: BotState) -> Result<RunningServer, StartError> {
    let config = state.config().clone();
    let addr = config.listen_addr();
    // The address this bot's previous server has just given up, when it
    // restarts.
    let listener = crate::http::server::bind_again(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })?;
    // (Not `http::server::bind`: a taken port is this bot's own start error.)
    let guard = web::Data::new(AccessGuard::new(
        state.authenticator(),
        config.limits.requests_per_minute,
        config.limits.failed_auth_per_minute,
        config.limits.body_bytes,
    ));
    let body_timeout = web::Data::new(BodyTimeout(Duration::from_secs(
        config.limits.body_timeout_secs,
    )));
    let factory_state = state.clone();
    let server = HttpServer::new(move || {
        runtime_api::app(factory_state.clone(), guard.clone()).app_data(body_timeout.clone())
    })
    .workers(config.workers)
    // A flood of connections waits in the backlog instead of each holding
    // buffers here.
    .max_connections(config.limits.max_connections)
    .disable_signals()
    .shutdown_timeout(config.runtime_api_shutdown_timeout_secs)
    .client_request_timeout(HEADER_TIMEOUT)
    .listen(listener)
    .map_err(|source| StartError::Bind { addr, source })?
    .run();
    Ok(RunningServer::spawn(addr, server))
}
