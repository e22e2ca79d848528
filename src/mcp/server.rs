//! The MCP handler of one bot: the tool registry's filtered list and its one
//! `invoke`, plus three read-only resources. rmcp builds one per request
//! (stateless); who calls comes in the request's extensions as a [`Caller`].

use super::{mcp_name, HISTORY_TURNS};
use crate::automation::{Access, ListFilter};
use crate::bot::BotState;
use crate::tools::{Caller, Tool, ToolError};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListResourcesResult, ListToolsResult, PaginatedRequestParams, ReadResourceRequestParams,
    ReadResourceResponse, ReadResourceResult, Resource, ResourceContents, ServerCapabilities,
    ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::{json, Value};

pub const GOAL_URI: &str = "alice://conversation/goal";
pub const HISTORY_URI: &str = "alice://conversation/history";
pub const TASKS_URI: &str = "alice://tasks";

pub struct BotMcp {
    pub state: BotState,
}

/// The caller the HTTP adapter put in the request; none (a transport that
/// did not go through it) reaches nothing.
fn caller(context: &RequestContext<RoleServer>) -> Result<Caller, ErrorData> {
    context
        .extensions
        .get::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Caller>())
        .cloned()
        .ok_or_else(|| ErrorData::internal_error("no caller for this request", None))
}

fn internal(e: impl std::fmt::Display) -> ErrorData {
    tracing::error!(error = %e, "MCP request failed");
    ErrorData::internal_error("internal error", None)
}

impl BotMcp {
    /// The registry's tools, once each under its MCP name (a skill whose
    /// name equals a built-in's MCP name loses: built-ins come first).
    async fn tools(&self) -> Result<Vec<(String, Tool)>, ErrorData> {
        let mut seen = std::collections::HashSet::new();
        let listed = self.state.tools().list().await.map_err(internal)?;
        Ok(listed
            .into_iter()
            .filter_map(|tool| {
                let name = mcp_name(&tool.name);
                if seen.insert(name.clone()) {
                    Some((name, tool))
                } else {
                    tracing::warn!(tool = %tool.name, "two tools share the MCP name {name}; the second is not offered");
                    None
                }
            })
            .collect())
    }

    fn goal(&self, caller: &Caller) -> Result<Value, ErrorData> {
        let key = session_key(caller)?;
        let goal = self.state.goals().get(&key).map_err(internal)?;
        serde_json::to_value(goal).map_err(internal)
    }

    fn history(&self, caller: &Caller) -> Result<Value, ErrorData> {
        let key = session_key(caller)?;
        let turns = self
            .state
            .chat()
            .history()
            .recent(&key, HISTORY_TURNS)
            .map_err(internal)?;
        serde_json::to_value(turns).map_err(internal)
    }

    async fn tasks(&self, caller: &Caller) -> Result<Value, ErrorData> {
        let access = Access {
            scope: caller.limit.clone(),
        };
        let filter = ListFilter {
            limit: None,
            offset: 0,
            status: None,
        };
        let (tasks, total) = self
            .state
            .automation()
            .list(filter, &access)
            .await
            .map_err(internal)?;
        Ok(json!({"tasks": tasks, "total": total}))
    }
}

/// The conversation's session key; a caller without one has no goal or
/// history to read.
fn session_key(caller: &Caller) -> Result<String, ErrorData> {
    caller.scope.session_key().ok_or_else(|| {
        ErrorData::resource_not_found(
            "no conversation: send X-Alice-Receive-Id, or use a run's token",
            None,
        )
    })
}

/// A tool's answer as MCP content: a string as it is, anything else as JSON
/// (an object also as `structuredContent`).
fn success(value: Value) -> CallToolResult {
    let text = match &value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
    if value.is_object() {
        result.structured_content = Some(value);
    }
    result
}

impl ServerHandler for BotMcp {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_resources()
            .build();
        ServerConfig::new(capabilities)
            .with_server_info(Implementation::new(
                format!("alice-{}", self.state.id()),
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(
                "The tools and records of one alice bot; a run's token acts on its own conversation.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let tools = self
            .tools()
            .await?
            .into_iter()
            .map(|(name, tool)| {
                let schema = match tool.parameters {
                    Value::Object(schema) => schema,
                    _ => serde_json::Map::from_iter([("type".to_string(), json!("object"))]),
                };
                rmcp::model::Tool::new(name, tool.description, schema)
            })
            .collect();
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let caller = caller(&context)?;
        let Some((_, tool)) = self
            .tools()
            .await?
            .into_iter()
            .find(|(name, _)| *name == request.name)
        else {
            return Err(ErrorData::invalid_params(
                format!("no tool `{}` among this bot's tools", request.name),
                None,
            ));
        };
        let args = Value::Object(request.arguments.unwrap_or_default());
        let tools = self.state.tools();
        let result = match tools.invoke(&tool.name, args, &caller).await {
            Ok(done) => match done.result {
                Ok(value) => success(value),
                Err(error) => CallToolResult::error(vec![ContentBlock::text(error)]),
            },
            // Arguments the model can correct are a tool error it sees.
            Err(ToolError::BadRequest(why)) => CallToolResult::error(vec![ContentBlock::text(why)]),
            Err(ToolError::NotFound(name)) => {
                return Err(ErrorData::invalid_params(
                    format!("no tool `{name}` among this bot's tools"),
                    None,
                ))
            }
            Err(e) => return Err(internal(e)),
        };
        Ok(result.into())
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let caller = caller(&context)?;
        let mut resources = Vec::new();
        if caller.scope.session_key().is_some() {
            resources.push(
                Resource::new(GOAL_URI, "goal")
                    .with_description("The conversation's goal (null when it has none)")
                    .with_mime_type("application/json"),
            );
            resources.push(
                Resource::new(HISTORY_URI, "history")
                    .with_description("The conversation's recent turns, oldest first")
                    .with_mime_type("application/json"),
            );
        }
        resources.push(
            Resource::new(TASKS_URI, "tasks")
                .with_description("The bot's scheduled tasks (a run's token: its conversation's)")
                .with_mime_type("application/json"),
        );
        Ok(ListResourcesResult::with_all_items(resources))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let caller = caller(&context)?;
        let value = match request.uri.as_str() {
            GOAL_URI => self.goal(&caller)?,
            HISTORY_URI => self.history(&caller)?,
            TASKS_URI => self.tasks(&caller).await?,
            other => {
                return Err(ErrorData::resource_not_found(
                    format!("no resource `{other}`"),
                    None,
                ))
            }
        };
        let contents = ResourceContents::TextResourceContents {
            uri: request.uri,
            mime_type: Some("application/json".into()),
            text: value.to_string(),
            meta: None,
        };
        Ok(ReadResourceResult::new(vec![contents]).into())
    }
}
