//! Where a bot's messages go: the `Messenger` trait and its implementations,
//! chosen per bot by `connector.kind`.

pub mod feishu;
pub mod feishu_events;
pub mod inbound;
pub mod local;
mod names;

pub use feishu::FeishuConnector;
pub use local::{LocalConnector, StoredMessage};
pub use names::sanitize_filename;

use crate::error::{Code, ErrorCode};
use crate::store::StoreError;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// A conversation to send to; with `reply_to` the message answers that one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destination {
    pub receive_id_type: crate::scope::ReceiveIdType,
    pub receive_id: String,
    pub reply_to: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Payload {
    Text(String),
    Image {
        name: String,
        bytes: Vec<u8>,
    },
    File {
        name: String,
        bytes: Vec<u8>,
    },
    /// An image the platform already holds (`img_…`), sent again by key.
    ImageKey(String),
    /// A file the platform already holds (`file_…`), sent again by key.
    FileKey(String),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Sent {
    /// The platform's id of the sent message (`om_…`).
    #[schema(example = "om_xxxxxxxxxxxxx")]
    pub message_id: String,
    /// For an image: its key, to send it again with `image_key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "img_v3_xxxxxxxxxxxxx")]
    pub image_key: Option<String>,
    /// For a file: its key, to send it again with `file_key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "file_v3_xxxxxxxxxxxxx")]
    pub file_key: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// The platform refused (its code and message).
    #[error("the platform refused the message: {0}")]
    Rejected(String),
    #[error("the platform did not answer in time: {0}")]
    Timeout(String),
    /// Still throttled after the retries.
    #[error("{what}: the platform kept throttling; retry in {retry_after} s")]
    Throttled { what: String, retry_after: u64 },
    /// The payload breaks a platform rule (size, emptiness).
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Internal(String),
}

impl ErrorCode for ConnectorError {
    fn code(&self) -> Code {
        match self {
            ConnectorError::Rejected(_) => Code::PlatformRejected,
            ConnectorError::Timeout(_) => Code::PlatformTimeout,
            ConnectorError::Throttled { .. } => Code::PlatformThrottled,
            ConnectorError::Invalid(_) => Code::InvalidMessage,
            ConnectorError::Internal(_) => Code::Internal,
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            ConnectorError::Throttled { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }
}

impl From<StoreError> for ConnectorError {
    fn from(err: StoreError) -> Self {
        ConnectorError::Internal(format!("storage: {err}"))
    }
}

#[async_trait]
pub trait Messenger: Send + Sync + 'static {
    async fn send(&self, to: &Destination, payload: Payload) -> Result<Sent, ConnectorError>;

    /// The longest text message the platform takes, in bytes of UTF-8:
    /// every connector declares its own, so a message is refused the same
    /// way whichever one a bot uses.
    fn max_text_bytes(&self) -> usize;

    /// Refuses a text over [`Messenger::max_text_bytes`] (400) before
    /// anything is sent.
    fn check_text(&self, text: &str) -> Result<(), ConnectorError> {
        let max = self.max_text_bytes();
        if text.len() > max {
            return Err(ConnectorError::Invalid(format!(
                "the text has {} bytes; this connector accepts at most {max}",
                text.len()
            )));
        }
        Ok(())
    }
}
