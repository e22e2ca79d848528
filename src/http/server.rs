//! What every alice listener does the same way: bind (with an error that
//! says which setting names the address), run the actix server as a task,
//! stop it gracefully.

use actix_web::dev::{Server, ServerHandle};
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;
use tokio::task::JoinHandle;

/// How long an address that was just closed may still look taken.
const REBIND_WAIT: Duration = Duration::from_millis(500);
const REBIND_STEP: Duration = Duration::from_millis(5);

/// Binds `addr` for a server that is (re)starting. A listening socket this
/// process has just closed can outlive its close for a moment: an agent
/// forked meanwhile holds a copy until its exec has closed it, and the
/// kernel finishes that close after the exec already told us it happened.
/// So binding never overlaps a fork, and "in use" is retried briefly.
pub async fn bind_again(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let deadline = tokio::time::Instant::now() + REBIND_WAIT;
    loop {
        match crate::fds::while_no_child_forks(|| TcpListener::bind(addr)) {
            Err(e)
                if e.kind() == std::io::ErrorKind::AddrInUse
                    && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(REBIND_STEP).await
            }
            Err(e) => return Err(e),
            Ok(listener) => {
                listener.set_nonblocking(true)?;
                return Ok(listener);
            }
        }
    }
}

/// Binds `addr`; `what` names the setting in the error (`supervisor.admin_addr`).
pub fn bind(addr: SocketAddr, what: &str) -> std::io::Result<TcpListener> {
    // Never while an agent is being forked (see `bind_again`).
    let listener = crate::fds::while_no_child_forks(|| TcpListener::bind(addr)).map_err(|e| {
        std::io::Error::new(e.kind(), format!("cannot listen on {addr} ({what}): {e}"))
    })?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// How long a stopping server's workers get to take the connections its
/// accept thread handed them before it paused (a connection still on its
/// way to a worker when the stop reaches it would be dropped).
const PAUSE_SETTLE: Duration = Duration::from_millis(30);

/// A started actix server.
pub struct RunningServer {
    /// Its TCP address (none for a bot that listens on a socket only).
    pub addr: Option<SocketAddr>,
    /// Its Unix socket file, removed once the server has stopped.
    socket: Option<super::unix_socket::BoundSocket>,
    /// Its open connections, when counted: a stop ends when they are gone.
    connections: Option<super::Connections>,
    /// A copy of its listening socket, for the next server of a restart.
    listener: Option<TcpListener>,
    handle: ServerHandle,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    pub fn spawn(addr: impl Into<Option<SocketAddr>>, server: Server) -> Self {
        let handle = server.handle();
        let task = tokio::spawn(server);
        Self {
            addr: addr.into(),
            socket: None,
            connections: None,
            listener: None,
            handle,
            task,
        }
    }

    /// The server also listens on `socket`, whose file goes at stop.
    pub fn with_socket(mut self, socket: Option<super::unix_socket::BoundSocket>) -> Self {
        self.socket = socket;
        self
    }

    /// The server counts its connections here (its `on_connect`).
    pub fn with_connections(mut self, connections: super::Connections) -> Self {
        self.connections = Some(connections);
        self
    }

    /// Keeps a copy of the server's listening socket, which
    /// [`RunningServer::stop_keeping_listener`] hands back.
    pub fn with_listener(mut self, listener: Option<TcpListener>) -> Self {
        self.listener = listener;
        self
    }

    /// Stops accepting, lets in-flight requests finish within the server's
    /// shutdown timeout, then force-closes. The port is free on return.
    pub async fn stop(mut self) {
        self.listener = None;
        self.drain().await;
    }

    /// As [`RunningServer::stop`], but the listening socket stays open and
    /// is returned (when the server kept a copy): connections made from now
    /// on wait in its backlog for the next server (a restart).
    pub async fn stop_keeping_listener(mut self) -> Option<TcpListener> {
        let listener = self.listener.take();
        self.drain().await;
        listener
    }

    async fn drain(self) {
        // Accepting stops first, then the connections the workers already
        // have drain: requests in flight finish, idle keep-alive ones close.
        self.handle.pause().await;
        tokio::time::sleep(PAUSE_SETTLE).await;
        let stopped = self.handle.stop(true);
        match &self.connections {
            Some(connections) => tokio::select! {
                _ = stopped => {}
                _ = connections.closed() => {}
            },
            None => stopped.await,
        }
        // Nothing is left to wait for: ending the server's task stops its
        // idle workers and joins its accept thread, releasing the port.
        self.task.abort();
        let _ = self.task.await;
        if let Some(socket) = &self.socket {
            socket.remove();
        }
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
