//! Reading, following and cancelling a bot's runs. A caller limited to one
//! conversation (a run token) sees only that conversation's runs.

use super::record::{AgentRun, EventsPage, RunStatus};
use super::runs::wait_done;
use super::RunError;
use super::{AgentRunner, EventFeed};
use crate::scope::Scope;

type Result<T, E = RunError> = std::result::Result<T, E>;

impl AgentRunner {
    /// A run as a caller limited to `limit_to` (a run token) may see it.
    pub fn get(&self, run_id: &str, limit_to: Option<&Scope>) -> Result<AgentRun> {
        let record = self.inner.runs.require(run_id)?;
        match limit_to {
            Some(own) if !record.visible_to(own) => Err(RunError::NotFound(run_id.to_string())),
            _ => Ok(record),
        }
    }

    pub async fn list(
        &self,
        status: Option<RunStatus>,
        limit_to: Option<&Scope>,
        limit: usize,
    ) -> Result<Vec<AgentRun>> {
        let limit_to = limit_to.cloned();
        Ok(self.inner.runs.list_async(status, limit_to, limit).await?)
    }

    pub fn events(&self, run_id: &str, after: u64, limit_to: Option<&Scope>) -> Result<EventsPage> {
        self.get(run_id, limit_to)?;
        self.inner.runs.page(run_id, after)
    }

    /// Follows a run's events from `after` (live when the run is).
    pub fn feed(&self, run_id: &str, after: u64, limit_to: Option<&Scope>) -> Result<EventFeed> {
        self.get(run_id, limit_to)?;
        let progress = self.inner.live.get(run_id).map(|l| l.progress.clone());
        Ok(EventFeed::new(
            self.inner.runs.clone(),
            run_id.to_string(),
            after,
            progress,
        ))
    }

    /// Cancels a live run and answers with its final record; 409 when it
    /// has already finished.
    pub async fn cancel(&self, run_id: &str, limit_to: Option<&Scope>) -> Result<AgentRun> {
        let record = self.get(run_id, limit_to)?;
        let live = self
            .inner
            .live
            .get(run_id)
            .map(|l| (l.cancel.clone(), l.done.clone()));
        match live {
            Some((cancel, mut done)) => {
                cancel.cancel();
                Ok(wait_done(&mut done, &self.inner.runs, run_id, record.origin).await)
            }
            // A run leaves `live` only after its final record is stored.
            None => Err(RunError::Finished {
                id: run_id.to_string(),
                status: record.status.name(),
            }),
        }
    }
}
