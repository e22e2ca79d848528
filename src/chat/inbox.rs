//! The bot's durable queue of inbound messages and its memory of messages
//! already seen (platforms redeliver).
//!
//! Trees: `<id>/inbox`: `<seq:020>` → [`Pending`] (removed once answered);
//! `<id>/inbound_seen`: `<message_id>` → first-seen time (pruned).

use crate::connector::inbound::InboundMessage;
use crate::error::Result;
use crate::store::{BotStore, TypedTree};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Seen ids kept for de-duplication (Feishu retries within hours).
const SEEN_KEEP: usize = 10_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    pub seq: u64,
    pub session_key: String,
    pub message: InboundMessage,
    pub received_at: DateTime<Utc>,
}

#[derive(Clone)]
pub struct Inbox {
    store: BotStore,
    pending: TypedTree<Pending>,
    seen: TypedTree<DateTime<Utc>>,
}

impl Inbox {
    pub fn open(store: BotStore) -> Result<Self> {
        Ok(Self {
            pending: store.tree("inbox")?,
            seen: store.tree("inbound_seen")?,
            store,
        })
    }

    /// Queues a message durably; `None` when it was seen before.
    pub async fn push(&self, message: InboundMessage) -> Result<Option<Pending>> {
        let now = Utc::now();
        if !self.seen.insert_new(&message.message_id, &now)? {
            return Ok(None);
        }
        let item = Pending {
            seq: self.store.next_id()?,
            session_key: session_key(&message),
            message,
            received_at: now,
        };
        self.pending.insert(&format!("{:020}", item.seq), &item)?;
        self.store.durable().await?;
        if self.seen.len() > SEEN_KEEP + SEEN_KEEP / 10 {
            self.prune_seen()?;
        }
        Ok(Some(item))
    }

    /// Everything not yet answered, oldest first.
    pub fn unanswered(&self) -> Result<Vec<Pending>> {
        self.pending.values()
    }

    pub async fn done(&self, seq: u64) -> Result<()> {
        self.pending.remove(&format!("{seq:020}"))?;
        self.store.durable().await
    }

    fn prune_seen(&self) -> Result<()> {
        let mut all: Vec<(String, DateTime<Utc>)> = self.seen.entries()?;
        all.sort_by_key(|(_, at)| *at);
        let excess = all.len().saturating_sub(SEEN_KEEP);
        for (id, _) in all.into_iter().take(excess) {
            self.seen.remove(&id)?;
        }
        Ok(())
    }
}

/// Groups share one session per chat; a p2p chat is its user's session.
pub fn session_key(message: &InboundMessage) -> String {
    match (&*message.chat_type, &message.sender_open_id) {
        ("p2p", Some(open_id)) => format!("open_id:{open_id}|scene:chat"),
        _ => format!(
            "{}:{}|scene:chat",
            message.receive_id_type, message.receive_id
        ),
    }
}
