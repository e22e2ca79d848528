//! One bot's scheduler: one task that sleeps until the earliest due time of
//! an ordered queue (woken early when a write moves that time earlier),
//! then takes the tasks now due off it and starts their runs. Nothing
//! wakes while nothing is due, however many tasks wait. (tokio-cron-
//! scheduler was used before: a crate job per task cost more to arm than
//! the flush, and one 1 s sweep job on its 500 ms tick started runs up to
//! 1.5 s late and woke every bot twice a second. Its cron jobs do not fit
//! either: see `timing.rs`.)
//!
//! Guarantees:
//! - a due time runs at most once: before the action starts, the due time is
//!   written as handled and flushed, under the task's write lock, so a
//!   duplicate, a patch or a restart sees it was taken;
//! - a run never overlaps the previous run of the same task (the due time is
//!   recorded as `skipped`);
//! - each run is its own tokio task, so a slow run never delays others, and
//!   the next cron time is queued before the action starts;
//! - a failure is recorded on the task and its run; a panic is caught;
//! - due times that passed while the bot was not running are settled at
//!   start by the task's `misfire` policy (`misfire.rs`) and recorded as one
//!   `missed` run per task and outage (a late tick is never a miss).

use super::actions::Actions;
use super::model::{Outcome, Schedule, StoredTask, Task, TaskAction, TaskRun, TaskStatus};
use super::queue::DueQueue;
use super::store::TaskStore;
use super::timing::next_due;
use super::{ActionError, TaskError};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use futures_util::FutureExt;
use parking_lot::{Mutex, MutexGuard};
use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

type Result<T, E = TaskError> = std::result::Result<T, E>;

/// The longest sleep between two looks at the queue, so that a change of
/// the wall clock delays a due time by this much at most.
const LOOK_AT_LEAST_EVERY: Duration = Duration::from_secs(60);
/// After the grace period, interrupted runs get this long to record it.
const INTERRUPT_WAIT: Duration = Duration::from_secs(5);

/// The scheduler's state, for `GET /api/v1/probes/internal`.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct SchedulerProbe {
    pub active_tasks: usize,
    /// The earliest due time queued; `null` when nothing is due.
    pub next_due_at: Option<DateTime<Utc>>,
    /// Task runs started and not finished.
    pub runs_in_flight: usize,
    /// The last task run that failed since the bot started.
    pub last_error: Option<LastTaskError>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct LastTaskError {
    pub task_id: String,
    pub at: DateTime<Utc>,
    pub error: String,
}

pub struct Scheduler {
    store: TaskStore,
    actions: Actions,
    tz: Tz,
    /// The task that sleeps until the next due time.
    sweeper: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Wakes the sweeper: the earliest due time moved earlier.
    earlier: Arc<Notify>,
    /// Each active task at its `next_run_at`.
    queue: Mutex<DueQueue>,
    running: Mutex<HashSet<String>>,
    /// Set at stop: no new run starts.
    closed: CancellationToken,
    /// Set when the grace period ends: runs in flight give up.
    abort: CancellationToken,
    runs: TaskTracker,
    /// For the probe: the last failure, kept in memory.
    last_error: Mutex<Option<LastTaskError>>,
    /// The bot, for each run's log span.
    bot: String,
}

impl Scheduler {
    pub fn new(store: TaskStore, actions: Actions, tz: Tz, bot: &str) -> Arc<Self> {
        Arc::new(Self {
            store,
            actions,
            tz,
            sweeper: Mutex::new(None),
            earlier: Arc::new(Notify::new()),
            queue: Mutex::new(DueQueue::default()),
            running: Mutex::new(HashSet::new()),
            closed: CancellationToken::new(),
            abort: CancellationToken::new(),
            runs: TaskTracker::new(),
            last_error: Mutex::new(None),
            bot: bot.to_string(),
        })
    }

    /// Settles what a previous life left (see [`Scheduler::recover`]),
    /// queues every active task and starts ticking.
    pub async fn start(self: &Arc<Self>) -> Result<()> {
        let this = self.clone();
        let ids = tokio::task::spawn_blocking(move || this.recover())
            .await
            .map_err(crate::store::StoreError::from)??;
        self.store.durable().await?;
        for id in ids {
            self.sync(&id);
        }
        let sweeper = tokio::spawn(Self::sweeper(Arc::downgrade(self)));
        *lock(&self.sweeper) = Some(sweeper);
        Ok(())
    }

