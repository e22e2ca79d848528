//! Starting, following and cancelling agent runs.

use super::process::{self, Ending, RunSpec, Started};
use super::record::{event, finished_event, AgentRun, RunEventKind, RunOrigin, RunStatus};
use super::RunError;
use super::{AgentRunner, DEFAULT_TIMEOUT, MAX_PROMPT_CHARS, MAX_TIMEOUT};
use crate::goal::Goal;
use crate::scope::Scope;
use crate::token::generate_token;
use chrono::Utc;
use futures_util::FutureExt;
use serde_json::json;
use std::panic::AssertUnwindSafe;
use std::time::Duration;
use tokio::sync::{watch, OwnedSemaphorePermit};
use tokio_util::sync::CancellationToken;

type Result<T, E = RunError> = std::result::Result<T, E>;

/// Stdout lines recorded as events per run; later lines only reach the
/// output tail.
const MAX_LINE_EVENTS: u64 = 10_000;
/// Suggested wait for a caller refused for capacity.
const RETRY_AFTER_SECS: u64 = 5;

/// What a live run's token may act on.
#[derive(Debug, Clone)]
pub struct Grant {
    pub run_id: String,
    pub scope: Scope,
}

/// A request to start a run.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub prompt: String,
    /// The agent's name; `None` for the bot's default agent.
    pub agent: Option<String>,
    pub timeout_ms: Option<u64>,
    pub scope: Scope,
    pub origin: RunOrigin,
    /// (name, argv) instead of the configured agent (skills).
    pub(super) program: Option<(String, Vec<String>)>,
    /// An id chosen by the caller ([`new_run_id`]), who recorded it first.
    pub run_id: Option<String>,
}

/// A fresh run id: time-ordered, so key order is start order.
pub fn new_run_id() -> String {
    format!("headless_{}", uuid::Uuid::now_v7().simple())
}

impl RunRequest {
    pub fn new(prompt: &str, scope: Scope, origin: RunOrigin) -> Self {
        Self {
            prompt: prompt.to_string(),
            agent: None,
            timeout_ms: None,
            scope,
            origin,
            program: None,
            run_id: None,
        }
    }
}

pub(super) struct Live {
    pub(super) cancel: CancellationToken,
    pub(super) progress: watch::Receiver<u64>,
    pub(super) done: watch::Receiver<Option<AgentRun>>,
}

/// A started run; [`RunHandle::finished`] waits for its record.
pub struct RunHandle {
    pub run_id: String,
    origin: RunOrigin,
    done: watch::Receiver<Option<AgentRun>>,
    /// Where the record is read if its driver vanished.
    runs: super::RunStore,
}

impl RunHandle {
    pub async fn finished(mut self) -> AgentRun {
        wait_done(&mut self.done, &self.runs, &self.run_id, self.origin).await
    }
}

/// The run's final record, as its driver publishes it. Should the driver
/// vanish without publishing (its runtime shut down with the process), the
/// stored record stands in.
pub(super) async fn wait_done(
    done: &mut watch::Receiver<Option<AgentRun>>,
    runs: &super::RunStore,
    run_id: &str,
    origin: RunOrigin,
) -> AgentRun {
    if let Ok(record) = done.wait_for(Option::is_some).await {
        if let Some(record) = record.clone() {
            return record;
        }
    }
    tracing::warn!(run = %run_id, "a run's driver ended without its record");
    match runs.get(run_id) {
        Ok(Some(record)) => record,
        _ => vanished(run_id, runs.bot(), origin),
    }
}

/// A stand-in for a run of which nothing is left.
fn vanished(run_id: &str, bot: &str, origin: RunOrigin) -> AgentRun {
    AgentRun {
        run_id: run_id.to_string(),
        bot: bot.to_string(),
        prompt: String::new(),
        agent: String::new(),
        status: RunStatus::Failed,
        exit_code: None,
        started_at: Utc::now(),
        finished_at: Some(Utc::now()),
        output: String::new(),
        stderr: String::new(),
        error: Some("the run ended with alice".into()),
        timeout_ms: 0,
        scope: Default::default(),
        goal_id: None,
        origin,
    }
}

