//! `GET /api/v1/probes/external`: whether what this bot depends on outside
//! itself answers now — the platform's token endpoint, the long connection
//! (ok only while its pings are answered), the agent command and each host
//! the bot calls. URLs are cut to scheme and host; no secret appears.

use super::extract::main_token_only;
use crate::bot::BotState;
use crate::config::{ConnectorKind, EventsTransport};
use crate::connector::ConnectorState;
use crate::error::{Error, ErrorBody};
use crate::http::resource;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::time::{Duration, Instant};
use utoipa::ToSchema;

/// Each network check gives up after this long.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);
const TOKEN_PATH: &str = "/open-apis/auth/v3/tenant_access_token/internal";

#[derive(Serialize, ToSchema)]
pub struct ExternalProbe {
    /// No result is `error`.
    pub ok: bool,
    pub timestamp: DateTime<Utc>,
    pub results: Vec<CheckResult>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Ok,
    Error,
    Skipped,
}

#[derive(Serialize, ToSchema)]
pub struct CheckResult {
    /// `feishu_token`, `feishu_long_connection`, `agent_command` or
    /// `callback_host`.
    pub name: &'static str,
    pub status: CheckStatus,
    /// Scheme and host (and port) only.
    pub url: Option<String>,
    pub http_status: Option<u16>,
    pub latency_ms: Option<u64>,
    /// What went wrong (`error` only).
    pub error: Option<String>,
    /// Why it was skipped, or what was found.
    pub reason: Option<String>,
}

impl CheckResult {
    fn new(name: &'static str, status: CheckStatus) -> Self {
        Self {
            name,
            status,
            url: None,
            http_status: None,
            latency_ms: None,
            error: None,
            reason: None,
        }
    }

    fn skipped(name: &'static str, reason: &str) -> Self {
        Self {
            reason: Some(reason.into()),
            ..Self::new(name, CheckStatus::Skipped)
        }
    }
}

/// `scheme://host[:port]` of `url`, or `None` if it does not parse.
fn redact(url: &str) -> Option<String> {
    let url = reqwest::Url::parse(url).ok()?;
    let host = url.host_str()?;
    Some(match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    })
}

async fn run_checks(state: &BotState) -> Vec<CheckResult> {
    let connector = &state.config().connector;
    let http = reqwest::Client::builder().timeout(CHECK_TIMEOUT).build();
    let mut results = Vec::new();
    match (connector.kind, http) {
        (ConnectorKind::Local | ConnectorKind::Telegram | ConnectorKind::Onebot, _) => {
            let reason = match connector.kind {
                ConnectorKind::Telegram => "the Feishu checks do not apply to Telegram",
                ConnectorKind::Onebot => "the Feishu checks do not apply to OneBot",
                _ => "the local connector reaches no platform",
            };
            results.push(CheckResult::skipped("feishu_token", reason));
            results.push(CheckResult::skipped("feishu_long_connection", reason));
        }
        (ConnectorKind::Feishu, Err(e)) => {
            let mut r = CheckResult::new("feishu_token", CheckStatus::Error);
            r.error = Some(format!("cannot build an HTTP client: {e}"));
            results.push(r);
        }
        (ConnectorKind::Feishu, Ok(http)) => {
            let base = connector.base_url.trim_end_matches('/');
            results.push(token(&http, base, &connector.app_id, &connector.app_secret).await);
            results.push(long_connection(state));
            results.push(host(&http, base).await);
        }
    }
    results.push(agent(state).await);
    results
}

/// A fresh tenant token, as the connector would ask for one.
async fn token(http: &reqwest::Client, base: &str, app_id: &str, secret: &str) -> CheckResult {
    let mut r = CheckResult::new("feishu_token", CheckStatus::Error);
    r.url = redact(base);
    let started = Instant::now();
    let body = serde_json::json!({"app_id": app_id, "app_secret": secret});
    let sent = http
        .post(format!("{base}{TOKEN_PATH}"))
        .json(&body)
        .send()
        .await;
    r.latency_ms = Some(started.elapsed().as_millis() as u64);
    let res = match sent {
        Ok(res) => res,
        // Without the URL: reqwest's message would repeat it.
        Err(e) => {
            r.error = Some(transport(&e));
            return r;
        }
    };
    r.http_status = Some(res.status().as_u16());
    match res.json::<serde_json::Value>().await {
        Ok(answer) if answer["code"] == 0 && answer["tenant_access_token"].is_string() => {
            r.status = CheckStatus::Ok;
        }
        Ok(answer) => {
            r.error = Some(format!(
                "feishu code {}: {}",
                answer["code"],
                answer["msg"].as_str().unwrap_or("")
            ))
        }
        Err(_) => r.error = Some("the answer is not JSON".into()),
    }
    r
}

