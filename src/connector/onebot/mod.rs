//! The OneBot v11 connector (QQ through NapCat, Lagrange, LLOneBot …) over
//! one WebSocket: forward mode dials `ws_url` ([`Forward`]), reverse mode
//! takes the implementation's call on the events listener
//! (`/onebot/<bot id>`, [`authorized`]). Actions `send_group_msg` /
//! `send_private_msg` with segments; events through the bot's one inbound
//! service. Nothing outside this folder knows OneBot's wire format.

mod event;
mod forward;
mod link;
mod segment;

pub use forward::Forward;
pub use link::{Link, OneBotInbound, Outbox};

use crate::connector::{Capabilities, ConnectorError, Destination, Messenger, Payload, Sent};
use crate::scope::ReceiveIdType;
use async_trait::async_trait;
use base64::Engine;
use serde_json::{json, Value};

/// Characters in one QQ message (mirai's figure; longer answers are split,
/// longer captions refused).
const MAX_CHARS: usize = 4500;

pub struct OneBotConnector {
    link: Link,
}

impl OneBotConnector {
    pub fn new(link: Link) -> Self {
        Self { link }
    }

    async fn send_segments(
        &self,
        to: &Destination,
        mut segments: Vec<Value>,
        reply: bool,
    ) -> Result<Sent, ConnectorError> {
        let (action, key) = match to.receive_id_type {
            ReceiveIdType::ChatId => ("send_group_msg", "group_id"),
            ReceiveIdType::UserId => ("send_private_msg", "user_id"),
            other => {
                return Err(ConnectorError::Invalid(format!(
                "a QQ conversation is chat_id (a group) or user_id (a private chat), not {other}"
            )))
            }
        };
        let id: i64 = to.receive_id.parse().map_err(|_| {
            ConnectorError::Invalid(format!("`{}` is not a QQ number", to.receive_id))
        })?;
        if let (true, Some(reply_to)) = (reply, &to.reply_to) {
            segments.insert(0, json!({"type": "reply", "data": {"id": reply_to}}));
        }
        let data = self
            .link
            .call(action, json!({key: id, "message": segments}))
            .await?;
        let message_id = match &data["message_id"] {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        Ok(Sent {
            message_id,
            ..Sent::default()
        })
    }
}

#[async_trait]
impl Messenger for OneBotConnector {
    async fn send(&self, to: &Destination, payload: Payload) -> Result<Sent, ConnectorError> {
        match payload {
            Payload::Text(text) => {
                let mut first = None;
                for (i, part) in split(&text).into_iter().enumerate() {
                    let text = json!({"type": "text", "data": {"text": part}});
                    let sent = self.send_segments(to, vec![text], i == 0).await?;
                    first.get_or_insert(sent);
                }
                Ok(first.unwrap_or_default())
            }
            // base64: the implementation often runs in another container,
            // where a path of alice's means nothing.
            Payload::Image { name, bytes } => {
                let file = format!("base64://{}", base64_of(&bytes));
                let image = json!({"type": "image", "data": {"file": file, "name": name}});
                self.send_segments(to, vec![image], true).await
            }
            Payload::File { name, bytes } => {
                let file = format!("base64://{}", base64_of(&bytes));
                let file = json!({"type": "file", "data": {"file": file, "name": name}});
                self.send_segments(to, vec![file], true).await
            }
            Payload::ImageKey(_) | Payload::FileKey(_) => Err(ConnectorError::Unsupported(
                "this bot's platform does not support sending again by key".into(),
            )),
        }
    }

    /// At most [`MAX_CHARS`] characters of four bytes each.
    fn max_text_bytes(&self) -> usize {
        MAX_CHARS * 4
    }

    /// QQ counts characters, not bytes.
    fn check_text(&self, text: &str) -> Result<(), ConnectorError> {
        let chars = text.chars().count();
        if chars > MAX_CHARS {
            return Err(ConnectorError::Invalid(format!(
                "the text has {chars} characters; QQ takes at most {MAX_CHARS} in one message"
            )));
        }
        Ok(())
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            resend_by_key: false,
            ..Capabilities::ALL
        }
    }
}

fn base64_of(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Pieces of at most [`MAX_CHARS`] characters.
fn split(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return vec![String::new()];
    }
    chars
        .chunks(MAX_CHARS)
        .map(|c| c.iter().collect())
        .collect()
}

/// Whether a reverse connection proves it knows `access_token`: an
/// `Authorization` of `Bearer <t>` (the spec) or `Token <t>` (go-cqhttp),
/// or `?access_token=<t>`; compared in constant time.
pub fn authorized(access_token: &str, authorization: Option<&str>, query: &str) -> bool {
    let from_header = authorization.and_then(|h| {
        h.strip_prefix("Bearer ")
            .or_else(|| h.strip_prefix("Token "))
            .map(str::trim)
    });
    let from_query = url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "access_token")
        .map(|(_, v)| v.into_owned());
    let given = from_header.map(str::to_string).or(from_query);
    crate::token::secret_matches(access_token, given.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reverse_connection_needs_the_token_in_a_header_or_the_query() {
        assert!(authorized("t0k", Some("Bearer t0k"), ""));
        assert!(authorized("t0k", Some("Token t0k"), ""));
        assert!(authorized("t0k", None, "access_token=t0k"));
        assert!(!authorized("t0k", Some("Bearer nope"), ""));
        assert!(!authorized("t0k", None, ""));
        assert!(!authorized("", Some("Bearer "), ""));
    }

    #[test]
    fn a_long_answer_is_split_by_characters() {
        let parts = split(&"字".repeat(MAX_CHARS + 1));
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[1], "字");
    }
}
