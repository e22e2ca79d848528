//! Messages that arrive from a platform (or the local chat), on their way to
//! the bot's reply pipeline.

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
/// queues the work. `Ok` means the message is durably queued: only then may
/// the platform be told it arrived.
#[async_trait]
pub trait InboundSink: Send + Sync + 'static {
    async fn deliver(&self, message: InboundMessage) -> crate::store::Result<()>;
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
