//! A bot's tools: its built-in runtime operations (dotted names, the
//! "toolsets"), the skills that declare `tool: true` (plain names) and its
//! agent (`agent.ask`), each with a JSON Schema of its arguments. One
//! service lists what the bot's `[tools]` config offers and invokes a tool
//! for a caller; the tool API (`/api/v1/tools`) speaks it over HTTP, and
//! other front ends (MCP) can reuse it as it is.

mod builtin;
pub mod callback;
mod error;
mod filter;
mod model;

pub use builtin::Builtin;
pub use callback::{CallbackError, Target as CallbackTarget};
pub use error::ToolError;
pub use model::{Caller, Category, FunctionSpec, Invocation, Kind, Prepared, Tool, ToolEntry};

use crate::agent::{AgentError, AgentRunner};
use crate::automation::Automation;
use crate::config::{Permissions, ToolsConfig};
use crate::connector::Messenger;
use crate::goal::Goals;
use builtin::Needs;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::task::TaskTracker;

/// The services the built-in tools act through.
#[derive(Clone)]
pub struct Services {
    pub messenger: Arc<dyn Messenger>,
    pub automation: Automation,
    pub goals: Goals,
    pub agent: AgentRunner,
}

/// Callback deliveries since the bot started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CallbackCounts {
    pub delivered: u64,
    pub failed: u64,
}

/// The tool service of one bot. Cloning is cheap.
#[derive(Clone)]
pub struct Tools {
    inner: Arc<Inner>,
}

struct Inner {
    config: ToolsConfig,
    permissions: Permissions,
    services: Services,
    delivered: AtomicU64,
    failed: AtomicU64,
    /// Invocations answered by callback, still running or delivering.
    tracker: TaskTracker,
    /// The bot's runtime: a callback outlives the request (and the actix
    /// worker) that started it.
    runtime: tokio::runtime::Handle,
}

/// The extra time a skill or agent run gets beyond its own watchdog, to be
/// killed and recorded as timed out.
const KILL_GRACE: Duration = Duration::from_secs(5);

