//! Storage: one sled database per process; every bot sees only trees whose
//! names start with its own id (`<id>/meta`, `<id>/tasks`, …).

mod commit;
mod schema;
mod trees;
mod typed;

pub use commit::GroupCommit;
pub use schema::SCHEMA_VERSION;
pub use trees::Tree;
pub use typed::{RawValue, Tx, TxError, TypedTree};

use crate::error::{Code, ErrorCode};
use std::path::Path;

/// A storage failure: always internal to the client, whole in the log.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage: {0}")]
    Sled(#[from] sled::Error),
    #[error("stored data cannot be encoded or decoded: {0}")]
    Encoding(#[from] serde_json::Error),
    #[error("the flush failed: {0}")]
    Flush(#[source] sled::Error),
    #[error("a transaction failed: {0}")]
    Transaction(String),
    #[error("the flusher has stopped")]
    FlusherGone,
    #[error("a storage task ended abnormally: {0}")]
    Blocking(#[from] tokio::task::JoinError),
    #[error("file system: {0}")]
    Io(#[from] std::io::Error),
    #[error("the data folder was written by a newer alice (storage schema {found}; this alice reads up to {supported}): upgrade alice or use another data_dir")]
    NewerSchema { found: u32, supported: u32 },
}

impl ErrorCode for StoreError {
    fn code(&self) -> Code {
        Code::Internal
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The process-wide database and its shared flusher.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    commit: GroupCommit,
    metrics: crate::metrics::StoreMetrics,
    gate: FlushGate,
}

impl Store {
    /// Opens (or creates) the database under `data_dir/db`, refusing one
    /// written by a newer alice and bringing an older one up to date.
    pub fn open(data_dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(data_dir)?;
        let db = sled::Config::new()
            .path(data_dir.join("db"))
            // Durability comes from explicit group-commit flushes, not timers.
            .flush_every_ms(None)
            .open()?;
        schema::settle(&db)?;
        let metrics = crate::metrics::StoreMetrics::default();
        let gate = FlushGate::default();
        let commit = if commit::skip_flush_asked() {
            GroupCommit::skipping_flushes()
        } else {
            GroupCommit::start(db.clone(), metrics.clone(), gate.clone())
        };
        Ok(Self {
            db,
            commit,
            metrics,
            gate,
        })
    }

    /// The store of one bot: it can only open trees under its own id.
    pub fn bot(&self, bot_id: &str) -> BotStore {
        BotStore {
            bot_id: bot_id.to_string(),
            db: self.db.clone(),
            commit: self.commit.clone(),
            gate: self.gate.clone(),
        }
    }

    /// The group commit's series (the supervisor registers them).
    pub fn metrics(&self) -> &crate::metrics::StoreMetrics {
        &self.metrics
    }

    /// Flushes everything; used at shutdown.
    pub async fn flush(&self) -> Result<()> {
        self.commit.flush().await
    }
}

/// Held shared by the group commit while it flushes, exclusively by a
/// write that takes sled's database-wide lock (see `TypedTree::tree_wide`).
pub(crate) type FlushGate = std::sync::Arc<parking_lot::RwLock<()>>;

/// A stored key and value as bytes (archives only).
pub type RawPair = (Vec<u8>, Vec<u8>);

#[derive(Clone)]
pub struct BotStore {
    bot_id: String,
    db: sled::Db,
    commit: GroupCommit,
    gate: FlushGate,
}

impl BotStore {
    pub fn bot_id(&self) -> &str {
        &self.bot_id
    }

    /// Opens one of the bot's trees (`<bot_id>/<name>`), typed.
    pub fn tree<V: serde::Serialize + serde::de::DeserializeOwned>(
        &self,
        tree: Tree,
    ) -> Result<TypedTree<V>> {
        let tree = self
            .db
            .open_tree(format!("{}/{}", self.bot_id, tree.name()))?;
        Ok(TypedTree::new(tree, self.gate.clone()))
    }

    /// The names of this bot's trees that exist (after `<bot_id>/`).
    pub fn tree_names(&self) -> Vec<String> {
        let prefix = format!("{}/", self.bot_id);
        let mut names: Vec<String> = self
            .db
            .tree_names()
            .iter()
            .filter_map(|name| {
                std::str::from_utf8(name)
                    .ok()?
                    .strip_prefix(&prefix)
                    .map(str::to_string)
            })
            .collect();
        names.sort();
        names
    }

    /// The bytes of this bot's keys and values, over all its trees (a
    /// scan of everything: off the async workers). The database file is
    /// shared by every bot, so its size on disk says nothing per bot.
    pub fn size_bytes(&self) -> Result<u64> {
        let mut total = 0u64;
        for name in self.tree_names() {
            let tree = self.db.open_tree(format!("{}/{name}", self.bot_id))?;
            for pair in tree.iter() {
                let (key, value) = pair?;
                total += (key.len() + value.len()) as u64;
            }
        }
        Ok(total)
    }

    /// Whether anything of this bot is stored (a tree with an entry).
    pub fn exists(&self) -> Result<bool> {
        for name in self.tree_names() {
            let tree = self.db.open_tree(format!("{}/{name}", self.bot_id))?;
            if !tree.is_empty() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Every tree of the bot as raw pairs, for an archive (`alice bots
    /// export`): the bytes are copied as stored, whatever their codec.
    pub fn dump(&self) -> Result<Vec<(String, Vec<RawPair>)>> {
        let mut trees = Vec::new();
        for name in self.tree_names() {
            let tree = self.db.open_tree(format!("{}/{name}", self.bot_id))?;
            let pairs = tree
                .iter()
                .map(|pair| pair.map(|(k, v)| (k.to_vec(), v.to_vec())))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            trees.push((name, pairs));
        }
        Ok(trees)
    }

    /// Writes one tree of an archive (`alice bots import`) and flushes it.
    pub fn restore(&self, name: &str, pairs: Vec<RawPair>) -> Result<()> {
        let tree = self.db.open_tree(format!("{}/{name}", self.bot_id))?;
        let mut batch = sled::Batch::default();
        for (k, v) in pairs {
            batch.insert(k, v);
        }
        tree.apply_batch(batch)?;
        tree.flush().map_err(StoreError::Flush)?;
        Ok(())
    }

    /// Makes every later [`BotStore::next_id`] larger than `floor`: imported
    /// trees keep the sequence keys of the database they came from, and new
    /// entries must sort after (and never overwrite) them. sled has no way to
    /// set its counter; drawing ids is an atomic increment, persisted once
    /// per million.
    pub fn advance_ids_past(&self, floor: u64) -> Result<()> {
        while self.db.generate_id()? <= floor {}
        Ok(())
    }

    /// A process-wide increasing id (sled's `generate_id`).
    pub fn next_id(&self) -> Result<u64> {
        Ok(self.db.generate_id()?)
    }

    /// Resolves once every write made before the call is on disk. Concurrent
    /// callers share one flush.
    pub async fn durable(&self) -> Result<()> {
        self.commit.flush().await
    }
}
