//! The Feishu (Lark) connector: uploads and messages through the Open
//! Platform over reqwest. `base_url` is configurable (Lark, or a fake Feishu
//! in the tests). Shapes follow FEISHU.md (checked against the official SDKs).

mod client;
mod token;
mod wire;

use super::{ConnectorError, Destination, Messenger, Payload, Sent};
use crate::config::ConnectorConfig;
use async_trait::async_trait;
use client::Api;
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};
use std::time::Duration;
use token::TokenCache;

/// Feishu's own limits, checked before anything is uploaded.
const MAX_IMAGE_BYTES: usize = 10 * 1024 * 1024;
const MAX_FILE_BYTES: usize = 30 * 1024 * 1024;
const MAX_TEXT_BYTES: usize = 150 * 1024;

/// Cloning is cheap: the clones share one HTTP client and one tenant
/// token (the bot's inbound side asks who the bot is with it).
#[derive(Clone)]
pub struct FeishuConnector {
    api: std::sync::Arc<Api>,
}

impl FeishuConnector {
    pub fn new(config: &ConnectorConfig) -> Result<Self, ConnectorError> {
        let http = crate::connector::http_client(Duration::from_secs(config.request_timeout_secs))?;
        let base_url = config.base_url.trim_end_matches('/');
        let tokens = TokenCache::new(base_url, &config.app_id, &config.app_secret);
        Ok(Self {
            api: std::sync::Arc::new(Api::new(http, base_url, tokens)),
        })
    }

    /// The bot's own `open_id` (`bot/v3/info`), on the shared token.
    pub async fn bot_open_id(&self) -> Result<String, ConnectorError> {
        let url = self.api.url("/open-apis/bot/v3/info");
        let data = self.api.call("bot info", |http| http.get(&url)).await?;
        match data["bot"]["open_id"].as_str() {
            Some(id) if !id.is_empty() => Ok(id.to_string()),
            _ => Err(ConnectorError::Rejected(
                "bot info: feishu named no open_id".into(),
            )),
        }
    }

    async fn upload_image(&self, name: &str, bytes: Vec<u8>) -> Result<String, ConnectorError> {
        check_size("image", bytes.len(), MAX_IMAGE_BYTES)?;
        let url = self.api.url("/open-apis/im/v1/images");
        let data = self
            .api
            .call("image upload", |http| {
                let form = Form::new().text("image_type", "message").part(
                    "image",
                    Part::bytes(bytes.clone()).file_name(name.to_string()),
                );
                http.post(&url).multipart(form)
            })
            .await?;
        key(&data, "image_key")
    }

    async fn upload_file(&self, name: &str, bytes: Vec<u8>) -> Result<String, ConnectorError> {
        check_size("file", bytes.len(), MAX_FILE_BYTES)?;
        let url = self.api.url("/open-apis/im/v1/files");
        let data = self
            .api
            .call("file upload", |http| {
                let form = Form::new()
                    .text("file_type", file_type(name))
                    .text("file_name", name.to_string())
                    .part(
                        "file",
                        Part::bytes(bytes.clone()).file_name(name.to_string()),
                    );
                http.post(&url).multipart(form)
            })
            .await?;
        key(&data, "file_key")
    }

    /// Sends (or replies with) one message. `content` is a JSON *string*;
    /// `uuid` makes the retries of this one message idempotent.
    async fn deliver(
        &self,
        to: &Destination,
        msg_type: &str,
        content: Value,
    ) -> Result<Sent, ConnectorError> {
        let uuid = uuid::Uuid::new_v4().to_string();
        let content = content.to_string();
        let data = match &to.reply_to {
            Some(source) => {
                let url = self.message_url(&[source, "reply"])?;
                let body = json!({"msg_type": msg_type, "content": content, "uuid": uuid});
                self.api
                    .call("reply", |http| http.post(url.clone()).json(&body))
                    .await?
            }
            None => {
                let mut url = self.message_url(&[])?;
                url.query_pairs_mut()
                    .append_pair("receive_id_type", to.receive_id_type.as_str());
                let body = json!({"receive_id": to.receive_id, "msg_type": msg_type,
                    "content": content, "uuid": uuid});
                self.api
                    .call("send", |http| http.post(url.clone()).json(&body))
                    .await?
            }
        };
        Ok(Sent {
            message_id: key(&data, "message_id")?,
            ..Sent::default()
        })
    }