impl Tools {
    /// Built in async code on the bot's runtime (as the bot is opened).
    pub fn new(config: ToolsConfig, permissions: Permissions, services: Services) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                permissions,
                services,
                delivered: AtomicU64::new(0),
                failed: AtomicU64::new(0),
                tracker: TaskTracker::new(),
                runtime: tokio::runtime::Handle::current(),
            }),
        }
    }

    pub fn config(&self) -> &ToolsConfig {
        &self.inner.config
    }

    /// 403 unless `tools.invoke_enabled`.
    pub fn require_enabled(&self) -> Result<(), ToolError> {
        if self.inner.config.invoke_enabled {
            Ok(())
        } else {
            Err(ToolError::Disabled)
        }
    }

    /// Every tool the bot offers, after `expose`, allowlist and denylist.
    /// A built-in whose `permissions.*` switch is off is not offered.
    pub async fn list(&self) -> Result<Vec<Tool>, ToolError> {
        let p = &self.inner.permissions;
        let mut all: Vec<Tool> = Builtin::ALL
            .into_iter()
            .filter(|b| match b.needs() {
                Needs::Nothing => true,
                Needs::Message => p.runtime_message,
                Needs::Automation => p.runtime_automation,
                Needs::Goal => p.runtime_goal,
            })
            .map(|b| Tool {
                name: b.name().into(),
                description: b.description().into(),
                parameters: b.parameters(),
                kind: Kind::Builtin(b),
            })
            .collect();
        let dir = self.inner.services.agent.skills_dir().to_path_buf();
        let skills = tokio::task::spawn_blocking(move || crate::skills::tools(&dir))
            .await
            .map_err(|e| ToolError::Skills(std::io::Error::other(e.to_string()).into()))??;
        for skill in skills {
            // Plain names are skills; a dotted one would pass for a built-in.
            if skill.name.contains('.') {
                tracing::warn!(skill = %skill.name, "a tool skill's name must not contain `.`; not offered");
                continue;
            }
            all.push(Tool {
                name: skill.name,
                description: skill.description,
                parameters: skill.parameters,
                kind: Kind::Skill,
            });
        }
        if self.inner.services.agent.probe().command.is_some() {
            all.push(Tool {
                name: "agent.ask".into(),
                description: "Ask the bot's agent; its answer is the result (a recorded run)."
                    .into(),
                parameters: json!({"type": "object", "required": ["prompt"],
                    "properties": {"prompt": {"type": "string", "minLength": 1}},
                    "additionalProperties": false}),
                kind: Kind::Agent,
            });
        }
        Ok(filter::offered(&self.inner.config, all))
    }

    /// The offered tool `name` with its arguments: 404 for a tool not
    /// offered, 400 for arguments that are not an object or miss what the
    /// schema requires.
    pub async fn prepare(&self, name: &str, args: Value) -> Result<Prepared, ToolError> {
        let Value::Object(args) = args else {
            return Err(ToolError::BadRequest("`args` must be a JSON object".into()));
        };
        let tool = self
            .list()
            .await?
            .into_iter()
            .find(|t| t.name == name)
            .ok_or_else(|| ToolError::NotFound(name.to_string()))?;
        tool.check_args(&args).map_err(ToolError::BadRequest)?;
        Ok(Prepared {
            request_id: uuid::Uuid::new_v4().to_string(),
            tool,
            args,
        })
    }

    /// Prepares and runs a tool, waiting for its end.
    pub async fn invoke(
        &self,
        name: &str,
        args: Value,
        caller: &Caller,
    ) -> Result<Invocation, ToolError> {
        let prepared = self.prepare(name, args).await?;
        Ok(self.run(prepared, caller).await)
    }

    /// Runs a prepared tool within `tools.timeout_secs`; a failure or a
    /// timeout is an `Err` result, never an error of the call.
    pub async fn run(&self, prepared: Prepared, caller: &Caller) -> Invocation {
        let started = Instant::now();
        let timeout = Duration::from_secs(self.inner.config.timeout_secs);
        let services = &self.inner.services;
        let Prepared {
            request_id,
            tool,
            args,
        } = prepared;
        let result = match tool.kind {
            Kind::Builtin(b) => tokio::time::timeout(timeout, b.run(services, args, caller))
                .await
                .unwrap_or_else(|_| Err(timed_out(timeout))),
            Kind::Skill => {
                let input = Value::Object(args).to_string();
                let out = self
                    .agent_run(caller, Some(&tool.name), &input, timeout)
                    .await;
                // A skill that prints JSON answers JSON.
                out.map(|text| serde_json::from_str(&text).unwrap_or(Value::String(text)))
            }
            Kind::Agent => match args.get("prompt").and_then(Value::as_str) {
                Some(prompt) if !prompt.trim().is_empty() => self
                    .agent_run(caller, None, prompt, timeout)
                    .await
                    .map(Value::String),
                _ => Err("`prompt` is required".into()),
            },
        };
        Invocation {
            request_id,
            tool_name: tool.name,
            result,
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        }
    }

    async fn agent_run(
        &self,
        caller: &Caller,
        skill: Option<&str>,
        input: &str,
        timeout: Duration,
    ) -> Result<String, String> {
        let agent = &self.inner.services.agent;
        let run = agent.run_tool(&caller.scope, skill, input, timeout);
        match tokio::time::timeout(timeout + KILL_GRACE, run).await {
            Err(_) | Ok(Err(AgentError::Timeout(_))) => Err(timed_out(timeout)),
            Ok(Err(AgentError::Failed { code, stderr })) => Err(match code {
                Some(code) => format!("exited with status {code}: {stderr}"),
                None => format!("ended by a signal: {stderr}"),
            }),
            Ok(Err(e)) => Err(e.to_string()),
            Ok(Ok(out)) => Ok(out),
        }
    }

    /// Checks a callback target (400 when refused).
    pub fn callback_target(
        &self,
        url: &str,
        headers: &BTreeMap<String, String>,
    ) -> Result<CallbackTarget, ToolError> {
        callback::check(url, headers, self.inner.config.callback_allow_loopback)
    }

    /// Runs a prepared tool in the background and POSTs its result to
    /// `target`; a failed delivery is logged and counted.
    pub fn run_with_callback(&self, prepared: Prepared, caller: Caller, target: CallbackTarget) {
        let this = self.clone();
        let work = async move {
            let done = this.run(prepared, &caller).await;
            // Logged and counted by `deliver`; never fatal.
            let _ = this.deliver(&target, &done).await;
        };
        self.inner.tracker.spawn_on(work, &self.inner.runtime);
    }

    /// Delivers one result; never fails the invocation.
    pub async fn deliver(
        &self,
        target: &CallbackTarget,
        done: &Invocation,
    ) -> Result<(), CallbackError> {
        let timeout = Duration::from_secs(self.inner.config.callback_timeout_secs);
        let outcome = callback::deliver(target, &done.callback_body(), timeout).await;
        match &outcome {
            Ok(_) => {
                self.inner.delivered.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                self.inner.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(request_id = %done.request_id, tool = %done.tool_name, error = %e, "tool callback failed");
            }
        }
        outcome.map(drop)
    }

    pub fn callback_counts(&self) -> CallbackCounts {
        CallbackCounts {
            delivered: self.inner.delivered.load(Ordering::Relaxed),
            failed: self.inner.failed.load(Ordering::Relaxed),
        }
    }

    /// Waits (up to `bound`) for invocations answered by callback.
    pub async fn stop(&self, bound: Duration) {
        self.inner.tracker.close();
        if tokio::time::timeout(bound, self.inner.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("tool invocations with a callback did not end in time");
        }
    }
}

fn timed_out(timeout: Duration) -> String {
    format!("Execution timed out after {}s", timeout.as_secs())
}
