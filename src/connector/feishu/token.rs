//! The tenant access token: fetched once, shared by every call, refreshed in
//! its last minutes or when Feishu says it is no longer valid.

use super::wire::{self, TokenAnswer};
use crate::connector::ConnectorError;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

const TOKEN_PATH: &str = "/open-apis/auth/v3/tenant_access_token/internal";
/// Refresh this long before expiry. Feishu hands out a new token only in a
/// token's last 30 minutes; the Go SDK refreshes 3 minutes before the end.
const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// The codes that mean "this token is not (or no longer) valid": refresh and
/// retry once. 99991663/64/71 from the Go SDK; 99991661/68 seen in the wild.
pub const INVALID_TOKEN_CODES: [i64; 5] = [99991661, 99991663, 99991664, 99991668, 99991671];

struct Cached {
    token: String,
    refresh_at: Instant,
}

pub struct TokenCache {
    app_id: String,
    app_secret: String,
    url: String,
    /// Held while fetching, so concurrent senders make one token call.
    cached: Mutex<Option<Cached>>,
}

impl TokenCache {
    pub fn new(base_url: &str, app_id: &str, app_secret: &str) -> Self {
        Self {
            app_id: app_id.to_string(),
            app_secret: app_secret.to_string(),
            url: format!("{base_url}{TOKEN_PATH}"),
            cached: Mutex::new(None),
        }
    }

    /// A valid token: the cached one, or a new one when it is due.
    pub async fn get(&self, http: &reqwest::Client) -> Result<String, ConnectorError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref().filter(|c| Instant::now() < c.refresh_at) {
            return Ok(c.token.clone());
        }
        let fresh = self.fetch(http).await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    /// Forgets `stale` (the token Feishu refused); a token another caller
    /// already refreshed is kept.
    pub async fn invalidate(&self, stale: &str) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|c| c.token == stale) {
            *cached = None;
        }
    }

    async fn fetch(&self, http: &reqwest::Client) -> Result<Cached, ConnectorError> {
        let body = serde_json::json!({"app_id": self.app_id, "app_secret": self.app_secret});
        let res = http
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .map_err(|e| wire::transport_error("tenant token", e))?;
        let status = res.status();
        let answer: TokenAnswer = res.json().await.map_err(|e| {
            ConnectorError::Rejected(format!(
                "tenant token: HTTP {status}, unreadable answer: {e}"
            ))
        })?;
        if answer.code != 0 || answer.tenant_access_token.is_empty() {
            return Err(ConnectorError::Rejected(format!(
                "tenant token: feishu code {}: {}",
                answer.code, answer.msg
            )));
        }
        // `expire` is in seconds; a very short life is refreshed half-way.
        let life = Duration::from_secs(answer.expire.max(1));
        let margin = REFRESH_MARGIN.min(life / 2);
        tracing::debug!(expire_secs = answer.expire, "feishu tenant token fetched");
        Ok(Cached {
            token: answer.tenant_access_token,
            refresh_at: Instant::now() + life - margin,
        })
    }
}