    /// Sleeps until the earliest due time (or until it moves earlier), then
    /// sweeps; ends at stop. Holds the scheduler weakly between looks.
    async fn sweeper(weak: std::sync::Weak<Self>) {
        loop {
            let Some(this) = weak.upgrade() else { return };
            let wake = this.earlier.clone();
            let earlier = wake.notified();
            tokio::pin!(earlier);
            // Registered before the queue is read: a sync in between wakes it.
            earlier.as_mut().enable();
            let wait = match lock(&this.queue).next_due() {
                Some(due) => (due - Utc::now())
                    .to_std()
                    .unwrap_or(Duration::ZERO)
                    .min(LOOK_AT_LEAST_EVERY),
                None => LOOK_AT_LEAST_EVERY,
            };
            let closed = this.closed.clone();
            drop(this);
            tokio::select! {
                _ = closed.cancelled() => return,
                _ = earlier => continue,
                _ = tokio::time::sleep(wait) => {}
            }
            match weak.upgrade() {
                Some(this) => this.sweep(),
                None => return,
            }
        }
    }

    /// Stops ticking, lets runs in flight finish within `grace`, then
    /// interrupts them (an agent's process group is killed).
    pub async fn stop(&self, grace: Duration) {
        {
            let _queue = lock(&self.queue);
            self.closed.cancel();
        }
        let sweeper = lock(&self.sweeper).take();
        if let Some(sweeper) = sweeper {
            let _ = sweeper.await;
        }
        self.runs.close();
        if tokio::time::timeout(grace, self.runs.wait()).await.is_err() {
            self.abort.cancel();
            let _ = tokio::time::timeout(INTERRUPT_WAIT, self.runs.wait()).await;
        }
    }

    /// Like [`Scheduler::stop`] without waiting: the sweeper ends on its
    /// own, and a sweep it might still make does nothing.
    pub fn abandon(&self) {
        {
            let _queue = lock(&self.queue);
            self.closed.cancel();
        }
        self.abort.cancel();
        lock(&self.sweeper).take();
    }

    /// Queues the task at its stored `next_run_at`, or takes it out. Every
    /// write to a task is followed by this call; reading the store under the
    /// queue's lock makes the last call reflect the last write.
    pub fn sync(&self, id: &str) {
        let mut queue = lock(&self.queue);
        let head = queue.next_due();
        match self.store.get(id) {
            Ok(Some(StoredTask { task, .. })) if task.status == TaskStatus::Active => {
                queue.set(id, task.next_run_at)
            }
            Ok(_) => queue.set(id, None),
            Err(e) => tracing::error!(task = %id, error = %e, "cannot read a task to schedule it"),
        }
        let new_head = queue.next_due();
        if new_head.is_some_and(|new| head.is_none_or(|old| new < old)) {
            self.earlier.notify_one();
        }
    }

    /// What the internal probe shows of the scheduler. Reads one count
    /// from the store: call it off the async workers.
    pub fn probe(&self) -> Result<SchedulerProbe> {
        // One lock at a time: no ordering to get wrong.
        let next_due_at = lock(&self.queue).next_due();
        let runs_in_flight = lock(&self.running).len();
        let last_error = lock(&self.last_error).clone();
        Ok(SchedulerProbe {
            last_error,
            active_tasks: self.store.active_count()?,
            next_due_at,
            runs_in_flight,
        })
    }

    fn failed(&self, id: &str, error: String) {
        *lock(&self.last_error) = Some(LastTaskError {
            task_id: id.to_string(),
            at: Utc::now(),
            error,
        });
    }

    /// Starts a run for every task now due: one task takes their due times
    /// (the writes, off the async workers, one after the other), one flush
    /// covers them all, then each run goes on as its own task. (Taking each
    /// in its own run made a thousand tasks due on one second contend for
    /// the store, and the last started seconds late.)
    fn sweep(self: &Arc<Self>) {
        let mut queue = lock(&self.queue);
        if self.closed.is_cancelled() {
            return;
        }
        let due = queue.pop_due(Utc::now());
        if due.is_empty() {
            return;
        }
        let this = self.clone();
        self.runs.spawn(async move { this.start_runs(due).await });
    }

