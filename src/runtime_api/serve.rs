//! Starting one bot's Runtime API server (the supervisor hands this to its
//! bots through `Host::serve`).

use crate::bot::{BotState, StartError};
use crate::http::server::RunningServer;
use crate::http::{AccessGuard, BodyTimeout};
use actix_web::{web, HttpServer};
use futures_util::future::BoxFuture;
use std::time::Duration;

/// Headers must arrive within this time (slowloris).
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Binds the bot's address and runs its app; a taken port is this bot's own
/// start error (naming the address).
pub fn serve(state: BotState) -> BoxFuture<'static, Result<RunningServer, StartError>> {
    Box::pin(start_server(state))
}

async fn start_server(state: BotState) -> Result<RunningServer, StartError> {
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
        super::app(factory_state.clone(), guard.clone()).app_data(body_timeout.clone())
    })
    .workers(config.workers)
    // A flood of connections waits in the backlog instead of each holding
    // buffers here.
    // actix counts per worker: the bot's bound is shared out over them.
    .max_connections(
        config
            .limits
            .max_connections
            .div_ceil(config.workers.max(1)),
    )
    .disable_signals()
    .shutdown_timeout(config.runtime_api_shutdown_timeout_secs)
    .client_request_timeout(HEADER_TIMEOUT)
    .listen(listener)
    .map_err(|source| StartError::Bind { addr, source })?
    .run();
    Ok(RunningServer::spawn(addr, server))
}
