//! A bot's agent: the configured command, started as a subprocess in the
//! bot's workspace with the skill environment, prompt on stdin, answer on
//! stdout. Every start is an agent *run*: recorded, numbered events, a scoped
//! token, a watchdog and a place within the bot's and the host's capacity.

pub mod api;
mod control;
mod error;
mod feed;
mod process;
pub mod record;
mod runs;

pub use error::{AgentError, RunError};
pub use feed::{EventFeed, FeedItem};
pub use process::{spawn, CommandOutput, Ending, RunSpec, Started};
pub use record::{AgentRun, EventsPage, RunEvent, RunEventKind, RunOrigin, RunStatus, RunStore};
pub use runs::{new_run_id, Grant, RunHandle, RunRequest};

use crate::config::AgentConfig;
use crate::goal::Goals;
use crate::scope::{runtime_env, Scope};
use crate::store::BotStore;
use dashmap::DashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Default watchdog for an agent run.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// The longest watchdog a caller may ask for.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Longest prompt accepted by the run endpoints (the headless webhook's limit).
pub const MAX_PROMPT_CHARS: usize = 16_000;

/// What a bot gives its runner.
pub struct AgentSetup {
    pub bot_id: String,
    pub config: AgentConfig,
    pub workspace: PathBuf,
    pub skills_dir: PathBuf,
    /// This bot's own Runtime API (`ALICE_RUNTIME_API_BASE_URL`).
    pub base_url: String,
    /// The `alice` binary (`ALICE_RUNTIME_BIN`).
    pub bin: PathBuf,
    pub store: BotStore,
    pub goals: Goals,
    /// Shared by every bot of the supervisor.
    pub host_slots: Arc<Semaphore>,
    /// The bot's graceful-shutdown timeout
    /// (`runtime_api_shutdown_timeout_secs`).
    pub shutdown_timeout: Duration,
    /// Where finished runs are counted.
    pub metrics: crate::metrics::BotMetrics,
}

/// The agent's state, for `GET /api/v1/probes/internal`.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct AgentProbe {
    /// The program's file name (`argv[0]` without its folder), never its
    /// arguments or environment.
    pub command: Option<String>,
    /// Agent processes started and not finished.
    pub runs_in_flight: usize,
    /// `agent.max_concurrent_runs`.
    pub capacity: usize,
}

/// The run service of one bot. Cloning is cheap.
#[derive(Clone)]
pub struct AgentRunner {
    inner: Arc<Inner>,
}

struct Inner {
    bot_id: String,
    config: AgentConfig,
    workspace: PathBuf,
    skills_dir: PathBuf,
    base_url: String,
    bin: PathBuf,
    runs: RunStore,
    goals: Goals,
    /// Live run tokens → what they may act on. Removed when the run ends.
    grants: DashMap<String, Grant>,
    live: DashMap<String, runs::Live>,
    bot_slots: Arc<Semaphore>,
    host_slots: Arc<Semaphore>,
    tracker: TaskTracker,
    /// Cancelled when the bot stops; every run's token is a child.
    stopping: CancellationToken,
    /// The bot's runtime: runs are driven here, whoever starts them.
    runtime: tokio::runtime::Handle,
    shutdown_timeout: Duration,
    metrics: crate::metrics::BotMetrics,
}

impl AgentRunner {
    pub fn new(setup: AgentSetup) -> Result<Self, crate::store::StoreError> {
        let runs = RunStore::open(&setup.store)?;
        // Runs are driven on the bot's runtime, not on whichever (actix
        // worker) runtime started them. A bot is opened in async code.
        let runtime = tokio::runtime::Handle::current();
        Ok(Self {
            inner: Arc::new(Inner {
                bot_slots: Arc::new(Semaphore::new(setup.config.max_concurrent_runs)),
                bot_id: setup.bot_id,
                config: setup.config,
                workspace: setup.workspace,
                skills_dir: setup.skills_dir,
                base_url: setup.base_url,
                bin: setup.bin,
                runs,
                goals: setup.goals,
                grants: DashMap::new(),
                live: DashMap::new(),
                host_slots: setup.host_slots,
                tracker: TaskTracker::new(),
                stopping: CancellationToken::new(),
                runtime,
                shutdown_timeout: setup.shutdown_timeout,
                metrics: setup.metrics,
            }),
        })
    }

