//! A OneBot `message` event → an [`InboundMessage`]. A group is
//! `chat_id` + the group number, a private chat `user_id` + the QQ number;
//! the message id is OneBot's `message_id` (one counter per account).

use super::segment::{self, Segment};
use crate::connector::inbound::InboundMessage;
use crate::scope::{ChatType, ReceiveIdType};
use serde_json::Value;

/// The message an event carries (`post_type = "message"`, not the bot's
/// own), if any.
pub fn inbound(event: &Value) -> Option<InboundMessage> {
    if event["post_type"].as_str() != Some("message") {
        return None;
    }
    let user = id_of(&event["user_id"]).or_else(|| id_of(&event["sender"]["user_id"]))?;
    let (receive_id_type, receive_id, chat_type) = match event["message_type"].as_str()? {
        "group" => (
            ReceiveIdType::ChatId,
            id_of(&event["group_id"])?,
            ChatType::Group,
        ),
        "private" => (ReceiveIdType::UserId, user.clone(), ChatType::P2p),
        _ => return None,
    };
    let message_id = id_of(&event["message_id"])?;
    let self_id = id_of(&event["self_id"]);
    // Some implementations report the bot's own messages too: never
    // answer oneself.
    if self_id.as_ref() == Some(&user) {
        return None;
    }
    let segments = segment::parse(&event["message"]);
    Some(InboundMessage {
        message_id,
        receive_id_type,
        receive_id,
        chat_type,
        sender_open_id: Some(user.clone()),
        sender_user_id: Some(user),
        text: text_of(&segments, self_id.as_deref()),
        mentions_bot: segments
            .iter()
            .any(|s| s.kind == "at" && s.get("qq").is_some_and(|qq| Some(qq) == self_id)),
    })
}

/// The text, the bot's own `at` left out, other segments as placeholders.
fn text_of(segments: &[Segment], self_id: Option<&str>) -> String {
    let mut text = String::new();
    for s in segments {
        match s.kind.as_str() {
            "text" => text.push_str(&s.get("text").unwrap_or_default()),
            "at" if s.get("qq").as_deref() == self_id => {}
            "at" => text.push_str(&format!("@{}", s.get("qq").unwrap_or_default())),
            "reply" => {}
            "image" => text.push_str("[image]"),
            "file" => text.push_str("[file]"),
            _ => text.push_str(&format!("[{}]", s.kind)),
        }
    }
    text.trim().to_string()
}

/// Ids come as numbers (the spec) or strings (some implementations).
fn id_of(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_group_message_mentions_the_bot_only_with_its_own_at() {
        let event = json!({"post_type": "message", "message_type": "group", "self_id": 10001,
            "message_id": 7, "group_id": 555, "user_id": 42,
            "message": "[CQ:at,qq=10001] hello [CQ:at,qq=3]"});
        let m = inbound(&event).unwrap();
        assert!(m.mentions_bot);
        assert_eq!(
            (m.receive_id_type, m.receive_id.as_str()),
            (ReceiveIdType::ChatId, "555")
        );
        assert_eq!(m.text, "hello @3");
        let event = json!({"post_type": "message", "message_type": "private", "self_id": 10001,
            "message_id": "8", "user_id": 42, "message": [{"type": "text", "data": {"text": "hi"}}]});
        let m = inbound(&event).unwrap();
        assert!(!m.mentions_bot);
        assert_eq!(
            (m.receive_id_type, m.receive_id.as_str()),
            (ReceiveIdType::UserId, "42")
        );
        assert_eq!((m.message_id.as_str(), m.chat_type), ("8", ChatType::P2p));
        assert!(inbound(&json!({"post_type": "meta_event"})).is_none());
        // The bot's own messages, as some implementations report them.
        let own = json!({"post_type": "message", "message_type": "group", "self_id": 10001,
            "message_id": 9, "group_id": 555, "user_id": 10001, "message": "echo"});
        assert!(inbound(&own).is_none());
    }
}
