//! Where a bot's messages go: the `Messenger` trait and its implementations,
//! chosen per bot by `connector.kind`.

mod background;
pub mod feishu;
pub mod feishu_events;
mod health;
pub mod inbound;
pub mod local;
mod names;
pub mod onebot;
pub mod telegram;

pub use feishu::FeishuConnector;
pub use health::{ConnectorHealth, ConnectorProbe, ConnectorState};
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
    /// The platform cannot do this at all (see [`Capabilities`]).
    #[error("{0}")]
    Unsupported(String),
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
            ConnectorError::Unsupported(_) => Code::UnsupportedByPlatform,
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

/// What a connector's platform can send at all. A request for something it
/// cannot do is refused (501) before anything reaches the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    pub images: bool,
    pub files: bool,
    /// Sends again what the platform already holds, by key.
    pub resend_by_key: bool,
    /// Answers a given message (a quoted reply).
    pub replies: bool,
}

impl Capabilities {
    pub const ALL: Capabilities = Capabilities {
        images: true,
        files: true,
        resend_by_key: true,
        replies: true,
    };

    /// `Unsupported` when the payload (or its reply) needs what is missing.
    pub fn check(&self, to: &Destination, payload: &Payload) -> Result<(), ConnectorError> {
        let missing = match payload {
            Payload::Text(_) => None,
            Payload::Image { .. } if !self.images => Some("images"),
            Payload::File { .. } if !self.files => Some("files"),
            Payload::ImageKey(_) | Payload::FileKey(_) if !self.resend_by_key => {
                Some("sending again by key")
            }
            _ => None,
        };
        let missing = missing.or((to.reply_to.is_some() && !self.replies).then_some("replies"));
        match missing {
            Some(what) => Err(ConnectorError::Unsupported(format!(
                "this bot's platform does not support {what}"
            ))),
            None => Ok(()),
        }
    }
}

/// The HTTP client a connector calls its platform with: every call bounded
/// by `timeout`.
pub fn http_client(timeout: std::time::Duration) -> Result<reqwest::Client, ConnectorError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| ConnectorError::Internal(format!("cannot build the HTTP client: {e}")))
}

#[async_trait]
pub trait Messenger: Send + Sync + 'static {
    async fn send(&self, to: &Destination, payload: Payload) -> Result<Sent, ConnectorError>;

    /// What the platform can send; every connector declares its own.
    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    fn to(reply_to: Option<&str>) -> Destination {
        Destination {
            receive_id_type: crate::scope::ReceiveIdType::ChatId,
            receive_id: "c1".into(),
            reply_to: reply_to.map(str::to_string),
        }
    }

    #[test]
    fn what_a_platform_lacks_is_refused_with_501_and_the_rest_passes() {
        let text_only = Capabilities {
            images: false,
            files: false,
            resend_by_key: false,
            replies: false,
        };
        let image = Payload::Image {
            name: "a.png".into(),
            bytes: vec![1],
        };
        let err = text_only.check(&to(None), &image).unwrap_err();
        assert_eq!(err.code(), Code::UnsupportedByPlatform);
        assert_eq!(err.code().status().as_u16(), 501);
        assert!(err.to_string().contains("images"), "{err}");
        let err = text_only
            .check(&to(None), &Payload::FileKey("file_1".into()))
            .unwrap_err();
        assert!(err.to_string().contains("by key"), "{err}");
        let err = text_only
            .check(&to(Some("m1")), &Payload::Text("hi".into()))
            .unwrap_err();
        assert!(err.to_string().contains("replies"), "{err}");
        assert!(text_only
            .check(&to(None), &Payload::Text("hi".into()))
            .is_ok());
        assert!(Capabilities::ALL.check(&to(Some("m1")), &image).is_ok());
    }
}
