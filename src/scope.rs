//! The conversation a request or a run acts on. Skills receive it as
//! `ALICE_*` environment variables; `alice runtime` sends it back as
//! `X-Alice-*` headers; the Runtime API reads it from those headers.

use serde::{Deserialize, Serialize};

/// (environment variable, header) for each conversation field.
pub const FIELDS: [(&str, &str); 7] = [
    ("ALICE_RECEIVE_ID_TYPE", "x-alice-receive-id-type"),
    ("ALICE_RECEIVE_ID", "x-alice-receive-id"),
    ("ALICE_SOURCE_MESSAGE_ID", "x-alice-source-message-id"),
    ("ALICE_ACTOR_USER_ID", "x-alice-actor-user-id"),
    ("ALICE_ACTOR_OPEN_ID", "x-alice-actor-open-id"),
    ("ALICE_CHAT_TYPE", "x-alice-chat-type"),
    ("ALICE_SESSION_KEY", "x-alice-session-key"),
];

/// A conversation; every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    pub receive_id_type: Option<String>,
    pub receive_id: Option<String>,
    pub source_message_id: Option<String>,
    pub actor_user_id: Option<String>,
    pub actor_open_id: Option<String>,
    pub chat_type: Option<String>,
    pub session_key: Option<String>,
}

impl Scope {
    /// A scope from `(name, value)` lookups: header names or variable names.
    pub fn from_lookup(mut get: impl FnMut(usize) -> Option<String>) -> Self {
        let mut v: Vec<Option<String>> = (0..FIELDS.len())
            .map(|i| {
                get(i)
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
            })
            .collect();
        let mut take = |i: usize| v[i].take();
        Self {
            receive_id_type: take(0),
            receive_id: take(1),
            source_message_id: take(2),
            actor_user_id: take(3),
            actor_open_id: take(4),
            chat_type: take(5),
            session_key: take(6),
        }
    }

    /// A chat (`chat_id`) or user (`open_id`) conversation, as automation
    /// tasks address them.
    pub fn for_target(receive_id_type: &str, receive_id: &str) -> Self {
        Self {
            receive_id_type: Some(receive_id_type.to_string()),
            receive_id: Some(receive_id.to_string()),
            ..Self::default()
        }
    }

    /// Whether a token limited to this conversation may act on `other`:
    /// every conversation field `other` names must be this one's own (a
    /// matching session key alone is not enough, or a skill could send to
    /// any chat by naming its own session).
    pub fn admits(&self, other: &Scope) -> bool {
        let same_target = other.receive_id.is_none()
            || (self.receive_id == other.receive_id
                && self.receive_id_type() == other.receive_id_type());
        let same_source =
            other.source_message_id.is_none() || self.source_message_id == other.source_message_id;
        let same_session = other.session_key.is_none() || self.session_key() == other.session_key;
        same_target && same_source && same_session
    }

    /// The receive id type, `chat_id` when unspecified.
    pub fn receive_id_type(&self) -> &str {
        self.receive_id_type.as_deref().unwrap_or("chat_id")
    }

    /// The session key: given, or `<receive_id_type>:<receive_id>|scene:chat`.
    pub fn session_key(&self) -> Option<String> {
        self.session_key.clone().or_else(|| {
            self.receive_id
                .as_ref()
                .map(|id| format!("{}:{id}|scene:chat", self.receive_id_type()))
        })
    }

    fn values(&self) -> [Option<String>; 7] {
        [
            self.receive_id_type.clone(),
            self.receive_id.clone(),
            self.source_message_id.clone(),
            self.actor_user_id.clone(),
            self.actor_open_id.clone(),
            self.chat_type.clone(),
            self.session_key(),
        ]
    }

    /// The seven conversation variables (empty when unknown), for a child.
    pub fn env(&self) -> Vec<(String, String)> {
        FIELDS
            .iter()
            .zip(self.values())
            .map(|((var, _), value)| (var.to_string(), value.unwrap_or_default()))
            .collect()
    }

    /// The headers `alice runtime` sends for this scope (only known ones).
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        FIELDS
            .iter()
            .zip(self.values())
            .filter_map(|((_, header), value)| value.map(|v| (*header, v)))
            .collect()
    }
}

/// The three variables that say where the bot is.
pub fn runtime_env(base_url: &str, token: &str, bin: &std::path::Path) -> Vec<(String, String)> {
    vec![
        ("ALICE_RUNTIME_API_BASE_URL".into(), base_url.to_string()),
        ("ALICE_RUNTIME_API_TOKEN".into(), token.to_string()),
        ("ALICE_RUNTIME_BIN".into(), bin.display().to_string()),
    ]
}
