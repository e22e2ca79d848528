//! The webhook transport's checks, apart from HTTP: signature, decryption,
//! the `url_verification` handshake and the Verification Token. The
//! supervisor's events listener calls [`open`] and answers what it returns.

use super::event::{self, Event};
use crate::config::ConnectorConfig;
use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, KeyIvInit};
use base64::Engine as _;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The signature headers (Go SDK `event/model.go`).
pub const TIMESTAMP_HEADER: &str = "X-Lark-Request-Timestamp";
pub const NONCE_HEADER: &str = "X-Lark-Request-Nonce";
pub const SIGNATURE_HEADER: &str = "X-Lark-Signature";

/// A signed callback older (or further ahead) than this is a replay.
const MAX_SKEW_SECS: i64 = 5 * 60;

/// One callback as it arrived.
pub struct Request<'a> {
    pub timestamp: &'a str,
    pub nonce: &'a str,
    pub signature: Option<&'a str>,
    pub body: &'a [u8],
}

/// What the callback asks for.
#[derive(Debug)]
pub enum Callback {
    /// `url_verification`: answer `{"challenge": …}`.
    Challenge(String),
    Event(Box<Event>),
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Bad or stale signature, or a wrong token: nothing is processed.
    #[error("{0}")]
    BadSignature(String),
    /// The body cannot be read as a Feishu callback.
    #[error("{0}")]
    InvalidEvent(String),
}

impl crate::error::ErrorCode for WebhookError {
    fn code(&self) -> crate::error::Code {
        use crate::error::Code;
        match self {
            WebhookError::BadSignature(_) => Code::InvalidSignature,
            WebhookError::InvalidEvent(_) => Code::InvalidEvent,
        }
    }
}

#[derive(Deserialize)]
struct Outer {
    encrypt: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    challenge: Option<String>,
    token: Option<String>,
}

/// Checks and opens one callback for a bot with these connector settings.
///
/// With an Encrypt Key, a signature that is present must match (checked
/// before anything is decrypted) and every request but the handshake must
/// be signed: the Go SDK skips the signature for `url_verification`, which
/// the Verification Token protects instead.
pub fn open(connector: &ConnectorConfig, req: &Request) -> Result<Callback, WebhookError> {
    let key = connector.encrypt_key.as_str();
    if let (false, Some(signature)) = (key.is_empty(), req.signature) {
        if !signature_matches(req, key, signature) {
            return Err(WebhookError::BadSignature(
                "invalid X-Lark-Signature".into(),
            ));
        }
        // The signature covers the timestamp: a fresh one means the body is
        // not an old callback sent again.
        check_fresh(req.timestamp, chrono::Utc::now().timestamp())?;
    }
    let outer: Outer = serde_json::from_slice(req.body)
        .map_err(|e| WebhookError::InvalidEvent(format!("invalid JSON body: {e}")))?;
    let (plain, outer) = match outer.encrypt {
        Some(cipher) => {
            if key.is_empty() {
                return Err(WebhookError::InvalidEvent(
                    "the body is encrypted but the bot has no connector.encrypt_key".into(),
                ));
            }
            let plain = decrypt(&cipher, key)?;
            let inner: Outer = serde_json::from_slice(&plain)
                .map_err(|e| WebhookError::InvalidEvent(format!("invalid decrypted body: {e}")))?;
            (plain, inner)
        }
        None => (req.body.to_vec(), outer),
    };
    if outer.kind.as_deref() == Some("url_verification") {
        check_token(connector, outer.token.as_deref().unwrap_or(""))?;
        return Ok(Callback::Challenge(outer.challenge.unwrap_or_default()));
    }
    if !key.is_empty() && req.signature.is_none() {
        return Err(WebhookError::BadSignature(
            "missing X-Lark-Signature".into(),
        ));
    }
    let event = event::parse(&plain).map_err(|e| WebhookError::InvalidEvent(e.to_string()))?;
    check_token(connector, &event.token)?;
    Ok(Callback::Event(Box::new(event)))
}

