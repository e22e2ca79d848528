//! Console sessions (in memory: a restart logs everyone out) and the
//! failed-login budget per client address.

use super::ConsoleError;
use crate::http::{generate_token, tokens_equal};
use dashmap::DashMap;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

/// How long a login lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Failed logins allowed per client address and minute.
pub const FAILED_LOGINS_PER_MINUTE: u32 = 10;

#[derive(Clone)]
pub struct Session {
    pub csrf: String,
    expires: Instant,
}

pub struct Sessions {
    admin_token: String,
    live: DashMap<String, Session>,
    failed: DefaultKeyedRateLimiter<IpAddr>,
    /// Addresses over budget, until when: no token is even compared then,
    /// so guessing on does not tell right from wrong.
    blocked: DashMap<IpAddr, Instant>,
}

impl Sessions {
    pub fn new(admin_token: String) -> Self {
        let quota = Quota::per_minute(NonZeroU32::new(FAILED_LOGINS_PER_MINUTE).expect("> 0"));
        Self {
            admin_token,
            live: DashMap::new(),
            failed: RateLimiter::keyed(quota),
            blocked: DashMap::new(),
        }
    }

    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// Checks the admin token; a new session id and its session on success.
    pub fn login(&self, ip: IpAddr, token: &str) -> Result<(String, Session), ConsoleError> {
        let now = Instant::now();
        if let Some(until) = self.blocked.get(&ip).map(|u| *u) {
            if until > now {
                return Err(ConsoleError::Throttled(secs(until - now)));
            }
            self.blocked.remove(&ip);
        }
        if !tokens_equal(token, &self.admin_token) {
            if let Err(wait) = self.failed.check_key(&ip) {
                let wait = wait.wait_time_from(DefaultClock::default().now());
                self.blocked.insert(ip, now + wait);
                return Err(ConsoleError::Throttled(secs(wait)));
            }
            return Err(ConsoleError::WrongToken);
        }
        self.live.retain(|_, s| s.expires > now);
        let session = Session {
            csrf: generate_token(),
            expires: now + SESSION_TTL,
        };
        let id = generate_token();
        self.live.insert(id.clone(), session.clone());
        Ok((id, session))
    }

    /// The live session of a cookie value.
    pub fn get(&self, id: &str) -> Option<Session> {
        let session = self.live.get(id)?.clone();
        (session.expires > Instant::now()).then_some(session)
    }

    pub fn logout(&self, id: &str) {
        self.live.remove(id);
    }
}

fn secs(d: Duration) -> u64 {
    d.as_secs_f64().ceil().max(1.0) as u64
}

/// Whether `given` is the session's CSRF token.
pub fn csrf_ok(session: &Session, given: Option<&str>) -> bool {
    given.is_some_and(|g| tokens_equal(g, &session.csrf))
}
