//! Group commit: a writer asks for a flush and waits; one background task
//! drains every pending request, runs a single `flush`, and wakes them all.
//! Many concurrent writers therefore share one disk sync.

use super::{FlushGate, Result, StoreError};
use crate::metrics::StoreMetrics;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

type Waiter = oneshot::Sender<Result<(), sled::Error>>;

/// A request this soon after the last flush finds the store busy...
const BUSY: Duration = Duration::from_millis(2);
/// ...and waits this long for company before it flushes.
const GATHER: Duration = Duration::from_micros(500);

/// The benchmarks' switch (`scripts/bench/run.py`): with this variable set
/// to [`SKIP_FLUSH_VALUE`], nothing is ever flushed and every write is
/// acknowledged at once, so a run can measure what durability costs. Never
/// for real use: acknowledged writes are lost in a crash. A deliberate value,
/// not `1`, so it cannot be switched on by accident.
pub const SKIP_FLUSH_VAR: &str = "ALICE_BENCH_SKIP_FLUSH";
pub const SKIP_FLUSH_VALUE: &str = "writes-may-be-lost";

/// Whether the environment asks for the benchmarks' no-flush store.
pub fn skip_flush_asked() -> bool {
    std::env::var(SKIP_FLUSH_VAR).is_ok_and(|v| v == SKIP_FLUSH_VALUE)
}

#[derive(Clone)]
pub struct GroupCommit {
    /// `None`: the benchmarks' no-flush store (see [`SKIP_FLUSH_VAR`]).
    requests: Option<mpsc::UnboundedSender<Waiter>>,
}

impl GroupCommit {
    /// Acknowledges every write at once and never flushes: benchmarks only.
    pub fn skipping_flushes() -> Self {
        tracing::warn!(
            "{SKIP_FLUSH_VAR} is set: nothing is flushed, acknowledged writes can be lost (benchmarks only)"
        );
        Self { requests: None }
    }

    pub fn start(db: sled::Db, metrics: StoreMetrics, gate: FlushGate) -> Self {
        let (requests, mut rx) = mpsc::unbounded_channel::<Waiter>();
        // A dedicated thread: flushes block, and the supervisor's runtime may
        // be shutting down while the last writers still wait.
        std::thread::Builder::new()
            .name("sled-group-commit".into())
            .spawn(move || {
                let mut last_flush = Instant::now();
                while let Some(first) = rx.blocking_recv() {
                    // Busy (the last flush ended moments ago): let more
                    // writers join this one. A flush here takes a fraction
                    // of a millisecond, so without the pause each covered
                    // one or two writes and the flushes themselves became
                    // the load. An idle store flushes at once.
                    if last_flush.elapsed() < BUSY {
                        std::thread::sleep(GATHER);
                    }
                    let mut waiters = vec![first];
                    while let Ok(more) = rx.try_recv() {
                        waiters.push(more);
                    }
                    let started = Instant::now();
                    let outcome = {
                        let _flushing = gate.read();
                        db.flush().map(|_| ())
                    };
                    last_flush = Instant::now();
                    metrics.flushed(started.elapsed().as_secs_f64());
                    for waiter in waiters {
                        let _ = waiter.send(outcome.clone());
                    }
                }
            })
            .expect("spawn the group-commit thread");
        Self {
            requests: Some(requests),
        }
    }

    /// Resolves once everything written before this call is on disk.
    pub async fn flush(&self) -> Result<()> {
        let Some(requests) = &self.requests else {
            return Ok(());
        };
        let (tx, rx) = oneshot::channel();
        requests.send(tx).map_err(|_| StoreError::FlusherGone)?;
        rx.await
            .map_err(|_| StoreError::FlusherGone)?
            .map_err(StoreError::Flush)
    }
}
