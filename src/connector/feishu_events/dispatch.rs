//! What both transports do with an event: keep `im.message.receive_v1`,
//! turn it into an [`InboundMessage`](crate::connector::inbound::InboundMessage)
//! and hand it to the bot's inbound service, which drops redeliveries.

use super::event::{self, Event, ReceivedMessage};
use super::identity::BotIdentity;
use crate::connector::inbound::InboundSink;
use crate::error::{Code, ErrorCode};
use crate::store::{Result, StoreError};
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use tokio_util::task::TaskTracker;

/// How long the webhook may wait for a message to be queued before it
/// answers Feishu anyway (Feishu allows 3 s).
const ACK_BUDGET: std::time::Duration = std::time::Duration::from_millis(2000);

/// One bot's receiver of Feishu events. Cloning is cheap.
#[derive(Clone)]
pub struct FeishuInbound {
    inner: Arc<Inner>,
}

struct Inner {
    bot_id: String,
    identity: BotIdentity,
    sink: Arc<dyn InboundSink>,
    /// Told of every event (the webhook's liveness window).
    health: crate::connector::ConnectorHealth,
    /// Webhook deliveries still under way; [`FeishuInbound::drain`] waits.
    tasks: TaskTracker,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// Seen before: a redelivery.
    Duplicate,
    /// Not a message event; nothing to do.
    Ignored,
}

#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    #[error(transparent)]
    Event(#[from] event::EventError),
    #[error(transparent)]
    Storage(#[from] StoreError),
    #[error("delivering a message failed unexpectedly")]
    Panicked,
}

impl ErrorCode for HandleError {
    fn code(&self) -> Code {
        match self {
            HandleError::Event(_) => Code::InvalidEvent,
            HandleError::Storage(_) | HandleError::Panicked => Code::Internal,
        }
    }
}

impl FeishuInbound {
    pub fn new(
        bot_id: &str,
        feishu: crate::connector::FeishuConnector,
        sink: Arc<dyn InboundSink>,
        health: crate::connector::ConnectorHealth,
    ) -> Result<Self> {
        Ok(Self {
            inner: Arc::new(Inner {
                bot_id: bot_id.to_string(),
                identity: BotIdentity::new(feishu),
                sink,
                health,
                tasks: TaskTracker::new(),
            }),
        })
    }

    /// The long connection's path: everything, then the caller acknowledges.
    /// The message is queued (or known) on disk before this returns, so an
    /// acknowledged message is never lost nor delivered twice.
    pub async fn handle(&self, payload: &[u8]) -> Result<Outcome, HandleError> {
        self.inner.health.event();
        let event = event::parse(payload)?;
        Ok(self.process(event).await?)
    }

    /// The webhook's path: Feishu wants its answer within 3 s, so the
    /// message is queued durably before answering when that fits in
    /// [`ACK_BUDGET`] (it does unless the bot's own identity is still being
    /// fetched for the first time), and in the background otherwise.
    pub async fn accept(&self, event: Event) -> Result<Outcome, HandleError> {
        self.inner.health.event();
        if event.message.is_none() {
            return Ok(self.process(event).await?);
        }
        let this = self.clone();
        let work = self.inner.tasks.spawn(async move {
            let processed = AssertUnwindSafe(this.process(event)).catch_unwind();
            let outcome = match processed.await {
                Ok(outcome) => outcome.map_err(HandleError::from),
                Err(_) => Err(HandleError::Panicked),
            };
            if let Err(e) = &outcome {
                tracing::error!(bot = %this.inner.bot_id, error = %e, "a message was not queued");
            }
            outcome
        });
        match tokio::time::timeout(ACK_BUDGET, work).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => Err(HandleError::Panicked),
            Err(_) => {
                tracing::warn!(bot = %self.inner.bot_id, "slow delivery: acknowledged before it was queued");
                Ok(Outcome::Delivered)
            }
        }
    }

    /// Identity first (it may wait on the network), then the delivery.
    async fn process(&self, event: Event) -> Result<Outcome> {
        let Some(message) = event.message else {
            tracing::debug!(bot = %self.inner.bot_id, event_type = %event.event_type, "event ignored");
            return Ok(Outcome::Ignored);
        };
        let bot_open_id = self.inner.identity.open_id().await;
        self.deliver(message, bot_open_id.as_deref()).await
    }

    /// The platform checked the webhook (its URL verification).
    pub fn handshake(&self) {
        self.inner.health.handshake();
    }

    /// Waits for the deliveries the webhook started (at the bot's stop).
    pub async fn drain(&self) {
        self.inner.tasks.close();
        self.inner.tasks.wait().await;
    }

    /// Hands the message to the inbound service; `Ok` once it is on disk
    /// (or known), so the platform may be acknowledged.
    async fn deliver(
        &self,
        message: ReceivedMessage,
        bot_open_id: Option<&str>,
    ) -> Result<Outcome> {
        let message = message.into_inbound(bot_open_id);
        tracing::info!(bot = %self.inner.bot_id, message_id = %message.message_id, chat_type = %message.chat_type, "message received");
        let id = message.message_id.clone();
        if self.inner.sink.deliver(message).await? {
            Ok(Outcome::Delivered)
        } else {
            tracing::info!(bot = %self.inner.bot_id, message_id = %id, "redelivered message dropped");
            Ok(Outcome::Duplicate)
        }
    }
}
