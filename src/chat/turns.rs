//! One thing at a time per conversation: a chat reply and a goal iteration
//! of the same conversation never overlap. Whoever holds a conversation's
//! turn runs its agent; the others wait in arrival order (tokio's mutex is
//! fair), so a message that arrives during an iteration is answered right
//! after it.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::OwnedMutexGuard;

type Locks = Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>;

#[derive(Clone, Default)]
pub struct Turns {
    locks: Locks,
}

/// A conversation's turn, given back on drop.
pub struct TurnGuard {
    guard: Option<OwnedMutexGuard<()>>,
    session: String,
    locks: Locks,
}

impl Turns {
    /// Waits for the conversation's turn.
    pub async fn take(&self, session: &str) -> TurnGuard {
        let lock = self
            .locks
            .lock()
            .entry(session.to_string())
            .or_default()
            .clone();
        TurnGuard {
            guard: Some(lock.lock_owned().await),
            session: session.to_string(),
            locks: self.locks.clone(),
        }
    }
}

impl Drop for TurnGuard {
    /// The last holder or waiter removes the conversation's entry, so the
    /// map holds only conversations at work.
    fn drop(&mut self) {
        self.guard.take();
        let mut locks = self.locks.lock();
        if locks
            .get(&self.session)
            .is_some_and(|l| Arc::strong_count(l) == 1)
        {
            locks.remove(&self.session);
        }
    }
}
