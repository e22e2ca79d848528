//! What every connector's background side shares: one task that runs until
//! the bot stops it (or drops it), and the back-off between failed
//! attempts to reach the platform.

use std::future::Future;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A connector's background task (polling, dialling): cancelled by
/// [`Background::stop`], which waits for it, or by a drop.
pub struct Background {
    cancel: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Background {
    pub fn spawn<F>(work: F) -> Self
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let cancel = CancellationToken::new();
        let stop = cancel.clone();
        let task = tokio::spawn(async move {
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = work => {}
            }
        });
        Self {
            cancel,
            task: Some(task),
        }
    }

    /// Stops the task and waits until it is gone.
    pub async fn stop(mut self) {
        self.cancel.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Waits between failed attempts: 1, 2, 5, 10, then 30 s; back to the first
/// after a success.
#[derive(Debug, Default)]
pub struct Backoff {
    failures: usize,
}

const STEPS: [u64; 5] = [1, 2, 5, 10, 30];

impl Backoff {
    /// Sleeps for the next step.
    pub async fn wait(&mut self) {
        let secs = STEPS[self.failures.min(STEPS.len() - 1)];
        self.failures += 1;
        tokio::time::sleep(Duration::from_secs(secs)).await;
    }

    pub fn reset(&mut self) {
        self.failures = 0;
    }

    pub fn failing(&self) -> bool {
        self.failures > 0
    }
}
