//! rmcp's Streamable HTTP service (a tower `Service` over `http` 1 types)
//! behind an actix handler. A thin adapter rather than the third-party
//! `rmcp-actix-web`: the bearer guard, scoping and errors stay ours, and
//! what is adapted is only the request in and the (possibly streamed)
//! answer out.

use super::server::BotMcp;
use super::McpError;
use crate::bot::BotState;
use crate::tools::Caller;
use actix_web::{HttpRequest, HttpResponse};
use bytes::Bytes;
use futures_util::TryStreamExt;
use http_body_util::{BodyExt, Full};
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use std::sync::Arc;
use tower_service::Service;

/// Answers one MCP message for `caller`, who has passed the bearer guard.
pub async fn serve(
    state: BotState,
    caller: Caller,
    req: &HttpRequest,
    body: Bytes,
) -> Result<HttpResponse, crate::error::Error> {
    check_origin(req)?;
    let body_limit = state.config().limits.body_bytes;
    // Stateless, both eras: `2026-07-28` needs no session, and an
    // `initialize` (Codex, `2025-06-18`) is answered without one, so any
    // request may land anywhere and carries its own token. JSON answers
    // unless the handler streams.
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_max_request_body_bytes(body_limit)
        // The Host check guards against DNS rebinding; our bearer token
        // and the Origin check above do that, on any listen address.
        .disable_allowed_hosts();
    let mut service = StreamableHttpService::new(
        move || {
            Ok(BotMcp {
                state: state.clone(),
            })
        },
        Arc::new(NeverSessionManager::default()),
        config,
    );
    let mut request = http::Request::builder()
        .method(req.method().as_str())
        .uri(req.uri().to_string());
    for (name, value) in req.headers() {
        request = request.header(name.as_str(), value.as_bytes());
    }
    let mut request = request
        .body(Full::new(body))
        .map_err(|e| crate::error::Error::bad_request(format!("invalid MCP request: {e}")))?;
    request.extensions_mut().insert(caller);
    let Ok(answer) = service.call(request).await;
    let (parts, body) = answer.into_parts();
    let mut out = HttpResponse::build(
        actix_web::http::StatusCode::from_u16(parts.status.as_u16())
            .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR),
    );
    for (name, value) in &parts.headers {
        out.append_header((name.as_str(), value.as_bytes()));
    }
    // An SSE answer streams as it comes; a JSON one is one chunk.
    let stream = body
        .into_data_stream()
        .map_err(|never| -> std::io::Error { match never {} });
    Ok(out.streaming(stream))
}

/// MCP servers must refuse web pages of other sites (the spec's DNS
/// rebinding warning): a browser's request carries `Origin`, and only a
/// loopback origin passes. CLIs send none.
fn check_origin(req: &HttpRequest) -> Result<(), McpError> {
    let Some(origin) = req.headers().get("origin") else {
        return Ok(());
    };
    let text = origin.to_str().unwrap_or_default();
    let loopback = url::Url::parse(text).ok().is_some_and(|u| {
        matches!(u.scheme(), "http" | "https")
            && match u.host() {
                Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                None => false,
            }
    });
    if loopback {
        Ok(())
    } else {
        Err(McpError::Origin(text.chars().take(200).collect()))
    }
}
