//! Who a token speaks for.

pub use crate::token::{generate_token, tokens_equal};

/// Who a request speaks for, placed in the request's extensions by the guard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The rate-limit bucket: one per token, without keeping the token.
    pub bucket: String,
    /// A token limited to one conversation (agent runs); `None` acts anywhere.
    pub session_key: Option<String>,
    /// The whole conversation of a limited token: the scope of a request
    /// that names none.
    pub scope: Option<crate::scope::Scope>,
}

impl Principal {
    pub fn full(bucket: impl Into<String>) -> Self {
        Self {
            bucket: bucket.into(),
            session_key: None,
            scope: None,
        }
    }

    /// A token limited to `scope` (which must have a session key).
    pub fn scoped(bucket: impl Into<String>, scope: crate::scope::Scope) -> Self {
        Self {
            bucket: bucket.into(),
            session_key: scope.session_key(),
            scope: Some(scope),
        }
    }
}

/// Decides whether a bearer token is valid on one server.
pub trait Authenticator: Send + Sync + 'static {
    fn authenticate(&self, token: &str) -> Option<Principal>;
}

/// A single fixed token (the supervisor's admin token, a bot's main token).
pub struct StaticTokenAuth {
    token: String,
    bucket: String,
}

impl StaticTokenAuth {
    pub fn new(token: String, bucket: impl Into<String>) -> Self {
        Self {
            token,
            bucket: bucket.into(),
        }
    }
}

impl Authenticator for StaticTokenAuth {
    fn authenticate(&self, token: &str) -> Option<Principal> {
        tokens_equal(token, &self.token).then(|| Principal::full(self.bucket.clone()))
    }
}
