//! A bot's inbound side: its messages go to its one inbound service (the
//! chat pipeline) and, for Feishu, the receiver both transports use plus
//! the long connection the bot owns.

use super::state::OpenError;
use super::BotState;
use crate::config::{ConnectorKind, EventsTransport};
use crate::connector::feishu_events::{FeishuInbound, LongConnection};
use crate::connector::inbound::InboundSink;
use crate::connector::onebot::{Forward, OneBotInbound};
use crate::connector::telegram::{Polling, TelegramWebhook};

use std::sync::Arc;
use std::time::Duration;

/// The bot's inbound service (de-duplicates, queues durably, answers).
pub fn inbound_sink(state: &BotState) -> Arc<dyn InboundSink> {
    Arc::new(state.chat().clone())
}

/// A Feishu bot's inbound side: the receiver both transports use, and the
/// long connection when it has one.
#[derive(Default)]
pub struct Events {
    pub receiver: Option<FeishuInbound>,
    pub connection: Option<LongConnection>,
    /// Telegram's long polling.
    pub polling: Option<Polling>,
    /// Telegram's webhook receiver.
    pub telegram: Option<TelegramWebhook>,
    /// OneBot's inbound side (the events listener serves reverse sockets
    /// with it) and, in forward mode, the dialler.
    pub onebot: Option<OneBotInbound>,
    pub forward: Option<Forward>,
}

/// Sets up a Feishu bot's receiver and, with `events = "long_connection"`,
/// opens the connection. Nothing for other connectors.
pub fn start(state: &BotState) -> Result<Events, OpenError> {
    let connector = &state.config().connector;
    if connector.kind == ConnectorKind::Telegram && connector.events == EventsTransport::Webhook {
        let receiver = TelegramWebhook::start(
            state.id(),
            connector,
            state.folder(),
            inbound_sink(state),
            state.connector_health().clone(),
        )?;
        return Ok(Events {
            telegram: Some(receiver),
            ..Events::default()
        });
    }
    if connector.kind == ConnectorKind::Telegram {
        let polling = Polling::start(
            state.id(),
            connector,
            state.store(),
            state.folder(),
            inbound_sink(state),
            state.connector_health().clone(),
            state.metrics().clone(),
        )?;
        return Ok(Events {
            polling: Some(polling),
            ..Events::default()
        });
    }
    if let Some(link) = state.onebot() {
        let inbound = OneBotInbound::new(state.id(), link.clone(), inbound_sink(state));
        let forward = (connector.mode == crate::config::OneBotMode::Forward)
            .then(|| Forward::start(inbound.clone(), connector));
        return Ok(Events {
            onebot: Some(inbound),
            forward,
            ..Events::default()
        });
    }
    let Some(feishu) = state.feishu() else {
        return Ok(Events::default());
    };
    let http = crate::connector::http_client(Duration::from_secs(30))?;
    let inbound = FeishuInbound::new(
        state.id(),
        feishu.clone(),
        inbound_sink(state),
        state.connector_health().clone(),
    )?;
    let connection = match connector.events {
        EventsTransport::LongConnection => Some(LongConnection::start(
            state.id(),
            connector,
            http,
            inbound.clone(),
            state.metrics().clone(),
            state.connector_health().clone(),
        )),
        // Refused by the config's validation for Feishu.
        EventsTransport::LongPolling => None,
        // The supervisor's events listener finds the receiver through the
        // bot's handle.
        EventsTransport::Webhook => {
            if connector.encrypt_key.is_empty() && connector.verification_token.is_empty() {
                tracing::warn!(bot = %state.id(), "webhook events without encrypt_key or verification_token: anyone who knows the URL can post messages");
            }
            None
        }
    };
    Ok(Events {
        receiver: Some(inbound),
        connection,
        ..Events::default()
    })
}
