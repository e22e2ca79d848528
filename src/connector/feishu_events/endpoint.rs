//! `POST /callback/ws/endpoint`: trades the app credentials for the
//! WebSocket address and the client settings (Go SDK `ws/client.go`,
//! `getConnURL`).

use serde::Deserialize;
use std::time::Duration;

const ENDPOINT_PATH: &str = "/callback/ws/endpoint";
/// Endpoint codes the SDK treats as "try again later" (`ws/const.go`).
const SYSTEM_BUSY: i64 = 1;
const INTERNAL_ERROR: i64 = 1_000_040_343;

/// The server's settings for this client; intervals in seconds. A `pong`
/// may bring new ones.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ClientConfig {
    /// The SDK gives up after this many failed reconnects (negative: never);
    /// we never give up, see the README.
    pub reconnect_count: i64,
    pub reconnect_interval: u64,
    /// Up to this many seconds of random delay before the first reconnect.
    pub reconnect_nonce: u64,
    pub ping_interval: u64,
}

impl Default for ClientConfig {
    /// The SDK's defaults before the server said anything.
    fn default() -> Self {
        Self {
            reconnect_count: -1,
            reconnect_interval: 120,
            reconnect_nonce: 30,
            ping_interval: 120,
        }
    }
}

impl ClientConfig {
    /// Never below one second: a zero from the server must not become a
    /// busy loop.
    pub fn ping_every(&self) -> Duration {
        Duration::from_secs(self.ping_interval.max(1))
    }

    pub fn retry_every(&self) -> Duration {
        Duration::from_secs(self.reconnect_interval.max(1))
    }

    /// A random delay in `[0, ReconnectNonce)` seconds, so that many clients
    /// dropped at once do not come back at once.
    pub fn jitter(&self) -> Duration {
        if self.reconnect_nonce == 0 {
            return Duration::ZERO;
        }
        let ms = rand::Rng::gen_range(&mut rand::thread_rng(), 0..self.reconnect_nonce * 1000);
        Duration::from_millis(ms)
    }
}

pub struct Endpoint {
    /// Holds credentials in its query (`access_key`, `ticket`): never log it.
    pub url: String,
    /// From the URL's `service_id`; pings carry it.
    pub service_id: i32,
    pub config: ClientConfig,
}

#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error("the endpoint call failed: {0}")]
    Transport(String),
    /// Busy or internal: worth retrying soon.
    #[error("the endpoint is busy (code {code}): {msg}")]
    Busy { code: i64, msg: String },
    /// Anything else (bad credentials, app not allowed): retrying will not
    /// help until the app's settings change.
    #[error("the endpoint refused the app (code {code}): {msg}")]
    Refused { code: i64, msg: String },
}

#[derive(Deserialize)]
struct Answer {
    code: i64,
    #[serde(default)]
    msg: String,
    data: Option<Data>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "URL", default)]
    url: String,
    #[serde(rename = "ClientConfig")]
    client_config: Option<ClientConfig>,
}

pub async fn fetch(
    http: &reqwest::Client,
    base_url: &str,
    app_id: &str,
    app_secret: &str,
) -> Result<Endpoint, EndpointError> {
    let url = format!("{}{ENDPOINT_PATH}", base_url.trim_end_matches('/'));
    let res = http
        .post(url)
        .header("locale", "zh")
        .json(&serde_json::json!({ "AppID": app_id, "AppSecret": app_secret }))
        .send()
        .await
        .map_err(|e| EndpointError::Transport(e.without_url().to_string()))?;
    let status = res.status();
    if !status.is_success() {
        return Err(EndpointError::Busy {
            code: status.as_u16().into(),
            msg: "HTTP status".into(),
        });
    }
    let answer: Answer = res
        .json()
        .await
        .map_err(|e| EndpointError::Transport(format!("unreadable answer: {e}")))?;
    match answer.code {
        0 => {}
        SYSTEM_BUSY | INTERNAL_ERROR => {
            return Err(EndpointError::Busy {
                code: answer.code,
                msg: answer.msg,
            })
        }
        code => {
            return Err(EndpointError::Refused {
                code,
                msg: answer.msg,
            })
        }
    }
    let data = answer
        .data
        .filter(|d| !d.url.is_empty())
        .ok_or_else(|| EndpointError::Busy {
            code: 0,
            msg: "the answer holds no URL".into(),
        })?;
    let service_id = reqwest::Url::parse(&data.url)
        .map_err(|_| EndpointError::Transport("the answer's URL is invalid".into()))?
        .query_pairs()
        .find(|(k, _)| k == "service_id")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    Ok(Endpoint {
        url: data.url,
        service_id,
        config: data.client_config.unwrap_or_default(),
    })
}
