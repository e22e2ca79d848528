//! The event long connection (Go SDK `ws/client.go`): endpoint call,
//! WebSocket, pings, acknowledgements, reassembly, reconnects with jitter.
//! One task per bot, owned by the bot and stopped with it.

use super::dispatch::FeishuInbound;
use super::endpoint::{self, ClientConfig, EndpointError};
use super::frame::{self, Frame, Reassembler};
use crate::config::ConnectorConfig;
use crate::connector::ConnectorHealth;
use crate::metrics::BotMetrics;
use futures_util::{FutureExt, SinkExt, StreamExt};
use prost::Message as _;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The WebSocket handshake must finish within this time.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// A running long connection; dropping it does not stop it, [`stop`] does.
///
/// [`stop`]: LongConnection::stop
pub struct LongConnection {
    cancel: CancellationToken,
    /// Set when the bot is gone: queued events are left unacknowledged
    /// (Feishu redelivers them to the next connection).
    abandoned: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

struct Settings {
    bot_id: String,
    base_url: String,
    app_id: String,
    app_secret: String,
    http: reqwest::Client,
    /// `alice_connector_up`: 1 while a session answers pings.
    metrics: BotMetrics,
    /// The probes' view: connecting, connected, disconnected and why.
    health: ConnectorHealth,
}

/// An event waiting for the handler, with the way back to its connection.
struct Work {
    frame: Frame,
    payload: Vec<u8>,
    received: Instant,
    acks: mpsc::UnboundedSender<Frame>,
}

impl LongConnection {
    pub fn start(
        bot_id: &str,
        connector: &ConnectorConfig,
        http: reqwest::Client,
        inbound: FeishuInbound,
        metrics: BotMetrics,
        health: ConnectorHealth,
    ) -> Self {
        let settings = Settings {
            bot_id: bot_id.to_string(),
            base_url: connector.base_url.clone(),
            app_id: connector.app_id.clone(),
            app_secret: connector.app_secret.clone(),
            http,
            metrics,
            health,
        };
        let cancel = CancellationToken::new();
        let abandoned = CancellationToken::new();
        // Every line of the connection names the bot and the app (two
        // supervisors on one app are told apart; the secret never appears).
        let span = tracing::info_span!("feishu", bot = %settings.bot_id, app_id = %settings.app_id);
        let task = tokio::spawn(
            run(settings, inbound, cancel.clone(), abandoned.clone()).instrument(span),
        );
        Self {
            cancel,
            abandoned,
            task,
        }
    }

    /// Ends the connection without waiting and without handing on what is
    /// still queued (a bot dropped unstopped: its pipeline is gone).
    pub fn abandon(&self) {
        self.abandoned.cancel();
        self.cancel.cancel();
    }

    /// Closes the connection and waits until the events already received
    /// were handed to the sink.
    pub async fn stop(self) {
        self.cancel.cancel();
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "the Feishu long connection task panicked");
        }
    }
}

async fn run(
    settings: Settings,
    inbound: FeishuInbound,
    cancel: CancellationToken,
    abandoned: CancellationToken,
) {
    // Events are handled one at a time in arrival order, apart from the
    // socket loop so that pings and reads never wait on a delivery.
    let (work_tx, work_rx) = mpsc::channel::<Work>(256);
    let worker = tokio::spawn(
        handle_events(settings.bot_id.clone(), inbound, work_rx, abandoned).in_current_span(),
    );
    let mut config = ClientConfig::default();
    let mut delay = Duration::ZERO;
    // Connections in a row that died or failed before a pong came back.
    let mut failures = 0u32;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep(delay) => {}
        }
        settings.health.connecting();
        let opened = tokio::select! {
            _ = cancel.cancelled() => break,
            opened = open(&settings) => opened,
        };
        match opened {
            Ok((socket, endpoint)) => {
                tracing::info!("Feishu long connection open");
                config = endpoint.config;
                let ended = session(
                    socket,
                    endpoint.service_id,
                    &mut config,
                    &work_tx,
                    &cancel,
                    &settings,
                )
                .await;
                settings.metrics.connector_up(false);
                settings.health.disconnected(&ended.reason);
                if cancel.is_cancelled() {
                    break;
                }
                failures = if ended.answered { 0 } else { failures + 1 };
                delay = config.jitter() + backoff(&config, failures);
                tracing::warn!(reason = %ended.reason, reconnect_in_ms = delay.as_millis() as u64, "Feishu long connection dropped");
            }
            Err(e) => {
                settings.health.disconnected(&e.to_string());
                failures += 1;
                delay = backoff(&config, failures).max(config.retry_every());
                match e {
                    OpenError::Endpoint(EndpointError::Refused { .. }) | OpenError::Refused(_) => {
                        tracing::error!(error = %e, retry_in_s = delay.as_secs(), "Feishu refused the long connection; check app_id, app_secret and the app's event settings")
                    }
                    _ => {
                        tracing::warn!(error = %e, retry_in_s = delay.as_secs(), "cannot open the Feishu long connection")
                    }
                }
            }
        }
    }
    drop(work_tx);
    if let Err(e) = worker.await {
        tracing::error!(error = %e, "the Feishu event handler ended abnormally");
    }
    tracing::info!("Feishu long connection closed");
}

