//! One authenticated call to the Open Platform, with the two retries Feishu
//! asks for: after a token refresh (once) and after throttling (bounded).

use super::token::TokenCache;
use super::wire::{self, Outcome};
use crate::connector::ConnectorError;
use serde_json::Value;

/// Throttled attempts retried before giving up with a 502.
const MAX_THROTTLE_RETRIES: u32 = 3;

pub struct Api {
    http: reqwest::Client,
    base_url: String,
    tokens: TokenCache,
}

impl Api {
    pub fn new(http: reqwest::Client, base_url: &str, tokens: TokenCache) -> Self {
        Self {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            tokens,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Sends the request `build` makes (again for each attempt: multipart
    /// bodies cannot be replayed) and returns Feishu's `data`. Whatever makes
    /// a retry safe (the message `uuid`) must be fixed by the caller.
    pub async fn call<F>(&self, what: &str, build: F) -> Result<Value, ConnectorError>
    where
        F: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    {
        let mut refreshed = false;
        let mut throttled = 0;
        loop {
            let token = self.tokens.get(&self.http).await?;
            let res = build(&self.http)
                .bearer_auth(&token)
                .send()
                .await
                .map_err(|e| wire::transport_error(what, e))?;
            let status = res.status();
            let reset = res
                .headers()
                .get("x-ogw-ratelimit-reset")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = res
                .bytes()
                .await
                .map_err(|e| wire::transport_error(what, e))?;
            match wire::classify(status, reset.as_deref(), &body) {
                Outcome::Done(data) => return Ok(data),
                Outcome::InvalidToken(_) if !refreshed => {
                    tracing::info!(call = what, "feishu refused the tenant token; refreshing");
                    refreshed = true;
                    self.tokens.invalidate(&token).await;
                }
                Outcome::Throttled(wait) if throttled < MAX_THROTTLE_RETRIES => {
                    throttled += 1;
                    tracing::warn!(
                        call = what,
                        wait_ms = wait.as_millis() as u64,
                        "feishu throttled"
                    );
                    tokio::time::sleep(wait).await;
                }
                Outcome::Throttled(wait) => {
                    return Err(ConnectorError::Throttled {
                        what: what.to_string(),
                        retry_after: wait.as_secs().max(1),
                    })
                }
                Outcome::InvalidToken(reason) | Outcome::Refused(reason) => {
                    return Err(ConnectorError::Rejected(format!("{what}: {reason}")))
                }
            }
        }
    }
}
