//! What the goal engine reads and writes of a goal: which are due, the
//! start of an iteration (flushed before its run starts, so that a due time
//! never runs twice), its end, and what a stop or crash cut.

use super::model::{Goal, GoalStatus, InFlight, IterationOutcome};
use super::{policy, Goals, Result};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// A goal whose iteration is due.
#[derive(Debug, Clone)]
pub struct Due {
    pub session_key: String,
    pub goal: Goal,
    pub due_at: DateTime<Utc>,
    /// The deadline passed: the last, wrap-up iteration.
    pub wrap_up: bool,
}

/// How an iteration's run ended.
#[derive(Debug, Clone)]
pub struct Ended {
    pub outcome: IterationOutcome,
    pub error: Option<String>,
    /// How long the run took.
    pub elapsed: Duration,
}

impl Goals {
    /// The goals due at `now` (in progress, no iteration running), and the
    /// earliest due time after `now`.
    pub fn due(&self, now: DateTime<Utc>) -> Result<(Vec<Due>, Option<DateTime<Utc>>)> {
        let mut due = Vec::new();
        let mut next: Option<DateTime<Utc>> = None;
        for (session_key, goal) in self.tree.entries()? {
            if goal.status != GoalStatus::InProgress || goal.in_flight.is_some() {
                continue;
            }
            let at = match goal.next_run_at {
                Some(at) => at.min(goal.deadline_at),
                None => goal.deadline_at,
            };
            if at <= now {
                due.push(Due {
                    session_key,
                    wrap_up: goal.deadline_at <= now,
                    due_at: at,
                    goal,
                });
            } else {
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        }
        due.sort_by_key(|d| d.due_at);
        Ok((due, next))
    }

    /// Records the iteration as started, durably; `None` when the goal
    /// changed since it was found due (paused, deleted, replaced, taken).
    pub async fn begin(&self, due: &Due, run_id: &str) -> Result<Option<Goal>> {
        let goal = {
            let _guard = self.lock.lock();
            let Some(mut goal) = self.tree.get(&due.session_key)? else {
                return Ok(None);
            };
            if goal.id != due.goal.id
                || goal.status != GoalStatus::InProgress
                || goal.in_flight.is_some()
            {
                return Ok(None);
            }
            // Goals stored before they kept their conversation still know
            // their session.
            if goal.scope.session_key().is_none() {
                goal.scope.session_key = Some(due.session_key.clone());
            }
            let now = Utc::now();
            goal.iterations += 1;
            goal.last_iteration_at = Some(now);
            goal.next_run_at = None;
            goal.updated_at = now;
            goal.in_flight = Some(InFlight {
                iteration: goal.iterations,
                run_id: run_id.to_string(),
                due_at: due.due_at,
                started_at: now,
                wrap_up: due.wrap_up,
            });
            self.put(&due.session_key, &goal)?;
            goal
        };
        self.store.durable().await?;
        Ok(Some(goal))
    }

    /// Records how the iteration ended and when the next one is due; `None`
    /// when the goal is gone (deleted or replaced meanwhile). The second
    /// value is a warning for the log (the runaway guard tripped).
    pub async fn finish(
        &self,
        session_key: &str,
        goal_id: &str,
        ended: &Ended,
    ) -> Result<Option<(Goal, Option<String>)>> {
        let done = {
            let _guard = self.lock.lock();
            let Some(mut goal) = self.tree.get(session_key)? else {
                return Ok(None);
            };
            if goal.id != goal_id {
                return Ok(None);
            }
            let warning = policy::after_iteration(&mut goal, ended, &self.config, Utc::now());
            self.put(session_key, &goal)?;
            (goal, warning)
        };
        self.saved().await?;
        Ok(Some(done))
    }

    /// At start: every iteration that a stop or a crash cut is recorded
    /// `interrupted`, and its goal is due again at once (once).
    pub async fn recover(&self) -> Result<Vec<Goal>> {
        let cut = {
            let _guard = self.lock.lock();
            let mut cut = Vec::new();
            for (session_key, mut goal) in self.tree.entries()? {
                if goal.in_flight.is_none() {
                    continue;
                }
                let ended = Ended {
                    outcome: IterationOutcome::Interrupted,
                    error: Some("alice stopped while this iteration ran".into()),
                    elapsed: Duration::ZERO,
                };
                policy::after_iteration(&mut goal, &ended, &self.config, Utc::now());
                self.put(&session_key, &goal)?;
                cut.push(goal);
            }
            cut
        };
        if !cut.is_empty() {
            self.saved().await?;
        }
        Ok(cut)
    }
}
