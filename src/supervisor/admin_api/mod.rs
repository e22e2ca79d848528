//! The supervisor's admin API: the admin token only; bot tokens are refused.

mod archive;
mod bots;
mod conversations;
mod doc;
mod headless;
mod ready;

pub use doc::AdminDoc;

use super::console;
use super::Supervisor;
use crate::http::server::RunningServer;
use crate::http::{self, AccessGuard, StaticTokenAuth};
use actix_web::middleware::from_fn;
use actix_web::{web, HttpServer};
use std::net::SocketAddr;
use std::sync::Arc;

/// Admin request bodies are small.
const ADMIN_BODY_LIMIT: usize = 64 * 1024;

pub struct AdminServer(RunningServer);

impl AdminServer {
    pub fn start(
        supervisor: Supervisor,
        addr: SocketAddr,
        requests_per_minute: u32,
        failed_auth_per_minute: u32,
    ) -> std::io::Result<Self> {
        let listener = http::server::bind(addr, "supervisor.admin_addr")?;
        let addr = listener.local_addr()?;
        let auth = Arc::new(StaticTokenAuth::new(
            supervisor.admin_token().to_string(),
            "admin",
        ));
        let guard = web::Data::new(
            AccessGuard::new(
                auth,
                requests_per_minute,
                failed_auth_per_minute,
                ADMIN_BODY_LIMIT,
            )
            .with_open_paths(console::OPEN_PATHS),
        );
        let sessions = web::Data::new(console::Sessions::new(supervisor.admin_token().to_string()));
        let data = web::Data::new(supervisor);
        let server = HttpServer::new(move || {
            let data = data.clone();
            let sessions = sessions.clone();
            http::app("supervisor", guard.clone(), ADMIN_BODY_LIMIT, move |cfg| {
                cfg.app_data(data).app_data(sessions);
                console::configure(cfg);
                doc::configure(cfg);
                bots::configure(cfg);
                conversations::configure(cfg);
                headless::configure(cfg);
                ready::configure(cfg);
                archive::configure(cfg);
            })
            // Outside the guard: a console session becomes the admin token.
            .wrap(from_fn(console::gate))
        })
        .workers(2)
        .disable_signals()
        .shutdown_timeout(5)
        .listen(listener)?
        .run();
        Ok(Self(RunningServer::spawn(addr, server)))
    }

    pub fn addr(&self) -> SocketAddr {
        self.0.addr.expect("spawned on its TCP address")
    }

    pub async fn stop(self) {
        self.0.stop().await;
    }
}
