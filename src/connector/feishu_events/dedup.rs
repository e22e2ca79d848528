//! The message ids already delivered, in the bot's `<id>/seen_events` tree
//! (message id → first seen, ms since the epoch), so that a redelivery is
//! dropped even after a restart.

use crate::store::Result;
use crate::store::{BotStore, Tree, TypedTree};
use std::sync::atomic::{AtomicU32, Ordering};

/// Feishu retries over about 7 hours (15 s, 5 min, 1 h, 6 h): a day covers it.
const KEEP_MS: i64 = 24 * 3600 * 1000;
/// At most this many ids are kept, whatever their age.
const MAX_IDS: usize = 20_000;
/// Prune once per this many new ids.
const PRUNE_EVERY: u32 = 256;

#[derive(Clone)]
pub struct SeenMessages {
    tree: TypedTree<i64>,
    store: BotStore,
    inserted: std::sync::Arc<AtomicU32>,
}

impl SeenMessages {
    pub fn open(store: &BotStore) -> Result<Self> {
        Ok(Self {
            tree: store.tree(Tree::FeishuSeen)?,
            store: store.clone(),
            inserted: Default::default(),
        })
    }

    /// `true` the first time an id is offered, `false` ever after (atomic:
    /// two concurrent redeliveries cannot both win).
    pub async fn first_time(&self, message_id: &str) -> Result<bool> {
        let now = chrono::Utc::now().timestamp_millis();
        let fresh = self.tree.insert_new(message_id, &now)?;
        if fresh && self.inserted.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            let tree = self.tree.clone();
            match tokio::task::spawn_blocking(move || prune(&tree, now)).await {
                Ok(Err(e)) => tracing::warn!(error = %e, "pruning seen message ids failed"),
                Err(e) => tracing::warn!(error = %e, "pruning seen message ids panicked"),
                Ok(Ok(())) => {}
            }
        }
        Ok(fresh)
    }

    /// Un-marks an id whose delivery failed.
    pub fn forget(&self, message_id: &str) -> Result<()> {
        self.tree.remove(message_id).map(|_| ())
    }

    /// Resolves once the marks made so far are on disk.
    pub async fn durable(&self) -> Result<()> {
        self.store.durable().await
    }
}

/// Drops ids older than a day, then the oldest beyond [`MAX_IDS`].
fn prune(tree: &TypedTree<i64>, now: i64) -> Result<()> {
    tree.keep_newest(MAX_IDS, Some(now - KEEP_MS), |seen| *seen)?;
    Ok(())
}
