//! What every alice listener does the same way: bind (with an error that
//! says which setting names the address), run the actix server as a task,
//! stop it gracefully.

use actix_web::dev::{Server, ServerHandle};
use std::net::{SocketAddr, TcpListener};
use tokio::task::JoinHandle;

/// Binds `addr`; `what` names the setting in the error (`supervisor.admin_addr`).
pub fn bind(addr: SocketAddr, what: &str) -> std::io::Result<TcpListener> {
    let listener = TcpListener::bind(addr).map_err(|e| {
        std::io::Error::new(e.kind(), format!("cannot listen on {addr} ({what}): {e}"))
    })?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// A started actix server.
pub struct RunningServer {
    pub addr: SocketAddr,
    handle: ServerHandle,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    pub fn spawn(addr: SocketAddr, server: Server) -> Self {
        let handle = server.handle();
        let task = tokio::spawn(server);
        Self { addr, handle, task }
    }

    /// Stops accepting, lets in-flight requests finish within the server's
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
