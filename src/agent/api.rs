//! What callers say to the run service over HTTP and what it answers: the
//! shapes both the bot's `/api/v1/runs` and the supervisor's headless routes
//! speak. Plain serde types; no HTTP framework here.

use super::{AgentRun, AgentRunner, RunError, RunOrigin, RunRequest, RunStatus};
use crate::scope::Scope;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Starts an agent run.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRun {
    /// A standalone instruction, at most 16 000 characters, not blank.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 16000, pattern = r"\S")]
    pub prompt: Option<String>,
    /// The agent to use: the bot's command name or `default`.
    pub agent: Option<String>,
    /// Watchdog in milliseconds: default 300 000, at most 1 800 000.
    #[serde(
        rename = "timeoutMs",
        alias = "timeout_ms",
        default,
        deserialize_with = "whole_number"
    )]
    #[schema(minimum = 1, maximum = 1_800_000)]
    pub timeout_ms: Option<u64>,
    /// Block until the run ends and answer with its record.
    #[serde(default)]
    pub wait: bool,
    /// The conversation the run acts for (supervisor route only; a bot
    /// takes it from the `X-Alice-*` headers).
    pub scope: Option<Scope>,
}

/// A whole number of milliseconds, also when written `1500.0` (JSON does
/// not tell the two apart).
fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    use serde::de::Error as _;
    match Option::<serde_json::Number>::deserialize(d)? {
        None => Ok(None),
        Some(n) => n
            .as_u64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= u64::MAX as f64)
                    .map(|f| f as u64)
            })
            .map(Some)
            .ok_or_else(|| {
                D::Error::custom(format!(
                    "`timeoutMs` must be a whole number of milliseconds, not {n}"
                ))
            }),
    }
}

// A run started without `wait`. (No doc comment: it would change the
// OpenAPI documents.)
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RunAccepted {
    #[serde(rename = "taskId")]
    pub run_id: String,
    pub status: RunStatus,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct EventsQuery {
    /// Only events with a greater sequence number (default 0: all).
    /// `Last-Event-ID` overrides it. Not a whole number ≥ 0 (`after=-1`): 400.
    pub after: Option<u64>,
}

/// What [`start`] answers: 202 with the run's id, or (`wait`) 200 with the
/// finished record.
pub enum Started {
    Accepted(RunAccepted),
    Finished(Box<AgentRun>),
}

/// Starts `body` on `agent` in `scope`; `origin` says who asked.
pub async fn start(
    agent: &AgentRunner,
    body: StartRun,
    scope: Scope,
    origin: RunOrigin,
) -> Result<Started, RunError> {
    let mut request = RunRequest::new(body.prompt.as_deref().unwrap_or(""), scope, origin);
    request.agent = body.agent;
    request.timeout_ms = body.timeout_ms;
    let handle = agent.start(request).await?;
    if body.wait {
        return Ok(Started::Finished(Box::new(handle.finished().await)));
    }
    Ok(Started::Accepted(RunAccepted {
        run_id: handle.run_id,
        status: RunStatus::Running,
    }))
}
