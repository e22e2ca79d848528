//! What Feishu answers and how alice reads it. Every Open Platform answer is
//! `{code, msg, data}`; many refusals come with HTTP 200 and a non-zero
//! `code`, so the code decides, not the status.

use super::token::INVALID_TOKEN_CODES;
use crate::connector::ConnectorError;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;

/// Throttled: HTTP 429 (400 on older APIs) with this code.
const THROTTLED_CODE: i64 = 99991400;
/// When a throttled answer says nothing about when to retry.
const DEFAULT_THROTTLE_WAIT: Duration = Duration::from_secs(1);
/// Never wait longer than this for one throttled call: the caller is waiting.
pub const MAX_THROTTLE_WAIT: Duration = Duration::from_secs(10);

#[derive(Debug, Deserialize)]
pub struct TokenAnswer {
    #[serde(default)]
    pub code: i64,
    #[serde(default)]
    pub msg: String,
    #[serde(default)]
    pub tenant_access_token: String,
    /// Seconds.
    #[serde(default)]
    pub expire: u64,
}

#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(default)]
    code: i64,
    #[serde(default)]
    msg: String,
    #[serde(default)]
    data: Value,
    /// Older APIs (`bot/v3/info`) answer beside `code` and `msg`, not
    /// under `data`: then these fields are the data.
    #[serde(flatten)]
    rest: serde_json::Map<String, Value>,
}

#[derive(Debug, PartialEq)]
pub enum Outcome {
    Done(Value),
    Throttled(Duration),
    InvalidToken(String),
    Refused(String),
}

/// Reads one answer: status, the `x-ogw-ratelimit-reset` header, body.
pub fn classify(status: StatusCode, reset: Option<&str>, body: &[u8]) -> Outcome {
    let envelope: Option<Envelope> = serde_json::from_slice(body).ok();
    let code = envelope.as_ref().map(|e| e.code);
    if status == StatusCode::TOO_MANY_REQUESTS || code == Some(THROTTLED_CODE) {
        return Outcome::Throttled(throttle_wait(reset));
    }
    match envelope {
        Some(e) if INVALID_TOKEN_CODES.contains(&e.code) => {
            Outcome::InvalidToken(format!("feishu code {}: {}", e.code, e.msg))
        }
        Some(e) if e.code != 0 => Outcome::Refused(format!("feishu code {}: {}", e.code, e.msg)),
        Some(e) if status.is_success() && e.data.is_null() => Outcome::Done(Value::Object(e.rest)),
        Some(e) if status.is_success() => Outcome::Done(e.data),
        _ => Outcome::Refused(format!("feishu answered HTTP {status}")),
    }
}

/// The reset header is in seconds (possibly fractional); bounded.
fn throttle_wait(reset: Option<&str>) -> Duration {
    reset
        .and_then(|r| r.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| Duration::from_secs_f64(s.min(MAX_THROTTLE_WAIT.as_secs_f64())))
        .unwrap_or(DEFAULT_THROTTLE_WAIT)
}

/// A failed exchange: no answer in time is a 504, anything else a 502.
pub fn transport_error(what: &str, err: reqwest::Error) -> ConnectorError {
    if err.is_timeout() {
        return ConnectorError::Timeout(format!("{what}: feishu did not answer in time"));
    }
    let mut cause: &dyn std::error::Error = &err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    ConnectorError::Rejected(format!("{what}: cannot reach feishu: {cause}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_by_code_first() {
        let ok = br#"{"code":0,"msg":"success","data":{"image_key":"img_1"}}"#;
        assert_eq!(
            classify(StatusCode::OK, None, ok),
            Outcome::Done(serde_json::json!({"image_key": "img_1"}))
        );
        let refused = br#"{"code":230002,"msg":"Bot can NOT be out of the chat."}"#;
        assert_eq!(
            classify(StatusCode::OK, None, refused),
            Outcome::Refused("feishu code 230002: Bot can NOT be out of the chat.".into())
        );
        let old_throttle = br#"{"code":99991400,"msg":"request trigger frequency limit"}"#;
        assert_eq!(
            classify(StatusCode::BAD_REQUEST, Some("2"), old_throttle),
            Outcome::Throttled(Duration::from_secs(2))
        );
        assert_eq!(
            classify(StatusCode::TOO_MANY_REQUESTS, Some("9999"), b""),
            Outcome::Throttled(MAX_THROTTLE_WAIT)
        );
        let stale = br#"{"code":99991663,"msg":"Invalid access token"}"#;
        assert!(matches!(
            classify(StatusCode::BAD_REQUEST, None, stale),
            Outcome::InvalidToken(_)
        ));
        assert!(matches!(
            classify(StatusCode::BAD_GATEWAY, None, b"<html>"),
            Outcome::Refused(_)
        ));
    }
}