/// A place in the bot's and the host's capacity, released on drop.
struct Slots {
    _bot: OwnedSemaphorePermit,
    _host: OwnedSemaphorePermit,
}

impl AgentRunner {
    /// Starts a run for an API caller: the prompt limit applies and a full
    /// bot or host answers 429.
    pub async fn start(&self, request: RunRequest) -> Result<RunHandle> {
        let prompt_chars = request.prompt.chars().count();
        if request.prompt.trim().is_empty() {
            return Err(RunError::MissingPrompt);
        }
        if prompt_chars > MAX_PROMPT_CHARS {
            return Err(RunError::PromptTooLong(prompt_chars));
        }
        self.program(&request)?;
        let full = |who: &str| RunError::Busy {
            who: who.to_string(),
            retry_after: RETRY_AFTER_SECS,
        };
        let bot = self.inner.bot_slots.clone().try_acquire_owned();
        let bot = bot.map_err(|_| full(&format!("bot `{}`", self.inner.bot_id)))?;
        let host = self.inner.host_slots.clone().try_acquire_owned();
        let host = host.map_err(|_| full("this host"))?;
        self.launch(
            request,
            Slots {
                _bot: bot,
                _host: host,
            },
        )
        .await
    }

    /// Starts a run for the bot itself (chat, automation): waits for
    /// capacity instead of refusing.
    pub async fn start_queued(&self, request: RunRequest) -> Result<RunHandle> {
        self.program(&request)?;
        let closed = |_| RunError::Stopping(self.inner.bot_id.clone());
        let bot = self.inner.bot_slots.clone().acquire_owned().await;
        let host = self.inner.host_slots.clone().acquire_owned().await;
        let slots = Slots {
            _bot: bot.map_err(closed)?,
            _host: host.map_err(closed)?,
        };
        self.launch(request, slots).await
    }