/// The longest wait between reconnects, unless the server asks for more.
const MAX_BACKOFF: Duration = Duration::from_secs(600);

/// After `failures` failed connections in a row: none for the first drop
/// of a healthy connection, then the server's interval, doubling each time.
fn backoff(config: &ClientConfig, failures: u32) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    let every = config.retry_every();
    every
        .saturating_mul(1 << (failures - 1).min(16))
        .min(MAX_BACKOFF.max(every))
}

/// Why a session ended, and whether any ping of it was answered.
struct Ended {
    reason: String,
    answered: bool,
}

#[derive(Debug, thiserror::Error)]
enum OpenError {
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    /// The server refused the handshake and said why in its headers.
    #[error("handshake refused: {0}")]
    Refused(String),
    #[error("cannot connect: {0}")]
    Connect(String),
}

async fn open(settings: &Settings) -> Result<(Socket, endpoint::Endpoint), OpenError> {
    let endpoint = endpoint::fetch(
        &settings.http,
        &settings.base_url,
        &settings.app_id,
        &settings.app_secret,
    )
    .await?;
    let connect = tokio_tungstenite::connect_async(endpoint.url.as_str());
    let connected = tokio::time::timeout(CONNECT_TIMEOUT, connect)
        .await
        .map_err(|_| OpenError::Connect("no answer in time".into()))?;
    match connected {
        Ok((socket, _)) => Ok((socket, endpoint)),
        Err(tungstenite::Error::Http(res)) => Err(OpenError::Refused(handshake_reason(&res))),
        // The URL holds credentials: errors that might echo it stay vague.
        Err(tungstenite::Error::Url(_)) => Err(OpenError::Connect(
            "the endpoint gave an unusable URL".into(),
        )),
        Err(e) => Err(OpenError::Connect(e.to_string())),
    }
}

/// `Handshake-Status` 514 is an auth failure (with `Handshake-Autherrcode`
/// 1000040350: too many connections), 403 a ban.
fn handshake_reason(res: &tungstenite::http::Response<Option<Vec<u8>>>) -> String {
    let header = |name: &str| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    format!(
        "HTTP {}, status {}, code {}: {}",
        res.status().as_u16(),
        header("Handshake-Status"),
        header("Handshake-Autherrcode"),
        header("Handshake-Msg")
    )
}

/// Pings in a row left unanswered before the connection is declared dead.
const MISSED_PONGS: u32 = 2;

/// Serves one connection until it drops, stops answering pings or the bot
/// stops; says why it ended. It counts as up only once a ping is answered.
async fn session(
    socket: Socket,
    service_id: i32,
    config: &mut ClientConfig,
    work: &mpsc::Sender<Work>,
    cancel: &CancellationToken,
    settings: &Settings,
) -> Ended {
    let mut answered = false;
    let reason = serve(
        socket,
        service_id,
        config,
        work,
        cancel,
        settings,
        &mut answered,
    )
    .await;
    Ended { reason, answered }
}

