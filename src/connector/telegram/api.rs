//! One call to the Bot API (`<base>/bot<token>/<method>`): `{"ok":true,
//! "result":…}` or `{"ok":false,"error_code","description","parameters"}`;
//! a 429 is waited out for its `retry_after` (bounded), then retried.

use crate::connector::ConnectorError;
use serde_json::Value;
use std::time::Duration;

/// Throttled attempts retried before giving up with a 502.
const MAX_THROTTLE_RETRIES: u32 = 3;
/// A `retry_after` beyond this is not waited out inside one request.
const MAX_WAIT_SECS: u64 = 60;

#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    /// `<base_url>/bot<token>`: never logged (it holds the token).
    root: String,
    /// `<base_url>/file/bot<token>`, where `getFile`'s paths are fetched.
    files: String,
}

impl Api {
    pub fn new(http: reqwest::Client, base_url: &str, token: &str) -> Self {
        let base = base_url.trim_end_matches('/');
        Self {
            http,
            root: format!("{base}/bot{token}"),
            files: format!("{base}/file/bot{token}"),
        }
    }

    /// The bytes of a file `getFile` named (`file_path`).
    pub async fn download(&self, file_path: &str) -> Result<Vec<u8>, ConnectorError> {
        let res = self
            .http
            .get(format!("{}/{file_path}", self.files))
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| transport_error("file download", e))?;
        let bytes = res
            .bytes()
            .await
            .map_err(|e| transport_error("file download", e))?;
        Ok(bytes.to_vec())
    }

    /// Calls `method` with the request `build` makes (again per attempt:
    /// multipart bodies cannot be replayed) and returns its `result`.
    pub async fn call<F>(&self, method: &str, build: F) -> Result<Value, ConnectorError>
    where
        F: Fn(&reqwest::Client, String) -> reqwest::RequestBuilder,
    {
        let mut throttled = 0;
        loop {
            let url = format!("{}/{method}", self.root);
            let res = build(&self.http, url)
                .send()
                .await
                .map_err(|e| transport_error(method, e))?;
            let status = res.status().as_u16();
            let body: Value = res.json().await.map_err(|e| transport_error(method, e))?;
            if body["ok"].as_bool() == Some(true) {
                return Ok(body["result"].clone());
            }
            let code = body["error_code"].as_u64().unwrap_or(status.into());
            let description = body["description"].as_str().unwrap_or("no description");
            if code == 429 {
                let wait = body["parameters"]["retry_after"].as_u64().unwrap_or(1);
                if throttled >= MAX_THROTTLE_RETRIES || wait > MAX_WAIT_SECS {
                    return Err(ConnectorError::Throttled {
                        what: method.to_string(),
                        retry_after: wait.max(1),
                    });
                }
                throttled += 1;
                tracing::warn!(call = method, wait_s = wait, "telegram throttled");
                tokio::time::sleep(Duration::from_secs(wait)).await;
                continue;
            }
            return Err(ConnectorError::Rejected(format!(
                "{method}: telegram {code}: {description}"
            )));
        }
    }

    /// A JSON call.
    pub async fn json(&self, method: &str, body: &Value) -> Result<Value, ConnectorError> {
        self.call(method, |http, url| http.post(url).json(body))
            .await
    }
}

fn transport_error(method: &str, e: reqwest::Error) -> ConnectorError {
    // reqwest's message may carry the URL, and the URL the token.
    let e = e.without_url();
    if e.is_timeout() {
        ConnectorError::Timeout(format!("{method}: {e}"))
    } else {
        ConnectorError::Rejected(format!("{method}: {e}"))
    }
}