    pub fn workspace(&self) -> &Path {
        &self.inner.workspace
    }

    pub fn skills_dir(&self) -> &Path {
        &self.inner.skills_dir
    }

    pub fn store(&self) -> &RunStore {
        &self.inner.runs
    }

    /// The ten `ALICE_*` variables for `scope`, plus `agent.env`.
    pub fn environment(&self, scope: &Scope, token: &str) -> Vec<(String, String)> {
        let mut env = runtime_env(&self.inner.base_url, token, &self.inner.bin);
        env.extend(scope.env());
        env.extend(
            self.inner
                .config
                .env
                .iter()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        env
    }

    /// What the internal probe shows of the agent: the program's name only
    /// (its arguments and environment may carry secrets).
    pub fn probe(&self) -> AgentProbe {
        let command = self.inner.config.command.first().map(|program| {
            Path::new(program)
                .file_name()
                .map_or_else(|| program.clone(), |n| n.to_string_lossy().into_owned())
        });
        AgentProbe {
            command,
            runs_in_flight: self.inner.live.len(),
            capacity: self.inner.config.max_concurrent_runs,
        }
    }

    /// What a live run token may act on (`None`: not a live run's token).
    pub fn grant(&self, token: &str) -> Option<Grant> {
        self.inner.grants.get(token).map(|g| g.clone())
    }

    /// Runs the agent once on `prompt` (waiting for capacity if needed) and
    /// returns its trimmed answer. Used by chat and `run_llm` tasks.
    pub async fn ask(&self, scope: &Scope, prompt: &str) -> Result<String, AgentError> {
        if self.inner.config.command.is_empty() {
            return Err(AgentError::NotConfigured);
        }
        let request = RunRequest::new(prompt, scope.clone(), RunOrigin::Ask);
        let record = self.run_queued(request).await?;
        answer(record)
    }

    /// Like [`AgentRunner::ask`] for a conversation's message: also returns
    /// the run's id (for the log) when the run got one.
    pub async fn converse(
        &self,
        scope: &Scope,
        prompt: &str,
    ) -> (Option<String>, Result<String, AgentError>) {
        if self.inner.config.command.is_empty() {
            return (None, Err(AgentError::NotConfigured));
        }
        let request = RunRequest::new(prompt, scope.clone(), RunOrigin::Chat);
        let stopping = || self.inner.stopping.is_cancelled();
        match self.start_queued(request).await {
            Ok(handle) => {
                let run_id = handle.run_id.clone();
                let record = handle.finished().await;
                let result = match record.status {
                    RunStatus::Cancelled if stopping() => Err(AgentError::Stopping),
                    _ => answer(record),
                };
                (Some(run_id), result)
            }
            Err(_) if stopping() => (None, Err(AgentError::Stopping)),
            Err(e) => (None, Err(AgentError::Start(e))),
        }
    }

    /// Runs a skill's entry script with the scope's environment; `input`
    /// goes to stdin. Used by `run_workflow` tasks.
    pub async fn run_skill(
        &self,
        scope: &Scope,
        name: &str,
        input: &str,
    ) -> Result<String, AgentError> {
        let request = self.skill_request(scope, name, input, RunOrigin::Workflow)?;
        answer(self.run_queued(request).await?)
    }

    /// A tool invocation, recorded as a run with its own watchdog: the
    /// skill `name` with `input` on stdin, or (`None`) the agent asked `input`.
    pub async fn run_tool(
        &self,
        scope: &Scope,
        skill: Option<&str>,
        input: &str,
        timeout: Duration,
    ) -> Result<String, AgentError> {
        let mut request = match skill {
            Some(name) => self.skill_request(scope, name, input, RunOrigin::Tool)?,
            None if self.inner.config.command.is_empty() => return Err(AgentError::NotConfigured),
            None => RunRequest::new(input, scope.clone(), RunOrigin::Tool),
        };
        request.timeout_ms = Some(timeout.as_millis().max(1) as u64);
        answer(self.run_queued(request).await?)
    }

    fn skill_request(
        &self,
        scope: &Scope,
        name: &str,
        input: &str,
        origin: RunOrigin,
    ) -> Result<RunRequest, RunError> {
        let entry = crate::skills::entry(&self.inner.skills_dir, name)?;
        let argv = if entry.extension().is_some_and(|e| e == "sh") {
            vec!["sh".to_string(), entry.display().to_string()]
        } else {
            vec![entry.display().to_string()]
        };
        let mut request = RunRequest::new(input, scope.clone(), origin);
        request.program = Some((format!("skill:{name}"), argv));
        Ok(request)
    }

    /// Runs one iteration of a goal under `run_id` (which the goal
    /// recorded first), waiting for capacity; its record, or why it could
    /// not start.
    pub async fn iterate(
        &self,
        scope: &Scope,
        prompt: &str,
        run_id: &str,
        timeout: Duration,
    ) -> Result<AgentRun, AgentError> {
        if self.inner.config.command.is_empty() {
            return Err(AgentError::NotConfigured);
        }
        let mut request = RunRequest::new(prompt, scope.clone(), RunOrigin::Goal);
        request.run_id = Some(run_id.to_string());
        request.timeout_ms = Some(timeout.as_millis() as u64);
        match self.start_queued(request).await {
            Ok(handle) => Ok(handle.finished().await),
            Err(_) if self.inner.stopping.is_cancelled() => Err(AgentError::Stopping),
            Err(e) => Err(AgentError::Start(e)),
        }
    }

    /// Whether the bot is stopping its runs.
    pub fn stopping(&self) -> bool {
        self.inner.stopping.is_cancelled()
    }

    async fn run_queued(&self, request: RunRequest) -> Result<AgentRun, AgentError> {
        let handle = self.start_queued(request).await?;
        Ok(handle.finished().await)
    }

    /// Cancels every live run without waiting (a bot that went away).
    pub fn cancel_all(&self) {
        self.inner.stopping.cancel();
    }

    /// Stops every live run (as `cancelled`) and waits for their records:
    /// the bot's shutdown timeout, plus what killing a run's process group
    /// and reading its last output may take.
    pub async fn stop(&self) {
        self.cancel_all();
        self.inner.tracker.close();
        let bound = stop_bound(self.inner.shutdown_timeout);
        if tokio::time::timeout(bound, self.inner.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!(bot = %self.inner.bot_id, "agent runs did not end in time");
        }
    }
}

/// How long a stopping bot waits for its runs' records: its own shutdown
/// timeout, plus what killing a cancelled run's group and reading its last
/// output may take.
fn stop_bound(shutdown_timeout: Duration) -> Duration {
    shutdown_timeout + process::KILL_BOUND
}

fn answer(record: AgentRun) -> Result<String, AgentError> {
    match record.status {
        RunStatus::Succeeded => Ok(record.output.trim().to_string()),
        RunStatus::Timeout => Err(AgentError::Timeout(Duration::from_millis(
            record.timeout_ms,
        ))),
        RunStatus::Cancelled => Err(AgentError::Cancelled),
        _ => Err(AgentError::Failed {
            code: record.exit_code,
            stderr: process::tail(
                &format!("{}\n{}", record.error.unwrap_or_default(), record.stderr),
                500,
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_waits_for_runs_within_the_bots_own_timeout() {
        for secs in [0, 1, 5, 30] {
            let timeout = Duration::from_secs(secs);
            assert_eq!(stop_bound(timeout), timeout + process::KILL_BOUND);
        }
    }
}
