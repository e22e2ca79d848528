//! Inbound by webhook: `setWebhook` with the bot's `public_url` and
//! `secret_token` at start; every delivery (on the events listener, at
//! `/webhooks/telegram/<bot id>`) must carry that secret in
//! `X-Telegram-Bot-Api-Secret-Token`, then goes to the inbound service.
//! Telegram retries a non-2xx answer, so a storage failure is a 500.

use super::api::Api;
use super::files::Files;
use super::update::{self, Me};
use crate::config::ConnectorConfig;
use crate::connector::inbound::InboundSink;
use crate::connector::{ConnectorError, ConnectorHealth};
use crate::error::{Code, ErrorCode};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OnceCell;

pub const SECRET_HEADER: &str = "X-Telegram-Bot-Api-Secret-Token";

#[derive(Debug, thiserror::Error)]
pub enum TelegramWebhookError {
    #[error("the X-Telegram-Bot-Api-Secret-Token header is missing or wrong")]
    BadSecret,
    #[error("the body is not a Telegram update")]
    NotAnUpdate,
    #[error("the bot's identity is not known yet (getMe): {0}")]
    Identity(String),
    #[error(transparent)]
    Storage(#[from] crate::store::StoreError),
}

impl ErrorCode for TelegramWebhookError {
    fn code(&self) -> Code {
        match self {
            TelegramWebhookError::BadSecret => Code::InvalidSignature,
            TelegramWebhookError::NotAnUpdate => Code::InvalidEvent,
            TelegramWebhookError::Identity(_) => Code::PlatformRejected,
            TelegramWebhookError::Storage(_) => Code::Internal,
        }
    }
}

/// One bot's webhook receiver. Cloning is cheap.
#[derive(Clone)]
pub struct TelegramWebhook {
    inner: Arc<Inner>,
}

struct Inner {
    bot_id: String,
    secret: String,
    api: Api,
    me: OnceCell<Me>,
    sink: Arc<dyn InboundSink>,
    /// Photos and documents saved into the bot's folder.
    files: Files,
    health: ConnectorHealth,
    registration: tokio_util::sync::CancellationToken,
}

impl TelegramWebhook {
    /// Registers the webhook in the background (retried until it works or
    /// the bot stops).
    pub fn start(
        bot_id: &str,
        config: &ConnectorConfig,
        folder: &std::path::Path,
        sink: Arc<dyn InboundSink>,
        health: ConnectorHealth,
    ) -> Result<Self, ConnectorError> {
        let http = crate::connector::http_client(Duration::from_secs(config.request_timeout_secs))?;
        let api = Api::new(http, config.api_base(), &config.bot_token);
        let this = Self {
            inner: Arc::new(Inner {
                bot_id: bot_id.to_string(),
                secret: config.webhook_secret.clone(),
                files: Files::new(api.clone(), folder),
                api,
                me: OnceCell::new(),
                sink,
                health,
                registration: Default::default(),
            }),
        };
        let url = config.public_url.clone();
        let registering = this.clone();
        tokio::spawn(async move {
            let stop = registering.inner.registration.clone();
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = registering.register(url) => {}
            }
        });
        Ok(this)
    }

    async fn register(&self, url: String) {
        let body =
            json!({"url": url, "secret_token": self.inner.secret, "allowed_updates": ["message"]});
        let mut wait = 1;
        loop {
            match self.inner.api.json("setWebhook", &body).await {
                Ok(_) => {
                    self.inner.health.handshake();
                    return;
                }
                Err(e) => {
                    tracing::warn!(bot = %self.inner.bot_id, error = %e, "setWebhook failed; retrying");
                    tokio::time::sleep(Duration::from_secs(wait)).await;
                    wait = (wait * 2).min(60);
                }
            }
        }
    }

    /// Stops registering (at the bot's stop).
    pub fn stop(&self) {
        self.inner.registration.cancel();
    }

    /// One delivery: the secret checked (constant time), the message queued
    /// durably (or known as a copy) before the 200.
    pub async fn accept(
        &self,
        secret: Option<&str>,
        body: &[u8],
    ) -> Result<(), TelegramWebhookError> {
        if !crate::token::secret_matches(&self.inner.secret, secret) {
            return Err(TelegramWebhookError::BadSecret);
        }
        let update: Value =
            serde_json::from_slice(body).map_err(|_| TelegramWebhookError::NotAnUpdate)?;
        self.inner.health.event();
        let me = self
            .inner
            .me
            .get_or_try_init(|| async {
                let me = self.inner.api.json("getMe", &json!({})).await?;
                Ok::<_, ConnectorError>(Me {
                    id: me["id"].as_i64().unwrap_or_default(),
                    username: me["username"].as_str().unwrap_or_default().to_string(),
                })
            })
            .await
            .map_err(|e| TelegramWebhookError::Identity(e.to_string()))?;
        if let Some(mut message) = update::inbound(&update, me) {
            self.inner.files.attach(&update, &mut message).await;
            tracing::info!(bot = %self.inner.bot_id, message_id = %message.message_id, "message received");
            self.inner.sink.deliver(message).await?;
        }
        Ok(())
    }
}
