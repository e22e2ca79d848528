//! The access guard: bearer auth, per-token rate limit, throttling of failed
//! attempts per client address, and the declared body size.

use super::auth::{Authenticator, Principal};
use crate::error::{Code, Error, ErrorCode};
use crate::metrics::HttpMetrics;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, ResponseError};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// Paths that answer without a token.
const OPEN_PATHS: &[&str] = &["/healthz", "/readyz", "/openapi.json"];

/// Why the guard turned a request away.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("missing bearer token (Authorization: Bearer <token>)")]
    MissingToken,
    #[error("more than one Authorization header; send exactly one")]
    TwoTokens,
    #[error("invalid token")]
    InvalidToken,
    #[error("too many failed authentication attempts; retry in {0} s")]
    AuthThrottled(u64),
    #[error("rate limit exceeded; retry in {0} s")]
    RateLimited(u64),
    #[error("request body exceeds the limit of {0} bytes")]
    BodyTooLarge(usize),
}

impl ErrorCode for AccessError {
    fn code(&self) -> Code {
        match self {
            AccessError::MissingToken => Code::MissingToken,
            AccessError::TwoTokens => Code::InvalidHeader,
            AccessError::InvalidToken => Code::InvalidToken,
            AccessError::AuthThrottled(_) => Code::AuthThrottled,
            AccessError::RateLimited(_) => Code::RateLimited,
            AccessError::BodyTooLarge(_) => Code::BodyTooLarge,
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            AccessError::AuthThrottled(secs) | AccessError::RateLimited(secs) => Some(*secs),
            _ => None,
        }
    }
}

pub struct AccessGuard {
    authenticator: Arc<dyn Authenticator>,
    per_token: DefaultKeyedRateLimiter<String>,
    failed_auth: DefaultKeyedRateLimiter<IpAddr>,
    body_limit: usize,
    /// Checks since the buckets were last pruned.
    checks: AtomicU32,
    /// More paths that answer without a token (a trailing `*`: a prefix).
    open: &'static [&'static str],
}

impl AccessGuard {
    /// `failed_auth_per_minute`: failed authentications allowed per client
    /// address and minute.
    pub fn new(
        authenticator: Arc<dyn Authenticator>,
        requests_per_minute: u32,
        failed_auth_per_minute: u32,
        body_limit: usize,
    ) -> Self {
        let per_minute = |n: u32| Quota::per_minute(NonZeroU32::new(n.max(1)).expect("n >= 1"));
        Self {
            authenticator,
            per_token: RateLimiter::keyed(per_minute(requests_per_minute)),
            failed_auth: RateLimiter::keyed(per_minute(failed_auth_per_minute)),
            body_limit,
            checks: AtomicU32::new(0),
            open: &[],
        }
    }

    /// Lets `paths` through without a token (the console's page and login,
    /// which prove themselves otherwise); a path ending in `*` is a prefix.
    pub fn with_open_paths(mut self, paths: &'static [&'static str]) -> Self {
        self.open = paths;
        self
    }

    fn is_open(&self, path: &str) -> bool {
        OPEN_PATHS.contains(&path)
            || self.open.iter().any(|p| match p.strip_suffix('*') {
                Some(prefix) => path.starts_with(prefix),
                None => path == *p,
            })
    }

    fn check(&self, req: &ServiceRequest) -> Result<Option<Principal>, AccessError> {
        self.prune_now_and_then();
        if self.is_open(req.path()) {
            return Ok(None);
        }
        if req
            .headers()
            .get_all(header::AUTHORIZATION)
            .nth(1)
            .is_some()
        {
            // Which one a proxy or a server would believe differs: refuse.
            return Err(AccessError::TwoTokens);
        }
        let token = bearer(req);
        let principal = match token.and_then(|t| self.authenticator.authenticate(t)) {
            Some(principal) => principal,
            None => {
                let ip = req
                    .peer_addr()
                    .map(|a| a.ip())
                    .unwrap_or(IpAddr::from([127, 0, 0, 1]));
                if let Err(wait) = self.failed_auth.check_key(&ip) {
                    return Err(AccessError::AuthThrottled(seconds(wait)));
                }
                return Err(match token {
                    None => AccessError::MissingToken,
                    Some(_) => AccessError::InvalidToken,
                });
            }
        };
        if let Err(wait) = self.per_token.check_key(&principal.bucket) {
            return Err(AccessError::RateLimited(seconds(wait)));
        }
        if declared_length(req).is_some_and(|len| len > self.body_limit) {
            return Err(AccessError::BodyTooLarge(self.body_limit));
        }
        Ok(Some(principal))
    }
}