    async fn start_runs(self: &Arc<Self>, due: Vec<(String, DateTime<Utc>)>) {
        let ids: Vec<String> = due.iter().map(|(id, _)| id.clone()).collect();
        let this = self.clone();
        let taken = tokio::task::spawn_blocking(move || {
            due.into_iter()
                .map(|(id, due)| {
                    let taken = this.take(&id, due);
                    (id, due, taken)
                })
                .collect::<Vec<_>>()
        })
        .await;
        let taken = match taken {
            Ok(taken) => taken,
            Err(e) => {
                tracing::error!(error = %e, "taking the due tasks failed");
                for id in &ids {
                    self.failed(id, "the run panicked".to_string());
                    self.sync(id);
                }
                return;
            }
        };
        // Taken, on disk, before anything is sent: never twice per due time.
        let flushed = self.store.durable().await.map_err(TaskError::from);
        for (id, due, taken) in taken {
            self.sync(&id);
            let taken = match (taken, &flushed) {
                (Ok(None), _) => continue,
                (Ok(Some(taken)), Ok(())) => taken,
                (Err(e), _) => {
                    self.run_failed(&id, e.to_string());
                    continue;
                }
                (Ok(Some(_)), Err(e)) => {
                    self.run_failed(&id, e.to_string());
                    continue;
                }
            };
            let this = self.clone();
            // Every line of the run (the agent's too) carries the task.
            let span = tracing::info_span!("task_run", bot = %self.bot, task_id = %id, due = %due);
            let run = async move {
                let work = AssertUnwindSafe(this.run_taken(&id, due, taken)).catch_unwind();
                let error = match work.await {
                    Ok(Ok(())) => return,
                    Ok(Err(e)) => e.to_string(),
                    Err(_) => "the run panicked".to_string(),
                };
                this.run_failed(&id, error);
            };
            self.runs.spawn(tracing::Instrument::instrument(run, span));
        }
    }

    fn run_failed(&self, id: &str, error: String) {
        tracing::error!(task = %id, error = %error, "automation run failed");
        self.failed(id, error);
    }

    /// Takes `due` for the task (if it is still its to run) and records the
    /// run; not yet flushed.
    fn take(self: &Arc<Self>, id: &str, due: DateTime<Utc>) -> Result<Option<Taken>> {
        let now = Utc::now();
        let Some(Some((task, overlapping))) = self.store.update(id, |stored| {
            Ok::<_, TaskError>(self.take_due(stored, due, now))
        })?
        else {
            return Ok(None);
        };
        let running = (!overlapping).then(|| Running(self.clone(), id.to_string()));
        let run = TaskRun {
            task_id: id.to_string(),
            due_at: due,
            started_at: now,
            finished_at: overlapping.then_some(now),
            outcome: if overlapping {
                Outcome::Skipped
            } else {
                Outcome::Running
            },
            error: overlapping.then(|| "the previous run was still going".to_string()),
            message_id: None,
            missed_count: None,
        };
        let key = self.store.add_run(&run)?;
        Ok(Some(Taken {
            task,
            overlapping,
            key,
            now,
            _running: running,
        }))
    }

    async fn run_taken(self: &Arc<Self>, id: &str, due: DateTime<Utc>, taken: Taken) -> Result<()> {
        let Taken {
            task,
            overlapping,
            key,
            now,
            _running,
        } = taken;
        let metrics = self.actions.metrics();
        let action = action_name(&task.action);
        if overlapping {
            metrics.task_fired(action, "skipped");
            tracing::warn!(task = %id, due = %due, "skipped: the previous run is still going");
            return Ok(());
        }
        metrics.task_lateness((now - due).num_milliseconds() as f64 / 1000.0);
        tracing::info!(task = %id, due = %due, "automation task running");
        let task = Task {
            action: super::template::expand_action(&task.action, now, self.tz),
            ..task
        };
        let outcome = tokio::select! {
            outcome = self.actions.run(&task) => outcome,
            _ = self.abort.cancelled() => Err(ActionError::Interrupted),
        };
        let label = match &outcome {
            Ok(_) => "succeeded",
            Err(ActionError::Interrupted) => "interrupted",
            Err(_) => "failed",
        };
        metrics.task_fired(action, label);
        self.finish(id, &key, outcome).await
    }

