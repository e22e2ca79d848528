//! Forward mode: alice dials the implementation's `ws_url` (with
//! `Authorization: Bearer <access_token>` when one is set) and dials again
//! with back-off whenever the socket fails or ends.

use super::link::OneBotInbound;
use crate::config::ConnectorConfig;
use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

/// Waits before dialling again: the next one after each failure, back to
/// the first once a session was open.
const BACKOFF: [u64; 5] = [1, 2, 5, 10, 30];

/// Dials until stopped (or dropped).
pub struct Forward {
    cancel: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Forward {
    pub fn start(inbound: OneBotInbound, config: &ConnectorConfig) -> Self {
        let dialer = Dialer {
            url: config.ws_url.clone(),
            token: config.access_token.clone(),
            connect_timeout: Duration::from_secs(config.request_timeout_secs),
            inbound,
        };
        let cancel = CancellationToken::new();
        let stop = cancel.clone();
        let task = tokio::spawn(async move {
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = dialer.run() => {}
            }
        });
        Self {
            cancel,
            task: Some(task),
        }
    }

    pub async fn stop(mut self) {
        self.cancel.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Forward {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

struct Dialer {
    url: String,
    token: String,
    connect_timeout: Duration,
    inbound: OneBotInbound,
}

impl Dialer {
    async fn run(self) {
        let mut failures = 0usize;
        loop {
            self.inbound.health().connecting();
            match self.session().await {
                Ok(()) => failures = 0,
                Err(reason) => {
                    tracing::warn!(url = %self.url, error = %reason, "cannot reach the OneBot implementation");
                    self.inbound.health().disconnected(&reason);
                }
            }
            let wait = BACKOFF[failures.min(BACKOFF.len() - 1)];
            failures += 1;
            tokio::time::sleep(Duration::from_secs(wait)).await;
        }
    }

    /// One connection, served until it ends; `Err` when it never opened.
    async fn session(&self) -> Result<(), String> {
        let mut request = self
            .url
            .as_str()
            .into_client_request()
            .map_err(|e| e.to_string())?;
        if !self.token.is_empty() {
            let value = format!("Bearer {}", self.token)
                .parse()
                .map_err(|_| "the access_token is not a valid header value".to_string())?;
            request.headers_mut().insert("authorization", value);
        }
        let (socket, _) = tokio::time::timeout(
            self.connect_timeout,
            tokio_tungstenite::connect_async(request),
        )
        .await
        .map_err(|_| "the connection did not open in time".to_string())?
        .map_err(|e| e.to_string())?;
        let (mut write, read) = socket.split();
        let (out, mut outgoing) = tokio::sync::mpsc::unbounded_channel::<String>();
        let writer = tokio::spawn(async move {
            while let Some(text) = outgoing.recv().await {
                if write.send(Message::text(text)).await.is_err() {
                    break;
                }
            }
        });
        // tungstenite answers pings itself; only text (or UTF-8 binary)
        // frames carry OneBot's JSON.
        let frames = read.filter_map(|frame| async move {
            match frame {
                Ok(Message::Text(text)) => Some(Ok(text.to_string())),
                Ok(Message::Binary(bytes)) => {
                    Some(Ok(String::from_utf8_lossy(&bytes).into_owned()))
                }
                Ok(_) => None,
                Err(e) => Some(Err(e.to_string())),
            }
        });
        self.inbound.serve(Box::pin(frames), out).await;
        writer.abort();
        Ok(())
    }
}
