//! A small client of the supervisor's admin API, found through the config.

use crate::config::Config;
use crate::supervisor::read_admin_token;
use serde_json::Value;

pub struct AdminClient {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl AdminClient {
    pub fn from_config(config: &Config) -> Result<Self, String> {
        let token = read_admin_token(&config.supervisor).map_err(|e| e.to_string())?;
        Ok(Self {
            base: format!("http://{}", config.supervisor.admin_addr),
            token,
            http: reqwest::Client::new(),
        })
    }

    /// The same token against another supervisor's admin API (`host:port`
    /// or a URL): shards of one file share `supervisor.admin_token`.
    pub fn at(&self, addr: &str) -> Self {
        let base = if addr.contains("://") {
            addr.trim_end_matches('/').to_string()
        } else {
            format!("http://{addr}")
        };
        Self {
            base,
            token: self.token.clone(),
            http: self.http.clone(),
        }
    }

    pub async fn get(&self, path: &str) -> Result<Value, String> {
        self.send(self.http.get(self.url(path)))
            .await
            .map(|(v, _)| v)
    }

    /// A paged list and its `X-Total-Count`.
    pub async fn get_page(&self, path: &str) -> Result<(Value, Option<usize>), String> {
        self.send(self.http.get(self.url(path))).await
    }

    pub async fn post(&self, path: &str, body: Option<Value>) -> Result<Value, String> {
        let mut req = self.http.post(self.url(path));
        if let Some(body) = body {
            req = req.json(&body);
        }
        self.send(req).await.map(|(v, _)| v)
    }

    /// A request with the admin token, for callers that read the body
    /// themselves (event streams).
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(&self.token)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<(Value, Option<usize>), String> {
        let mut next = Some(
            req.bearer_auth(&self.token)
                .build()
                .map_err(|e| format!("invalid request: {e}"))?,
        );
        let mut attempts = 0;
        let res = loop {
            let request = next.take().expect("set before every attempt");
            next = request.try_clone();
            let res = self.http.execute(request).await.map_err(|e| {
                format!(
                    "cannot reach the supervisor at {}: {} (is `alice serve` running?)",
                    self.base,
                    root_cause(&e)
                )
            })?;
            // Rate limited: wait as told (bounded) and try again — reads
            // only (a refused start, say for capacity, is the caller's to see).
            let idempotent = next
                .as_ref()
                .is_some_and(|r| r.method() == reqwest::Method::GET);
            match retry_after(&res) {
                Some(wait) if idempotent && attempts < MAX_RETRIES => {
                    attempts += 1;
                    tokio::time::sleep(wait).await;
                }
                _ => break res,
            }
        };
        let status = res.status();
        let total = res
            .headers()
            .get("x-total-count")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let body: Value = res.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            Ok((body, total))
        } else {
            let reason = body
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("no reason given");
            Err(format!("{} {}", status.as_u16(), reason))
        }
    }
}

const MAX_RETRIES: u32 = 5;

/// `Retry-After` of a 429, at most 10 s.
fn retry_after(res: &reqwest::Response) -> Option<std::time::Duration> {
    (res.status() == reqwest::StatusCode::TOO_MANY_REQUESTS).then(|| {
        let secs = res
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(1);
        std::time::Duration::from_secs(secs.clamp(1, 10))
    })
}

/// A path segment, percent-encoded (conversation ids are user input).
pub(crate) fn encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub(crate) fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
