//! Automation tasks: the service behind `/api/v1/automation/tasks` and the
//! bot's own scheduler. No HTTP types here; the handlers are in
//! `runtime_api/automation.rs`.
//!
//! Every change is flushed (group commit) before it is answered and before
//! the scheduler is told, so what a client saw acknowledged survives a crash
//! and a task never fires from a write that could still be lost.

mod actions;
mod answers;
mod error;
mod misfire;
mod model;
mod queue;
mod scheduler;
mod store;
mod template;
mod timing;
#[cfg(test)]
mod timing_props;
mod validate;
mod wire;

pub use actions::Actions;
pub use error::{ActionError, TaskError};
pub use model::{
    Action, Creator, Misfire, Outcome, Schedule, ScopeType, ShapeError, Task, TaskAction, TaskRun,
    TaskStatus,
};
pub use scheduler::{LastTaskError, SchedulerProbe};
pub use store::RUNS_KEPT;

use crate::config::BotConfig;
use crate::scope::Scope;
use crate::store::BotStore;

type Result<T, E = TaskError> = std::result::Result<T, E>;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use model::StoredTask;
use scheduler::Scheduler;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use store::TaskStore;

/// Page size when the client gives none.
pub const DEFAULT_LIMIT: usize = 50;

/// Which tasks a caller reaches: every task (the bot's main token), or only
/// those aimed at its own conversation (an agent run's token, known by its
/// session key). Others look absent; creating one is 403.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// The conversation a run's token is limited to; `None`: everything.
    pub scope: Option<crate::scope::Scope>,
}

impl Access {
    fn allows(&self, task: &Task) -> bool {
        self.scope
            .as_ref()
            .is_none_or(|own| own.admits(&actions::scope_of(task)))
    }

    /// As [`Access::allows`], for a task's scope already worked out.
    fn allows_scope(&self, scope: &Scope) -> bool {
        self.scope.as_ref().is_none_or(|own| own.admits(scope))
    }
}

/// A list request: `limit` is clamped to `limits.list_max`.
#[derive(Debug, Default)]
pub struct ListFilter {
    pub limit: Option<usize>,
    pub offset: usize,
    pub status: Option<String>,
}

#[derive(Clone)]
pub struct Automation {
    inner: Arc<Inner>,
}

struct Inner {
    store: TaskStore,
    /// Encoded answers of single-task reads.
    answers: answers::Answers,
    scheduler: Arc<Scheduler>,
    tz: Tz,
    rules: validate::Rules,
    list_max: usize,
    /// How long a stopping bot lets runs in flight finish.
    grace: Duration,
}

impl Automation {
    pub fn open(store: &BotStore, config: &BotConfig, actions: Actions) -> Result<Self> {
        let tz: Tz = config.timezone;
        let store = TaskStore::open(store)?;
        Ok(Self {
            inner: Arc::new(Inner {
                scheduler: Scheduler::new(store.clone(), actions, tz, &config.id),
                store,
                answers: answers::Answers::default(),
                tz,
                rules: validate::Rules {
                    min_every_seconds: config.automation.min_every_seconds,
                },
                list_max: config.limits.list_max,
                grace: Duration::from_secs(config.runtime_api_shutdown_timeout_secs),
            }),
        })
    }

    /// Loads the active tasks and starts the scheduler.
    pub async fn start(&self) -> Result<()> {
        self.inner.scheduler.start().await
    }

    /// Stops the scheduler; runs in flight get the bot's shutdown timeout.
    pub async fn stop(&self) {
        self.inner.scheduler.stop(self.inner.grace).await
    }

    /// For a bot dropped without [`Automation::stop`] (its server died): no
    /// run starts any more and runs in flight give up, at once.
    pub fn abandon(&self) {
        self.inner.scheduler.abandon();
    }

    /// The scheduler's state (reads the store: off the async workers).
    pub fn probe(&self) -> Result<SchedulerProbe> {
        self.inner.scheduler.probe()
    }

    /// Creates a task; `caller` is the request's conversation (a run
    /// token's own), the task's scope when the body names none.
    pub async fn create(
        &self,
        body: Value,
        creator: Creator,
        caller: &Scope,
        access: &Access,
    ) -> Result<Task> {
        let now = Utc::now();
        let new = validate::new_task(body, now, self.inner.rules, scope_target(caller))?;
        let has_creator = creator.actor_user_id.is_some() || creator.actor_open_id.is_some();
        let mut task = Task {
            id: format!("task_{:016x}", rand::random::<u64>()),
            scope_type: new.scope_type,
            scope_id: new.scope_id,
            action: new.action,
            schedule: new.schedule,
            title: new.title,
            max_runs: new.max_runs,
            misfire: new.misfire,
            catch_up_within: new.catch_up_within,
            status: new.status,
            created_at: now,
            updated_at: now,
            next_run_at: None,
            last_run_at: None,
            run_count: 0,
            last_error: None,
            created_by: has_creator.then_some(creator),
        };
        validate::check(&task)?;
        if !access.allows(&task) {
            return Err(TaskError::OutsideScope);
        }
        task.next_run_at = self.next_run(&task, None, now);
        let store = self.inner.store.clone();
        let stored = task.clone();
        off_worker(move || {
            store.insert(&StoredTask {
                seq: store.next_seq()?,
                handled_due: None,
                task: stored,
            })
        })
        .await?;
        self.inner.store.durable().await?;
        self.inner.scheduler.sync(&task.id);
        Ok(task)
    }

    pub fn get(&self, id: &str, access: &Access) -> Result<Task> {
        self.inner
            .store
            .get(id)?
            .map(|stored| stored.task)
            .filter(|task| access.allows(task))
            .ok_or_else(|| not_found(id))
    }

