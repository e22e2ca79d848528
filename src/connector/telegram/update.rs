//! Telegram's `Update` → an [`InboundMessage`]. Telegram's message ids are
//! unique per chat only, so the normalised id is `<chat id>:<message id>`;
//! the conversation is the chat id (`chat_id`).

use crate::connector::inbound::InboundMessage;
use crate::scope::{ChatType, ReceiveIdType};
use serde_json::Value;

/// The text of a message with neither text nor caption (a photo alone).
pub const NO_TEXT: &str = "[attachment]";

/// Who the bot is (from `getMe`): what a mention or a reply names.
#[derive(Debug, Clone)]
pub struct Me {
    pub id: i64,
    pub username: String,
}

/// The message an update carries, if it is a new message with text or a
/// caption (other updates are skipped).
pub fn inbound(update: &Value, me: &Me) -> Option<InboundMessage> {
    let message = update.get("message")?;
    let chat = message.get("chat")?;
    let chat_id = chat["id"].as_i64()?;
    let message_id = message["message_id"].as_i64()?;
    let (text, entities) = match message["text"].as_str() {
        Some(text) => (text, &message["entities"]),
        None => (
            message["caption"].as_str().unwrap_or(NO_TEXT),
            &message["caption_entities"],
        ),
    };
    let chat_type = match chat["type"].as_str() {
        Some("private") => ChatType::P2p,
        _ => ChatType::Group,
    };
    let sender = message["from"]["id"].as_i64().map(|id| id.to_string());
    let replied_to_bot = message["reply_to_message"]["from"]["id"].as_i64() == Some(me.id);
    Some(InboundMessage {
        message_id: format!("{chat_id}:{message_id}"),
        receive_id_type: ReceiveIdType::ChatId,
        receive_id: chat_id.to_string(),
        chat_type,
        sender_open_id: sender.clone(),
        sender_user_id: sender,
        text: text.to_string(),
        mentions_bot: replied_to_bot || mentions(text, entities, &me.username),
    })
}

/// A `mention` entity equal to `@username` or a `/cmd@username`; entity
/// offsets count UTF-16 units.
fn mentions(text: &str, entities: &Value, username: &str) -> bool {
    let units: Vec<u16> = text.encode_utf16().collect();
    let Some(entities) = entities.as_array() else {
        return false;
    };
    entities.iter().any(|entity| {
        let (Some(offset), Some(length)) = (entity["offset"].as_u64(), entity["length"].as_u64())
        else {
            return false;
        };
        let (start, end) = (offset as usize, (offset + length) as usize);
        let Some(slice) = units.get(start..end) else {
            return false;
        };
        let slice = String::from_utf16_lossy(slice);
        match entity["type"].as_str() {
            Some("mention") => slice
                .strip_prefix('@')
                .is_some_and(|name| name.eq_ignore_ascii_case(username)),
            Some("bot_command") => slice
                .split_once('@')
                .is_some_and(|(_, name)| name.eq_ignore_ascii_case(username)),
            _ => false,
        }
    })
}

/// A normalised message id back to Telegram's (`<chat>:<id>` → `<id>`).
pub fn platform_message_id(normalised: &str) -> Option<i64> {
    normalised.rsplit(':').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_mention_counts_in_utf16_units_and_a_reply_to_the_bot_counts_too() {
        let me = Me {
            id: 42,
            username: "jobs_bot".into(),
        };
        // "é" is one UTF-16 unit, "😀" two: the mention starts at 3.
        let update = json!({"update_id": 1, "message": {"message_id": 7, "chat": {"id": -100, "type": "supergroup"},
            "from": {"id": 5}, "text": "😀é @Jobs_Bot hi", "entities": [{"type": "mention", "offset": 4, "length": 9}]}});
        let m = inbound(&update, &me).unwrap();
        assert!(m.mentions_bot);
        assert_eq!(m.message_id, "-100:7");
        assert_eq!(m.chat_type, ChatType::Group);
        let update = json!({"update_id": 2, "message": {"message_id": 8, "chat": {"id": -100, "type": "group"},
            "from": {"id": 5}, "text": "yes", "reply_to_message": {"message_id": 3, "from": {"id": 42}}}});
        assert!(inbound(&update, &me).unwrap().mentions_bot);
        let update = json!({"update_id": 3, "message": {"message_id": 9, "chat": {"id": -100, "type": "group"},
            "from": {"id": 5}, "text": "@other hi", "entities": [{"type": "mention", "offset": 0, "length": 6}]}});
        assert!(!inbound(&update, &me).unwrap().mentions_bot);
        assert_eq!(platform_message_id("-100:9"), Some(9));
    }
}
