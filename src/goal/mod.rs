//! Goals: at most one unfinished goal per conversation (session key).
//!
//! Tree `<id>/goals`: `<session_key>` → [`Goal`].

use crate::error::{Code, ErrorCode};
use crate::store::{BotStore, StoreError, Tree, TypedTree};
use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GoalStatus {
    InProgress,
    Paused,
    Completed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Goal {
    #[schema(example = "goal_3f2a9c1d7e4b")]
    pub id: String,
    #[schema(example = "Review PR #42")]
    pub description: String,
    pub status: GoalStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A change of a goal's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Pause,
    Resume,
    Complete,
}

impl Transition {
    fn apply(self, from: GoalStatus) -> Option<GoalStatus> {
        use GoalStatus::*;
        match (self, from) {
            (Transition::Pause, InProgress) => Some(Paused),
            (Transition::Resume, Paused) => Some(InProgress),
            (Transition::Complete, InProgress | Paused) => Some(Completed),
            _ => None,
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Transition::Pause => "pause",
            Transition::Resume => "resume",
            Transition::Complete => "complete",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GoalError {
    #[error("`description` is required")]
    MissingDescription,
    #[error("`description` is longer than {MAX_DESCRIPTION} characters")]
    DescriptionTooLong,
    #[error("this conversation has no goal")]
    NoGoal,
    #[error("this conversation already has an unfinished goal ({id}, {}); complete or delete it first", status_name(*.status))]
    Unfinished { id: String, status: GoalStatus },
    #[error("cannot {} a goal that is {}", .change.verb(), status_name(*.from))]
    IllegalTransition {
        change: Transition,
        from: GoalStatus,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ErrorCode for GoalError {
    fn code(&self) -> Code {
        match self {
            GoalError::MissingDescription | GoalError::DescriptionTooLong => Code::InvalidGoal,
            GoalError::NoGoal => Code::GoalNotFound,
            GoalError::Unfinished { .. } => Code::GoalExists,
            GoalError::IllegalTransition { .. } => Code::IllegalGoalTransition,
            GoalError::Store(e) => e.code(),
        }
    }
}

type Result<T, E = GoalError> = std::result::Result<T, E>;

/// Longest description accepted.
pub const MAX_DESCRIPTION: usize = 4000;

#[derive(Clone)]
pub struct Goals {
    tree: TypedTree<Goal>,
    store: BotStore,
    /// Serialises read-check-write sequences (one bot, short critical
    /// sections, no await inside).
    lock: Arc<Mutex<()>>,
}

impl Goals {
    pub fn open(store: &BotStore) -> Result<Self> {
        Ok(Self {
            tree: store.tree(Tree::Goals)?,
            store: store.clone(),
            lock: Arc::new(Mutex::new(())),
        })
    }

    /// The scope's goal, whatever its status.
    pub fn get(&self, session_key: &str) -> Result<Option<Goal>> {
        Ok(self.tree.get(session_key)?)
    }

    /// The goal an agent run in this scope should pursue (in progress only).
    pub fn active(&self, session_key: &str) -> Result<Option<Goal>> {
        Ok(self
            .get(session_key)?
            .filter(|g| g.status == GoalStatus::InProgress))
    }

    /// A new goal; 409 while an unfinished one exists (a completed one is
    /// replaced).
    pub async fn create(&self, session_key: &str, description: &str) -> Result<Goal> {
        let description = description.trim();
        if description.is_empty() {
            return Err(GoalError::MissingDescription);
        }
        if description.chars().count() > MAX_DESCRIPTION {
            return Err(GoalError::DescriptionTooLong);
        }
        let goal = {
            let _guard = self.lock.lock();
            if let Some(existing) = self.tree.get(session_key)? {
                if existing.status != GoalStatus::Completed {
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
            };
            self.tree.insert(session_key, &goal)?;
            goal
        };
        self.store.durable().await?;
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
            goal.status = next;
            goal.updated_at = Utc::now();
            self.tree.insert(session_key, &goal)?;
            goal
        };
        self.store.durable().await?;
        Ok(goal)
    }

    /// Removes the scope's goal; deleting nothing is not an error.
    pub async fn delete(&self, session_key: &str) -> Result<()> {
        let removed = {
            let _guard = self.lock.lock();
            self.tree.remove(session_key)?
        };
        if removed.is_some() {
            self.store.durable().await?;
        }
        Ok(())
    }
}

fn status_name(status: GoalStatus) -> &'static str {
    match status {
        GoalStatus::InProgress => "in_progress",
        GoalStatus::Paused => "paused",
        GoalStatus::Completed => "completed",
    }
}
