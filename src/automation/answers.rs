//! The JSON answers of `GET /api/v1/automation/tasks/{id}`, each kept beside
//! the stored bytes it was made from. A read whose stored bytes are the same
//! gets the same answer without decoding the task and encoding it again
//! (about half of what the request cost). Keyed by the bytes themselves,
//! not by a revision, so no write path has to remember to invalidate:
//! whatever changes a task changes its bytes.

use super::actions::scope_of;
use super::store::TaskStore;
use crate::scope::Scope;
use crate::store::{RawValue, Result};
use bytes::Bytes;
use dashmap::DashMap;
use std::sync::Arc;

/// Answers kept per bot; past it the cache starts over. Enough for the
/// tasks a bot's clients poll; bounded so 1 000 bots cost no more than a
/// few hundred KiB each however many tasks they hold.
const KEPT: usize = 256;

/// One task's answer and what the access check needs of it.
pub struct Answer {
    stored: RawValue,
    /// `serde_json::to_vec(&task)`: the bytes `HttpResponse::json` sends.
    pub body: Bytes,
    /// The conversation the task aims at (`Access::allows`).
    pub scope: Scope,
}

#[derive(Default)]
pub struct Answers {
    by_id: DashMap<String, Arc<Answer>>,
}

impl Answers {
    /// The answer for task `id` as stored now; `None` when there is none.
    pub fn get(&self, store: &TaskStore, id: &str) -> Result<Option<Arc<Answer>>> {
        let Some(stored) = store.get_raw(id)? else {
            self.by_id.remove(id);
            return Ok(None);
        };
        if let Some(kept) = self.by_id.get(id) {
            if kept.stored == stored {
                return Ok(Some(kept.clone()));
            }
        }
        let task = store.decode(&stored)?.task;
        let answer = Arc::new(Answer {
            body: serde_json::to_vec(&task)?.into(),
            scope: scope_of(&task),
            stored,
        });
        if self.by_id.len() >= KEPT {
            self.by_id.clear();
        }
        self.by_id.insert(id.to_string(), answer.clone());
        Ok(Some(answer))
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.by_id.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::automation::model::{
        Misfire, Schedule, ScopeType, StoredTask, Task, TaskAction, TaskStatus,
    };

    fn task(id: &str, text: &str) -> StoredTask {
        let now = chrono::Utc::now();
        StoredTask {
            seq: 1,
            handled_due: None,
            task: Task {
                id: id.into(),
                scope_type: ScopeType::Chat,
                scope_id: "oc_1".into(),
                action: TaskAction::SendText { text: text.into() },
                schedule: Schedule::Cron("0 9 * * *".into()),
                title: None,
                max_runs: 0,
                misfire: Misfire::Skip,
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
        }
    }

    #[test]
    fn an_answer_follows_the_stored_task_and_the_cache_stays_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(dir.path()).unwrap();
        let tasks = TaskStore::open(&store.bot("b")).unwrap();
        let answers = Answers::default();
        let first = task("task_1", "one");
        tasks.insert(&first).unwrap();
        let a = answers.get(&tasks, "task_1").unwrap().unwrap();
        assert_eq!(a.body, serde_json::to_vec(&first.task).unwrap());
        // The same bytes: the same answer, not a new one.
        let b = answers.get(&tasks, "task_1").unwrap().unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        // Changed behind the cache's back: the new answer.
        let changed = task("task_1", "two");
        tasks.insert(&changed).unwrap();
        let c = answers.get(&tasks, "task_1").unwrap().unwrap();
        assert_eq!(c.body, serde_json::to_vec(&changed.task).unwrap());
        // Gone: none, and forgotten.
        tasks.remove("task_1").unwrap();
        assert!(answers.get(&tasks, "task_1").unwrap().is_none());
        assert_eq!(answers.len(), 0);
        for n in 0..KEPT + 10 {
            let id = format!("task_{n}");
            tasks.insert(&task(&id, "x")).unwrap();
            answers.get(&tasks, &id).unwrap().unwrap();
        }
        assert!(answers.len() <= KEPT);
    }
}
