//! The bots' MCP servers (`/mcp`), driven by rmcp's client: both protocol
//! eras over HTTP, the auth and Origin rules, a run's token through the
//! workspace's `.mcp.json`, and `alice mcp` (the real binary) over stdio.

mod bridge;
mod server;

use rmcp::model::{CallToolRequestParams, CallToolResult, ClientConfig, ProtocolVersion};
use rmcp::service::{ClientLifecycleMode, ClientServiceExt, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::IntoTransport;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{RoleClient, ServiceExt};
use serde_json::Value;
use std::collections::HashMap;

pub type Client = RunningService<RoleClient, ClientConfig>;

/// An rmcp client of `{url}/mcp` with `token`, speaking `version` (the
/// stateless `2026-07-28` of Claude Code, or the `initialize` of
/// `2025-06-18` of Codex), sending `headers` on every request.
pub async fn connect(
    url: &str,
    token: &str,
    version: ProtocolVersion,
    headers: &[(&'static str, &str)],
) -> Client {
    let headers: HashMap<_, _> = headers
        .iter()
        .map(|(k, v)| {
            (
                http::HeaderName::from_static(k),
                http::HeaderValue::from_str(v).unwrap(),
            )
        })
        .collect();
    let config = StreamableHttpClientTransportConfig::with_uri(format!("{url}/mcp"))
        .auth_header(token)
        .custom_headers(headers);
    start(StreamableHttpClientTransport::from_config(config), version).await
}

/// An rmcp client over `transport`: `2026-07-28` starts with
/// `server/discover` and no handshake, an older version with `initialize`.
/// The server must settle on `version`.
pub async fn start<T, E, A>(transport: T, version: ProtocolVersion) -> Client
where
    T: IntoTransport<RoleClient, E, A>,
    E: std::error::Error + Send + Sync + 'static,
{
    let client = if version.has_initialize() {
        ClientConfig::default()
            .with_protocol_version(version.clone())
            .serve(transport)
            .await
    } else {
        let lifecycle = ClientLifecycleMode::Discover {
            preferred_versions: vec![version.clone()],
        };
        ClientConfig::default()
            .serve_with_lifecycle(transport, lifecycle)
            .await
    }
    .expect("MCP client connects");
    let settled = client
        .peer_info()
        .expect("server info")
        .protocol_version
        .clone();
    assert_eq!(settled, version);
    client
}

/// The tools' names and input schemas, sorted by name.
pub async fn tool_list(client: &Client) -> Vec<(String, Value)> {
    let mut tools: Vec<(String, Value)> = client
        .list_all_tools()
        .await
        .expect("tools/list")
        .into_iter()
        .map(|t| (t.name.to_string(), Value::Object((*t.input_schema).clone())))
        .collect();
    tools.sort_by(|a, b| a.0.cmp(&b.0));
    tools
}

pub async fn call(client: &Client, name: &str, args: Value) -> CallToolResult {
    let Value::Object(args) = args else {
        panic!("arguments must be an object")
    };
    client
        .call_tool(CallToolRequestParams::new(name.to_string()).with_arguments(args))
        .await
        .unwrap_or_else(|e| panic!("tools/call {name}: {e}"))
}

/// The first text content of a result.
pub fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .find_map(|c| c.as_text().map(|t| t.text.clone()))
        .unwrap_or_default()
}
