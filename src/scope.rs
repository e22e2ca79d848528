//! The conversation a request or a run acts on. Skills receive it as
//! `ALICE_*` environment variables; `alice runtime` sends it back as
//! `X-Alice-*` headers; the Runtime API reads it from those headers.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What a receive id is (Feishu's `receive_id_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiveIdType {
    #[default]
    ChatId,
    OpenId,
    UserId,
    UnionId,
    Email,
}

impl ReceiveIdType {
    pub const ALL: [Self; 5] = [
        Self::ChatId,
        Self::OpenId,
        Self::UserId,
        Self::UnionId,
        Self::Email,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ChatId => "chat_id",
            Self::OpenId => "open_id",
            Self::UserId => "user_id",
            Self::UnionId => "union_id",
            Self::Email => "email",
        }
    }

    /// `chat_id, open_id, …`, for error messages.
    pub fn listed() -> String {
        Self::ALL.map(Self::as_str).join(", ")
    }
}

impl FromStr for ReceiveIdType {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL.into_iter().find(|t| t.as_str() == s).ok_or(())
    }
}

impl fmt::Display for ReceiveIdType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A one-to-one chat or a group (Feishu's topic groups count as groups).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatType {
    P2p,
    Group,
}

impl ChatType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::P2p => "p2p",
            Self::Group => "group",
        }
    }
}

impl FromStr for ChatType {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "p2p" => Ok(Self::P2p),
            "group" => Ok(Self::Group),
            _ => Err(()),
        }
    }
}

impl fmt::Display for ChatType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One conversation field and the names it goes by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    ReceiveIdType,
    ReceiveId,
    SourceMessageId,
    ActorUserId,
    ActorOpenId,
    ChatType,
    SessionKey,
}

impl Field {
    pub const ALL: [Self; 7] = [
        Self::ReceiveIdType,
        Self::ReceiveId,
        Self::SourceMessageId,
        Self::ActorUserId,
        Self::ActorOpenId,
        Self::ChatType,
        Self::SessionKey,
    ];

    /// The environment variable a skill reads.
    pub fn var(self) -> &'static str {
        match self {
            Self::ReceiveIdType => "ALICE_RECEIVE_ID_TYPE",
            Self::ReceiveId => "ALICE_RECEIVE_ID",
            Self::SourceMessageId => "ALICE_SOURCE_MESSAGE_ID",
            Self::ActorUserId => "ALICE_ACTOR_USER_ID",
            Self::ActorOpenId => "ALICE_ACTOR_OPEN_ID",
            Self::ChatType => "ALICE_CHAT_TYPE",
            Self::SessionKey => "ALICE_SESSION_KEY",
        }
    }

    /// The header `alice runtime` sends.
    pub fn header(self) -> &'static str {
        match self {
            Self::ReceiveIdType => "x-alice-receive-id-type",
            Self::ReceiveId => "x-alice-receive-id",
            Self::SourceMessageId => "x-alice-source-message-id",
            Self::ActorUserId => "x-alice-actor-user-id",
            Self::ActorOpenId => "x-alice-actor-open-id",
            Self::ChatType => "x-alice-chat-type",
            Self::SessionKey => "x-alice-session-key",
        }
    }
}

// In JSON (the supervisor's run requests, stored run records) an unknown
// receive id type or chat type reads as unset: both always took any string
// there, and a record written so must still load. (A plain comment: the doc
// comment below is the OpenAPI description.)
/// A conversation; every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    #[schema(value_type = Option<String>)]
    #[serde(default, deserialize_with = "known_or_unset")]
    pub receive_id_type: Option<ReceiveIdType>,
    pub receive_id: Option<String>,
    pub source_message_id: Option<String>,
    pub actor_user_id: Option<String>,
    pub actor_open_id: Option<String>,
    #[schema(value_type = Option<String>)]
    #[serde(default, deserialize_with = "known_or_unset")]
    pub chat_type: Option<ChatType>,
    pub session_key: Option<String>,
}

