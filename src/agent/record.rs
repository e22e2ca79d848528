//! Run records and their numbered events, in the bot's own trees.
//!
//! `<id>/runs`: `<run id>` → [`AgentRun`]; run ids are time-ordered
//! (UUID v7), so key order is start order. (The wire calls a run id
//! `taskId`, the headless webhook's name.)
//! `<id>/run_events`: `<run id>\u{1f}<seq:010>` → [`RunEvent`].

use super::RunError;
use crate::scope::Scope;
use crate::store::Result;
use crate::store::{BotStore, Tree, TypedTree};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

const SEP: char = '\u{1f}';
/// Events returned by one JSON page.
pub const EVENTS_PAGE: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
    Timeout,
    Cancelled,
}

impl RunStatus {
    pub fn name(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Timeout => "timeout",
            RunStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Result<Self, RunError> {
        serde_json::from_value(Value::String(text.to_string()))
            .map_err(|_| RunError::UnknownStatus(text.to_string()))
    }
}

/// What started a run; `origin` on the wire, as these snake_case names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOrigin {
    /// The admin API's headless webhook.
    Headless,
    /// `POST /api/v1/runs`.
    Runtime,
    /// A conversation's message.
    Chat,
    /// [`super::AgentRunner::ask`]: an automation `run_llm` task.
    Ask,
    /// A `run_workflow` task's skill.
    Workflow,
    /// A tool invoked through the tool API (a skill or `agent.ask`).
    Tool,
    /// An iteration of a conversation's goal (the goal engine).
    Goal,
}

/// What a run event says; `event` on the wire, as these snake_case names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunEventKind {
    /// The process is up: `{taskId, agent, pid}`.
    Started,
    /// One line of stdout: `{line}`.
    Stdout,
    /// The run's final record, always the last event.
    Finished,
}

impl RunEventKind {
    pub fn name(self) -> &'static str {
        match self {
            RunEventKind::Started => "started",
            RunEventKind::Stdout => "stdout",
            RunEventKind::Finished => "finished",
        }
    }
}

/// One agent run as stored and as the API shows it (`AgentRun` in the
/// OpenAPI document, apart from an automation task's `TaskRun`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AgentRun {
    #[serde(rename = "taskId")]
    #[schema(example = "headless_0192f0c4a1b27c3d8e9f0a1b2c3d4e5f")]
    pub run_id: String,
    /// The bot (workspace) the run belongs to.
    pub bot: String,
    pub prompt: String,
    /// The agent's name: the command's program, or `skill:<name>`.
    pub agent: String,
    pub status: RunStatus,
    pub exit_code: Option<i32>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The tail of stdout.
    pub output: String,
    /// The tail of stderr.
    pub stderr: String,
    pub error: Option<String>,
    pub timeout_ms: u64,
    /// The conversation the run acts for.
    pub scope: Scope,
    /// The goal the run was told, if any.
    pub goal_id: Option<String>,
    /// `headless` (admin API), `runtime` (`/api/v1/runs`), `chat`/automation
    /// (`ask`), `workflow` or `goal` (an iteration of the goal engine).
    #[schema(value_type = String)]
    pub origin: RunOrigin,
}

