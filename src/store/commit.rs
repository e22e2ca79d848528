//! Group commit: a writer asks for a flush and waits; one background task
//! drains every pending request, runs a single `flush`, and wakes them all.
//! Many concurrent writers therefore share one disk sync.

use super::{Result, StoreError};
use crate::metrics::StoreMetrics;
use tokio::sync::{mpsc, oneshot};

type Waiter = oneshot::Sender<Result<(), sled::Error>>;

#[derive(Clone)]
pub struct GroupCommit {
    requests: mpsc::UnboundedSender<Waiter>,
}

impl GroupCommit {
    pub fn start(db: sled::Db, metrics: StoreMetrics) -> Self {
        let (requests, mut rx) = mpsc::unbounded_channel::<Waiter>();
        // A dedicated thread: flushes block, and the supervisor's runtime may
        // be shutting down while the last writers still wait.
        std::thread::Builder::new()
            .name("sled-group-commit".into())
            .spawn(move || {
                while let Some(first) = rx.blocking_recv() {
                    let mut waiters = vec![first];
                    while let Ok(more) = rx.try_recv() {
                        waiters.push(more);
                    }
                    let started = std::time::Instant::now();
                    let outcome = db.flush().map(|_| ());
                    metrics.flushed(started.elapsed().as_secs_f64());
                    for waiter in waiters {
                        let _ = waiter.send(outcome.clone());
                    }
                }
            })
            .expect("spawn the group-commit thread");
        Self { requests }
    }

    /// Resolves once everything written before this call is on disk.
    pub async fn flush(&self) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        self.requests
            .send(tx)
            .map_err(|_| StoreError::FlusherGone)?;
        rx.await
            .map_err(|_| StoreError::FlusherGone)?
            .map_err(StoreError::Flush)
    }
}
