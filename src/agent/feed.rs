//! Following a run's events as they happen (for Server-Sent Events): read
//! what is stored after a sequence number, then wait for more.

use super::record::{RunEvent, RunStatus, RunStore};
use super::RunError;

type Result<T, E = RunError> = std::result::Result<T, E>;
use std::time::Duration;
use tokio::sync::watch;

/// Polling interval when no live signal is available (the run belongs to a
/// bot that is not running in this process, or already ended).
const POLL: Duration = Duration::from_millis(250);

pub enum FeedItem {
    Events(Vec<RunEvent>),
    /// Nothing happened for a while; the caller sends a keep-alive.
    Idle,
    /// The run has finished and every event was delivered.
    End,
}

pub struct EventFeed {
    store: RunStore,
    run_id: String,
    after: u64,
    /// Bumped on every new event of a live run; closed when it ends.
    progress: Option<watch::Receiver<u64>>,
}

impl EventFeed {
    pub fn new(
        store: RunStore,
        run_id: String,
        after: u64,
        progress: Option<watch::Receiver<u64>>,
    ) -> Self {
        Self {
            store,
            run_id,
            after,
            progress,
        }
    }

    /// The next events after the last delivered one, waiting up to `idle`.
    pub async fn next(&mut self, idle: Duration) -> Result<FeedItem> {
        let deadline = tokio::time::Instant::now() + idle;
        loop {
            if let Some(rx) = self.progress.as_mut() {
                rx.borrow_and_update();
            }
            if let Some(item) = self.read()? {
                return Ok(item);
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok(FeedItem::Idle);
            }
            match self.progress.as_mut() {
                Some(rx) => {
                    tokio::select! {
                        changed = rx.changed() => if changed.is_err() { self.progress = None },
                        _ = tokio::time::sleep_until(deadline) => return Ok(FeedItem::Idle),
                    }
                }
                None => tokio::time::sleep(POLL.min(deadline - now)).await,
            }
        }
    }

    /// Stored events, `End` once finished and drained, `None` to wait.
    fn read(&mut self) -> Result<Option<FeedItem>> {
        let events = self.store.events_after(&self.run_id, self.after)?;
        if let Some(last) = events.last() {
            self.after = last.seq;
            return Ok(Some(FeedItem::Events(events)));
        }
        let record = self.store.require(&self.run_id)?;
        if record.status == RunStatus::Running {
            return Ok(None);
        }
        // The finished event is stored before the record changes: read once
        // more so that it is never missed.
        let events = self.store.events_after(&self.run_id, self.after)?;
        Ok(Some(match events.last() {
            Some(last) => {
                self.after = last.seq;
                FeedItem::Events(events)
            }
            None => FeedItem::End,
        }))
    }
}
