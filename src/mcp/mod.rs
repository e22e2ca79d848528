//! The bot's MCP server (`/mcp`, Streamable HTTP) over the tool registry
//! (`crate::tools`): the same filtered tools and JSON Schemas, under names
//! every common client accepts, plus read-only resources. rmcp (the
//! official SDK) speaks the protocol, both eras, statelessly; `transport.rs`
//! adapts its tower service to actix. `alice mcp` (`crate::cli::mcp`) is
//! the stdio form; `crate::agent::mcp_json` points an agent's CLI here.

mod server;
mod transport;

pub use server::{GOAL_URI, HISTORY_URI, TASKS_URI};
pub use transport::serve;

use crate::error::{Code, ErrorCode};

/// Turns of the conversation's history the resource shows.
const HISTORY_TURNS: usize = 20;

/// A tool's name on MCP: Anthropic's API allows only letters, digits, `_`
/// and `-` (Claude Code rewrites a dot itself; others keep it), so dots
/// become `_`: `automation.create` → `automation_create`.
pub fn mcp_name(tool: &str) -> String {
    tool.replace('.', "_")
}

#[derive(Debug, thiserror::Error)]
pub enum McpError {
    #[error("MCP is switched off for this bot (bots.<id>.tools.mcp_enabled = false)")]
    Disabled,
    #[error("requests from the web origin `{0}` are refused")]
    Origin(String),
}

impl ErrorCode for McpError {
    fn code(&self) -> Code {
        match self {
            McpError::Disabled => Code::McpDisabled,
            McpError::Origin(_) => Code::InvalidOrigin,
        }
    }
}
