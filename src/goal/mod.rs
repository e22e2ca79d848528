//! Goals: at most one unfinished goal per conversation (session key), and
//! the bookkeeping of the iterations the goal engine runs for it.
//!
//! Tree `<id>/goals`: `<session_key>` → [`Goal`] (the newest goal).
//! Tree `<id>/goal_history`: `<session_key>␟<created ms:020>␟<goal id>` →
//! a finished [`Goal`], written in one transaction with `goals`.

mod iteration;
mod model;
mod policy;

pub use iteration::{Due, Ended};
pub use model::{Delay, Goal, GoalStatus, InFlight, IterationOutcome, Transition};

use crate::config::{format_span, parse_span, GoalConfig, DEFAULT_DEADLINE, MAX_DEADLINE};
use crate::error::{Code, ErrorCode};
use crate::scope::Scope;
use crate::store::{BotStore, StoreError, Tree, TypedTree};
use chrono::Utc;
use parking_lot::Mutex;
use std::sync::Arc;
use tokio::sync::Notify;

#[derive(Debug, thiserror::Error)]
pub enum GoalError {
    #[error("`description` is required")]
    MissingDescription,
    #[error("`description` is longer than {MAX_DESCRIPTION} characters")]
    DescriptionTooLong,
    #[error("`deadline_in` must be a duration from {min} to 30d such as \"48h\" or \"1h30m\"")]
    BadDeadline { min: String },
    #[error("`duration` must be \"0s\" or from {min} to {max}, written like \"90s\", \"15m\" or \"1h30m\"")]
    BadDelay { min: String, max: String },
    #[error(
        "`reason` is required: at most {MAX_REASON} characters saying what the goal waits for"
    )]
    BadReason,
    #[error("this conversation has no goal")]
    NoGoal,
    #[error("this conversation already has an unfinished goal ({id}, {}); complete or delete it first", .status.name())]
    Unfinished { id: String, status: GoalStatus },
    #[error("cannot {} a goal that is {}", .change.verb(), .from.name())]
    IllegalTransition {
        change: Transition,
        from: GoalStatus,
    },
    #[error("only a goal in progress takes a delay; this one is {}", .0.name())]
    NotInProgress(GoalStatus),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ErrorCode for GoalError {
    fn code(&self) -> Code {
        match self {
            GoalError::MissingDescription
            | GoalError::DescriptionTooLong
            | GoalError::BadDeadline { .. }
            | GoalError::BadDelay { .. }
            | GoalError::BadReason => Code::InvalidGoal,
            GoalError::NoGoal => Code::GoalNotFound,
            GoalError::Unfinished { .. } => Code::GoalExists,
            GoalError::IllegalTransition { .. } | GoalError::NotInProgress(_) => {
                Code::IllegalGoalTransition
            }
            GoalError::Store(e) => e.code(),
        }
    }
}

type Result<T, E = GoalError> = std::result::Result<T, E>;

/// Longest description accepted.
pub const MAX_DESCRIPTION: usize = 4000;
/// Longest delay reason accepted.
pub const MAX_REASON: usize = 500;

const SEP: char = '\u{1f}';

#[derive(Clone)]
pub struct Goals {
    tree: TypedTree<Goal>,
    history: TypedTree<Goal>,
    store: BotStore,
    config: Arc<GoalConfig>,
    /// Serialises read-check-write sequences (one bot, short critical
    /// sections, no await inside).
    lock: Arc<Mutex<()>>,
    /// Told whenever a goal changes, so the engine re-reads due times.
    changed: Arc<Notify>,
}

impl Goals {
    /// With the default `[bots.<id>.goal]` limits.
    pub fn open(store: &BotStore) -> Result<Self> {
        Self::open_with(store, GoalConfig::default())
    }

    pub fn open_with(store: &BotStore, config: GoalConfig) -> Result<Self> {
        Ok(Self {
            tree: store.tree(Tree::Goals)?,
            history: store.tree(Tree::GoalHistory)?,
            store: store.clone(),
            config: Arc::new(config),
            lock: Arc::new(Mutex::new(())),
            changed: Arc::new(Notify::new()),
        })
    }

    pub fn config(&self) -> &GoalConfig {
        &self.config
    }

    /// Notified after every change of a goal.
    pub fn changed(&self) -> Arc<Notify> {
        self.changed.clone()
    }

    /// The scope's newest goal, whatever its status.
    pub fn get(&self, session_key: &str) -> Result<Option<Goal>> {
        Ok(self.tree.get(session_key)?)
    }

    /// The scope's unfinished goal (`in_progress` or `paused`).
    pub fn current(&self, session_key: &str) -> Result<Option<Goal>> {
        Ok(self.get(session_key)?.filter(|g| g.status.unfinished()))
    }

    /// The goal an agent run in this scope should pursue (in progress only).
    pub fn active(&self, session_key: &str) -> Result<Option<Goal>> {
        Ok(self
            .get(session_key)?
            .filter(|g| g.status == GoalStatus::InProgress))
    }

    /// The conversation's goals, newest first, with `status` if given: a
    /// page and the number of all that match.
    pub fn list(
        &self,
        session_key: &str,
        status: Option<GoalStatus>,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<Goal>, usize)> {
        let mut all: Vec<Goal> = self.current(session_key)?.into_iter().collect();
        let mut finished = self.history.scan_prefix(&format!("{session_key}{SEP}"))?;
        finished.reverse();
        all.extend(finished);
        all.retain(|g| status.is_none_or(|s| g.status == s));
        let total = all.len();
        Ok((all.into_iter().skip(offset).take(limit).collect(), total))
    }

