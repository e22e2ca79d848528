//! A bot's agent: the configured command, started as a subprocess in the
//! bot's workspace with the skill environment, prompt on stdin, answer on
//! stdout.

mod process;

pub use process::{run_command, CommandOutput, RunSpec};

use crate::config::AgentConfig;
use crate::scope::{runtime_env, Scope};
use std::path::PathBuf;
use std::time::Duration;

/// Default watchdog for an agent run.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("no agent command is configured (bots.<id>.agent.command)")]
    NotConfigured,
    #[error("cannot start the agent `{program}`: {reason}")]
    Spawn { program: String, reason: String },
    #[error("the agent timed out after {0:?}")]
    Timeout(Duration),
    #[error("the agent exited with {code:?}: {stderr}")]
    Failed { code: Option<i32>, stderr: String },
}

/// Everything needed to start this bot's agent.
#[derive(Clone)]
pub struct AgentRunner {
    config: AgentConfig,
    workspace: PathBuf,
    base_url: String,
    token: String,
    bin: PathBuf,
}

impl AgentRunner {
    pub fn new(
        config: AgentConfig,
        workspace: PathBuf,
        base_url: String,
        token: String,
        bin: PathBuf,
    ) -> Self {
        Self {
            config,
            workspace,
            base_url,
            token,
            bin,
        }
    }

    pub fn workspace(&self) -> &std::path::Path {
        &self.workspace
    }

    /// The ten `ALICE_*` variables for `scope`, plus `agent.env`.
    pub fn environment(&self, scope: &Scope, token: &str) -> Vec<(String, String)> {
        let mut env = runtime_env(&self.base_url, token, &self.bin);
        env.extend(scope.env());
        env.extend(self.config.env.iter().map(|(k, v)| (k.clone(), v.clone())));
        env
    }

    pub fn spec(
        &self,
        argv: Vec<String>,
        scope: &Scope,
        stdin: String,
        timeout: Duration,
    ) -> RunSpec {
        RunSpec {
            argv,
            cwd: self.workspace.clone(),
            env: self.environment(scope, &self.token),
            stdin,
            timeout,
        }
    }

    /// Runs the agent once on `prompt` and returns its trimmed answer.
    pub async fn ask(&self, scope: &Scope, prompt: &str) -> Result<String, AgentError> {
        if self.config.command.is_empty() {
            return Err(AgentError::NotConfigured);
        }
        let spec = self.spec(
            self.config.command.clone(),
            scope,
            prompt.to_string(),
            DEFAULT_TIMEOUT,
        );
        let output = run_command(spec, |_| {}).await?;
        output.into_answer()
    }
}
