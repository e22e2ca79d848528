//! The supervisor's admin API: the admin token only; bot tokens are refused.

mod bots;
mod conversations;
mod doc;
mod headless;

pub use doc::AdminDoc;

use super::Supervisor;
use crate::http::{self, AccessGuard, StaticTokenAuth};
use actix_web::dev::ServerHandle;
use actix_web::{web, HttpServer};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use tokio::task::JoinHandle;

/// Admin request bodies are small.
const ADMIN_BODY_LIMIT: usize = 64 * 1024;

pub struct AdminServer {
    pub addr: SocketAddr,
    handle: ServerHandle,
    task: JoinHandle<std::io::Result<()>>,
}

impl AdminServer {
    pub fn start(
        supervisor: Supervisor,
        addr: SocketAddr,
        requests_per_minute: u32,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot listen on {addr} (supervisor.admin_addr): {e}"),
            )
        })?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let auth = Arc::new(StaticTokenAuth::new(
            supervisor.admin_token().to_string(),
            "admin",
        ));
        let guard = web::Data::new(AccessGuard::new(
            auth,
            requests_per_minute,
            ADMIN_BODY_LIMIT,
        ));
        let data = web::Data::new(supervisor);
        let server = HttpServer::new(move || {
            let data = data.clone();
            http::app("supervisor", guard.clone(), ADMIN_BODY_LIMIT, move |cfg| {
                cfg.app_data(data);
                doc::configure(cfg);
                bots::configure(cfg);
                conversations::configure(cfg);
                headless::configure(cfg);
            })
        })
        .workers(2)
        .disable_signals()
        .shutdown_timeout(5)
        .listen(listener)?
        .run();
        let handle = server.handle();
        let task = tokio::spawn(server);
        Ok(Self { addr, handle, task })
    }

    pub async fn stop(self) {
        self.handle.stop(true).await;
        let _ = self.task.await;
    }
}
