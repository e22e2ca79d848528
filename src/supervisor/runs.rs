//! Agent runs across bots, for the headless routes: a run is found in the
//! trees of whichever bot owns it, running or not.

use super::Supervisor;
use super::SupervisorError;
use crate::agent::{AgentRun, AgentRunner, EventFeed, EventsPage, RunError, RunStatus, RunStore};

type Result<T, E = SupervisorError> = std::result::Result<T, E>;

/// A run's bot: its stored runs, and its live runner if the bot runs.
pub struct RunOwner {
    pub store: RunStore,
    pub live: Option<AgentRunner>,
}

impl RunOwner {
    pub fn feed(&self, run_id: &str, after: u64) -> Result<EventFeed, RunError> {
        match &self.live {
            Some(runner) => runner.feed(run_id, after, None),
            None => Ok(EventFeed::new(
                self.store.clone(),
                run_id.to_string(),
                after,
                None,
            )),
        }
    }

    pub fn page(&self, run_id: &str, after: u64) -> Result<EventsPage, RunError> {
        self.store.page(run_id, after)
    }

    pub async fn cancel(&self, run_id: &str) -> Result<AgentRun, RunError> {
        match &self.live {
            Some(runner) => runner.cancel(run_id, None).await,
            None => Err(RunError::Finished {
                id: run_id.to_string(),
                status: self.store.require(run_id)?.status.name(),
            }),
        }
    }
}

impl Supervisor {
    /// The run service of a running bot: 404 unknown, 409 not running.
    pub async fn runner(&self, bot_id: &str) -> Result<AgentRunner> {
        Ok(self.running(bot_id).await?.runs().clone())
    }

    async fn bot_ids(&self) -> Vec<String> {
        self.list()
            .await
            .into_iter()
            .map(|s| s.config.id.clone())
            .collect()
    }

    async fn owner_of(&self, bot_id: &str) -> Result<RunOwner> {
        let status = self.status(bot_id).await?;
        Ok(match status.bot {
            Some(bot) => RunOwner {
                store: bot.runs().store().clone(),
                live: Some(bot.runs().clone()),
            },
            None => RunOwner {
                store: self.host().run_store(bot_id)?,
                live: None,
            },
        })
    }

    /// The bot that owns `run_id` (404 when none does).
    pub async fn find_run(&self, run_id: &str) -> Result<(RunOwner, AgentRun)> {
        for id in self.bot_ids().await {
            let owner = self.owner_of(&id).await?;
            if let Some(record) = owner.store.get(run_id)? {
                return Ok((owner, record));
            }
        }
        Err(RunError::NotFound(run_id.to_string()).into())
    }

    /// Runs of one bot (or all), most recent first.
    pub async fn list_runs(
        &self,
        bot_id: Option<&str>,
        status: Option<RunStatus>,
        limit: usize,
    ) -> Result<Vec<AgentRun>> {
        let ids = match bot_id {
            Some(id) => {
                self.status(id).await?;
                vec![id.to_string()]
            }
            None => self.bot_ids().await,
        };
        let mut runs = Vec::new();
        for id in ids {
            let owner = self.owner_of(&id).await?;
            runs.extend(owner.store.list_async(status, None, limit).await?);
        }
        runs.sort_by_key(|r| std::cmp::Reverse(r.started_at));
        runs.truncate(limit);
        Ok(runs)
    }
}
