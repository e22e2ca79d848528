//! The Telegram Bot API connector: outbound `sendMessage` (split above
//! 4 096 characters), `sendPhoto`/`sendDocument` (multipart), replies by
//! `reply_parameters`; inbound by long polling ([`Polling`]). Nothing outside
//! this folder knows Telegram's wire format.

mod api;
mod files;
mod polling;
mod update;
mod webhook;

pub use polling::Polling;
pub use webhook::{TelegramWebhook, TelegramWebhookError, SECRET_HEADER};

use crate::config::ConnectorConfig;
use crate::connector::{Capabilities, ConnectorError, Destination, Messenger, Payload, Sent};
use api::Api;
use async_trait::async_trait;
use serde_json::{json, Value};
use std::time::Duration;

/// `sendMessage` takes at most this many characters.
const MAX_CHARS: usize = 4096;

pub struct TelegramConnector {
    api: Api,
}

impl TelegramConnector {
    pub fn new(config: &ConnectorConfig) -> Result<Self, ConnectorError> {
        let http = crate::connector::http_client(Duration::from_secs(config.request_timeout_secs))?;
        Ok(Self {
            api: Api::new(http, config.api_base(), &config.bot_token),
        })
    }

    async fn send_text(&self, to: &Destination, text: &str) -> Result<Sent, ConnectorError> {
        let mut first = None;
        for (i, chunk) in split(text, MAX_CHARS).into_iter().enumerate() {
            let mut body = json!({"chat_id": to.receive_id, "text": chunk});
            // Only the first part answers the message; the rest follow it.
            if let (0, Some(reply)) = (i, reply_parameters(to)) {
                body["reply_parameters"] = reply;
            }
            let sent = self.api.json("sendMessage", &body).await?;
            first.get_or_insert(sent);
        }
        Ok(sent_of(&first.unwrap_or_default(), None))
    }

    async fn send_upload(
        &self,
        to: &Destination,
        method: &str,
        part: &str,
        name: &str,
        bytes: &[u8],
    ) -> Result<Sent, ConnectorError> {
        let reply = reply_parameters(to).map(|r| r.to_string());
        let result = self
            .api
            .call(method, |http, url| {
                let file =
                    reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_string());
                let mut form = reqwest::multipart::Form::new()
                    .text("chat_id", to.receive_id.clone())
                    .part(part.to_string(), file);
                if let Some(reply) = &reply {
                    form = form.text("reply_parameters", reply.clone());
                }
                http.post(url).multipart(form)
            })
            .await?;
        Ok(sent_of(&result, Some(part)))
    }
}

#[async_trait]
impl Messenger for TelegramConnector {
    async fn send(&self, to: &Destination, payload: Payload) -> Result<Sent, ConnectorError> {
        match payload {
            Payload::Text(text) => self.send_text(to, &text).await,
            Payload::Image { name, bytes } => {
                self.send_upload(to, "sendPhoto", "photo", &name, &bytes)
                    .await
            }
            Payload::File { name, bytes } => {
                self.send_upload(to, "sendDocument", "document", &name, &bytes)
                    .await
            }
            Payload::ImageKey(_) | Payload::FileKey(_) => Err(ConnectorError::Unsupported(
                "this bot's platform does not support sending again by key".into(),
            )),
        }
    }

    /// A long text is split into several messages; this bounds the whole.
    fn max_text_bytes(&self) -> usize {
        150 * 1024
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            resend_by_key: false,
            ..Capabilities::ALL
        }
    }
}

/// `{message_id}` of the normalised reply target, if any.
fn reply_parameters(to: &Destination) -> Option<Value> {
    let id = update::platform_message_id(to.reply_to.as_deref()?)?;
    Some(json!({"message_id": id, "allow_sending_without_reply": true}))
}

/// The sent message's normalised id (`<chat>:<id>`).
fn sent_of(message: &Value, _part: Option<&str>) -> Sent {
    let chat = message["chat"]["id"].as_i64().unwrap_or_default();
    let id = message["message_id"].as_i64().unwrap_or_default();
    Sent {
        message_id: format!("{chat}:{id}"),
        ..Sent::default()
    }
}

/// Pieces of at most `max` characters, cut at a line break or a space near
/// the end when there is one.
fn split(text: &str, max: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut rest: Vec<char> = text.chars().collect();
    while rest.len() > max {
        let window = &rest[..max];
        let cut = window
            .iter()
            .rposition(|c| *c == '\n')
            .or_else(|| window.iter().rposition(|c| *c == ' '))
            .filter(|at| *at > max / 2)
            .map_or(max, |at| at + 1);
        parts.push(rest[..cut].iter().collect());
        rest.drain(..cut);
    }
    if !rest.is_empty() || parts.is_empty() {
        parts.push(rest.into_iter().collect());
    }
    parts
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_long_text_is_split_under_the_limit_and_nothing_is_lost() {
        let text = "word ".repeat(1000);
        let parts = super::split(&text, 4096);
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.chars().count() <= 4096));
        assert_eq!(parts.concat(), text);
        assert_eq!(super::split("short", 4096), ["short"]);
    }
}
