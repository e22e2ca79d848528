//! The event JSON both transports carry (schema 2.0), and how an
//! `im.message.receive_v1` becomes an [`InboundMessage`].

use crate::connector::inbound::InboundMessage;
use crate::scope::{ChatType, ReceiveIdType};
use serde::Deserialize;

pub const MESSAGE_RECEIVE: &str = "im.message.receive_v1";

/// What alice needs of one event.
#[derive(Debug, Clone)]
pub struct Event {
    pub event_type: String,
    /// The Verification Token the event carries (`header.token`).
    pub token: String,
    /// Set for `im.message.receive_v1`.
    pub message: Option<ReceivedMessage>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ReceivedMessage {
    sender: Sender,
    message: Message,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct Sender {
    #[serde(default)]
    sender_id: UserIds,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct UserIds {
    open_id: Option<String>,
    user_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Message {
    message_id: String,
    chat_id: String,
    #[serde(default)]
    chat_type: String,
    #[serde(default)]
    message_type: String,
    #[serde(default)]
    content: String,
    #[serde(default)]
    mentions: Vec<Mention>,
}

#[derive(Debug, Clone, Deserialize)]
struct Mention {
    key: String,
    #[serde(default)]
    id: UserIds,
}

#[derive(Deserialize)]
struct Envelope {
    header: Option<EnvelopeHeader>,
    /// Schema 1.0 events carry the token and type here instead.
    #[serde(default)]
    token: String,
    event: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct EnvelopeHeader {
    #[serde(default)]
    event_type: String,
    #[serde(default)]
    token: String,
}

#[derive(Debug, thiserror::Error)]
#[error("unreadable event: {0}")]
pub struct EventError(String);

pub fn parse(json: &[u8]) -> Result<Event, EventError> {
    let envelope: Envelope = serde_json::from_slice(json).map_err(|e| EventError(e.to_string()))?;
    let (event_type, token) = match envelope.header {
        Some(h) => (h.event_type, h.token),
        None => {
            let legacy_type = envelope
                .event
                .as_ref()
                .and_then(|e| e.get("type"))
                .and_then(|t| t.as_str())
                .unwrap_or_default()
                .to_string();
            (legacy_type, envelope.token)
        }
    };
    let message = match (event_type.as_str(), envelope.event) {
        (MESSAGE_RECEIVE, Some(body)) => {
            Some(serde_json::from_value(body).map_err(|e| EventError(e.to_string()))?)
        }
        _ => None,
    };
    Ok(Event {
        event_type,
        token,
        message,
    })
}

impl ReceivedMessage {
    /// The key for de-duplication (`message.message_id`; Feishu says
    /// `event_id` is not enough).
    pub fn message_id(&self) -> &str {
        &self.message.message_id
    }

    /// `bot_open_id`: this bot, to tell whether the message mentions it.
    pub fn into_inbound(self, bot_open_id: Option<&str>) -> InboundMessage {
        let m = self.message;
        let mentions_bot = bot_open_id.is_some_and(|bot| {
            m.mentions
                .iter()
                .any(|x| x.id.open_id.as_deref() == Some(bot))
        });
        let keys: Vec<&str> = m.mentions.iter().map(|x| x.key.as_str()).collect();
        let text = strip_mentions(&readable_text(&m.message_type, &m.content), &keys);
        InboundMessage {
            receive_id_type: ReceiveIdType::ChatId,
            receive_id: m.chat_id,
            // Topic groups answer like groups (mention rules included).
            chat_type: m.chat_type.parse().unwrap_or(ChatType::Group),
            sender_open_id: self.sender.sender_id.open_id.filter(|s| !s.is_empty()),
            sender_user_id: self.sender.sender_id.user_id.filter(|s| !s.is_empty()),
            text,
            mentions_bot,
            message_id: m.message_id,
        }
    }
}

/// Text for text and rich-text (`post`) messages; a short placeholder such
/// as `[image]` for the other kinds.
fn readable_text(message_type: &str, content: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(content).unwrap_or_default();
    match message_type {
        "text" => value["text"].as_str().unwrap_or_default().to_string(),
        "post" => post_text(&value),
        "" => "[message]".into(),
        other => format!("[{other}]"),
    }
}

/// A `post` is `{title, content: [[{tag, text|user_id…}]]}`, one inner list
/// per line; mentions keep their `@_user_n` key so they are stripped below.
fn post_text(value: &serde_json::Value) -> String {
    let mut lines = Vec::new();
    if let Some(title) = value["title"].as_str().filter(|t| !t.is_empty()) {
        lines.push(title.to_string());
    }
    for line in value["content"].as_array().into_iter().flatten() {
        let text: String = line
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|el| match el["tag"].as_str() {
                Some("text") | Some("a") => el["text"].as_str().map(str::to_owned),
                Some("at") => el["user_id"].as_str().map(str::to_owned),
                Some("img") => Some("[image]".into()),
                _ => None,
            })
            .collect();
        lines.push(text);
    }
    lines.join("\n")
}

/// Removes the `@_user_1`-style placeholders (and `@_all`) with the space
/// that follows each.
fn strip_mentions(text: &str, keys: &[&str]) -> String {
    let mut out = text.to_string();
    let mut keys: Vec<&str> = keys.iter().copied().filter(|k| !k.is_empty()).collect();
    keys.push("@_all");
    // Longest first: `@_user_1` must not eat the start of `@_user_10`.
    keys.sort_by_key(|k| std::cmp::Reverse(k.len()));
    for key in keys {
        out = out.replace(&format!("{key} "), "").replace(key, "");
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_stripped_and_recognised() {
        let json = serde_json::json!({
            "schema": "2.0",
            "header": {"event_type": MESSAGE_RECEIVE, "token": "vt"},
            "event": {
                "sender": {"sender_id": {"open_id": "ou_u", "user_id": "u1"}},
                "message": {
                    "message_id": "om_1", "chat_id": "oc_1", "chat_type": "group",
                    "message_type": "text",
                    "content": "{\"text\":\"@_user_1 hello @_user_10 there\"}",
                    "mentions": [
                        {"key": "@_user_1", "id": {"open_id": "ou_bot"}},
                        {"key": "@_user_10", "id": {"open_id": "ou_x"}}
                    ]
                }
            }
        });
        let event = parse(json.to_string().as_bytes()).unwrap();
        assert_eq!(event.token, "vt");
        let m = event.message.unwrap().into_inbound(Some("ou_bot"));
        assert_eq!(m.text, "hello there");
        assert!(m.mentions_bot);
        assert_eq!(m.sender_user_id.as_deref(), Some("u1"));
    }

    #[test]
    fn other_kinds_get_a_placeholder() {
        assert_eq!(readable_text("image", "{\"image_key\":\"k\"}"), "[image]");
        let post = r#"{"title":"T","content":[[{"tag":"at","user_id":"@_user_1"},{"tag":"text","text":" hi"}]]}"#;
        assert_eq!(
            strip_mentions(&readable_text("post", post), &["@_user_1"]),
            "T\nhi"
        );
    }
}
