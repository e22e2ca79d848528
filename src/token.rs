//! Secret tokens: generation and constant-time comparison.

use base64::Engine;
use rand::RngCore;
use subtle::ConstantTimeEq;

/// 32 random bytes, URL-safe base64 without padding.
pub fn generate_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Compares in time independent of where the strings differ.
pub fn tokens_equal(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Whether a platform callback presented the bot's configured secret (a
/// Telegram `secret_token`, a OneBot `access_token`, a Feishu Verification
/// Token). An unset secret matches nothing: where one is optional, the
/// caller decides before asking.
pub fn secret_matches(expected: &str, presented: Option<&str>) -> bool {
    !expected.is_empty() && presented.is_some_and(|given| tokens_equal(given, expected))
}