    /// (name, argv) of the program a request runs.
    fn program(&self, request: &RunRequest) -> Result<(String, Vec<String>)> {
        if let Some(program) = &request.program {
            return Ok(program.clone());
        }
        let argv = &self.inner.config.command;
        let Some(first) = argv.first() else {
            return Err(RunError::NoAgent(self.inner.bot_id.clone()));
        };
        let name = std::path::Path::new(first)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| first.clone());
        match request.agent.as_deref() {
            None | Some("") | Some("default") => Ok((name, argv.clone())),
            Some(asked) if asked == name => Ok((name, argv.clone())),
            Some(asked) => Err(RunError::UnknownAgent {
                asked: asked.to_string(),
                bot: self.inner.bot_id.clone(),
                runs: name,
            }),
        }
    }

    /// Starts a run on the bot's own runtime, tracked by the runner. The
    /// caller may be an actix worker, whose runtime ends with its server: a
    /// run driven there would vanish when the bot stops, its process killed
    /// but its record left `running` and its event stream never finished.
    async fn launch(&self, request: RunRequest, slots: Slots) -> Result<RunHandle> {
        let this = self.clone();
        let launch = self
            .inner
            .tracker
            .track_future(async move { this.launch_here(request, slots).await });
        self.inner
            .runtime
            .spawn(launch)
            .await
            .map_err(|e| RunError::Launch(e.to_string()))?
    }

    async fn launch_here(&self, request: RunRequest, slots: Slots) -> Result<RunHandle> {
        if self.inner.stopping.is_cancelled() {
            return Err(RunError::Stopping(self.inner.bot_id.clone()));
        }
        let (agent, argv) = self.program(&request)?;
        let timeout = match request.timeout_ms {
            None => DEFAULT_TIMEOUT,
            Some(ms) if ms == 0 || ms > MAX_TIMEOUT.as_millis() as u64 => {
                return Err(RunError::BadTimeout)
            }
            Some(ms) => Duration::from_millis(ms),
        };
        let run_id = request.run_id.clone().unwrap_or_else(new_run_id);
        let mut scope = request.scope;
        if scope.session_key().is_none() {
            // A run without a conversation still gets a scope of its own, so
            // that its token never acts on someone else's.
            scope.session_key = Some(format!("run:{run_id}"));
        }
        let session = scope.session_key().expect("set above");
        let goal = self.inner.goals.active(&session)?;
        let token = generate_token();
        let mut env = self.environment(&scope, &token);
        env.push((
            "ALICE_GOAL".into(),
            goal.as_ref()
                .map(|g| g.description.clone())
                .unwrap_or_default(),
        ));
        env.push(("ALICE_RUN_ID".into(), run_id.clone()));
        // A skill run as a tool reads its arguments, exactly, as JSON on
        // stdin: the goal reaches it as ALICE_GOAL only.
        let tool_skill = request.origin == RunOrigin::Tool && request.program.is_some();
        let stdin = match &goal {
            // A goal's iteration has the goal in its own prompt.
            Some(_) if request.origin == RunOrigin::Goal => request.prompt.clone(),
            Some(goal) if !tool_skill => format!("{}{}", preamble(goal), request.prompt),
            _ => request.prompt.clone(),
        };
        let mut record = AgentRun {
            run_id: run_id.clone(),
            bot: self.inner.bot_id.clone(),
            prompt: request.prompt,
            agent,
            status: RunStatus::Running,
            exit_code: None,
            started_at: Utc::now(),
            finished_at: None,
            output: String::new(),
            stderr: String::new(),
            error: None,
            timeout_ms: timeout.as_millis() as u64,
            scope: scope.clone(),
            goal_id: goal.map(|g| g.id),
            origin: request.origin,
        };
        let spec = RunSpec {
            argv,
            cwd: self.inner.workspace.clone(),
            env,
            stdin,
            timeout,
        };
        self.inner.grants.insert(
            token.clone(),
            Grant {
                run_id: run_id.clone(),
                scope,
            },
        );
        let started = match process::spawn(spec) {
            Ok(started) => started,
            Err(err) => {
                self.inner.grants.remove(&token);
                record.status = RunStatus::Failed;
                record.error = Some(err.to_string());
                record.finished_at = Some(Utc::now());
                self.inner
                    .runs
                    .push_event(&run_id, &finished_event(1, &record))?;
                self.inner.runs.put(&record)?;
                self.inner.runs.durable().await?;
                return Err(err);
            }
        };
        let data = json!({"taskId": run_id, "agent": record.agent, "pid": started.pid});
        let stored = async {
            self.inner
                .runs
                .push_event(&run_id, &event(1, RunEventKind::Started, data))?;
            self.inner.runs.put(&record)?;
            self.inner.runs.durable().await
        };
        if let Err(e) = stored.await {
            // The process dies with `started`; its token must die with it.
            self.inner.grants.remove(&token);
            return Err(e.into());
        }
        tracing::info!(bot = %self.inner.bot_id, run = %run_id, agent = %record.agent, "agent run started");

        let (progress_tx, progress) = watch::channel(1);
        let (done_tx, done) = watch::channel(None);
        let cancel = self.inner.stopping.child_token();
        self.inner.live.insert(
            run_id.clone(),
            Live {
                cancel: cancel.clone(),
                progress,
                done: done.clone(),
            },
        );
        let origin = record.origin;
        let this = self.clone();
        self.inner.tracker.spawn(async move {
            let record = this
                .drive(started, record, &token, &cancel, &progress_tx)
                .await;
            drop(slots);
            progress_tx.send_modify(|_| {});
            done_tx.send_replace(Some(record));
        });
        Ok(RunHandle {
            run_id,
            origin,
            done,
            runs: self.inner.runs.clone(),
        })
    }

    /// Runs the process to its end and stores the outcome.
    async fn drive(
        &self,
        started: Started,
        mut record: AgentRun,
        token: &str,
        cancel: &CancellationToken,
        progress: &watch::Sender<u64>,
    ) -> AgentRun {
        let runs = &self.inner.runs;
        let run_id = record.run_id.clone();
        let mut seq = 1u64;
        let on_line = |line: &str| {
            if seq > MAX_LINE_EVENTS {
                return;
            }
            seq += 1;
            if let Err(e) = runs.push_event(
                &run_id,
                &event(seq, RunEventKind::Stdout, json!({"line": line})),
            ) {
                tracing::warn!(run = %run_id, error = %e, "cannot store a run event");
            }
            progress.send_replace(seq);
        };
        let outcome = AssertUnwindSafe(started.wait(on_line, cancel))
            .catch_unwind()
            .await;
        // The run is over: its token stops working before anyone hears so.
        self.inner.grants.remove(token);
        record.finished_at = Some(Utc::now());
        match outcome {
            Ok(output) => {
                record.exit_code = output.exit_code;
                record.output = output.stdout;
                record.stderr = output.stderr;
                let (status, error) = match output.ending {
                    Ending::Exited(Some(0)) => (RunStatus::Succeeded, None),
                    Ending::Exited(Some(code)) => (
                        RunStatus::Failed,
                        Some(format!("the agent exited with code {code}")),
                    ),
                    Ending::Exited(None) => (
                        RunStatus::Failed,
                        Some("the agent was killed by a signal".into()),
                    ),
                    Ending::TimedOut => (
                        RunStatus::Timeout,
                        Some(format!(
                            "the watchdog stopped the run after {} ms",
                            record.timeout_ms
                        )),
                    ),
                    Ending::Cancelled if self.inner.stopping.is_cancelled() => {
                        (RunStatus::Cancelled, Some("the bot stopped".into()))
                    }
                    Ending::Cancelled => {
                        (RunStatus::Cancelled, Some("cancelled on request".into()))
                    }
                };
                record.status = status;
                record.error = error;
            }
            Err(_) => {
                tracing::error!(run = %run_id, "the run's driver panicked");
                record.status = RunStatus::Failed;
                record.error = Some("internal error while running the agent".into());
            }
        }
        let finish = finished_event(seq + 1, &record);
        if let Err(e) = self.store_outcome(&record, &finish).await {
            tracing::error!(run = %run_id, error = %e, "cannot store the run's outcome");
        }
        self.inner.live.remove(&run_id);
        let seconds = (Utc::now() - record.started_at).num_milliseconds() as f64 / 1000.0;
        self.inner
            .metrics
            .agent_run(origin_name(record.origin), record.status.name(), seconds);
        tracing::info!(bot = %self.inner.bot_id, run = %run_id, status = record.status.name(), "agent run finished");
        record
    }

    async fn store_outcome(
        &self,
        record: &AgentRun,
        finish: &super::RunEvent,
    ) -> crate::store::Result<()> {
        let runs = &self.inner.runs;
        runs.push_event(&record.run_id, finish)?;
        runs.put(record)?;
        // A scan of every record: off the async workers.
        let (store, keep) = (runs.clone(), self.inner.config.keep_runs);
        let removed = tokio::task::spawn_blocking(move || store.prune(keep)).await??;
        if removed > 0 {
            tracing::debug!(bot = %self.inner.bot_id, removed, "old run records pruned");
        }
        runs.durable().await
    }
}

/// A run's `origin` as its metric label (the wire's snake_case name).
fn origin_name(origin: RunOrigin) -> &'static str {
    match origin {
        RunOrigin::Headless => "headless",
        RunOrigin::Runtime => "runtime",
        RunOrigin::Chat => "chat",
        RunOrigin::Ask => "ask",
        RunOrigin::Workflow => "workflow",
        RunOrigin::Tool => "tool",
        RunOrigin::Goal => "goal",
    }
}

/// What an agent is told before its prompt when its scope has a goal.
fn preamble(goal: &Goal) -> String {
    format!(
        "[Goal of this conversation ({}): {}]\n\
         Work towards this goal. When it is reached, run the alice-goal skill to mark it complete.\n\n",
        goal.id, goal.description
    )
}