impl Scope {
    /// A scope from named lookups (headers or variables); blank values are
    /// unset. An unknown receive id type is refused (`Err` names the field:
    /// a message would go nowhere).
    pub fn read(get: impl FnMut(Field) -> Option<String>) -> Result<Self, Field> {
        match Self::read_lenient(get) {
            (scope, false) => Ok(scope),
            (_, true) => Err(Field::ReceiveIdType),
        }
    }

    /// As [`Scope::read`], keeping what can be read: an unknown receive id
    /// type is left unset and reported by the `bool`. An unknown chat type
    /// only describes the conversation, so it counts as unknown.
    pub fn read_lenient(mut get: impl FnMut(Field) -> Option<String>) -> (Self, bool) {
        let mut value = |field| {
            get(field)
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        let kind = value(Field::ReceiveIdType);
        let receive_id_type = kind.as_deref().and_then(|k| k.parse().ok());
        let unknown_type = kind.is_some() && receive_id_type.is_none();
        let scope = Self {
            receive_id_type,
            receive_id: value(Field::ReceiveId),
            source_message_id: value(Field::SourceMessageId),
            actor_user_id: value(Field::ActorUserId),
            actor_open_id: value(Field::ActorOpenId),
            chat_type: value(Field::ChatType).and_then(|t| t.parse().ok()),
            session_key: value(Field::SessionKey),
        };
        (scope, unknown_type)
    }

    /// A chat (`chat_id`) or user (`open_id`) conversation, as automation
    /// tasks address them.
    pub fn for_target(receive_id_type: ReceiveIdType, receive_id: &str) -> Self {
        Self {
            receive_id_type: Some(receive_id_type),
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
    pub fn receive_id_type(&self) -> ReceiveIdType {
        self.receive_id_type.unwrap_or_default()
    }

    /// The session key: given, or `<receive_id_type>:<receive_id>|scene:chat`.
    pub fn session_key(&self) -> Option<String> {
        self.session_key.clone().or_else(|| {
            self.receive_id
                .as_ref()
                .map(|id| format!("{}:{id}|scene:chat", self.receive_id_type()))
        })
    }

    /// Each field's value as text (the session key derived when unset).
    fn value(&self, field: Field) -> Option<String> {
        match field {
            Field::ReceiveIdType => self.receive_id_type.map(|t| t.to_string()),
            Field::ReceiveId => self.receive_id.clone(),
            Field::SourceMessageId => self.source_message_id.clone(),
            Field::ActorUserId => self.actor_user_id.clone(),
            Field::ActorOpenId => self.actor_open_id.clone(),
            Field::ChatType => self.chat_type.map(|t| t.to_string()),
            Field::SessionKey => self.session_key(),
        }
    }

    /// The seven conversation variables (empty when unknown), for a child.
    pub fn env(&self) -> Vec<(String, String)> {
        Field::ALL
            .into_iter()
            .map(|f| (f.var().to_string(), self.value(f).unwrap_or_default()))
            .collect()
    }

    /// The headers `alice runtime` sends for this scope (only known ones).
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        Field::ALL
            .into_iter()
            .filter_map(|f| self.value(f).map(|v| (f.header(), v)))
            .collect()
    }
}

/// A known value, or `None` for an unknown one (see [`Scope`]).
fn known_or_unset<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: FromStr,
{
    let value = Option::<String>::deserialize(d)?;
    Ok(value.and_then(|v| {
        let known = v.parse().ok();
        if known.is_none() && !v.is_empty() {
            tracing::warn!(value = %v, "unknown conversation type in a scope; read as unset");
        }
        known
    }))
}

/// The three variables that say where the bot is.
pub fn runtime_env(base_url: &str, token: &str, bin: &std::path::Path) -> Vec<(String, String)> {
    vec![
        ("ALICE_RUNTIME_API_BASE_URL".into(), base_url.to_string()),
        ("ALICE_RUNTIME_API_TOKEN".into(), token.to_string()),
        ("ALICE_RUNTIME_BIN".into(), bin.display().to_string()),
    ]
}
