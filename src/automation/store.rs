//! The bot's task trees.
//!
//! `<bot>/tasks`: `<task id>` → [`StoredTask`].
//! `<bot>/task_runs`: `<task id>␟<seq:020>` → [`RunRecord`], the last
//! [`RUNS_KEPT`] runs of each task.
//!
//! Writes are not durable by themselves: callers await [`TaskStore::durable`]
//! (the group commit) before they answer or act.

use super::model::{RunRecord, StoredTask};
use crate::store::{BotStore, Result, StoreError, Tree, TypedTree};
use std::sync::{Arc, Mutex};

/// Runs kept per task; older ones are dropped.
pub const RUNS_KEPT: usize = 20;
const SEP: char = '\u{1f}';

#[derive(Clone)]
pub struct TaskStore {
    store: BotStore,
    tasks: TypedTree<StoredTask>,
    runs: TypedTree<RunRecord>,
    /// Serialises read-modify-write of one task between the API and the
    /// scheduler. Held only around sled calls, never across a flush.
    write: Arc<Mutex<()>>,
}

impl TaskStore {
    pub fn open(store: &BotStore) -> Result<Self> {
        Ok(Self {
            tasks: store.tree(Tree::Tasks)?,
            runs: store.tree(Tree::TaskRuns)?,
            store: store.clone(),
            write: Arc::new(Mutex::new(())),
        })
    }

    /// Resolves once every write made so far is on disk (shared flush).
    pub async fn durable(&self) -> Result<()> {
        self.store.durable().await
    }

    pub fn next_seq(&self) -> Result<u64> {
        self.store.next_id()
    }

    pub fn insert(&self, task: &StoredTask) -> Result<()> {
        let _guard = self.lock();
        self.tasks.insert(&task.task.id, task)
    }

    pub fn get(&self, id: &str) -> Result<Option<StoredTask>> {
        self.tasks.get(id)
    }

    /// Changes one task under the write lock; the change is written only if
    /// `change` succeeds. `None` when there is no such task.
    pub fn update<T, E: From<StoreError>>(
        &self,
        id: &str,
        change: impl FnOnce(&mut StoredTask) -> Result<T, E>,
    ) -> Result<Option<T>, E> {
        let _guard = self.lock();
        let Some(mut stored) = self.tasks.get(id)? else {
            return Ok(None);
        };
        let out = change(&mut stored)?;
        self.tasks.insert(id, &stored)?;
        Ok(Some(out))
    }

    /// Removes a task and its run history.
    pub fn remove(&self, id: &str) -> Result<Option<StoredTask>> {
        let _guard = self.lock();
        let removed = self.tasks.remove(id)?;
        for key in self.run_keys(id)? {
            self.runs.raw().remove(key)?;
        }
        Ok(removed)
    }

    /// Every task in creation order. A full scan: call it off the async
    /// workers (`spawn_blocking`).
    pub fn all(&self) -> Result<Vec<StoredTask>> {
        let mut all = self.tasks.values()?;
        all.sort_by_key(|t| t.seq);
        Ok(all)
    }

    /// Adds a run record, drops the oldest beyond [`RUNS_KEPT`], and
    /// returns the record's key.
    pub fn add_run(&self, run: &RunRecord) -> Result<String> {
        let key = format!("{}{SEP}{:020}", run.task_id, self.store.next_id()?);
        self.runs.insert(&key, run)?;
        let keys = self.run_keys(&run.task_id)?;
        for old in keys.iter().take(keys.len().saturating_sub(RUNS_KEPT)) {
            self.runs.raw().remove(old)?;
        }
        Ok(key)
    }

    /// Updates a run record if it is still kept.
    pub fn update_run(&self, key: &str, change: impl FnOnce(&mut RunRecord)) -> Result<()> {
        if let Some(mut run) = self.runs.get(key)? {
            change(&mut run);
            self.runs.insert(key, &run)?;
        }
        Ok(())
    }

    /// A task's kept runs, newest first.
    pub fn runs(&self, task_id: &str) -> Result<Vec<RunRecord>> {
        let mut runs = self.runs.scan_prefix(&format!("{task_id}{SEP}"))?;
        runs.reverse();
        Ok(runs)
    }

    /// Every run record with its key (for the start-up sweep).
    pub fn all_runs(&self) -> Result<Vec<(String, RunRecord)>> {
        self.runs
            .raw()
            .iter()
            .map(|item| {
                let (key, value) = item?;
                Ok((
                    String::from_utf8_lossy(&key).into_owned(),
                    serde_json::from_slice(&value)?,
                ))
            })
            .collect()
    }

    fn run_keys(&self, task_id: &str) -> Result<Vec<sled::IVec>> {
        self.runs
            .raw()
            .scan_prefix(format!("{task_id}{SEP}"))
            .keys()
            .map(|k| k.map_err(StoreError::from))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        // A panic while holding the lock leaves no half-written state
        // (sled writes are atomic per key), so poisoning is ignored.
        self.write.lock().unwrap_or_else(|e| e.into_inner())
    }
}