/// The long connection's own word: up only while its pings are answered.
fn long_connection(state: &BotState) -> CheckResult {
    let connector = &state.config().connector;
    if connector.events == EventsTransport::Webhook {
        return CheckResult::skipped(
            "feishu_long_connection",
            "events arrive by webhook (see the internal probe's connector.state)",
        );
    }
    let health = state.connector_health().probe();
    let mut r = CheckResult::new("feishu_long_connection", CheckStatus::Ok);
    r.url = redact(&connector.base_url);
    if health.state == ConnectorState::Connected {
        r.reason = health
            .last_pong_at
            .map(|at| format!("last pong at {}", at.to_rfc3339()));
    } else {
        r.status = CheckStatus::Error;
        r.error = Some(
            health
                .last_error
                .unwrap_or_else(|| "no ping answered yet".into()),
        );
        r.reason = Some(format!(
            "the connection is {}",
            serde_json::to_value(health.state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        ));
    }
    r
}

/// A host the bot sends to: any HTTP answer means it is reachable.
async fn host(http: &reqwest::Client, base: &str) -> CheckResult {
    let mut r = CheckResult::new("callback_host", CheckStatus::Ok);
    r.url = redact(base);
    let Some(root) = r.url.clone() else {
        r.status = CheckStatus::Error;
        r.error = Some("connector.base_url is not a URL".into());
        return r;
    };
    let started = Instant::now();
    let sent = http.get(root).send().await;
    r.latency_ms = Some(started.elapsed().as_millis() as u64);
    match sent {
        Ok(res) => r.http_status = Some(res.status().as_u16()),
        Err(e) => {
            r.status = CheckStatus::Error;
            r.error = Some(transport(&e));
        }
    }
    r
}

async fn agent(state: &BotState) -> CheckResult {
    let started = Instant::now();
    let checked = state.agent().check_command().await;
    let mut r = CheckResult::new("agent_command", CheckStatus::Ok);
    r.latency_ms = Some(started.elapsed().as_millis() as u64);
    match checked {
        Ok(found) => r.reason = Some(found),
        Err(e) => {
            r.status = CheckStatus::Error;
            r.error = Some(e);
        }
    }
    r
}

/// A transport failure, without the URL reqwest would put in its message.
fn transport(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "no answer in time"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "the request failed"
    };
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut cause = None;
    while let Some(s) = source {
        cause = Some(s.to_string());
        source = s.source();
    }
    match cause {
        Some(cause) => format!("{kind}: {cause}"),
        None => kind.to_string(),
    }
}

/// Checks what this bot depends on outside itself (each within 5 s).
#[utoipa::path(get, path = "/api/v1/probes/external", operation_id = "getExternalProbe", tag = "meta",
    responses(
        (status = 200, description = "Each dependency's state; `ok` is false when one is in error", body = ExternalProbe),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "A run's token: the probe needs the bot's main token", body = ErrorBody),
        (status = 429, description = "Rate limited", body = ErrorBody)))]
pub async fn external(req: HttpRequest, state: web::Data<BotState>) -> Result<HttpResponse, Error> {
    main_token_only(&req, "probes")?;
    let results = run_checks(&state).await;
    Ok(HttpResponse::Ok().json(ExternalProbe {
        ok: results.iter().all(|r| r.status != CheckStatus::Error),
        timestamp: Utc::now(),
        results,
    }))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/v1/probes/external").get(external));
}

#[cfg(test)]
mod tests {
    #[test]
    fn urls_are_cut_to_scheme_and_host() {
        let cut = |u| super::redact(u);
        assert_eq!(
            cut("https://open.feishu.cn/open-apis/x?ticket=secret").as_deref(),
            Some("https://open.feishu.cn")
        );
        assert_eq!(
            cut("http://user:pw@127.0.0.1:9/a").as_deref(),
            Some("http://127.0.0.1:9")
        );
        assert_eq!(cut("not a url"), None);
    }
}
