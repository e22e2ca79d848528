//! One OneBot WebSocket at a time, whichever side opened it: actions go out
//! as `{"action","params","echo"}` and their answers are matched back by
//! `echo` (answers may come in any order); events come in on the same
//! socket. A heartbeat `meta_event` is the implementation's pulse: the
//! probe shows the last one, and three intervals without any frame end the
//! session (forward mode then reconnects).

use super::event;
use crate::connector::inbound::InboundSink;
use crate::connector::{ConnectorError, ConnectorHealth};
use futures_util::{Stream, StreamExt};
use parking_lot::Mutex;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

/// Text frames to write on the open socket.
pub type Outbox = mpsc::UnboundedSender<String>;

/// The bot's side of the socket, shared by its connector (actions) and its
/// inbound side (sessions). Cloning is cheap.
#[derive(Clone)]
pub struct Link {
    inner: Arc<Inner>,
}

struct Inner {
    timeout: Duration,
    /// The open session's writer (with its number); `None` between sessions.
    out: watch::Sender<Option<(u64, Outbox)>>,
    /// `echo` → the caller waiting for that answer.
    pending: Mutex<HashMap<String, oneshot::Sender<Value>>>,
    next: AtomicU64,
    health: ConnectorHealth,
    /// `alice_connector_up`: 1 while a session is open.
    metrics: crate::metrics::BotMetrics,
    /// Cancelled when the bot stops: every session ends (and its socket
    /// closes), so nothing reaches a bot that no longer runs.
    stopped: tokio_util::sync::CancellationToken,
}

impl Link {
    /// Calls wait at most `timeout` for a connection and their answer.
    pub fn new(
        timeout: Duration,
        health: ConnectorHealth,
        metrics: crate::metrics::BotMetrics,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                timeout,
                out: watch::channel(None).0,
                pending: Mutex::default(),
                next: AtomicU64::new(1),
                health,
                metrics,
                stopped: Default::default(),
            }),
        }
    }

    /// One action and its `data`; waits for a session when none is open
    /// (a reconnect in progress), all within the timeout.
    pub async fn call(&self, action: &str, params: Value) -> Result<Value, ConnectorError> {
        let echo = format!("alice-{}", self.inner.next.fetch_add(1, Ordering::Relaxed));
        let frame = json!({"action": action, "params": params, "echo": echo}).to_string();
        let deadline = tokio::time::Instant::now() + self.inner.timeout;
        let (tx, rx) = oneshot::channel();
        let mut tx = Some(tx);
        let mut sessions = self.inner.out.subscribe();
        let sent = tokio::time::timeout_at(deadline, async {
            loop {
                let current = sessions.borrow_and_update().clone();
                if let Some((_, out)) = current {
                    let mut pending = self.inner.pending.lock();
                    if let Some(tx) = tx.take() {
                        pending.insert(echo.clone(), tx);
                    }
                    if out.send(frame.clone()).is_ok() {
                        return true;
                    }
                    tx = pending.remove(&echo);
                }
                if sessions.changed().await.is_err() {
                    return false;
                }
            }
        })
        .await;
        let _forget = Forget(self, &echo);
        if !matches!(sent, Ok(true)) {
            return Err(ConnectorError::Timeout(format!(
                "{action}: no connection to the OneBot implementation"
            )));
        }
        match tokio::time::timeout_at(deadline, rx).await {
            Ok(Ok(answer)) => answer_of(action, answer),
            Ok(Err(_)) => Err(ConnectorError::Timeout(format!(
                "{action}: the connection dropped before the answer"
            ))),
            Err(_) => Err(ConnectorError::Timeout(format!(
                "{action}: no answer within {} s",
                self.inner.timeout.as_secs()
            ))),
        }
    }

    /// A session opened: calls go to `out` from now on.
    fn open(&self, out: Outbox) -> u64 {
        let id = self.inner.next.fetch_add(1, Ordering::Relaxed);
        self.inner.out.send_replace(Some((id, out)));
        self.inner.health.connected();
        self.inner.metrics.connector_up(true);
        id
    }

    /// Session `id` ended: its callers learn at once (unless a newer
    /// session took its place, which then answers).
    fn close(&self, id: u64, reason: &str) {
        let current = self.inner.out.borrow().as_ref().map(|(n, _)| *n);
        if current == Some(id) {
            self.inner.out.send_replace(None);
            self.inner.pending.lock().clear();
            self.inner.health.disconnected(reason);
            self.inner.metrics.connector_up(false);
        }
    }

    fn answered(&self, echo: &str, answer: Value) {
        if let Some(tx) = self.inner.pending.lock().remove(echo) {
            let _ = tx.send(answer);
        }
    }
}

/// Drops a call's pending entry however the call ends.
struct Forget<'a>(&'a Link, &'a str);

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        self.0.inner.pending.lock().remove(self.1);
    }
}

