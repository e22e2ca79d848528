//! `/mcp`: the bot's MCP server (Streamable HTTP). The handler decides who
//! may call and on which conversation, as the tool API does; `crate::mcp`
//! speaks the protocol.

use crate::bot::BotState;
use crate::error::{ErrorBody, Result};
use crate::http::resource;
use crate::mcp::McpError;
use crate::runtime_api::extract::{scope_within_token, token_scope};
use crate::scope::Scope;
use crate::tools::Caller;
use actix_web::{web, HttpRequest, HttpResponse};

/// One MCP message (JSON-RPC), either era: the stateless `2026-07-28`
/// revision or the `initialize` handshake of `2025-06-18`. A run's token
/// acts on its own conversation; the main token needs
/// `tools.invoke_enabled` and names a conversation with `X-Alice-*`.
#[utoipa::path(post, path = "/mcp", operation_id = "mcp", tag = "mcp",
    request_body(content = Object, description = "A JSON-RPC message", content_type = "application/json"),
    responses((status = 200, description = "The JSON-RPC answer (JSON, or an SSE stream)"),
        (status = 202, description = "A notification, accepted"),
        (status = 400, description = "Not a valid MCP message or headers (a JSON-RPC error)"),
        (status = 401, body = ErrorBody),
        (status = 403, description = "A web origin other than loopback, the main token without tools.invoke_enabled, or a run's token naming another conversation", body = ErrorBody),
        (status = 404, description = "tools.mcp_enabled is false", body = ErrorBody),
        (status = 406, description = "The Accept header does not name both application/json and text/event-stream (MCP's Streamable HTTP requires it)", body = ErrorBody)))]
pub async fn mcp(
    state: web::Data<BotState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse> {
    let tools = state.tools();
    if !tools.config().mcp_enabled {
        return Err(McpError::Disabled.into());
    }
    let limit = token_scope(&req);
    // A run's token grants what the run already may; the main token is the
    // tool API's caller.
    if limit.is_none() {
        tools.require_enabled()?;
    }
    let scope = scope_within_token(&req, Scope::from_headers(req.headers())?)?;
    let caller = Caller { scope, limit };
    crate::mcp::serve(state.get_ref().clone(), caller, &req, body).await
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/mcp").post(mcp));
}