    async fn send_image_key(&self, to: &Destination, key: String) -> Result<Sent, ConnectorError> {
        let sent = self.deliver(to, "image", json!({"image_key": key})).await?;
        Ok(Sent {
            image_key: Some(key),
            ..sent
        })
    }

    async fn send_file_key(&self, to: &Destination, key: String) -> Result<Sent, ConnectorError> {
        let sent = self.deliver(to, "file", json!({"file_key": key})).await?;
        Ok(Sent {
            file_key: Some(key),
            ..sent
        })
    }

    /// `/open-apis/im/v1/messages[/<segments>]`, each segment escaped.
    fn message_url(&self, segments: &[&str]) -> Result<reqwest::Url, ConnectorError> {
        let mut url = reqwest::Url::parse(&self.api.url("/open-apis/im/v1/messages"))
            .map_err(|e| ConnectorError::Internal(format!("connector.base_url: {e}")))?;
        url.path_segments_mut()
            .map_err(|_| ConnectorError::Internal("connector.base_url cannot be a base".into()))?
            .extend(segments);
        Ok(url)
    }
}

#[async_trait]
impl Messenger for FeishuConnector {
    fn max_text_bytes(&self) -> usize {
        MAX_TEXT_BYTES
    }

    async fn send(&self, to: &Destination, payload: Payload) -> Result<Sent, ConnectorError> {
        match payload {
            Payload::Text(text) => {
                check_size("text", text.len(), MAX_TEXT_BYTES)?;
                self.deliver(to, "text", json!({"text": text})).await
            }
            Payload::Image { name, bytes } => {
                let image_key = self.upload_image(&name, bytes).await?;
                self.send_image_key(to, image_key).await
            }
            Payload::File { name, bytes } => {
                let file_key = self.upload_file(&name, bytes).await?;
                self.send_file_key(to, file_key).await
            }
            // A key Feishu issued goes straight into the message.
            Payload::ImageKey(image_key) => self.send_image_key(to, image_key).await,
            Payload::FileKey(file_key) => self.send_file_key(to, file_key).await,
        }
    }
}

fn check_size(what: &str, len: usize, max: usize) -> Result<(), ConnectorError> {
    if len == 0 {
        return Err(ConnectorError::Invalid(format!("the {what} is empty")));
    }
    if len > max {
        return Err(ConnectorError::Invalid(format!(
            "the {what} has {len} bytes; feishu accepts at most {max}"
        )));
    }
    Ok(())
}

/// Feishu's `file_type` from the name's extension; `stream` for the rest.
fn file_type(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("opus") => "opus",
        Some("mp4") => "mp4",
        Some("pdf") => "pdf",
        Some("doc" | "docx") => "doc",
        Some("xls" | "xlsx") => "xls",
        Some("ppt" | "pptx") => "ppt",
        _ => "stream",
    }
}

fn key(data: &Value, field: &str) -> Result<String, ConnectorError> {
    data.get(field)
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| ConnectorError::Rejected(format!("feishu's answer has no `{field}`")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn file_types_follow_the_extension() {
        for (name, kind) in [
            ("a.PDF", "pdf"),
            ("voice.opus", "opus"),
            ("clip.mp4", "mp4"),
            ("r.docx", "doc"),
            ("s.xls", "xls"),
            ("deck.pptx", "ppt"),
            ("data.csv", "stream"),
            ("noext", "stream"),
        ] {
            assert_eq!(super::file_type(name), kind, "{name}");
        }
    }
}