/// Checks between two prunes of the rate-limit buckets.
const PRUNE_EVERY: u32 = 1024;

impl AccessGuard {
    /// Every run gets its own token, hence its own bucket: without pruning
    /// the buckets of finished runs (and of past failed clients) would pile
    /// up for the life of the bot.
    fn prune_now_and_then(&self) {
        if self.checks.fetch_add(1, Ordering::Relaxed) + 1 >= PRUNE_EVERY {
            self.checks.store(0, Ordering::Relaxed);
            self.prune();
        }
    }

    /// Forgets every bucket that is full again (as good as a new one).
    fn prune(&self) {
        self.per_token.retain_recent();
        self.per_token.shrink_to_fit();
        self.failed_auth.retain_recent();
        self.failed_auth.shrink_to_fit();
    }
}

/// Whole seconds until the limiter lets the next request through (≥ 1).
fn seconds(wait: governor::NotUntil<governor::clock::QuantaInstant>) -> u64 {
    wait.wait_time_from(DefaultClock::default().now())
        .as_secs_f64()
        .ceil()
        .max(1.0) as u64
}

fn bearer(req: &ServiceRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

fn declared_length(req: &ServiceRequest) -> Option<usize> {
    req.headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// Middleware: runs [`AccessGuard::check`] and stores the principal.
pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let guard = req
        .app_data::<web::Data<AccessGuard>>()
        .cloned()
        .expect("AccessGuard registered as app data");
    match guard.check(&req) {
        Ok(principal) => {
            if let Some(principal) = principal {
                req.extensions_mut().insert(principal);
            }
            Ok(next.call(req).await?.map_into_left_body())
        }
        Err(err) => {
            count(&req, &err);
            Ok(req
                .into_response(Error::from(err).error_response())
                .map_into_right_body())
        }
    }
}

/// Refusals the server's metrics count: failed authentication (throttled
/// or not) and the rate limit.
fn count(req: &ServiceRequest, err: &AccessError) {
    let Some(metrics) = req.app_data::<web::Data<HttpMetrics>>() else {
        return;
    };
    match err {
        AccessError::MissingToken | AccessError::InvalidToken | AccessError::AuthThrottled(_) => {
            metrics.auth_failed()
        }
        AccessError::RateLimited(_) => metrics.rate_limited(),
        AccessError::TwoTokens | AccessError::BodyTooLarge(_) => {}
    }
}

#[cfg(test)]
mod prune_tests {
    use super::*;
    use crate::http::StaticTokenAuth;
    use std::time::Duration;

    #[test]
    fn the_bucket_of_an_expired_run_token_is_gone_after_a_prune() {
        // 6000 a minute: a used bucket is full again after 10 ms.
        let guard = AccessGuard::new(
            Arc::new(StaticTokenAuth::new("main".into(), "main")),
            6000,
            30,
            1024,
        );
        guard
            .per_token
            .check_key(&"run-token-1".to_string())
            .unwrap();
        guard
            .per_token
            .check_key(&"run-token-2".to_string())
            .unwrap();
        guard
            .failed_auth
            .check_key(&IpAddr::from([10, 0, 0, 1]))
            .unwrap();
        assert_eq!(guard.per_token.len(), 2);
        std::thread::sleep(Duration::from_millis(100));
        // A token still in use keeps its bucket.
        for _ in 0..50 {
            let _ = guard.per_token.check_key(&"busy".to_string());
        }
        for _ in 0..PRUNE_EVERY {
            guard.prune_now_and_then();
        }
        assert_eq!(guard.per_token.len(), 1, "only `busy` is left");
        // 30 a minute: this failure is recent, and is remembered.
        assert_eq!(guard.failed_auth.len(), 1);
    }
}
