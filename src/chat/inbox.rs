//! The bot's durable queue of inbound messages and its memory of messages
//! already seen (platforms redeliver).
//!
//! Trees: `<id>/inbox`: `<seq:020>` → [`Pending`] (removed once answered);
//! `<id>/inbound_seen`: `<platform>␟<message_id>` → first-seen time (pruned):
//! the one place a bot de-duplicates what platforms redeliver.

use crate::connector::inbound::InboundMessage;
use crate::scope::ChatType;
use crate::store::Result;
use crate::store::{BotStore, Tree, TypedTree};
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

/// The inbox's state, for `GET /api/v1/probes/internal`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InboxProbe {
    /// Inbound messages queued and not answered yet.
    pub pending: usize,
    /// Age of the oldest of them; `null` when none.
    pub oldest_age_seconds: Option<i64>,
}

/// Prune the seen ids once per this many new ones (a prune scans the tree).
const PRUNE_EVERY: u32 = 512;

#[derive(Clone)]
pub struct Inbox {
    store: BotStore,
    pending: TypedTree<Pending>,
    seen: TypedTree<DateTime<Utc>>,
    inserted: std::sync::Arc<std::sync::atomic::AtomicU32>,
}

impl Inbox {
    pub fn open(store: BotStore) -> Result<Self> {
        Ok(Self {
            pending: store.tree(Tree::Inbox)?,
            seen: store.tree(Tree::InboxSeen)?,
            store,
            inserted: Default::default(),
        })
    }

    /// Queues a message durably; `None` when it was seen before (the same
    /// message id from the same platform).
    pub async fn push(&self, platform: &str, message: InboundMessage) -> Result<Option<Pending>> {
        let now = Utc::now();
        let id = format!("{platform}\u{1f}{}", message.message_id);
        let seq = self.store.next_id()?;
        let key = format!("{seq:020}");
        let item = Pending {
            seq,
            session_key: session_key(&message),
            message,
            received_at: now,
        };
        // The mark and the item are written together or not at all.
        let fresh = self.seen.transaction_with(&self.pending, |seen, pending| {
            if seen.get(&id)?.is_some() {
                return Ok(false);
            }
            seen.insert(&id, &now)?;
            pending.insert(&key, &item)?;
            Ok(true)
        })?;
        if !fresh {
            return Ok(None);
        }
        if let Err(e) = self.store.durable().await {
            // Not on disk: neither the item nor the mark may stay behind, or
            // the redelivery would be dropped (or the message run twice).
            let undo = self.seen.transaction_with(&self.pending, |seen, pending| {
                seen.remove(&id)?;
                pending.remove(&key)
            });
            if let Err(undo) = undo {
                tracing::error!(error = %undo, "cannot undo an inbound message that was not flushed");
            }
            return Err(e);
        }
        let count = self
            .inserted
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if count % PRUNE_EVERY == PRUNE_EVERY - 1 {
            let seen = self.seen.clone();
            // A full scan: off the async workers.
            match tokio::task::spawn_blocking(move || prune_seen(&seen)).await {
                Ok(Err(e)) => tracing::warn!(error = %e, "pruning seen inbound ids failed"),
                Err(e) => tracing::warn!(error = %e, "pruning seen inbound ids panicked"),
                Ok(Ok(())) => {}
            }
        }
        Ok(Some(item))
    }

    /// Everything not yet answered, oldest first.
    pub fn unanswered(&self) -> Result<Vec<Pending>> {
        self.pending.values()
    }

    /// Whether the item is still waiting for its answer.
    /// How many messages wait for an answer, and since when the oldest
    /// does. Counts the tree (small: answered items are removed).
    pub fn probe(&self) -> Result<InboxProbe> {
        let oldest = self.pending.first_with_prefix("", 1)?;
        Ok(InboxProbe {
            pending: self.pending.len(),
            oldest_age_seconds: oldest
                .first()
                .map(|(_, item)| (Utc::now() - item.received_at).num_seconds().max(0)),
        })
    }

    pub fn is_pending(&self, seq: u64) -> Result<bool> {
        self.pending.contains_key(&format!("{seq:020}"))
    }

    pub async fn done(&self, seq: u64) -> Result<()> {
        self.pending.remove(&format!("{seq:020}"))?;
        self.store.durable().await
    }
}

/// Keeps the newest [`SEEN_KEEP`] ids.
fn prune_seen(seen: &TypedTree<DateTime<Utc>>) -> Result<()> {
    if seen.len() > SEEN_KEEP {
        seen.keep_newest(SEEN_KEEP, None, |at| *at)?;
    }
    Ok(())
}

/// Groups share one session per chat; a p2p chat is its user's session.
pub fn session_key(message: &InboundMessage) -> String {
    match (message.chat_type, &message.sender_open_id) {
        (ChatType::P2p, Some(open_id)) => format!("open_id:{open_id}|scene:chat"),
        _ => format!(
            "{}:{}|scene:chat",
            message.receive_id_type, message.receive_id
        ),
    }
}
