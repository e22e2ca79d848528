//! The bot's connector as its services see it: every send counted in the
//! bot's `alice_outbound_messages_total`, whoever sends (chat answers,
//! tasks, the Runtime API's files and images).

use crate::connector::{ConnectorError, Destination, Messenger, Payload, Sent};
use crate::metrics::BotMetrics;
use async_trait::async_trait;
use std::sync::Arc;

pub(super) struct Counted {
    pub(super) inner: Arc<dyn Messenger>,
    pub(super) metrics: BotMetrics,
}

#[async_trait]
impl Messenger for Counted {
    async fn send(&self, to: &Destination, payload: Payload) -> Result<Sent, ConnectorError> {
        let sent = self.inner.send(to, payload).await;
        self.metrics
            .outbound(if sent.is_ok() { "ok" } else { "error" });
        sent
    }

    fn max_text_bytes(&self) -> usize {
        self.inner.max_text_bytes()
    }

    fn capabilities(&self) -> crate::connector::Capabilities {
        self.inner.capabilities()
    }

    fn check_text(&self, text: &str) -> Result<(), ConnectorError> {
        self.inner.check_text(text)
    }
}
