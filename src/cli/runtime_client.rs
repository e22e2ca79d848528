//! The client `alice runtime` uses: the bot and the conversation come from
//! the `ALICE_*` environment a bot gives its agent runs.

use crate::scope::{Field, Scope};
use reqwest::{Method, RequestBuilder};
use serde_json::Value;
use std::time::Duration;

pub struct RuntimeClient {
    /// What requests are sent to (`http://localhost` over a Unix socket).
    base: String,
    /// `ALICE_RUNTIME_API_BASE_URL` as given, for error messages.
    shown: String,
    token: String,
    scope: Scope,
    /// A receive id type the client does not know, sent as it is: the
    /// server answers it (the bot itself never sets one).
    unknown_type: Option<String>,
    http: reqwest::Client,
}

fn required(var: &str) -> Result<String, String> {
    std::env::var(var)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| {
            format!("{var} is not set (alice runtime runs inside a bot's agent run, which sets it)")
        })
}

impl RuntimeClient {
    pub fn from_env() -> Result<Self, String> {
        let shown = required("ALICE_RUNTIME_API_BASE_URL")?;
        let token = required("ALICE_RUNTIME_API_TOKEN")?;
        let var = |field: Field| std::env::var(field.var()).ok();
        let (scope, unknown) = Scope::read_lenient(var);
        let unknown_type = unknown.then(|| var(Field::ReceiveIdType)).flatten();
        let mut http = reqwest::Client::builder().timeout(Duration::from_secs(120));
        // `unix:///path/to/runtime.sock`: HTTP over the bot's socket file.
        let base = match shown.strip_prefix("unix://") {
            Some(path) if path.starts_with('/') => {
                http = http.unix_socket(std::path::PathBuf::from(path));
                "http://localhost".to_string()
            }
            Some(_) => {
                return Err(format!(
                    "ALICE_RUNTIME_API_BASE_URL={shown}: a unix:// URL needs an absolute path (unix:///path/to/runtime.sock)"
                ))
            }
            None => shown.trim_end_matches('/').to_string(),
        };
        let http = http
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self {
            base,
            shown,
            token,
            scope,
            unknown_type,
            http,
        })
    }

    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// A request with the token and the conversation's `X-Alice-*` headers.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        for (name, value) in self.scope.headers() {
            req = req.header(name, value);
        }
        if let Some(kind) = &self.unknown_type {
            req = req.header(Field::ReceiveIdType.header(), kind.trim());
        }
        req
    }

    /// Sends and returns the JSON answer (`None` for an empty 2xx body); a
    /// non-2xx answer is an error carrying the server's reason.
    pub async fn send(&self, req: RequestBuilder) -> Result<Option<Value>, String> {
        let res = req.send().await.map_err(|e| {
            format!(
                "cannot reach the bot at {}: {} (is it running?)",
                self.shown,
                super::admin_client::root_cause(&e)
            )
        })?;
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        let body: Option<Value> = serde_json::from_str(&text).ok();
        if status.is_success() {
            return Ok(body);
        }
        let reason = body
            .as_ref()
            .and_then(|b| b.get("error"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| text.trim().chars().take(200).collect());
        Err(format!("{} {}", status.as_u16(), reason))
    }
}
