//! The bot's durable queue of inbound messages and its memory of messages
//! already seen (platforms redeliver).
//!
//! Trees: `<id>/inbox`: `<seq:020>` → [`Pending`] (removed once answered);
//! `<id>/inbound_seen`: `<message_id>` → first-seen time (pruned).

use crate::connector::inbound::InboundMessage;
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

    /// Queues a message durably; `None` when it was seen before.
    pub async fn push(&self, message: InboundMessage) -> Result<Option<Pending>> {
        let now = Utc::now();
        if !self.seen.insert_new(&message.message_id, &now)? {
            return Ok(None);
        }
        let id = message.message_id.clone();
        let seq = match self.store.next_id() {
            Ok(seq) => seq,
            Err(e) => {
                let _ = self.seen.remove(&id);
                return Err(e);
            }
        };
        let key = format!("{seq:020}");
        let item = Pending {
            seq,
            session_key: session_key(&message),
            message,
            received_at: now,
        };
        let queued = async {
            self.pending.insert(&key, &item)?;
            self.store.durable().await
        };
        if let Err(e) = queued.await {
            // Not queued: neither the item nor the mark may stay behind, or
            // the redelivery would be dropped (or the message run twice).
            let _ = self.pending.remove(&key);
            let _ = self.seen.remove(&id);
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
    pub fn is_pending(&self, seq: u64) -> bool {
        matches!(
            self.pending.raw().contains_key(format!("{seq:020}")),
            Ok(true)
        )
    }

    pub async fn done(&self, seq: u64) -> Result<()> {
        self.pending.remove(&format!("{seq:020}"))?;
        self.store.durable().await
    }
}

/// Keeps the newest [`SEEN_KEEP`] ids.
fn prune_seen(seen: &TypedTree<DateTime<Utc>>) -> Result<()> {
    if seen.len() <= SEEN_KEEP {
        return Ok(());
    }
    let mut all: Vec<(String, DateTime<Utc>)> = seen.entries()?;
    all.sort_by_key(|(_, at)| *at);
    let excess = all.len().saturating_sub(SEEN_KEEP);
    for (id, _) in all.into_iter().take(excess) {
        seen.remove(&id)?;
    }
    Ok(())
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
