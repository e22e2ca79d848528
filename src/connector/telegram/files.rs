//! Inbound photos and documents: fetched by `getFile` (at most 20 MB, the
//! Bot API's bound) and saved into the bot's folder under `inbound/`; the
//! message's text then names the saved file, so the agent can open it. A
//! file that cannot be fetched is named as such; the message still goes on.

use super::api::Api;
use crate::connector::inbound::InboundMessage;
use crate::connector::sanitize_filename;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// `getFile` serves files up to this size.
const MAX_BYTES: u64 = 20 * 1024 * 1024;

pub struct Files {
    api: Api,
    /// `<bot folder>/inbound`.
    dir: PathBuf,
}

/// A photo or document a message carries.
struct Attachment {
    kind: &'static str,
    file_id: String,
    name: Option<String>,
    size: Option<u64>,
}

impl Files {
    pub fn new(api: Api, bot_folder: &Path) -> Self {
        Self {
            api,
            dir: bot_folder.join("inbound"),
        }
    }

    /// Saves the message's photo or document, if any, and names it in the
    /// text (in place of the `[attachment]` placeholder, or after the
    /// caption).
    pub async fn attach(&self, update: &Value, message: &mut InboundMessage) {
        let Some(attachment) = attachment_of(&update["message"]) else {
            return;
        };
        let note = match self.save(&attachment, &message.message_id).await {
            Ok(path) => format!("[{} saved at {}]", attachment.kind, path.display()),
            Err(e) => {
                tracing::warn!(message_id = %message.message_id, error = %e, "cannot fetch a telegram file");
                format!("[{} could not be fetched: {e}]", attachment.kind)
            }
        };
        message.text = match message.text.as_str() {
            super::update::NO_TEXT => note,
            text => format!("{text}\n{note}"),
        };
    }

    async fn save(&self, attachment: &Attachment, message_id: &str) -> Result<PathBuf, String> {
        if attachment.size.is_some_and(|size| size > MAX_BYTES) {
            return Err("larger than the 20 MB the Bot API serves".into());
        }
        let file = self
            .api
            .json("getFile", &json!({"file_id": attachment.file_id}))
            .await
            .map_err(|e| e.to_string())?;
        let file_path = file["file_path"]
            .as_str()
            .ok_or("getFile named no file_path")?;
        let bytes = self
            .api
            .download(file_path)
            .await
            .map_err(|e| e.to_string())?;
        let name = attachment
            .name
            .clone()
            .unwrap_or_else(|| file_path.rsplit('/').next().unwrap_or("file").to_string());
        // The message id first: two messages' files never meet.
        let path = self.dir.join(sanitize_filename(&format!(
            "{}-{}",
            message_id.replace(':', "_"),
            name
        )));
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|e| format!("cannot create the folder: {e}"))?;
        tokio::fs::write(&path, bytes)
            .await
            .map_err(|e| format!("cannot write the file: {e}"))?;
        Ok(path)
    }
}

/// The largest size of a photo, or the document.
fn attachment_of(message: &Value) -> Option<Attachment> {
    if let Some(largest) = message["photo"].as_array().and_then(|sizes| sizes.last()) {
        return Some(Attachment {
            kind: "photo",
            file_id: largest["file_id"].as_str()?.to_string(),
            name: None,
            size: largest["file_size"].as_u64(),
        });
    }
    let document = message.get("document")?;
    Some(Attachment {
        kind: "document",
        file_id: document["file_id"].as_str()?.to_string(),
        name: document["file_name"].as_str().map(str::to_string),
        size: document["file_size"].as_u64(),
    })
}
