//! Storage: one sled database per process; every bot sees only trees whose
//! names start with its own id (`<id>/meta`, `<id>/tasks`, …).

mod commit;
mod typed;

pub use commit::GroupCommit;
pub use typed::TypedTree;

use crate::error::{Code, ErrorCode};
use std::path::Path;

/// A storage failure: always internal to the client, whole in the log.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage")]
    Sled(#[from] sled::Error),
    #[error("stored data cannot be encoded or decoded")]
    Encoding(#[from] serde_json::Error),
    #[error("the flush failed: {0}")]
    Flush(String),
    #[error("the flusher has stopped")]
    FlusherGone,
    #[error("a storage task ended abnormally")]
    Blocking(#[from] tokio::task::JoinError),
    #[error("file system")]
    Io(#[from] std::io::Error),
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
}

impl Store {
    /// Opens (or creates) the database under `data_dir/db`.
    pub fn open(data_dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(data_dir)?;
        let db = sled::Config::new()
            .path(data_dir.join("db"))
            // Durability comes from explicit group-commit flushes, not timers.
            .flush_every_ms(None)
            .open()
            .map_err(std::io::Error::other)?;
        let commit = GroupCommit::start(db.clone());
        Ok(Self { db, commit })
    }

    /// The store of one bot: it can only open trees under its own id.
    pub fn bot(&self, bot_id: &str) -> BotStore {
        BotStore {
            bot_id: bot_id.to_string(),
            db: self.db.clone(),
            commit: self.commit.clone(),
        }
    }

    /// Flushes everything; used at shutdown.
    pub async fn flush(&self) -> Result<()> {
        self.commit.flush().await
    }
}

#[derive(Clone)]
pub struct BotStore {
    bot_id: String,
    db: sled::Db,
    commit: GroupCommit,
}

impl BotStore {
    pub fn bot_id(&self) -> &str {
        &self.bot_id
    }

    /// Opens `<bot_id>/<name>` as a typed tree.
    pub fn tree<V: serde::Serialize + serde::de::DeserializeOwned>(
        &self,
        name: &str,
    ) -> Result<TypedTree<V>> {
        let tree = self.db.open_tree(format!("{}/{name}", self.bot_id))?;
        Ok(TypedTree::new(tree))
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
