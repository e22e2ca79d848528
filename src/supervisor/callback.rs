//! The checks every platform callback on the events listener starts with:
//! which bot it is for, and whether that bot takes its events this way.

use super::{Supervisor, SupervisorError};
use crate::config::{ConnectorConfig, ConnectorKind, EventsTransport, OneBotMode};
use crate::error::Result;
use actix_web::HttpRequest;

/// The ways a platform reaches a bot through the events listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    FeishuWebhook,
    TelegramWebhook,
    OneBotReverse,
}

impl Route {
    fn accepts(self, connector: &ConnectorConfig) -> bool {
        match self {
            Route::FeishuWebhook => {
                connector.kind == ConnectorKind::Feishu
                    && connector.events == EventsTransport::Webhook
            }
            Route::TelegramWebhook => {
                connector.kind == ConnectorKind::Telegram
                    && connector.events == EventsTransport::Webhook
            }
            Route::OneBotReverse => {
                connector.kind == ConnectorKind::Onebot && connector.mode == OneBotMode::Reverse
            }
        }
    }

    /// What the 409 says the bot would need.
    pub fn describe(self) -> &'static str {
        match self {
            Route::FeishuWebhook => "Feishu events by webhook (connector.kind = \"feishu\", connector.events = \"webhook\")",
            Route::TelegramWebhook => "Telegram updates by webhook (connector.kind = \"telegram\", connector.events = \"webhook\")",
            Route::OneBotReverse => "a OneBot reverse WebSocket (connector.kind = \"onebot\", connector.mode = \"reverse\")",
        }
    }
}

/// The bot's connector config once `route` is meant for it: 404 for an
/// unknown bot, 409 when its connector takes events another way.
pub async fn connector_for(
    sup: &Supervisor,
    bot_id: &str,
    route: Route,
) -> Result<ConnectorConfig> {
    let status = sup.status(bot_id).await?;
    if !route.accepts(&status.config.connector) {
        return Err(SupervisorError::WrongCallback {
            bot: bot_id.to_string(),
            route,
        }
        .into());
    }
    Ok(status.config.connector.clone())
}

/// A request header as text (absent or not UTF-8: `None`).
pub fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}
