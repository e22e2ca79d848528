//! Starting one bot's Runtime API server (the supervisor hands this to its
//! bots through `Host::serve`).

use crate::bot::{BotState, StartError};
use crate::http::server::RunningServer;
use crate::http::unix_socket;
use crate::http::{AccessGuard, BodyTimeout, Connections};
use actix_web::{web, HttpServer};
use futures_util::future::BoxFuture;
use std::net::TcpListener;
use std::time::Duration;

/// Binds the bot's address and/or Unix socket (or takes over `kept`, the
/// listening socket of the server a restart stopped) and runs its app; a
/// taken port or socket is this bot's own start error (naming it).
pub fn serve(
    state: BotState,
    kept: Option<TcpListener>,
) -> BoxFuture<'static, Result<RunningServer, StartError>> {
    Box::pin(start_server(state, kept))
}

async fn start_server(
    state: BotState,
    kept: Option<TcpListener>,
) -> Result<RunningServer, StartError> {
    let config = state.config().clone();
    let listen = config.listen_addr();
    let bind_error = |source| StartError::Bind {
        addr: listen.to_string(),
        source,
    };
    let kept = kept.filter(|l| l.local_addr().ok() == listen.tcp);
    let tcp = match (listen.tcp, kept) {
        (Some(_), Some(kept)) => Some(kept),
        // The address this bot's previous server may have just given up.
        // (Not `http::server::bind`: a taken port is this bot's own start
        // error.)
        (Some(addr), None) => Some(
            crate::http::server::bind_again(addr)
                .await
                .map_err(bind_error)?,
        ),
        (None, _) => None,
    };
    // A copy outlives this server, for the next one of a restart.
    let copy = match &tcp {
        Some(listener) => Some(listener.try_clone().map_err(bind_error)?),
        None => None,
    };
    let (uds, socket) = match &listen.socket {
        Some(path) => {
            let (listener, socket) = unix_socket::bind(path).map_err(bind_error)?;
            (Some(listener), Some(socket))
        }
        None => (None, None),
    };
    let guard = web::Data::new(AccessGuard::new(
        state.authenticator(),
        config.limits.requests_per_minute,
        config.limits.failed_auth_per_minute,
        config.limits.body_bytes,
    ));
    let body_timeout = web::Data::new(BodyTimeout(Duration::from_secs(
        config.limits.body_timeout_secs,
    )));
    let connections = Connections::default();
    let factory_state = state.clone();
    let death = crate::http::ServerDeath::default();
    let hook = death.clone();
    let mut server = HttpServer::new(move || {
        super::app(factory_state.clone(), guard.clone())
            .app_data(body_timeout.clone())
            .configure(|cfg| hook.route(cfg))
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
    .on_connect(connections.on_connect())
    .disable_signals()
    .shutdown_timeout(config.runtime_api_shutdown_timeout_secs)
    // Headers must arrive within this time (slowloris).
    .client_request_timeout(Duration::from_secs(config.limits.header_timeout_secs));
    if let Some(listener) = tcp {
        server = server.listen(listener).map_err(bind_error)?;
    }
    if let Some(listener) = uds {
        server = server.listen_uds(listener).map_err(bind_error)?;
    }
    let server = server.run();
    death.arm(server.handle());
    Ok(RunningServer::spawn(listen.tcp, server)
        .with_socket(socket)
        .with_connections(connections)
        .with_listener(copy))
}
