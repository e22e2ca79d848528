//! The bot's due times: each active task once, ordered by when it is due.

use chrono::{DateTime, Utc};
use std::collections::{BTreeSet, HashMap};

#[derive(Default)]
pub struct DueQueue {
    by_due: BTreeSet<(DateTime<Utc>, String)>,
    by_task: HashMap<String, DateTime<Utc>>,
}

impl DueQueue {
    /// Puts the task at `due`, or takes it out with `None`.
    pub fn set(&mut self, id: &str, due: Option<DateTime<Utc>>) {
        if self.by_task.get(id).copied() == due {
            return;
        }
        if let Some(old) = self.by_task.remove(id) {
            self.by_due.remove(&(old, id.to_string()));
        }
        if let Some(due) = due {
            self.by_due.insert((due, id.to_string()));
            self.by_task.insert(id.to_string(), due);
        }
    }

    /// The earliest due time queued.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        self.by_due.first().map(|(at, _)| *at)
    }

    /// Takes out every task due at or before `now`, earliest first.
    pub fn pop_due(&mut self, now: DateTime<Utc>) -> Vec<(String, DateTime<Utc>)> {
        let mut due = Vec::new();
        while self.by_due.first().is_some_and(|(at, _)| *at <= now) {
            let (at, id) = self.by_due.pop_first().expect("checked above");
            self.by_task.remove(&id);
            due.push((id, at));
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn each_task_once_in_due_order() {
        let now = Utc::now();
        let mut q = DueQueue::default();
        q.set("a", Some(now + Duration::seconds(5)));
        q.set("b", Some(now - Duration::seconds(1)));
        q.set("c", Some(now));
        q.set("a", Some(now - Duration::seconds(2)));
        q.set("d", Some(now));
        q.set("d", None);
        let due: Vec<String> = q.pop_due(now).into_iter().map(|(id, _)| id).collect();
        assert_eq!(due, ["a", "b", "c"]);
        assert!(q.pop_due(now).is_empty());
        assert!(q.by_task.is_empty() && q.by_due.is_empty());
    }
}
