//! The bot's task trees.
//!
//! `<bot>/tasks`: `<task id>` → [`StoredTask`].
//! `<bot>/task_runs`: `<task id>␟<seq:020>` → [`TaskRun`], the last
//! [`RUNS_KEPT`] runs of each task.
//! `<bot>/task_order`: `all␟<seq:020>` and `<status>␟<seq:020>` →
//! [`OrderEntry`]: every task in creation order, and the tasks of each
//! status, so a page is read in key order instead of by scanning every task;
//! `count␟<bucket>` → how many entries a bucket has.
//! Written in one transaction with `<bot>/tasks`.
//!
//! Writes are not durable by themselves: callers await [`TaskStore::durable`]
//! (the group commit) before they answer or act.

use super::model::{ScopeType, StoredTask, TaskRun, TaskStatus};
use crate::store::{BotStore, RawValue, Result, StoreError, Tree, Tx, TxError, TypedTree};
use parking_lot::{Mutex, MutexGuard};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Runs kept per task; older ones are dropped.
pub const RUNS_KEPT: usize = 20;
const SEP: char = '\u{1f}';

#[derive(Clone)]
pub struct TaskStore {
    store: BotStore,
    tasks: TypedTree<StoredTask>,
    runs: TypedTree<TaskRun>,
    order: TypedTree<OrderValue>,
    /// Serialises read-modify-write of one task between the API and the
    /// scheduler. Held only around sled calls, never across a flush.
    write: Arc<Mutex<()>>,
}

/// What the order index keeps of a task: enough to page and to check a
/// run token's conversation without reading the task itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderEntry {
    pub id: String,
    pub scope_type: ScopeType,
    pub scope_id: String,
}

/// A value of the order index: an entry, or a bucket's count.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum OrderValue {
    Entry(OrderEntry),
    Count(u64),
}

/// One page of the order index and how many entries matched in all.
pub struct Page {
    pub tasks: Vec<StoredTask>,
    pub total: usize,
}

impl TaskStore {
    pub fn open(store: &BotStore) -> Result<Self> {
        let this = Self {
            tasks: store.tree(Tree::Tasks)?,
            runs: store.tree(Tree::TaskRuns)?,
            order: store.tree(Tree::TaskOrder)?,
            store: store.clone(),
            write: Arc::new(Mutex::new(())),
        };
        // Data written before the index existed: build it once.
        if this.order.is_empty() && !this.tasks.is_empty() {
            let _guard = this.lock();
            for stored in this.tasks.values()? {
                this.write_task(None, &stored)?;
            }
        }
        Ok(this)
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
        self.write_task(None, task)
    }

    pub fn get(&self, id: &str) -> Result<Option<StoredTask>> {
        self.tasks.get(id)
    }

    /// A task's stored bytes, not decoded (see `answers.rs`).
    pub fn get_raw(&self, id: &str) -> Result<Option<RawValue>> {
        self.tasks.get_raw(id)
    }

    pub fn decode(&self, raw: &RawValue) -> Result<StoredTask> {
        self.tasks.decode(raw)
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
        let was = stored.task.status;
        let out = change(&mut stored)?;
        self.write_task(Some(was), &stored)?;
        Ok(Some(out))
    }

    /// Removes a task and its run history.
    pub fn remove(&self, id: &str) -> Result<Option<StoredTask>> {
        let _guard = self.lock();
        let Some(stored) = self.tasks.get(id)? else {
            return Ok(None);
        };
        let buckets = [ALL, bucket(stored.task.status)];
        self.tasks.transaction_with(&self.order, |tasks, order| {
            tasks.remove(id)?;
            for b in buckets {
                unindex(&order, b, stored.seq)?;
            }
            Ok(())
        })?;
        self.runs.remove_prefix(&format!("{id}{SEP}"))?;
        Ok(Some(stored))
    }

