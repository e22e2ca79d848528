//! Who this bot is on Feishu (its `open_id`), needed to tell whether a
//! message @mentions it.
//!
//! The tenant token is fetched here with a deliberately tiny client: the
//! outbound Feishu connector owns the shared, cached token; once it is on
//! main this module should ask it instead (one call, `tenant_token`).

use crate::config::ConnectorConfig;
use serde::Deserialize;
use tokio::sync::Mutex;

pub struct BotIdentity {
    http: reqwest::Client,
    base_url: String,
    app_id: String,
    app_secret: String,
    open_id: Mutex<Option<String>>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    code: i64,
    #[serde(default)]
    msg: String,
    #[serde(default)]
    tenant_access_token: String,
}

#[derive(Deserialize)]
struct InfoAnswer {
    code: i64,
    #[serde(default)]
    msg: String,
    bot: Option<BotInfo>,
}

#[derive(Deserialize)]
struct BotInfo {
    #[serde(default)]
    open_id: String,
}

impl BotIdentity {
    pub fn new(http: reqwest::Client, connector: &ConnectorConfig) -> Self {
        Self {
            http,
            base_url: connector.base_url.trim_end_matches('/').to_string(),
            app_id: connector.app_id.clone(),
            app_secret: connector.app_secret.clone(),
            open_id: Mutex::new(None),
        }
    }

    /// The bot's `open_id`, asked once and then remembered. `None` (logged)
    /// when Feishu cannot tell; the next message asks again.
    pub async fn open_id(&self) -> Option<String> {
        let mut cached = self.open_id.lock().await;
        if cached.is_none() {
            match self.fetch().await {
                Ok(id) => *cached = Some(id),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot learn the bot's open_id; @mentions of it are not recognised")
                }
            }
        }
        cached.clone()
    }

    async fn fetch(&self) -> Result<String, String> {
        let token: TokenAnswer = self
            .http
            .post(format!(
                "{}/open-apis/auth/v3/tenant_access_token/internal",
                self.base_url
            ))
            .json(&serde_json::json!({"app_id": self.app_id, "app_secret": self.app_secret}))
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| format!("tenant token: {}", e.without_url()))?
            .json()
            .await
            .map_err(|e| format!("tenant token: {e}"))?;
        if token.code != 0 || token.tenant_access_token.is_empty() {
            return Err(format!("tenant token: code {}: {}", token.code, token.msg));
        }
        let info: InfoAnswer = self
            .http
            .get(format!("{}/open-apis/bot/v3/info", self.base_url))
            .bearer_auth(&token.tenant_access_token)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| format!("bot info: {}", e.without_url()))?
            .json()
            .await
            .map_err(|e| format!("bot info: {e}"))?;
        match info.bot {
            Some(bot) if info.code == 0 && !bot.open_id.is_empty() => Ok(bot.open_id),
            _ => Err(format!("bot info: code {}: {}", info.code, info.msg)),
        }
    }
}