/// `timestamp` (Unix seconds) within [`MAX_SKEW_SECS`] of `now`.
fn check_fresh(timestamp: &str, now: i64) -> Result<(), WebhookError> {
    let fresh = timestamp
        .trim()
        .parse::<i64>()
        .is_ok_and(|t| t.abs_diff(now) <= MAX_SKEW_SECS as u64);
    if fresh {
        Ok(())
    } else {
        Err(WebhookError::BadSignature(format!(
            "stale or invalid X-Lark-Request-Timestamp: a signed callback must be at most {} minutes old",
            MAX_SKEW_SECS / 60
        )))
    }
}

/// The Verification Token, when the bot has one configured.
fn check_token(connector: &ConnectorConfig, token: &str) -> Result<(), WebhookError> {
    let expected = &connector.verification_token;
    if expected.is_empty() || crate::token::secret_matches(expected, Some(token)) {
        Ok(())
    } else {
        Err(WebhookError::BadSignature(
            "the verification token does not match".into(),
        ))
    }
}

/// hex SHA-256 of timestamp + nonce + encrypt key + raw body.
pub fn signature(timestamp: &str, nonce: &str, encrypt_key: &str, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(timestamp.as_bytes());
    hash.update(nonce.as_bytes());
    hash.update(encrypt_key.as_bytes());
    hash.update(body);
    hex::encode(hash.finalize())
}

fn signature_matches(req: &Request, key: &str, given: &str) -> bool {
    let expected = signature(req.timestamp, req.nonce, key, req.body);
    bool::from(
        expected
            .as_bytes()
            .ct_eq(given.trim().to_ascii_lowercase().as_bytes()),
    )
}

/// base64 → IV (first 16 bytes) + AES-256-CBC with key SHA-256(encrypt key),
/// PKCS7 padding.
pub fn decrypt(encrypted: &str, encrypt_key: &str) -> Result<Vec<u8>, WebhookError> {
    let bad = |what: &str| WebhookError::InvalidEvent(format!("cannot decrypt the body: {what}"));
    let data = base64::engine::general_purpose::STANDARD
        .decode(encrypted.trim())
        .map_err(|_| bad("not base64"))?;
    if data.len() < 32 || data.len() % 16 != 0 {
        return Err(bad("wrong length"));
    }
    let key: [u8; 32] = Sha256::digest(encrypt_key.as_bytes()).into();
    let (iv, cipher) = data.split_at(16);
    cbc::Decryptor::<aes::Aes256>::new(&key.into(), iv.into())
        .decrypt_padded_vec_mut::<Pkcs7>(cipher)
        .map_err(|_| bad("wrong key or padding"))
}

/// The inverse of [`decrypt`], for tests and tools that play Feishu.
pub fn encrypt(plain: &[u8], encrypt_key: &str, iv: [u8; 16]) -> String {
    use aes::cipher::BlockEncryptMut;
    let key: [u8; 32] = Sha256::digest(encrypt_key.as_bytes()).into();
    let mut out = iv.to_vec();
    out.extend(
        cbc::Encryptor::<aes::Aes256>::new(&key.into(), &iv.into())
            .encrypt_padded_vec_mut::<Pkcs7>(plain),
    );
    base64::engine::general_purpose::STANDARD.encode(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_fresh_timestamps_pass() {
        let now = 1_800_000_000;
        for ok in ["1800000000", "1799999700", "1800000300", " 1800000000 "] {
            assert!(check_fresh(ok, now).is_ok(), "{ok}");
        }
        for stale in ["1799999699", "1800000301", "", "soon", "1800000000000"] {
            assert!(check_fresh(stale, now).is_err(), "{stale}");
        }
    }

    #[test]
    fn decrypt_reverses_encrypt() {
        let sealed = encrypt(b"{\"a\":1}", "k3y", [7; 16]);
        assert_eq!(decrypt(&sealed, "k3y").unwrap(), b"{\"a\":1}");
        assert!(decrypt(&sealed, "other").is_err_and(|e| e.to_string().contains("decrypt")));
    }
}
