//! The access guard: bearer auth, per-token rate limit, throttling of failed
//! attempts per client address, and the declared body size.

use super::auth::{Authenticator, Principal};
use crate::error::Error;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, ResponseError};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

/// Paths that answer without a token.
const OPEN_PATHS: &[&str] = &["/healthz", "/openapi.json"];

pub struct AccessGuard {
    authenticator: Arc<dyn Authenticator>,
    per_token: DefaultKeyedRateLimiter<String>,
    failed_auth: DefaultKeyedRateLimiter<IpAddr>,
    body_limit: usize,
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
        }
    }

    fn check(&self, req: &ServiceRequest) -> Result<Option<Principal>, Error> {
        if OPEN_PATHS.contains(&req.path()) {
            return Ok(None);
        }
        if req
            .headers()
            .get_all(header::AUTHORIZATION)
            .nth(1)
            .is_some()
        {
            // Which one a proxy or a server would believe differs: refuse.
            return Err(Error::bad_request(
                "more than one Authorization header; send exactly one",
            ));
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
                    return Err(too_many(wait, "too many failed authentication attempts"));
                }
                return Err(Error::Unauthorized(match token {
                    None => "missing bearer token (Authorization: Bearer <token>)".into(),
                    Some(_) => "invalid token".into(),
                }));
            }
        };
        if let Err(wait) = self.per_token.check_key(&principal.bucket) {
            return Err(too_many(wait, "rate limit exceeded"));
        }
        if declared_length(req).is_some_and(|len| len > self.body_limit) {
            return Err(Error::PayloadTooLarge(format!(
                "request body exceeds the limit of {} bytes",
                self.body_limit
            )));
        }
        Ok(Some(principal))
    }
}

fn too_many(wait: governor::NotUntil<governor::clock::QuantaInstant>, what: &str) -> Error {
    let secs = wait
        .wait_time_from(DefaultClock::default().now())
        .as_secs_f64()
        .ceil()
        .max(1.0) as u64;
    Error::TooManyRequests {
        message: format!("{what}; retry in {secs} s"),
        retry_after_secs: secs,
    }
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
        Err(err) => Ok(req
            .into_response(err.error_response())
            .map_into_right_body()),
    }
}