async fn serve(
    socket: Socket,
    service_id: i32,
    config: &mut ClientConfig,
    work: &mpsc::Sender<Work>,
    cancel: &CancellationToken,
    settings: &Settings,
    answered: &mut bool,
) -> String {
    let health = &settings.health;
    let mut unanswered = 0u32;
    let (mut write, mut read) = socket.split();
    let (ack_tx, mut ack_rx) = mpsc::unbounded_channel::<Frame>();
    let mut parts = Reassembler::default();
    let mut ping = tokio::time::interval(config.ping_every());
    loop {
        let outgoing = tokio::select! {
            _ = cancel.cancelled() => {
                let _ = write.send(Message::Close(None)).await;
                return "stopped".into();
            }
            _ = ping.tick() => {
                if unanswered >= MISSED_PONGS {
                    return format!("{MISSED_PONGS} pings went unanswered (no pong within {} s)", config.ping_every().as_secs() * u64::from(MISSED_PONGS));
                }
                unanswered += 1;
                Frame::ping(service_id)
            }
            Some(ack) = ack_rx.recv() => ack,
            incoming = read.next() => {
                let bytes = match incoming {
                    None => return "closed by the server".into(),
                    Some(Err(e)) => return e.to_string(),
                    Some(Ok(Message::Binary(bytes))) => bytes,
                    Some(Ok(Message::Close(_))) => return "closed by the server".into(),
                    // tungstenite answers WebSocket pings itself.
                    Some(Ok(_)) => continue,
                };
                let frame = match Frame::decode(bytes.as_ref()) {
                    Ok(frame) => frame,
                    Err(e) => {
                        tracing::warn!(error = %e, "undecodable frame dropped");
                        continue;
                    }
                };
                if frame.method == frame::METHOD_CONTROL {
                    if frame.header(frame::HEADER_TYPE) == Some(frame::TYPE_PONG) {
                        unanswered = 0;
                        health.pong();
                        if !*answered {
                            *answered = true;
                            health.connected();
                            settings.metrics.connector_up(true);
                            tracing::info!("Feishu long connection up (pings answered)");
                        }
                    }
                    if let Some(new) = pong_config(&frame) {
                        if new.ping_every() != config.ping_every() {
                            let every = new.ping_every();
                            ping = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
                        }
                        *config = new;
                    }
                    continue;
                }
                if frame.header(frame::HEADER_TYPE) != Some(frame::TYPE_EVENT) {
                    // Card callbacks are not used; the SDK leaves them unanswered too.
                    continue;
                }
                let Some(payload) = parts.add(&frame) else { continue };
                let item = Work { frame, payload, received: Instant::now(), acks: ack_tx.clone() };
                if work.send(item).await.is_err() {
                    return "the event handler ended".into();
                }
                continue;
            }
        };
        if let Err(e) = write
            .send(Message::Binary(outgoing.encode_to_vec().into()))
            .await
        {
            return e.to_string();
        }
    }
}

/// A `pong` may carry new client settings as its payload.
fn pong_config(frame: &Frame) -> Option<ClientConfig> {
    if frame.header(frame::HEADER_TYPE) != Some(frame::TYPE_PONG) || frame.payload().is_empty() {
        return None;
    }
    serde_json::from_slice(frame.payload())
        .inspect_err(|e| tracing::warn!(error = %e, "unreadable client settings in a pong"))
        .ok()
}

/// Hands events to the sink in order and sends each acknowledgement back on
/// the connection it came from (if that one is gone, Feishu redelivers and
/// the de-duplication drops the copy).
async fn handle_events(
    bot: String,
    inbound: FeishuInbound,
    mut work: mpsc::Receiver<Work>,
    abandoned: CancellationToken,
) {
    while let Some(item) = work.recv().await {
        if abandoned.is_cancelled() {
            return;
        }
        let trace_id = item.frame.header(frame::HEADER_TRACE_ID).unwrap_or("");
        // A panic (in the sink, say) costs this event, not the connection.
        let handled = AssertUnwindSafe(inbound.handle(&item.payload)).catch_unwind();
        let code = match handled.await {
            Ok(Ok(_)) => 200,
            Ok(Err(e)) => {
                tracing::warn!(bot = %bot, trace_id, error = %e, "event not handled; Feishu will redeliver it");
                500
            }
            Err(_) => {
                tracing::error!(bot = %bot, trace_id, "handling an event panicked");
                500
            }
        };
        let _ = item
            .acks
            .send(item.frame.into_ack(code, item.received.elapsed()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnects_back_off_from_the_servers_interval_up_to_a_bound() {
        let config = ClientConfig {
            reconnect_interval: 120,
            ..ClientConfig::default()
        };
        let secs = |n| backoff(&config, n).as_secs();
        assert_eq!(
            [secs(0), secs(1), secs(2), secs(3), secs(4), secs(40)],
            [0, 120, 240, 480, 600, 600]
        );
    }
}