    /// One page of tasks in creation order, of `status` only when given,
    /// and only those `admits` lets through (a run token's conversation).
    /// Reads the index, and of the tasks only the page's.
    pub fn page(
        &self,
        status: Option<TaskStatus>,
        admits: Option<&dyn Fn(&OrderEntry) -> bool>,
        offset: usize,
        limit: usize,
    ) -> Result<Page> {
        let b = status.map(bucket).unwrap_or(ALL);
        let prefix = format!("{b}{SEP}");
        let entries = |values: Vec<OrderValue>| {
            values.into_iter().filter_map(|v| match v {
                OrderValue::Entry(entry) => Some(entry),
                OrderValue::Count(_) => None,
            })
        };
        let mut ids = Vec::new();
        let total = match admits {
            // The count is kept: only the entries up to the page's end are read.
            None => {
                let page = self.order.page_with_prefix(&prefix, offset, limit)?;
                ids.extend(entries(page).map(|entry| entry.id));
                self.count(b)?
            }
            // A run token's conversation: every entry of the bucket is checked.
            Some(admits) => {
                let mut total = 0;
                for entry in entries(self.order.scan_prefix(&prefix)?) {
                    if !admits(&entry) {
                        continue;
                    }
                    if total >= offset && ids.len() < limit {
                        ids.push(entry.id);
                    }
                    total += 1;
                }
                total
            }
        };
        let mut tasks = Vec::with_capacity(ids.len());
        for id in ids {
            // Removed since the index was read: the page is one shorter.
            if let Some(stored) = self.tasks.get(&id)? {
                tasks.push(stored);
            }
        }
        Ok(Page { tasks, total })
    }

    /// Every task in creation order. A full scan: call it off the async
    /// workers (`spawn_blocking`).
    pub fn all(&self) -> Result<Vec<StoredTask>> {
        let mut all = self.tasks.values()?;
        all.sort_by_key(|t| t.seq);
        Ok(all)
    }

    /// Adds a run record, drops the oldest beyond [`RUNS_KEPT`], and
    /// returns the record's key. Under the write lock, like [`Self::remove`]:
    /// a run of a task deleted meanwhile leaves no record behind.
    pub fn add_run(&self, run: &TaskRun) -> Result<String> {
        let key = format!("{}{SEP}{:020}", run.task_id, self.store.next_id()?);
        let _guard = self.lock();
        if self.tasks.get(&run.task_id)?.is_none() {
            return Ok(key);
        }
        self.runs.insert(&key, run)?;
        self.runs
            .keep_last_with_prefix(&format!("{}{SEP}", run.task_id), RUNS_KEPT)?;
        Ok(key)
    }

    /// Updates a run record if it is still kept.
    pub fn update_run(&self, key: &str, change: impl FnOnce(&mut TaskRun)) -> Result<()> {
        let _guard = self.lock();
        if let Some(mut run) = self.runs.get(key)? {
            change(&mut run);
            self.runs.insert(key, &run)?;
        }
        Ok(())
    }

    /// A task's kept runs, newest first.
    pub fn runs(&self, task_id: &str) -> Result<Vec<TaskRun>> {
        let mut runs = self.runs.scan_prefix(&format!("{task_id}{SEP}"))?;
        runs.reverse();
        Ok(runs)
    }

    /// Every run record with its key (for the start-up sweep).
    pub fn all_runs(&self) -> Result<Vec<(String, TaskRun)>> {
        self.runs.entries()
    }

    /// Writes a task and moves its index entries (`was`: its status as
    /// stored before), in one transaction. Call under the write lock.
    fn write_task(&self, was: Option<TaskStatus>, stored: &StoredTask) -> Result<()> {
        let task = &stored.task;
        let entry = OrderValue::Entry(OrderEntry {
            id: task.id.clone(),
            scope_type: task.scope_type,
            scope_id: task.scope_id.clone(),
        });
        let old = was.filter(|s| *s != task.status).map(bucket);
        let buckets = [ALL, bucket(task.status)];
        self.tasks.transaction_with(&self.order, |tasks, order| {
            tasks.insert(&task.id, stored)?;
            if let Some(old) = old {
                unindex(&order, old, stored.seq)?;
            }
            for b in buckets {
                index(&order, b, stored.seq, &entry)?;
            }
            Ok(())
        })
    }

    /// How many tasks a bucket of the index holds.
    /// How many tasks are active (a kept count: one read).
    pub fn active_count(&self) -> Result<usize> {
        self.count(bucket(TaskStatus::Active))
    }

    fn count(&self, bucket: &str) -> Result<usize> {
        Ok(match self.order.get(&count_key(bucket))? {
            Some(OrderValue::Count(n)) => n as usize,
            _ => 0,
        })
    }

    fn lock(&self) -> MutexGuard<'_, ()> {
        self.write.lock()
    }
}

/// The index prefix of every task.
const ALL: &str = "all";

fn bucket(status: TaskStatus) -> &'static str {
    match status {
        TaskStatus::Active => "active",
        TaskStatus::Paused => "paused",
        TaskStatus::Completed => "completed",
        TaskStatus::Cancelled => "cancelled",
    }
}

fn order_key(bucket: &str, seq: u64) -> String {
    format!("{bucket}{SEP}{seq:020}")
}

