//! The embedded connector: a bot's conversations kept in its own trees and
//! files under `<data_dir>/<id>/files/`, so alice works with no accounts.
//!
//! Trees: `<id>/messages`: `<receive_id>\u{1f}<seq:020>` → [`StoredMessage`];
//! `<id>/conversations`: `<receive_id>` → [`ConversationSummary`];
//! `<id>/local_keys`: `img_…`/`file_…` → [`KeyedFile`]. Like Feishu, it
//! answers an upload with a key that sends the same image or file again,
//! and refuses a key it did not issue.

use super::{sanitize_filename, ConnectorError, Destination, Messenger, Payload, Sent};
use crate::store::Result;
use crate::store::{BotStore, Tree, TypedTree};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use tokio::sync::broadcast;
use utoipa::ToSchema;

const SEP: char = '\u{1f}';
use crate::config::KEEP_MESSAGES;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From a user.
    In,
    /// Sent by the bot.
    Out,
}

/// What a message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MsgType {
    Text,
    Image,
    File,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StoredMessage {
    pub message_id: String,
    pub receive_id_type: String,
    pub receive_id: String,
    /// `out` (sent by the bot) or `in` (from a user).
    #[schema(value_type = String)]
    pub direction: Direction,
    /// `text`, `image` or `file`.
    #[schema(value_type = String)]
    pub msg_type: MsgType,
    pub text: Option<String>,
    /// For images and files: the display name and the stored file's path
    /// relative to the bot's folder.
    pub file_name: Option<String>,
    pub file_path: Option<String>,
    pub size: Option<u64>,
    pub reply_to: Option<String>,
    pub created_at: DateTime<Utc>,
    /// For images and files: the key that sends it again (`img_…`/`file_…`);
    /// absent on messages stored before keys existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// What a key the local connector issued sends: the newest stored copy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyedFile {
    pub msg_type: MsgType,
    pub file_name: String,
    /// Relative to the bot's folder, as in [`StoredMessage::file_path`].
    pub file_path: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ConversationSummary {
    pub receive_id: String,
    pub receive_id_type: String,
    pub messages: u64,
    pub last_message_at: DateTime<Utc>,
}

#[derive(Clone)]
pub struct LocalConnector {
    store: BotStore,
    messages: TypedTree<StoredMessage>,
    conversations: TypedTree<ConversationSummary>,
    keys: TypedTree<KeyedFile>,
    files: PathBuf,
    /// Every stored message, for live readers (`alice chat`, tests).
    feed: broadcast::Sender<StoredMessage>,
    /// Messages kept per conversation.
    keep: usize,
}

impl LocalConnector {
    pub fn open(store: BotStore, folder: PathBuf) -> Result<Self> {
        Ok(Self {
            messages: store.tree(Tree::LocalMessages)?,
            conversations: store.tree(Tree::LocalConversations)?,
            keys: store.tree(Tree::LocalKeys)?,
            files: folder.join("files"),
            store,
            feed: broadcast::channel(256).0,
            keep: KEEP_MESSAGES,
        })
    }

    /// Keeps `keep` messages per conversation (at least one).
    pub fn with_retention(mut self, keep: usize) -> Self {
        self.keep = keep.max(1);
        self
    }

    /// Where an image's or file's bytes are on disk (the console serves them).
    pub fn file_on_disk(&self, message: &StoredMessage) -> Option<PathBuf> {
        let name = message.file_path.as_deref()?.strip_prefix("files/")?;
        // Only names alice wrote itself: one plain file name.
        (!name.contains('/') && !name.contains("..")).then(|| self.files.join(name))
    }

    pub fn subscribe(&self) -> broadcast::Receiver<StoredMessage> {
        self.feed.subscribe()
    }

    /// Conversations, most recent first (a full scan, off the async workers).
    pub async fn conversations(&self) -> Result<Vec<ConversationSummary>> {
        let tree = self.conversations.clone();
        let mut all = tokio::task::spawn_blocking(move || tree.values()).await??;
        all.sort_by_key(|c| std::cmp::Reverse(c.last_message_at));
        Ok(all)
    }

    /// One conversation's messages in order, paged in storage; the total
    /// comes from the conversation's summary.
    pub fn messages(
        &self,
        receive_id: &str,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<StoredMessage>, usize)> {
        let total = self
            .conversations
            .get(receive_id)?
            .map_or(0, |c| c.messages as usize);
        let prefix = format!("{receive_id}{SEP}");
        let page = self.messages.page_with_prefix(&prefix, offset, limit)?;
        Ok((page, total))
    }

    /// Drops a conversation's oldest messages (and their files) beyond
    /// `keep`; the summary's count follows.
    async fn retain(&self, summary: &mut ConversationSummary) -> Result<()> {
        let excess = (summary.messages as usize).saturating_sub(self.keep);
        if excess == 0 {
            return Ok(());
        }
        let prefix = format!("{}{SEP}", summary.receive_id);
        for (key, old) in self.messages.first_with_prefix(&prefix, excess)? {
            self.messages.remove(&key)?;
            // The key goes with its newest copy (a later send keeps it).
            if let (Some(k), Some(path)) = (&old.key, &old.file_path) {
                if self.keys.get(k)?.is_some_and(|f| &f.file_path == path) {
                    self.keys.remove(k)?;
                }
            }
            if let Some(path) = old.file_path {
                match tokio::fs::remove_file(self.files.join(path.trim_start_matches("files/")))
                    .await
                {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        tracing::warn!(error = %e, "cannot remove an old message's file")
                    }
                    _ => {}
                }
            }
        }
        summary.messages = self.keep as u64;
        Ok(())
    }

    /// Stores a message (either direction) and makes it durable.
    pub async fn record(
        &self,
        mut message: StoredMessage,
        body: Option<&[u8]>,
    ) -> Result<StoredMessage> {
        let seq = self.store.next_id()?;
        if let (Some(bytes), Some(name)) = (body, message.file_name.clone()) {
            tokio::fs::create_dir_all(&self.files).await?;
            let file = format!("{}-{}", message.message_id, sanitize_filename(&name));
            tokio::fs::write(self.files.join(&file), bytes).await?;
            message.file_path = Some(format!("files/{file}"));
            message.size = Some(bytes.len() as u64);
            if let Some(key) = &message.key {
                let keyed = KeyedFile {
                    msg_type: message.msg_type,
                    file_name: name,
                    file_path: format!("files/{file}"),
                };
                self.keys.insert(key, &keyed)?;
            }
        }
        let key = format!("{}{SEP}{seq:020}", message.receive_id);
        self.messages.insert(&key, &message)?;
        let mut summary =
            self.conversations
                .get(&message.receive_id)?
                .unwrap_or(ConversationSummary {
                    receive_id: message.receive_id.clone(),
                    receive_id_type: message.receive_id_type.clone(),
                    messages: 0,
                    last_message_at: message.created_at,
                });
        summary.messages += 1;
        summary.last_message_at = message.created_at;
        self.retain(&mut summary).await?;
        self.conversations.insert(&message.receive_id, &summary)?;
        self.store.durable().await?;
        let _ = self.feed.send(message.clone());
        Ok(message)
    }
}

