//! `[bots.<id>.tools]`: the tool API (`/api/v1/tools`), off by default.

use serde::{Deserialize, Serialize};

/// Which kinds of tool a bot offers when no allowlist says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Expose {
    /// Skills declared as tools (plain names).
    #[serde(rename = "tools")]
    Tools,
    /// Built-in runtime operations (dotted names).
    #[serde(rename = "toolsets")]
    Toolsets,
    #[default]
    #[serde(rename = "tools+toolsets")]
    ToolsAndToolsets,
    /// The bot's agent as one tool (`agent.ask`).
    #[serde(rename = "agents")]
    Agents,
    #[serde(rename = "all")]
    All,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ToolsConfig {
    /// Both tool routes answer 403 until this is on.
    pub invoke_enabled: bool,
    pub expose: Expose,
    /// Non-empty: exactly these tools (`name` or `prefix*`), whatever `expose` says.
    pub allowlist: Vec<String>,
    /// Never these tools; applied before the allowlist.
    pub denylist: Vec<String>,
    /// One invocation's limit (at most 1800).
    pub timeout_secs: u64,
    /// One callback delivery's limit.
    pub callback_timeout_secs: u64,
    /// For tests only: lets callbacks reach loopback addresses.
    pub callback_allow_loopback: bool,
}

impl Default for ToolsConfig {
    fn default() -> Self {
        Self {
            invoke_enabled: false,
            expose: Expose::default(),
            allowlist: Vec::new(),
            denylist: Vec::new(),
            timeout_secs: 120,
            callback_timeout_secs: 10,
            callback_allow_loopback: false,
        }
    }
}

/// The longest invocation allowed (an agent run's own limit).
pub const MAX_TOOL_TIMEOUT_SECS: u64 = 30 * 60;

impl ToolsConfig {
    /// `(key under tools., message)` of the first invalid value.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if !(1..=MAX_TOOL_TIMEOUT_SECS).contains(&self.timeout_secs) {
            return Err((
                "timeout_secs",
                format!("must be between 1 and {MAX_TOOL_TIMEOUT_SECS}"),
            ));
        }
        if !(1..=MAX_TOOL_TIMEOUT_SECS).contains(&self.callback_timeout_secs) {
            return Err((
                "callback_timeout_secs",
                format!("must be between 1 and {MAX_TOOL_TIMEOUT_SECS}"),
            ));
        }
        for (key, list) in [("allowlist", &self.allowlist), ("denylist", &self.denylist)] {
            if list.iter().any(|p| p.trim().is_empty()) {
                return Err((key, "entries must not be empty".into()));
            }
        }
        Ok(())
    }
}
