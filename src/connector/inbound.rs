//! Messages that arrive from a platform (or the local chat), on their way to
//! the bot's one inbound service (the reply pipeline, [`crate::chat`]): it
//! de-duplicates by (platform, message id) once, queues durably, keeps each
//! conversation's order and answers. Connectors only normalise and deliver;
//! none keeps its own memory of messages seen.

use crate::scope::{ChatType, ReceiveIdType, Scope};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundMessage {
    /// The platform's message id (`om_…`): the key for de-duplication and
    /// the message a reply answers.
    pub message_id: String,
    /// `chat_id` (Feishu chats and local conversations alike).
    pub receive_id_type: ReceiveIdType,
    pub receive_id: String,
    pub chat_type: ChatType,
    pub sender_open_id: Option<String>,
    pub sender_user_id: Option<String>,
    /// Plain text, with mention placeholders removed.
    pub text: String,
    /// Whether the message @mentions this bot (groups answer only then,
    /// unless `trigger_mode = "all"`).
    pub mentions_bot: bool,
}

/// Where a connector delivers inbound messages. Delivery must be quick:
/// platforms expect an acknowledgement within seconds, so the sink only
/// queues the work. `Ok` means the message is durably queued (`true`) or was
/// seen before (`false`, a redelivery): only then may the platform be told
/// it arrived.
#[async_trait]
pub trait InboundSink: Send + Sync + 'static {
    async fn deliver(&self, message: InboundMessage) -> crate::store::Result<bool>;
}

/// Every inbound message any bot of this process accepted (new, and durably
/// queued), with the bot's id: for watchers such as a live console view.
/// Nothing waits for a watcher; a slow one misses messages, never delays them.
#[derive(Clone)]
pub struct InboundFeed {
    tx: tokio::sync::broadcast::Sender<(String, InboundMessage)>,
}

impl Default for InboundFeed {
    fn default() -> Self {
        Self {
            tx: tokio::sync::broadcast::channel(1024).0,
        }
    }
}

impl InboundFeed {
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<(String, InboundMessage)> {
        self.tx.subscribe()
    }

    /// Tells the watchers, if any.
    pub fn publish(&self, bot_id: &str, message: &InboundMessage) {
        let _ = self.tx.send((bot_id.to_string(), message.clone()));
    }
}

impl InboundMessage {
    /// The conversation of this message, answered in `session_key`.
    pub fn scope(&self, session_key: &str) -> Scope {
        Scope {
            receive_id_type: Some(self.receive_id_type),
            receive_id: Some(self.receive_id.clone()),
            source_message_id: Some(self.message_id.clone()),
            actor_user_id: self.sender_user_id.clone(),
            actor_open_id: self.sender_open_id.clone(),
            chat_type: Some(self.chat_type),
            session_key: Some(session_key.to_string()),
        }
    }
}
