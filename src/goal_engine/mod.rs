//! A bot's goal engine: gives every `in_progress` goal whose time has come
//! an *iteration* — a recorded agent run (origin `goal`) in the goal's
//! conversation, whose output is sent there like a chat reply — until the
//! goal is completed, paused, deleted or out of time. Started and stopped
//! with the bot, like its scheduler.
//!
//! Guarantees:
//! - one conversation, one thing at a time: an iteration takes the
//!   conversation's turn ([`crate::chat::Turns`]) before it starts;
//! - a due time runs once: the iteration is written and flushed as started
//!   before its run starts, so a restart finds it cut (`interrupted`) and
//!   runs the goal once again, never twice;
//! - each iteration is its own tracked task; a panic is caught.

mod prompt;

pub use prompt::iteration_prompt;

use crate::agent::{new_run_id, AgentError, AgentRun, AgentRunner, RunStatus};
use crate::chat::{History, Role, Turn, Turns};
use crate::connector::{Destination, Messenger, Payload};
use crate::goal::{Due, Ended, GoalError, Goals, IterationOutcome};
use crate::store::{BotStore, StoreError};
use chrono::Utc;
use chrono_tz::Tz;
use futures_util::FutureExt;
use parking_lot::Mutex;
use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The longest the engine sleeps without looking (a clock change, a goal
/// written by another process).
const LOOK_EVERY: Duration = Duration::from_secs(60);

/// What a bot gives its engine.
pub struct EngineSetup {
    pub bot_id: String,
    /// `goal.enabled` and `permissions.runtime_goal`.
    pub enabled: bool,
    pub goals: Goals,
    pub agent: AgentRunner,
    pub turns: Turns,
    pub store: BotStore,
    pub messenger: Arc<dyn Messenger>,
    /// `chat.history_messages`.
    pub history_messages: usize,
    /// `chat.no_reply_token`: an answer equal to it sends nothing.
    pub no_reply_token: String,
    pub timezone: Tz,
}

#[derive(Clone)]
pub struct GoalEngine {
    inner: Arc<Inner>,
}

struct Inner {
    bot_id: String,
    enabled: bool,
    goals: Goals,
    agent: AgentRunner,
    turns: Turns,
    history: History,
    messenger: Arc<dyn Messenger>,
    history_messages: usize,
    no_reply_token: String,
    timezone: Tz,
    /// Conversations with an iteration waiting for its turn or running.
    running: Mutex<HashSet<String>>,
    closed: CancellationToken,
    tasks: TaskTracker,
}

impl GoalEngine {
    pub fn new(setup: EngineSetup) -> Result<Self, StoreError> {
        Ok(Self {
            inner: Arc::new(Inner {
                history: History::open(setup.store)?,
                bot_id: setup.bot_id,
                enabled: setup.enabled,
                goals: setup.goals,
                agent: setup.agent,
                turns: setup.turns,
                messenger: setup.messenger,
                history_messages: setup.history_messages,
                no_reply_token: setup.no_reply_token,
                timezone: setup.timezone,
                running: Mutex::new(HashSet::new()),
                closed: CancellationToken::new(),
                tasks: TaskTracker::new(),
            }),
        })
    }

    /// Records what a previous life cut (`interrupted`, due again at once)
    /// and starts looking for due goals (unless disabled).
    pub async fn start(&self) -> Result<(), GoalError> {
        // What a previous life cut is recorded even when the engine is off
        // now; the goal runs again once it is on.
        for goal in self.inner.goals.recover().await? {
            tracing::warn!(bot = %self.inner.bot_id, goal = %goal.id, run = ?goal.last_run_id, "a goal iteration was interrupted by a stop; it runs again");
        }
        if !self.inner.enabled {
            return Ok(());
        }
        let inner = self.inner.clone();
        self.inner.tasks.spawn(async move {
            let id = inner.bot_id.clone();
            if AssertUnwindSafe(inner.watch()).catch_unwind().await.is_err() {
                tracing::error!(bot = %id, "the goal engine panicked; goals wait for a restart of the bot");
            }
        });
        Ok(())
    }

    /// Starts no new iteration; those running go on until the agent stops
    /// them.
    pub fn close(&self) {
        self.inner.closed.cancel();
    }

    /// Closes, then waits for the iterations in flight to record how they
    /// ended (call after the agent has stopped its runs).
    pub async fn stopped(&self, bound: Duration) {
        self.close();
        self.inner.tasks.close();
        if tokio::time::timeout(bound, self.inner.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(bot = %self.inner.bot_id, "goal iterations did not record their end in time");
        }
    }
}

impl Inner {
    /// Starts the due iterations, then sleeps until the next due time or a
    /// change of a goal.
    async fn watch(self: Arc<Self>) {
        let changed = self.goals.changed();
        loop {
            if self.closed.is_cancelled() {
                return;
            }
            let goals = self.goals.clone();
            let now = Utc::now();
            let found = tokio::task::spawn_blocking(move || goals.due(now)).await;
            let next = match found {
                Ok(Ok((due, next))) => {
                    for due in due {
                        self.clone().begin(due);
                    }
                    next
                }
                Ok(Err(e)) => {
                    tracing::error!(bot = %self.bot_id, error = %e, "cannot read the goals");
                    None
                }
                Err(e) => {
                    tracing::error!(bot = %self.bot_id, error = %e, "cannot read the goals");
                    None
                }
            };
            let wait = next
                .and_then(|at| (at - Utc::now()).to_std().ok())
                .unwrap_or(LOOK_EVERY)
                .min(LOOK_EVERY);
            tokio::select! {
                _ = self.closed.cancelled() => return,
                _ = changed.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Spawns the iteration unless the conversation has one already.
    fn begin(self: Arc<Self>, due: Due) {
        if !self.running.lock().insert(due.session_key.clone()) {
            return;
        }
        let inner = self.clone();
        self.tasks.spawn(async move {
            let session = due.session_key.clone();
            if AssertUnwindSafe(inner.iterate(due)).catch_unwind().await.is_err() {
                tracing::error!(bot = %inner.bot_id, session = %session, "a goal iteration panicked");
            }
            inner.running.lock().remove(&session);
            // The goal may be due again at once (`0s`).
            inner.goals.changed().notify_one();
        });
    }

    async fn iterate(&self, due: Due) {
        let session = due.session_key.clone();
        let _turn = tokio::select! {
            biased;
            _ = self.closed.cancelled() => return,
            turn = self.turns.take(&session) => turn,
        };
        if self.closed.is_cancelled() {
            return;
        }
        let run_id = new_run_id();
        let goal = match self.goals.begin(&due, &run_id).await {
            Ok(Some(goal)) => goal,
            Ok(None) => return,
            Err(e) => {
                tracing::error!(bot = %self.bot_id, goal = %due.goal.id, error = %e, "cannot start a goal iteration");
                return;
            }
        };
        let lateness = (Utc::now() - due.due_at).num_milliseconds();
        tracing::info!(bot = %self.bot_id, goal = %goal.id, run = %run_id, iteration = goal.iterations, wrap_up = due.wrap_up, lateness_ms = lateness, "goal iteration");
        let history = self
            .history
            .recent(&session, self.history_messages)
            .unwrap_or_else(|e| {
                tracing::error!(bot = %self.bot_id, error = %e, "cannot read the conversation's history; iterating without it");
                Vec::new()
            });
        let config = self.goals.config();
        let delays = (config.min_delay.get(), config.max_delay.get());
        let prompt = iteration_prompt(
            &goal,
            &history,
            due.wrap_up,
            Utc::now(),
            self.timezone,
            delays,
        );
        let timeout = config.iteration_timeout.get();
        let started = std::time::Instant::now();
        let result = self
            .agent
            .iterate(&goal.scope, &prompt, &run_id, timeout)
            .await;
        let ended = match result {
            Ok(record) => self.ended(&session, &goal.scope, record).await,
            Err(AgentError::Stopping) => interrupted(),
            Err(e) => failed(e.to_string()),
        };
        let ended = Ended {
            elapsed: started.elapsed(),
            ..ended
        };
        match self.goals.finish(&session, &goal.id, &ended).await {
            Ok(Some((_, Some(warning)))) => {
                tracing::warn!(bot = %self.bot_id, goal = %goal.id, "{warning}")
            }
            Ok(_) => {}
            Err(e) => {
                tracing::error!(bot = %self.bot_id, goal = %goal.id, error = %e, "cannot record the end of a goal iteration")
            }
        }
    }

    /// How a run that started ended; its output is sent to the
    /// conversation and kept in its history.
    async fn ended(&self, session: &str, scope: &crate::scope::Scope, record: AgentRun) -> Ended {
        match record.status {
            RunStatus::Succeeded => {
                let output = record.output.trim();
                if !output.is_empty() && output != self.no_reply_token {
                    self.send(session, scope, output, &record.run_id).await;
                }
                Ended {
                    outcome: IterationOutcome::Succeeded,
                    error: None,
                    elapsed: Duration::ZERO,
                }
            }
            RunStatus::Timeout => Ended {
                outcome: IterationOutcome::Timeout,
                error: record.error,
                elapsed: Duration::ZERO,
            },
            RunStatus::Cancelled if self.agent.stopping() => interrupted(),
            _ => failed(record.error.unwrap_or_else(|| "the run failed".into())),
        }
    }

    async fn send(&self, session: &str, scope: &crate::scope::Scope, text: &str, run_id: &str) {
        let Some(receive_id) = scope.receive_id.clone() else {
            tracing::warn!(bot = %self.bot_id, run = %run_id, "a goal without a conversation to answer in; its output is kept in the run only");
            return;
        };
        let turn = Turn {
            role: Role::Assistant,
            text: text.to_string(),
        };
        if let Err(e) = self.history.append(session, &[turn], self.history_messages) {
            tracing::error!(bot = %self.bot_id, error = %e, "cannot keep history");
        }
        let to = Destination {
            receive_id_type: scope.receive_id_type(),
            receive_id,
            reply_to: None,
        };
        if let Err(e) = self
            .messenger
            .send(&to, Payload::Text(text.to_string()))
            .await
        {
            tracing::error!(bot = %self.bot_id, run = %run_id, error = %e, "cannot send a goal iteration's output");
        }
    }
}

fn interrupted() -> Ended {
    Ended {
        outcome: IterationOutcome::Interrupted,
        error: Some("the bot stopped during the iteration".into()),
        elapsed: Duration::ZERO,
    }
}

fn failed(error: String) -> Ended {
    Ended {
        outcome: IterationOutcome::Failed,
        error: Some(error),
        elapsed: Duration::ZERO,
    }
}
