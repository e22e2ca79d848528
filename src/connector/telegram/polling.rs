//! Inbound by long polling: `getUpdates` from the persisted offset, each
//! message handed to the bot's inbound service, and the offset moved past
//! an update only once it is durably queued (or known as a copy) — so a
//! restart neither loses nor repeats a message.

use super::api::Api;
use super::files::Files;
use super::update::{self, Me};
use crate::config::ConnectorConfig;
use crate::connector::background::{Background, Backoff};
use crate::connector::inbound::InboundSink;
use crate::connector::{ConnectorError, ConnectorHealth};
use crate::store::{BotStore, Result as StoreResult, Tree, TypedTree};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

const OFFSET_KEY: &str = "offset";

/// Polls until stopped (or dropped).
pub struct Polling(Background);

struct Poller {
    bot_id: String,
    api: Api,
    timeout_secs: u64,
    offset: TypedTree<i64>,
    store: BotStore,
    sink: Arc<dyn InboundSink>,
    /// Photos and documents saved into the bot's folder.
    files: Files,
    health: ConnectorHealth,
    /// `alice_connector_up`: 1 while `getUpdates` answers.
    metrics: crate::metrics::BotMetrics,
}

impl Polling {
    pub fn start(
        bot_id: &str,
        config: &ConnectorConfig,
        store: &BotStore,
        folder: &std::path::Path,
        sink: Arc<dyn InboundSink>,
        health: ConnectorHealth,
        metrics: crate::metrics::BotMetrics,
    ) -> std::result::Result<Self, ConnectorError> {
        // The HTTP timeout must outlast the long poll.
        let http = crate::connector::http_client(Duration::from_secs(
            config.poll_timeout_secs + config.request_timeout_secs,
        ))?;
        let api = Api::new(http, config.api_base(), &config.bot_token);
        let poller = Poller {
            bot_id: bot_id.to_string(),
            files: Files::new(api.clone(), folder),
            api,
            timeout_secs: config.poll_timeout_secs,
            offset: store.tree(Tree::TelegramOffset)?,
            store: store.clone(),
            sink,
            health,
            metrics,
        };
        Ok(Self(Background::spawn(poller.run())))
    }

    /// Stops polling; an update not yet queued is asked for again next time.
    pub async fn stop(self) {
        self.0.stop().await;
    }
}

impl Poller {
    async fn run(self) {
        let mut backoff = Backoff::default();
        let me = loop {
            match self.me().await {
                Ok(me) => break me,
                Err(e) => self.failed(&mut backoff, &e.to_string()).await,
            }
        };
        self.up();
        backoff.reset();
        loop {
            match self.poll_once(&me).await {
                Ok(()) => {
                    if backoff.failing() {
                        self.up();
                    }
                    backoff.reset();
                }
                Err(e) => self.failed(&mut backoff, &e).await,
            }
        }
    }

    fn up(&self) {
        self.health.connected();
        self.metrics.connector_up(true);
    }

    async fn failed(&self, backoff: &mut Backoff, reason: &str) {
        tracing::warn!(bot = %self.bot_id, error = %reason, "telegram polling failed");
        self.health.disconnected(reason);
        self.metrics.connector_up(false);
        backoff.wait().await;
    }

    async fn me(&self) -> std::result::Result<Me, ConnectorError> {
        let me = self.api.json("getMe", &json!({})).await?;
        Ok(Me {
            id: me["id"].as_i64().unwrap_or_default(),
            username: me["username"].as_str().unwrap_or_default().to_string(),
        })
    }

    /// One `getUpdates`, every update handed on in order.
    async fn poll_once(&self, me: &Me) -> std::result::Result<(), String> {
        let offset = self.offset.get(OFFSET_KEY).map_err(|e| e.to_string())?;
        let mut body = json!({"timeout": self.timeout_secs, "allowed_updates": ["message"]});
        if let Some(offset) = offset {
            body["offset"] = offset.into();
        }
        let updates = self
            .api
            .json("getUpdates", &body)
            .await
            .map_err(|e| e.to_string())?;
        for update in updates.as_array().into_iter().flatten() {
            self.handle(update, me).await.map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    async fn handle(&self, update: &Value, me: &Me) -> StoreResult<()> {
        let Some(id) = update["update_id"].as_i64() else {
            return Ok(());
        };
        self.health.event();
        if let Some(mut message) = update::inbound(update, me) {
            self.files.attach(update, &mut message).await;
            tracing::info!(bot = %self.bot_id, message_id = %message.message_id, chat_type = %message.chat_type, "message received");
            self.sink.deliver(message).await?;
        }
        self.offset.insert(OFFSET_KEY, &(id + 1))?;
        self.store.durable().await
    }
}