/// How a user's message to a local conversation is kept.
pub fn inbound_record(message: &crate::connector::inbound::InboundMessage) -> StoredMessage {
    StoredMessage {
        message_id: message.message_id.clone(),
        receive_id_type: message.receive_id_type.to_string(),
        receive_id: message.receive_id.clone(),
        direction: Direction::In,
        msg_type: MsgType::Text,
        text: Some(message.text.clone()),
        file_name: None,
        file_path: None,
        size: None,
        reply_to: None,
        created_at: Utc::now(),
        key: None,
    }
}

impl LocalConnector {
    /// The name and bytes a key this connector issued sends; a key it did
    /// not issue (or of the other kind, or whose copy retention dropped) is
    /// refused.
    async fn keyed(&self, key: &str, kind: MsgType) -> Result<(String, Vec<u8>), ConnectorError> {
        let unknown = || {
            ConnectorError::Invalid(format!(
                "no such key: `{key}` (the local connector sends only keys it issued)"
            ))
        };
        let file = self
            .keys
            .get(key)?
            .filter(|f| f.msg_type == kind)
            .ok_or_else(unknown)?;
        let path = self.files.join(file.file_path.trim_start_matches("files/"));
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok((file.file_name, bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(unknown()),
            Err(e) => Err(ConnectorError::Internal(format!(
                "cannot read a stored file: {e}"
            ))),
        }
    }
}

/// A key in Feishu's shape (`img_…`, `file_…`).
fn new_key(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// A message id in Feishu's shape.
pub fn new_message_id() -> String {
    format!("om_{}", uuid::Uuid::new_v4().simple())
}

/// Feishu's text limit: what works locally works on the platform too.
pub const MAX_TEXT_BYTES: usize = 150 * 1024;

#[async_trait]
impl Messenger for LocalConnector {
    fn max_text_bytes(&self) -> usize {
        MAX_TEXT_BYTES
    }

    async fn send(&self, to: &Destination, payload: Payload) -> Result<Sent, ConnectorError> {
        if let Payload::Text(text) = &payload {
            self.check_text(text)?;
        }
        let (msg_type, text, file, key) = match payload {
            Payload::Text(text) => (MsgType::Text, Some(text), None, None),
            Payload::Image { name, bytes } => {
                let key = new_key("img");
                (MsgType::Image, None, Some((name, bytes)), Some(key))
            }
            Payload::File { name, bytes } => {
                let key = new_key("file");
                (MsgType::File, None, Some((name, bytes)), Some(key))
            }
            Payload::ImageKey(key) => {
                let file = self.keyed(&key, MsgType::Image).await?;
                (MsgType::Image, None, Some(file), Some(key))
            }
            Payload::FileKey(key) => {
                let file = self.keyed(&key, MsgType::File).await?;
                (MsgType::File, None, Some(file), Some(key))
            }
        };
        let message = StoredMessage {
            message_id: new_message_id(),
            receive_id_type: to.receive_id_type.to_string(),
            receive_id: to.receive_id.clone(),
            direction: Direction::Out,
            msg_type,
            text,
            file_name: file.as_ref().map(|(n, _)| n.clone()),
            file_path: None,
            size: None,
            reply_to: to.reply_to.clone(),
            created_at: Utc::now(),
            key: key.clone(),
        };
        let stored = self
            .record(message, file.as_ref().map(|(_, b)| b.as_slice()))
            .await?;
        let image = msg_type == MsgType::Image;
        Ok(Sent {
            message_id: stored.message_id,
            image_key: key.clone().filter(|_| image),
            file_key: key.filter(|_| !image),
        })
    }
}