/// `retcode` 0 (ok) or 1 (async) is success; anything else a refusal
/// (go-cqhttp, NapCat and the spec disagree on the codes, not on that).
fn answer_of(action: &str, answer: Value) -> Result<Value, ConnectorError> {
    let ok = match answer["retcode"].as_i64() {
        Some(code) => code == 0 || code == 1,
        None => matches!(answer["status"].as_str(), Some("ok" | "async")),
    };
    if ok {
        return Ok(answer["data"].clone());
    }
    let why = ["wording", "msg", "message"]
        .iter()
        .find_map(|k| answer[*k].as_str())
        .unwrap_or("no message");
    Err(ConnectorError::Rejected(format!(
        "{action}: OneBot retcode {}: {why}",
        answer["retcode"]
    )))
}

/// A bot's inbound side over its [`Link`]: serves every session, whichever
/// side opened it. Cloning is cheap.
#[derive(Clone)]
pub struct OneBotInbound {
    bot_id: Arc<str>,
    link: Link,
    sink: Arc<dyn InboundSink>,
}

impl OneBotInbound {
    pub fn new(bot_id: &str, link: Link, sink: Arc<dyn InboundSink>) -> Self {
        Self {
            bot_id: bot_id.into(),
            link,
            sink,
        }
    }

    pub fn health(&self) -> &ConnectorHealth {
        &self.link.inner.health
    }

    /// Ends every session, now and to come (at the bot's stop).
    pub fn stop(&self) {
        self.link.inner.stopped.cancel();
    }

    /// Runs one session until the socket ends (or goes silent); says why.
    pub async fn serve<S>(&self, mut frames: S, out: Outbox) -> String
    where
        S: Stream<Item = Result<String, String>> + Unpin,
    {
        let stopped = self.link.inner.stopped.clone();
        if stopped.is_cancelled() {
            return "the bot stopped".into();
        }
        let id = self.link.open(out);
        tracing::info!(bot = %self.bot_id, "OneBot connected");
        let mut silence: Option<Duration> = None;
        let reason = loop {
            let next = tokio::select! {
                _ = stopped.cancelled() => break "the bot stopped".to_string(),
                next = async {
                    match silence {
                        Some(limit) => tokio::time::timeout(limit, frames.next()).await.map_err(|_| limit),
                        None => Ok(frames.next().await),
                    }
                } => next,
            };
            let next = match next {
                Ok(next) => next,
                Err(limit) => break format!("no heartbeat for {} s", limit.as_secs()),
            };
            match next {
                None => break "the implementation closed the connection".to_string(),
                Some(Err(e)) => break e,
                Some(Ok(text)) => {
                    if let Some(limit) = self.frame(&text).await {
                        silence = Some(limit);
                    }
                }
            }
        };
        tracing::warn!(bot = %self.bot_id, reason = %reason, "OneBot session ended");
        self.link.close(id, &reason);
        reason
    }

    /// One frame; a heartbeat gives the silence after which the session is
    /// declared dead (three intervals).
    async fn frame(&self, text: &str) -> Option<Duration> {
        let Ok(frame) = serde_json::from_str::<Value>(text) else {
            tracing::warn!(bot = %self.bot_id, "OneBot sent a frame that is not JSON");
            return None;
        };
        let health = &self.link.inner.health;
        match frame["post_type"].as_str() {
            None => {
                if let Some(echo) = frame.get("echo") {
                    let echo = echo
                        .as_str()
                        .map_or_else(|| echo.to_string(), str::to_string);
                    self.link.answered(&echo, frame);
                }
                None
            }
            Some("meta_event") => {
                if frame["meta_event_type"].as_str() != Some("heartbeat") {
                    return None;
                }
                health.pong();
                let interval = frame["interval"].as_u64().filter(|ms| *ms > 0)?;
                Some(Duration::from_millis(interval.saturating_mul(3)))
            }
            Some(_) => {
                health.event();
                let message = event::inbound(&frame)?;
                tracing::info!(bot = %self.bot_id, message_id = %message.message_id, chat_type = %message.chat_type, "message received");
                // OneBot has no acknowledgement to withhold: a storage fault
                // can only be logged.
                if let Err(e) = self.sink.deliver(message).await {
                    tracing::error!(bot = %self.bot_id, error = %e, "cannot queue a OneBot message");
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::answer_of;
    use crate::error::{Code, ErrorCode};
    use serde_json::json;

    #[test]
    fn retcode_0_and_1_succeed_anything_else_is_the_platform_refusing() {
        let ok = json!({"status": "ok", "retcode": 0, "data": {"message_id": 5}});
        assert_eq!(answer_of("send_msg", ok).unwrap()["message_id"], 5);
        assert!(answer_of("send_msg", json!({"status": "async", "retcode": 1})).is_ok());
        // go-cqhttp's 100 with `wording`, NapCat's 1400 with `message`.
        let err = answer_of(
            "send_group_msg",
            json!({"status": "failed", "retcode": 100, "wording": "not in the group"}),
        )
        .unwrap_err();
        assert_eq!(err.code(), Code::PlatformRejected);
        assert!(err.to_string().contains("not in the group"), "{err}");
        let err = answer_of(
            "x",
            json!({"status": "failed", "retcode": 1400, "message": "bad"}),
        );
        assert!(err.unwrap_err().to_string().contains("1400"));
    }
}
