//! Forward mode: alice dials the implementation's `ws_url` (with
//! `Authorization: Bearer <access_token>` when one is set) and dials again
//! with back-off whenever the socket fails or ends.

use super::link::OneBotInbound;
use crate::config::ConnectorConfig;
use crate::connector::background::{Background, Backoff};
use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// Dials until stopped (or dropped).
pub struct Forward(Background);

impl Forward {
    pub fn start(inbound: OneBotInbound, config: &ConnectorConfig) -> Self {
        let dialer = Dialer {
            url: config.ws_url.clone(),
            token: config.access_token.clone(),
            connect_timeout: Duration::from_secs(config.request_timeout_secs),
            inbound,
        };
        Self(Background::spawn(dialer.run()))
    }

    pub async fn stop(self) {
        self.0.stop().await;
    }
}

struct Dialer {
    url: String,
    token: String,
    connect_timeout: Duration,
    inbound: OneBotInbound,
}

impl Dialer {
    /// After a session that was open the first step comes again: a drop is
    /// met with a quick redial.
    async fn run(self) {
        let mut backoff = Backoff::default();
        loop {
            self.inbound.health().connecting();
            match self.session().await {
                Ok(()) => backoff.reset(),
                Err(reason) => {
                    tracing::warn!(url = %self.url, error = %reason, "cannot reach the OneBot implementation");
                    self.inbound.health().disconnected(&reason);
                }
            }
            backoff.wait().await;
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
