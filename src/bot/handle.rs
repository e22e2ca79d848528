//! What the supervisor's handlers may do with a running bot, and nothing
//! more: its token, its runs, its local conversations, its inbox and its
//! Feishu event receiver. They never get the bot's whole state.

use crate::agent::AgentRunner;
use crate::chat::ChatPipeline;
use crate::connector::feishu_events::FeishuInbound;
use crate::connector::inbound::InboundMessage;
use crate::connector::LocalConnector;
use crate::store::StoreError;

/// A running bot as the supervisor sees it. Cloning is cheap.
#[derive(Clone)]
pub struct BotHandle {
    pub(super) token: String,
    pub(super) runs: AgentRunner,
    pub(super) chat: ChatPipeline,
    pub(super) local: Option<LocalConnector>,
    pub(super) feishu: Option<FeishuInbound>,
    pub(super) telegram: Option<crate::connector::telegram::TelegramWebhook>,
    pub(super) onebot: Option<crate::connector::onebot::OneBotInbound>,
    pub(super) metrics: crate::metrics::BotMetrics,
    pub(super) connector: crate::connector::ConnectorHealth,
}

impl BotHandle {
    /// The bot's main Runtime API token (for the admin API's `token` only).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The bot's run service (the headless routes).
    pub fn runs(&self) -> &AgentRunner {
        &self.runs
    }

    /// The embedded connector's conversations, when the bot uses it.
    pub fn conversations(&self) -> Option<&LocalConnector> {
        self.local.as_ref()
    }

    /// Queues a user's message for the bot's reply pipeline.
    pub async fn say(&self, message: InboundMessage) -> Result<(), StoreError> {
        self.chat.push(message).await.map(drop)
    }

    /// What the bot's conversations said and answered (read only).
    pub fn history(&self) -> &crate::chat::History {
        self.chat.history()
    }

    /// Answers what the inbox holds (messages queued while it was stopped).
    pub fn resume(&self) -> Result<usize, StoreError> {
        self.chat.resume()
    }

    /// The bot's metrics (the supervisor's `GET /metrics` merges them).
    pub fn metrics(&self) -> &crate::metrics::BotMetrics {
        &self.metrics
    }

    /// Whether the bot's connector can receive (the supervisor's probe).
    pub fn connector_health(&self) -> &crate::connector::ConnectorHealth {
        &self.connector
    }

    /// The receiver of the bot's Feishu events (Feishu bots only).
    pub fn feishu_events(&self) -> Option<&FeishuInbound> {
        self.feishu.as_ref()
    }

    /// OneBot's inbound side (OneBot bots only): reverse sockets are served
    /// with it.
    pub fn onebot_events(&self) -> Option<&crate::connector::onebot::OneBotInbound> {
        self.onebot.as_ref()
    }

    /// The Telegram webhook receiver (Telegram webhook bots only).
    pub fn telegram_events(&self) -> Option<&crate::connector::telegram::TelegramWebhook> {
        self.telegram.as_ref()
    }
}