    /// Under the write lock: whether `due` is still this task's to run, and
    /// if so mark it handled and move `next_run_at` on.
    fn take_due(
        &self,
        stored: &mut StoredTask,
        due: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<(Task, bool)> {
        let task = &mut stored.task;
        let current = task.status == TaskStatus::Active
            && task.next_run_at == Some(due)
            && stored.handled_due.is_none_or(|h| h < due);
        if !current {
            return None;
        }
        stored.handled_due = Some(due);
        task.next_run_at = match task.schedule {
            Schedule::Cron(_) | Schedule::Every(_) => next_due(task, self.tz, now.max(due)),
            Schedule::At(_) => None,
        };
        let overlapping = !lock(&self.running).insert(task.id.clone());
        if !overlapping {
            task.last_run_at = Some(now);
            task.run_count += 1;
        }
        // The last run `max_runs` allows: nothing more is queued, and the
        // task completes when it ends.
        if task.used_up() {
            task.next_run_at = None;
        }
        Some((task.clone(), overlapping))
    }

    async fn finish(
        &self,
        id: &str,
        run_key: &str,
        outcome: std::result::Result<Option<String>, ActionError>,
    ) -> Result<()> {
        let now = Utc::now();
        let error = outcome.as_ref().err().map(ToString::to_string);
        if let Some(e) = &error {
            tracing::warn!(task = %id, error = %e, "automation task failed");
            self.failed(id, e.clone());
        }
        self.store.update(id, |stored| {
            let task = &mut stored.task;
            task.last_error = error.clone();
            // Completed unless cancelled meanwhile or moved to a new time,
            // or after the last run `max_runs` allows.
            let ran_its_time = super::one_shot_taken(task, stored.handled_due) || task.used_up();
            if ran_its_time && matches!(task.status, TaskStatus::Active | TaskStatus::Paused) {
                task.status = TaskStatus::Completed;
                task.updated_at = now;
            }
            Ok::<_, TaskError>(())
        })?;
        self.store.update_run(run_key, |run| {
            run.finished_at = Some(now);
            run.outcome = match &outcome {
                Ok(_) => Outcome::Succeeded,
                Err(ActionError::Interrupted) => Outcome::Interrupted,
                Err(_) => Outcome::Failed,
            };
            run.error = error.clone();
            run.message_id = outcome.as_ref().ok().cloned().flatten();
        })?;
        Ok(self.store.durable().await?)
    }

    /// What a previous life of the bot left: runs cut short are marked
    /// interrupted; a one-shot task whose due time was taken, or a task
    /// with its `max_runs` made, is completed; due times that passed while
    /// the bot was down go by the task's `misfire` policy. Returns the
    /// tasks to arm.
    fn recover(&self) -> Result<Vec<String>> {
        let now = Utc::now();
        for (key, run) in self.store.all_runs()? {
            if run.outcome == Outcome::Running {
                self.store.update_run(&key, |run| {
                    run.outcome = Outcome::Interrupted;
                    run.finished_at = Some(now);
                    run.error = Some(ActionError::Interrupted.to_string());
                })?;
            }
        }
        let mut active = Vec::new();
        let mut records = Vec::new();
        for stored in self.store.all()? {
            if stored.task.status != TaskStatus::Active {
                continue;
            }
            let id = stored.task.id.clone();
            self.store.update(&id, |stored| {
                let taken = super::one_shot_taken(&stored.task, stored.handled_due);
                let task = &mut stored.task;
                if taken || task.used_up() {
                    task.status = TaskStatus::Completed;
                    task.next_run_at = None;
                    task.updated_at = now;
                } else {
                    records.extend(super::misfire::settle(task, self.tz, now));
                }
                Ok::<_, TaskError>(())
            })?;
            active.push(id);
        }
        // Outside the update: recording takes the store's write lock.
        for run in records {
            self.store.add_run(&run)?;
        }
        Ok(active)
    }
}

/// A due time taken and its run recorded, the action still to come.
struct Taken {
    task: Task,
    overlapping: bool,
    /// The run record's key.
    key: String,
    now: DateTime<Utc>,
    _running: Option<Running>,
}

/// Marks a task as running for as long as it lives (panics included).
struct Running(Arc<Scheduler>, String);

impl Drop for Running {
    fn drop(&mut self) {
        lock(&self.0.running).remove(&self.1);
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock()
}

/// A task's action as its metric label (the wire's name).
fn action_name(action: &TaskAction) -> &'static str {
    match action {
        TaskAction::SendText { .. } => "send_text",
        TaskAction::RunLlm { .. } => "run_llm",
        TaskAction::RunWorkflow { .. } => "run_workflow",
    }
}