    /// One task as its JSON answer: the bytes `get`'s task encodes to, kept
    /// while the stored task stays the same (see `answers.rs`).
    pub fn get_json(&self, id: &str, access: &Access) -> Result<bytes::Bytes> {
        self.inner
            .answers
            .get(&self.inner.store, id)?
            .filter(|answer| access.allows_scope(&answer.scope))
            .map(|answer| answer.body.clone())
            .ok_or_else(|| not_found(id))
    }

    /// One page in creation order, and how many tasks match in all.
    pub async fn list(&self, filter: ListFilter, access: &Access) -> Result<(Vec<Task>, usize)> {
        let status = match filter.status.as_deref() {
            Some(status) => validate::list_status(status)?,
            None => None,
        };
        let limit = filter
            .limit
            .unwrap_or(DEFAULT_LIMIT)
            .min(self.inner.list_max);
        let store = self.inner.store.clone();
        let own = access.scope.clone();
        let limited = own.is_some();
        let offset = filter.offset;
        let page = tokio::task::spawn_blocking(move || {
            // As `Access::allows`: only the task's target counts.
            let admits = |entry: &store::OrderEntry| {
                own.as_ref().is_none_or(|own| {
                    own.admits(&Scope::for_target(
                        entry.scope_type.receive_id_type(),
                        &entry.scope_id,
                    ))
                })
            };
            let admits: Option<&dyn Fn(&store::OrderEntry) -> bool> = limited.then_some(&admits);
            store.page(status, admits, offset, limit)
        })
        .await
        .map_err(crate::store::StoreError::from)??;
        let tasks = page.tasks.into_iter().map(|stored| stored.task).collect();
        Ok((tasks, page.total))
    }

    /// Applies a JSON merge patch; the schedule follows at once.
    pub async fn update(&self, id: &str, patch: Value, access: &Access) -> Result<Task> {
        let now = Utc::now();
        let (this, key, access) = (self.clone(), id.to_string(), access.clone());
        let task = off_worker(move || {
            this.inner.store.update(&key, |stored| {
                if !access.allows(&stored.task) {
                    return Err(not_found(&key));
                }
                let mut task = stored.task.clone();
                validate::apply_patch(&mut task, patch, now, this.inner.rules)?;
                let old = &stored.task;
                if (task.status, &task.schedule) != (old.status, &old.schedule) {
                    task.next_run_at = this.next_run(&task, stored.handled_due, now);
                }
                task.updated_at = now;
                stored.task = task.clone();
                Ok(task)
            })
        })
        .await?
        .ok_or_else(|| not_found(id))?;
        self.inner.store.durable().await?;
        self.inner.scheduler.sync(id);
        Ok(task)
    }

    pub async fn delete(&self, id: &str, access: &Access) -> Result<()> {
        self.get(id, access)?;
        let (store, key) = (self.inner.store.clone(), id.to_string());
        off_worker(move || store.remove(&key))
            .await?
            .ok_or_else(|| not_found(id))?;
        self.inner.store.durable().await?;
        self.inner.scheduler.sync(id);
        Ok(())
    }

    /// The task's last runs, newest first (at most [`RUNS_KEPT`]).
    pub fn runs(&self, id: &str, access: &Access) -> Result<Vec<TaskRun>> {
        self.get(id, access)?;
        Ok(self.inner.store.runs(id)?)
    }

    /// When an (active) task runs next; a one-shot time already taken
    /// never comes back.
    fn next_run(
        &self,
        task: &Task,
        handled: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        if task.status != TaskStatus::Active || one_shot_taken(task, handled) {
            return None;
        }
        timing::next_due(task, self.inner.tz, now)
    }
}

/// Runs a store write on tokio's blocking pool: a sled write can wait for
/// a flush in progress (milliseconds, an fsync), and on the server's async
/// worker that wait held up every request it serves, reads included.
async fn off_worker<T: Send + 'static, E: From<crate::store::StoreError> + Send + 'static>(
    write: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, E> {
    tokio::task::spawn_blocking(write)
        .await
        .map_err(|e| E::from(crate::store::StoreError::from(e)))?
}

/// Whether `task` is a one-shot whose time the scheduler already took.
fn one_shot_taken(task: &Task, handled: Option<DateTime<Utc>>) -> bool {
    task.schedule.run_at().is_some_and(|at| Some(at) == handled)
}

/// The task target a conversation stands for: a chat, or a user by open
/// id (the two kinds of scope a task has).
fn scope_target(scope: &Scope) -> Option<(ScopeType, String)> {
    use crate::scope::ReceiveIdType;
    let kind = match scope.receive_id_type() {
        ReceiveIdType::ChatId => ScopeType::Chat,
        ReceiveIdType::OpenId => ScopeType::User,
        _ => return None,
    };
    Some((kind, scope.receive_id.clone()?))
}

fn not_found(id: &str) -> TaskError {
    TaskError::NotFound(id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store write that waits (for a flush in progress, say) leaves the
    /// runtime's thread free: another request's future on the same
    /// single-threaded runtime finishes meanwhile.
    #[test]
    fn a_waiting_store_write_does_not_hold_up_the_worker() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (release, wait) = std::sync::mpsc::channel::<()>();
        runtime.block_on(async move {
            let write = tokio::spawn(off_worker(move || {
                wait.recv().map_err(|_| TaskError::NotFound("gone".into()))
            }));
            // Runs on the runtime's only thread while the write waits.
            let read = tokio::spawn(async { "answered" });
            let answered = tokio::time::timeout(Duration::from_secs(30), read).await;
            assert_eq!(answered.unwrap().unwrap(), "answered");
            release.send(()).unwrap();
            write.await.unwrap().unwrap();
        });
    }
}