    /// A new goal; 409 while an unfinished one exists (a finished one is
    /// replaced, and stays in the history).
    pub async fn create(
        &self,
        scope: &Scope,
        session_key: &str,
        description: &str,
        deadline_in: Option<&str>,
    ) -> Result<Goal> {
        let description = description.trim();
        if description.is_empty() {
            return Err(GoalError::MissingDescription);
        }
        if description.chars().count() > MAX_DESCRIPTION {
            return Err(GoalError::DescriptionTooLong);
        }
        let deadline_in = match deadline_in {
            None => DEFAULT_DEADLINE,
            Some(text) => parse_span(text)
                .filter(|d| *d >= self.config.min_deadline.get() && *d <= MAX_DEADLINE)
                .ok_or_else(|| GoalError::BadDeadline {
                    min: format_span(self.config.min_deadline.get()),
                })?,
        };
        let goal = {
            let _guard = self.lock.lock();
            if let Some(existing) = self.tree.get(session_key)? {
                if existing.status.unfinished() {
                    return Err(GoalError::Unfinished {
                        id: existing.id,
                        status: existing.status,
                    });
                }
            }
            let now = Utc::now();
            let goal = Goal {
                id: format!("goal_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
                description: description.to_string(),
                status: GoalStatus::InProgress,
                created_at: now,
                updated_at: now,
                deadline_at: now + chrono::Duration::from_std(deadline_in).unwrap_or_default(),
                next_run_at: Some(now),
                iterations: 0,
                last_iteration_at: None,
                last_delay: None,
                status_reason: None,
                last_run_id: None,
                last_outcome: None,
                last_error: None,
                in_flight: None,
                failures: 0,
                fast_iterations: 0,
                iterations_at_resume: 0,
                scope: scope.clone(),
            };
            self.tree.insert(session_key, &goal)?;
            goal
        };
        self.saved().await?;
        Ok(goal)
    }

    /// Pause, resume or complete; 404 without a goal, 409 when illegal.
    pub async fn transition(&self, session_key: &str, change: Transition) -> Result<Goal> {
        let goal = {
            let _guard = self.lock.lock();
            let mut goal = self.tree.get(session_key)?.ok_or(GoalError::NoGoal)?;
            let next = change
                .apply(goal.status)
                .ok_or(GoalError::IllegalTransition {
                    change,
                    from: goal.status,
                })?;
            let now = Utc::now();
            goal.status = next;
            goal.updated_at = now;
            goal.status_reason = None;
            goal.next_run_at = match change {
                // Due at once, unless an iteration still runs (its end
                // schedules the next).
                Transition::Resume if goal.in_flight.is_none() => Some(now),
                _ => None,
            };
            if change == Transition::Resume {
                goal.iterations_at_resume = goal.iterations;
                goal.fast_iterations = 0;
            }
            self.put(session_key, &goal)?;
            goal
        };
        self.saved().await?;
        Ok(goal)
    }

    /// The agent's word on when the next iteration starts: `"0s"` or
    /// `min_delay`..=`max_delay`, with a reason.
    pub async fn delay(&self, session_key: &str, duration: &str, reason: &str) -> Result<Goal> {
        let (min, max) = (self.config.min_delay.get(), self.config.max_delay.get());
        let wait = parse_span(duration)
            .filter(|d| d.is_zero() || (*d >= min && *d <= max))
            .ok_or_else(|| GoalError::BadDelay {
                min: format_span(min),
                max: format_span(max),
            })?;
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > MAX_REASON {
            return Err(GoalError::BadReason);
        }
        let goal = {
            let _guard = self.lock.lock();
            let mut goal = self.tree.get(session_key)?.ok_or(GoalError::NoGoal)?;
            if goal.status != GoalStatus::InProgress {
                return Err(GoalError::NotInProgress(goal.status));
            }
            let now = Utc::now();
            goal.last_delay = Some(Delay {
                duration: duration.trim().to_string(),
                reason: reason.to_string(),
                at: now,
            });
            goal.updated_at = now;
            // Declared outside an iteration: it applies at once. Inside
            // one, the iteration's end applies it.
            if goal.in_flight.is_none() {
                goal.next_run_at = Some(now + chrono::Duration::from_std(wait).unwrap_or_default());
                goal.status_reason = None;
            }
            self.put(session_key, &goal)?;
            goal
        };
        self.saved().await?;
        Ok(goal)
    }

    /// Removes the scope's goal (and its history entry); deleting nothing
    /// is not an error.
    pub async fn delete(&self, session_key: &str) -> Result<()> {
        let removed = {
            let _guard = self.lock.lock();
            let removed = self.tree.remove(session_key)?;
            if let Some(goal) = &removed {
                self.history.remove(&history_key(session_key, goal))?;
            }
            removed
        };
        if removed.is_some() {
            self.saved().await?;
        }
        Ok(())
    }

    /// Writes `goal` as the scope's goal; a finished one also goes into the
    /// history, in the same transaction. Call under `lock`.
    fn put(&self, session_key: &str, goal: &Goal) -> Result<()> {
        if goal.status.unfinished() {
            self.tree.insert(session_key, goal)?;
            return Ok(());
        }
        let key = history_key(session_key, goal);
        self.tree
            .transaction_with(&self.history, |current, history| {
                current.insert(session_key, goal)?;
                history.insert(&key, goal)?;
                Ok(())
            })?;
        Ok(())
    }

    /// Flushes, then tells the engine.
    async fn saved(&self) -> Result<()> {
        self.store.durable().await?;
        self.changed.notify_one();
        Ok(())
    }
}

fn history_key(session_key: &str, goal: &Goal) -> String {
    format!(
        "{session_key}{SEP}{:020}{SEP}{}",
        goal.created_at.timestamp_millis().max(0),
        goal.id
    )
}
