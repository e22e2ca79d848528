//! Who this bot is on Feishu (its `open_id`), needed to tell whether a
//! message @mentions it: asked through the bot's Feishu connector, on the
//! tenant token its sending shares.

use crate::connector::FeishuConnector;
use tokio::sync::Mutex;

pub struct BotIdentity {
    feishu: FeishuConnector,
    open_id: Mutex<Option<String>>,
}

impl BotIdentity {
    pub fn new(feishu: FeishuConnector) -> Self {
        Self {
            feishu,
            open_id: Mutex::new(None),
        }
    }

    /// The bot's `open_id`, asked once and then remembered. `None` (logged)
    /// when Feishu cannot tell; the next message asks again.
    pub async fn open_id(&self) -> Option<String> {
        let mut cached = self.open_id.lock().await;
        if cached.is_none() {
            match self.feishu.bot_open_id().await {
                Ok(id) => *cached = Some(id),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot learn the bot's open_id; @mentions of it are not recognised")
                }
            }
        }
        cached.clone()
    }
}