impl AgentRun {
    /// Whether a caller limited to `own` (a run token) may see this run:
    /// runs of its own conversation (same chat and session), whichever
    /// message started them.
    pub fn visible_to(&self, own: &crate::scope::Scope) -> bool {
        own.admits(&crate::scope::Scope {
            receive_id_type: self.scope.receive_id_type,
            receive_id: self.scope.receive_id.clone(),
            session_key: self.scope.session_key(),
            ..Default::default()
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RunEvent {
    pub seq: u64,
    /// `started`, `stdout` or `finished`.
    #[schema(value_type = String, example = "stdout")]
    pub event: RunEventKind,
    pub at: DateTime<Utc>,
    #[schema(value_type = Object)]
    pub data: Value,
}

/// `GET …/events` as JSON.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventsPage {
    /// The run's newest sequence number (0 before the first event).
    pub last_seq: u64,
    pub events: Vec<RunEvent>,
}

/// The trees of one bot's runs; readable whether the bot runs or not.
#[derive(Clone)]
pub struct RunStore {
    bot: String,
    store: BotStore,
    runs: TypedTree<AgentRun>,
    events: TypedTree<RunEvent>,
}

impl RunStore {
    pub fn open(store: &BotStore) -> Result<Self> {
        Ok(Self {
            bot: store.bot_id().to_string(),
            store: store.clone(),
            runs: store.tree(Tree::Runs)?,
            events: store.tree(Tree::RunEvents)?,
        })
    }

    pub fn bot(&self) -> &str {
        &self.bot
    }

    pub fn get(&self, run_id: &str) -> Result<Option<AgentRun>> {
        self.runs.get(run_id)
    }

    pub fn require(&self, run_id: &str) -> Result<AgentRun, RunError> {
        self.get(run_id)?
            .ok_or_else(|| RunError::NotFound(run_id.to_string()))
    }

    pub fn put(&self, record: &AgentRun) -> Result<()> {
        self.runs.insert(&record.run_id, record)
    }

    pub fn push_event(&self, run_id: &str, event: &RunEvent) -> Result<()> {
        self.events
            .insert(&format!("{run_id}{SEP}{:010}", event.seq), event)
    }

    pub async fn durable(&self) -> Result<()> {
        self.store.durable().await
    }

    /// Most recent first, optionally of one status and one session.
    pub fn list(
        &self,
        status: Option<RunStatus>,
        limit_to: Option<&crate::scope::Scope>,
        limit: usize,
    ) -> Result<Vec<AgentRun>> {
        let mut out = Vec::new();
        for item in self.runs.iter_rev() {
            if out.len() >= limit {
                break;
            }
            let (_, record) = item?;
            if status.is_some_and(|s| s != record.status) {
                continue;
            }
            if limit_to.is_some_and(|own| !record.visible_to(own)) {
                continue;
            }
            out.push(record);
        }
        Ok(out)
    }

    /// [`RunStore::list`] off the async workers (it may scan every record).
    pub async fn list_async(
        &self,
        status: Option<RunStatus>,
        limit_to: Option<Scope>,
        limit: usize,
    ) -> Result<Vec<AgentRun>> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.list(status, limit_to.as_ref(), limit)).await?
    }

    /// Events with `seq > after`, at most [`EVENTS_PAGE`].
    pub fn events_after(&self, run_id: &str, after: u64) -> Result<Vec<RunEvent>> {
        let start = format!("{run_id}{SEP}{:010}", after.saturating_add(1));
        let end = format!("{run_id}{}", char::from_u32(SEP as u32 + 1).expect("char"));
        self.events.range_values(&start, &end, EVENTS_PAGE)
    }

    pub fn last_seq(&self, run_id: &str) -> Result<u64> {
        let last = self.events.last_with_prefix(&format!("{run_id}{SEP}"))?;
        Ok(last.map_or(0, |event| event.seq))
    }

    pub fn page(&self, run_id: &str, after: u64) -> Result<EventsPage, RunError> {
        self.require(run_id)?;
        Ok(EventsPage {
            last_seq: self.last_seq(run_id)?,
            events: self.events_after(run_id, after)?,
        })
    }

    /// Runs left `running` by a crash (or a kill -9) are failed: nothing
    /// watches them any more.
    pub async fn recover(&self) -> Result<usize> {
        let stale = self
            .list_async(Some(RunStatus::Running), None, usize::MAX)
            .await?;
        for mut record in stale.iter().cloned() {
            let seq = self.last_seq(&record.run_id)? + 1;
            record.status = RunStatus::Failed;
            record.error = Some("alice stopped while this run was in flight".into());
            record.finished_at = Some(Utc::now());
            self.push_event(&record.run_id, &finished_event(seq, &record))?;
            self.put(&record)?;
        }
        if !stale.is_empty() {
            self.durable().await?;
        }
        Ok(stale.len())
    }

    /// Keeps the newest `keep` finished records (and their events).
    pub fn prune(&self, keep: usize) -> Result<usize> {
        let mut finished = 0;
        let mut removed = 0;
        for item in self.runs.iter_rev() {
            let (key, record) = item?;
            if record.status == RunStatus::Running {
                continue;
            }
            finished += 1;
            if finished > keep {
                // Events first: events left without their record would
                // never be pruned.
                self.events
                    .remove_prefix(&format!("{}{SEP}", record.run_id))?;
                self.runs.remove(&key)?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

pub fn event(seq: u64, kind: RunEventKind, data: Value) -> RunEvent {
    RunEvent {
        seq,
        event: kind,
        at: Utc::now(),
        data,
    }
}

pub fn finished_event(seq: u64, record: &AgentRun) -> RunEvent {
    event(
        seq,
        RunEventKind::Finished,
        serde_json::json!({
            "status": record.status,
            "exit_code": record.exit_code,
            "error": record.error,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn origins_and_event_kinds_keep_their_wire_names() {
        for (origin, name) in [
            (RunOrigin::Headless, "headless"),
            (RunOrigin::Runtime, "runtime"),
            (RunOrigin::Chat, "chat"),
            (RunOrigin::Ask, "ask"),
            (RunOrigin::Workflow, "workflow"),
            (RunOrigin::Tool, "tool"),
            (RunOrigin::Goal, "goal"),
        ] {
            assert_eq!(serde_json::to_value(origin).unwrap(), json!(name));
        }
        for kind in [
            RunEventKind::Started,
            RunEventKind::Stdout,
            RunEventKind::Finished,
        ] {
            assert_eq!(serde_json::to_value(kind).unwrap(), json!(kind.name()));
        }
        assert_eq!(RunEventKind::Stdout.name(), "stdout");
    }

    /// A record and an event as the code before the enums stored them.
    #[test]
    fn stored_runs_and_events_load_and_keep_their_wire_names() {
        let old = json!({
            "taskId": "headless_0192f0c4a1b27c3d8e9f0a1b2c3d4e5f", "bot": "alpha",
            "prompt": "hi", "agent": "sh", "status": "succeeded", "exit_code": 0,
            "started_at": "2025-01-15T09:00:00Z", "finished_at": "2025-01-15T09:00:01Z",
            "output": "ok", "stderr": "", "error": null, "timeout_ms": 1000,
            "scope": {"receive_id_type": "chat_id", "receive_id": "oc_1"},
            "goal_id": null, "origin": "workflow"
        });
        let run: AgentRun = serde_json::from_value(old).unwrap();
        assert_eq!(
            (run.run_id.as_str(), run.origin),
            (
                "headless_0192f0c4a1b27c3d8e9f0a1b2c3d4e5f",
                RunOrigin::Workflow
            )
        );
        let back = serde_json::to_value(&run).unwrap();
        assert_eq!(back["taskId"], "headless_0192f0c4a1b27c3d8e9f0a1b2c3d4e5f");
        assert_eq!(back["origin"], "workflow");
        assert!(back.get("run_id").is_none());

        let old = json!({"seq": 2, "event": "stdout", "at": "2025-01-15T09:00:00Z", "data": {"line": "ok"}});
        let event: RunEvent = serde_json::from_value(old.clone()).unwrap();
        assert_eq!(event.event, RunEventKind::Stdout);
        assert_eq!(serde_json::to_value(&event).unwrap(), old);
    }
}
