//! `/api/v1/tools`: the bot's tools for callers that are not agents (seed
//! 004's tool API). Handlers only extract and answer; `crate::tools` lists
//! and runs the tools.

use crate::bot::BotState;
use crate::error::{Code, Error, ErrorBody, Result};
use crate::http::resource;
use crate::runtime_api::extract::{
    scope_within_token, token_scope, ReceiveIdTypeHeader, TokenScope,
};
use crate::scope::Scope;
use crate::tools::{Caller, ToolEntry};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// The offered tools.
#[derive(Serialize, ToSchema)]
pub struct ToolList {
    pub count: usize,
    pub tools: Vec<ToolEntry>,
}

/// An invocation.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvokeBody {
    /// A tool of `GET /api/v1/tools`.
    #[schema(example = "automation.list")]
    pub tool_name: String,
    /// The arguments: a JSON object matching the tool's `parameters`.
    #[schema(value_type = Object)]
    pub args: Value,
    /// The conversation the tool acts on (default: the `X-Alice-*`
    /// headers). A run's token always acts on its own conversation.
    pub context: Option<Scope>,
    /// Answer at once and POST the result here later.
    pub callback: Option<Callback>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Callback {
    pub enabled: bool,
    /// `http` or `https`; required when `enabled`. Loopback, private,
    /// link-local, unique-local, multicast and unspecified addresses are
    /// refused (a host name: when the result is delivered).
    #[schema(example = "https://example.com/callback")]
    pub url: Option<String>,
    /// Extra headers of the callback request.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// How an invocation ended (synchronous), or that it was accepted (callback).
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // Documents the answer, which `Invocation::answer` writes.
pub struct InvokeAnswer {
    /// `false`: the tool failed or timed out (still 200).
    ok: bool,
    request_id: String,
    tool_name: String,
    /// What the tool returned (on success).
    #[schema(value_type = Option<Object>)]
    result: Option<Value>,
    /// Why it failed.
    error: Option<String>,
    /// How long it ran, in milliseconds.
    duration_ms: Option<f64>,
    /// `accepted`: the result goes to the callback URL.
    #[schema(example = "accepted")]
    status: Option<String>,
}

/// The tools this bot offers (after `expose`, allowlist and denylist), in
/// OpenAI function-calling format.
#[utoipa::path(get, path = "/api/v1/tools", operation_id = "listTools", tag = "tools",
    responses((status = 200, body = ToolList), (status = 401, body = ErrorBody),
        (status = 403, description = "tools.invoke_enabled is false, or a run's token names another conversation", body = ErrorBody)))]
pub async fn list(state: web::Data<BotState>, _headers: TokenScope) -> Result<HttpResponse> {
    state.tools().require_enabled()?;
    let tools: Vec<ToolEntry> = state
        .tools()
        .list()
        .await?
        .iter()
        .map(|t| t.entry())
        .collect();
    Ok(HttpResponse::Ok().json(ToolList {
        count: tools.len(),
        tools,
    }))
}

/// Invokes a tool: synchronously, or with `callback.enabled` at once
/// (`status: accepted`) with the result POSTed to `callback.url` later as
/// `{request_id, tool_name, ok, result, duration_ms, error}`.
#[utoipa::path(post, path = "/api/v1/tools/invoke", operation_id = "invokeTool", tag = "tools",
    params(
        ("X-Alice-Receive-Id" = Option<String>, Header, description = "The conversation, when the body has no `context`"),
        ("X-Alice-Receive-Id-Type" = Option<ReceiveIdTypeHeader>, Header, description = "What the receive id is; default `chat_id`")),
    request_body = InvokeBody,
    responses((status = 200, description = "Ran (`ok` says how), or accepted for a callback", body = InvokeAnswer),
        (status = 400, description = "Bad body, `args` not an object, bad callback URL", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "tools.invoke_enabled is false, or a run's token names another conversation", body = ErrorBody),
        (status = 404, description = "The tool is not offered", body = ErrorBody)))]
pub async fn invoke(
    state: web::Data<BotState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse> {
    let tools = state.tools();
    tools.require_enabled()?;
    let body = parse(&body)?;
    // The headers are checked against a run's token even with a context,
    // as on every route.
    let headers = scope_within_token(&req, Scope::from_headers(req.headers())?)?;
    let scope = match body.context {
        Some(context) => scope_within_token(&req, context)?,
        None => headers,
    };
    let caller = Caller {
        scope,
        limit: token_scope(&req),
    };
    let target = match body.callback.filter(|c| c.enabled) {
        None => None,
        Some(cb) => {
            let url = cb.url.as_deref().unwrap_or_default();
            if url.trim().is_empty() {
                return Err(Error::new(
                    Code::InvalidCallback,
                    "`callback.url` is required when `callback.enabled`",
                ));
            }
            Some(tools.callback_target(url, &cb.headers)?)
        }
    };
    let prepared = tools.prepare(&body.tool_name, body.args).await?;
    let Some(target) = target else {
        return Ok(HttpResponse::Ok().json(tools.run(prepared, &caller).await.answer()));
    };
    let accepted = json!({"ok": true, "request_id": prepared.request_id,
        "tool_name": prepared.tool.name, "status": "accepted"});
    tools.run_with_callback(prepared, caller, target);
    Ok(HttpResponse::Ok().json(accepted))
}

/// The body: not JSON → `invalid_json`; the wrong shape → `invalid_request`.
fn parse(bytes: &[u8]) -> Result<InvokeBody> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| Error::new(Code::InvalidJson, format!("invalid JSON body: {e}")))?;
    if !value.is_object() {
        return Err(Error::new(
            Code::InvalidJson,
            "invalid JSON body: expected an object",
        ));
    }
    let body: InvokeBody = serde_json::from_value(value)
        .map_err(|e| Error::bad_request(format!("invalid body: {e}")))?;
    if body.tool_name.trim().is_empty() {
        return Err(Error::bad_request("`tool_name` is required"));
    }
    Ok(body)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/v1/tools").get(list))
        .service(resource("/api/v1/tools/invoke").post(invoke));
}