/// `count␟<bucket>` → the bucket's number of entries, kept in the same
/// transactions, so a page's total needs no scan.
fn count_key(bucket: &str) -> String {
    format!("count{SEP}{bucket}")
}

fn index(
    order: &Tx<'_, OrderValue>,
    bucket: &str,
    seq: u64,
    entry: &OrderValue,
) -> Result<(), TxError> {
    if order.insert(&order_key(bucket, seq), entry)? {
        bump(order, bucket, 1)?;
    }
    Ok(())
}

fn unindex(order: &Tx<'_, OrderValue>, bucket: &str, seq: u64) -> Result<(), TxError> {
    if order.remove(&order_key(bucket, seq))? {
        bump(order, bucket, -1)?;
    }
    Ok(())
}

fn bump(order: &Tx<'_, OrderValue>, bucket: &str, by: i64) -> Result<(), TxError> {
    let key = count_key(bucket);
    let now = match order.get(&key)? {
        Some(OrderValue::Count(n)) => n,
        _ => 0,
    };
    order.insert(&key, &OrderValue::Count(now.saturating_add_signed(by)))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::automation::model::{Outcome, Schedule, Task, TaskAction};
    use chrono::Utc;

    fn open() -> (tempfile::TempDir, TaskStore) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = crate::store::Store::open(dir.path()).expect("store");
        let tasks = TaskStore::open(&store.bot("b")).expect("task store");
        (dir, tasks)
    }

    fn task(store: &TaskStore, id: &str) -> StoredTask {
        let now = Utc::now();
        let stored = StoredTask {
            seq: store.next_seq().expect("seq"),
            handled_due: None,
            task: Task {
                id: id.into(),
                scope_type: ScopeType::Chat,
                scope_id: "oc_1".into(),
                action: TaskAction::SendText { text: "hi".into() },
                schedule: Schedule::Cron("0 9 * * *".into()),
                title: None,
                max_runs: 0,
                misfire: crate::automation::Misfire::Skip,
                catch_up_within: None,
                status: TaskStatus::Active,
                created_at: now,
                updated_at: now,
                next_run_at: None,
                last_run_at: None,
                run_count: 0,
                last_error: None,
                created_by: None,
            },
        };
        store.insert(&stored).expect("insert");
        stored
    }

    fn run(id: &str) -> TaskRun {
        let now = Utc::now();
        TaskRun {
            task_id: id.into(),
            due_at: now,
            started_at: now,
            finished_at: None,
            outcome: Outcome::Running,
            error: None,
            message_id: None,
            missed_count: None,
        }
    }

    /// The scheduler took a due time, then the task was deleted before its
    /// run was recorded and finished: nothing of the run may stay behind.
    #[test]
    fn a_run_overlapping_a_delete_leaves_no_records() {
        let (_dir, store) = open();
        task(&store, "task_a");
        let started = store.add_run(&run("task_a")).expect("add");
        store.remove("task_a").expect("remove");
        let late = store.add_run(&run("task_a")).expect("add after remove");
        store
            .update_run(&started, |r| r.outcome = Outcome::Succeeded)
            .expect("update");
        store
            .update_run(&late, |r| r.outcome = Outcome::Succeeded)
            .expect("update");
        assert!(store.all_runs().expect("runs").is_empty());
    }

    #[test]
    fn pages_follow_creation_order_and_status_changes() {
        let (_dir, store) = open();
        for i in 0..30 {
            task(&store, &format!("task_{i:02}"));
        }
        for i in (0..30).step_by(3) {
            store
                .update(&format!("task_{i:02}"), |s| {
                    s.task.status = TaskStatus::Paused;
                    Ok::<_, StoreError>(())
                })
                .expect("update");
        }
        store.remove("task_03").expect("remove");
        let ids =
            |page: Page| -> Vec<String> { page.tasks.into_iter().map(|s| s.task.id).collect() };
        let paused = store
            .page(Some(TaskStatus::Paused), None, 2, 3)
            .expect("page");
        assert_eq!(paused.total, 9);
        assert_eq!(ids(paused), ["task_09", "task_12", "task_15"]);
        let active = store
            .page(Some(TaskStatus::Active), None, 18, 5)
            .expect("page");
        assert_eq!(active.total, 20);
        assert_eq!(ids(active), ["task_28", "task_29"]);
        let all = store.page(None, None, 0, 4).expect("page");
        assert_eq!(all.total, 29);
        assert_eq!(ids(all), ["task_00", "task_01", "task_02", "task_04"]);
    }
}
