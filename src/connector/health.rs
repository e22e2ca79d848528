//! A bot's connector health as the probes show it: whether messages can
//! really arrive, not merely whether a socket is open. The local connector
//! is up while the bot runs; a Feishu long connection is up while its pings
//! are answered (its session reports here); a webhook bot is `connected`
//! only while an event or handshake arrived within its window, else `idle`.
//! One small lock per bot, taken only on connector events and probes.

use crate::config::ConnectorKind;
use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectorState {
    /// Messages can arrive (and, for a long connection, pings are answered).
    Connected,
    /// Opening the long connection (first time or after a drop).
    Connecting,
    /// The long connection dropped or went silent; a reconnect is pending.
    Disconnected,
    /// A webhook bot that heard nothing from the platform within its window.
    Idle,
}

/// `connector` in `GET /api/v1/probes/internal`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConnectorProbe {
    pub kind: ConnectorKind,
    pub state: ConnectorState,
    /// Since when the state has been `connected`; `null` otherwise.
    pub connected_since: Option<DateTime<Utc>>,
    /// The last inbound event from the platform.
    pub last_event_at: Option<DateTime<Utc>>,
    /// The last pong answering our ping (Feishu's long connection), or
    /// the last heartbeat `meta_event` (OneBot).
    pub last_pong_at: Option<DateTime<Utc>>,
    /// Why the connection last failed or dropped (kept after a recovery).
    pub last_error: Option<String>,
}

/// How a connector's liveness is judged.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// The embedded connector: up while the bot runs.
    Always,
    /// A long connection: its session says when it is up.
    Session,
    /// A webhook: up while the platform was heard from within the window.
    Window(Duration),
}

/// Shared by a bot's connector tasks and its probe. Cloning is cheap.
#[derive(Clone)]
pub struct ConnectorHealth {
    inner: Arc<Inner>,
}

struct Inner {
    kind: ConnectorKind,
    mode: Mode,
    state: Mutex<Health>,
}

#[derive(Default)]
struct Health {
    /// For `Session` only: the session's own word.
    session: Option<ConnectorState>,
    connected_since: Option<DateTime<Utc>>,
    /// The last event or handshake (what a webhook's window measures).
    last_contact: Option<DateTime<Utc>>,
    last_event_at: Option<DateTime<Utc>>,
    last_pong_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
}

impl ConnectorHealth {
    /// The embedded connector: connected from now on.
    pub fn local() -> Self {
        let health = Self::new(ConnectorKind::Local, Mode::Always);
        health.inner.state.lock().connected_since = Some(Utc::now());
        health
    }

    /// A Feishu long connection, `connecting` until its session opens.
    pub fn long_connection() -> Self {
        let health = Self::new(ConnectorKind::Feishu, Mode::Session);
        health.inner.state.lock().session = Some(ConnectorState::Connecting);
        health
    }

    /// Telegram's long polling, `connecting` until `getMe` answers.
    pub fn polling() -> Self {
        let health = Self::new(ConnectorKind::Telegram, Mode::Session);
        health.inner.state.lock().session = Some(ConnectorState::Connecting);
        health
    }

    /// A OneBot WebSocket (either side dials), `connecting` until it opens.
    pub fn onebot() -> Self {
        let health = Self::new(ConnectorKind::Onebot, Mode::Session);
        health.inner.state.lock().session = Some(ConnectorState::Connecting);
        health
    }

    /// A Telegram webhook bot, `connected` while heard from within `window`.
    pub fn telegram_webhook(window: Duration) -> Self {
        Self::new(ConnectorKind::Telegram, Mode::Window(window))
    }

    /// A Feishu webhook bot, `connected` while heard from within `window`.
    pub fn webhook(window: Duration) -> Self {
        Self::new(ConnectorKind::Feishu, Mode::Window(window))
    }

    fn new(kind: ConnectorKind, mode: Mode) -> Self {
        Self {
            inner: Arc::new(Inner {
                kind,
                mode,
                state: Mutex::new(Health::default()),
            }),
        }
    }

    /// The long connection is opening (again).
    pub fn connecting(&self) {
        self.inner.state.lock().session = Some(ConnectorState::Connecting);
    }

    /// The long connection's session is open and answering.
    pub fn connected(&self) {
        let mut h = self.inner.state.lock();
        h.session = Some(ConnectorState::Connected);
        h.connected_since = Some(Utc::now());
    }

    /// The long connection dropped (or was declared dead) for `reason`.
    pub fn disconnected(&self, reason: &str) {
        let mut h = self.inner.state.lock();
        h.session = Some(ConnectorState::Disconnected);
        h.connected_since = None;
        h.last_error = Some(reason.to_string());
    }

    /// A pong answered one of our pings.
    pub fn pong(&self) {
        self.inner.state.lock().last_pong_at = Some(Utc::now());
    }

    /// An event arrived from the platform.
    pub fn event(&self) {
        let now = Utc::now();
        let mut h = self.inner.state.lock();
        self.contact(&mut h, now);
        h.last_event_at = Some(now);
    }

    /// The platform checked the webhook (URL verification).
    pub fn handshake(&self) {
        let mut h = self.inner.state.lock();
        self.contact(&mut h, Utc::now());
    }

    fn contact(&self, h: &mut Health, now: DateTime<Utc>) {
        if let Mode::Window(window) = self.inner.mode {
            if !within(h.last_contact, window, now) {
                h.connected_since = Some(now);
            }
        }
        h.last_contact = Some(now);
    }

    pub fn state(&self) -> ConnectorState {
        self.probe().state
    }

    pub fn probe(&self) -> ConnectorProbe {
        let h = self.inner.state.lock();
        let state = match self.inner.mode {
            Mode::Always => ConnectorState::Connected,
            Mode::Session => h.session.unwrap_or(ConnectorState::Connecting),
            Mode::Window(window) if within(h.last_contact, window, Utc::now()) => {
                ConnectorState::Connected
            }
            Mode::Window(_) => ConnectorState::Idle,
        };
        ConnectorProbe {
            kind: self.inner.kind,
            state,
            connected_since: (state == ConnectorState::Connected)
                .then_some(h.connected_since)
                .flatten(),
            last_event_at: h.last_event_at,
            last_pong_at: h.last_pong_at,
            last_error: h.last_error.clone(),
        }
    }
}

fn within(at: Option<DateTime<Utc>>, window: Duration, now: DateTime<Utc>) -> bool {
    at.is_some_and(|at| (now - at).to_std().is_ok_and(|ago| ago <= window) || at > now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_is_idle_until_heard_from_and_again_after_its_window() {
        let health = ConnectorHealth::webhook(Duration::from_secs(60));
        assert_eq!(health.state(), ConnectorState::Idle);
        health.handshake();
        assert_eq!(health.state(), ConnectorState::Connected);
        health.inner.state.lock().last_contact = Some(Utc::now() - chrono::Duration::seconds(61));
        assert_eq!(health.state(), ConnectorState::Idle);
        assert!(health.probe().connected_since.is_none());
    }

    #[test]
    fn a_long_connection_says_why_it_dropped() {
        let health = ConnectorHealth::long_connection();
        assert_eq!(health.state(), ConnectorState::Connecting);
        health.connected();
        assert!(health.probe().connected_since.is_some());
        health.disconnected("two pings unanswered");
        let probe = health.probe();
        assert_eq!(probe.state, ConnectorState::Disconnected);
        assert_eq!(probe.last_error.as_deref(), Some("two pings unanswered"));
    }
}
