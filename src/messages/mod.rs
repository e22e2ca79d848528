//! Sending an image or a file to a conversation: check the upload, then hand
//! it to the bot's connector; a caption follows as a text message.
//! Nothing here knows about HTTP: the Runtime API reads the form and calls in.

pub(crate) mod sniff;

pub use sniff::image_format;

use crate::connector::{sanitize_filename, ConnectorError, Destination, Messenger, Payload, Sent};
use crate::error::{Code, ErrorCode};
use crate::scope::Scope;

#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    /// The form breaks a rule (a part missing, repeated, empty, not text).
    #[error("{0}")]
    Form(String),
    #[error("the `image` part is not an image (expected PNG, JPEG, GIF, WebP, BMP, TIFF or ICO)")]
    NotAnImage,
    #[error("no conversation: the X-Alice-Receive-Id header (ALICE_RECEIVE_ID) is missing")]
    NoConversation,
    #[error(transparent)]
    Connector(#[from] ConnectorError),
    /// The upload reached the conversation; its caption did not.
    #[error("{message_id} was sent but its caption was not: {source}")]
    CaptionLost {
        message_id: String,
        source: ConnectorError,
    },
}

impl ErrorCode for MessageError {
    fn code(&self) -> Code {
        match self {
            MessageError::Form(_) | MessageError::NotAnImage => Code::InvalidUpload,
            MessageError::NoConversation => Code::MissingConversation,
            MessageError::Connector(e) | MessageError::CaptionLost { source: e, .. } => e.code(),
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            MessageError::Connector(e) | MessageError::CaptionLost { source: e, .. } => {
                e.retry_after()
            }
            _ => None,
        }
    }
}

type Result<T, E = MessageError> = std::result::Result<T, E>;

/// One part of a `multipart/form-data` body, read into memory (bounded by
/// the bot's body limit).
#[derive(Debug, Clone)]
pub struct FormPart {
    pub name: String,
    /// The uploaded file's name, as the client sent it (untrusted).
    pub filename: Option<String>,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Default)]
pub struct Form {
    parts: Vec<FormPart>,
}

impl Form {
    pub fn push(&mut self, part: FormPart) {
        self.parts.push(part);
    }

    fn one(&self, name: &str) -> Result<Option<&FormPart>> {
        let mut found = self.parts.iter().filter(|p| p.name == name);
        match (found.next(), found.next()) {
            (Some(_), Some(_)) => Err(MessageError::Form(format!(
                "the `{name}` part appears more than once"
            ))),
            (one, _) => Ok(one),
        }
    }

    /// A required, non-empty upload.
    fn upload(&self, name: &str) -> Result<&FormPart> {
        match self.one(name)? {
            None => Err(MessageError::Form(format!(
                "the multipart body has no `{name}` part (nor `{name}_key`)"
            ))),
            Some(p) if p.bytes.is_empty() => {
                Err(MessageError::Form(format!("the `{name}` part is empty")))
            }
            Some(p) => Ok(p),
        }
    }

    /// The `key_field` that sends what the platform already holds instead
    /// of the `upload` part; never both.
    fn key(&self, upload: &str, key_field: &str) -> Result<Option<String>> {
        let key = self.text(key_field)?.map(|k| k.trim().to_string());
        if key.is_some() && self.one(upload)?.is_some() {
            return Err(MessageError::Form(format!(
                "give the `{upload}` part or `{key_field}`, not both"
            )));
        }
        Ok(key)
    }

    /// An optional text field; blank counts as absent.
    fn text(&self, name: &str) -> Result<Option<String>> {
        let Some(part) = self.one(name)? else {
            return Ok(None);
        };
        let text = std::str::from_utf8(&part.bytes)
            .map_err(|_| MessageError::Form(format!("the `{name}` field is not UTF-8 text")))?;
        Ok(Some(text.to_string()).filter(|t| !t.trim().is_empty()))
    }
}

/// Where a message for this scope goes: 400 without a receive id; with a
/// source message id the message replies to it.
pub fn destination(scope: &Scope) -> Result<Destination> {
    let receive_id = scope
        .receive_id
        .clone()
        .ok_or(MessageError::NoConversation)?;
    Ok(Destination {
        receive_id_type: scope.receive_id_type(),
        receive_id,
        reply_to: scope.source_message_id.clone(),
    })
}

/// `image` (a real image) or `image_key` (one the platform holds), and
/// `caption` (optional).
pub async fn send_image(messenger: &dyn Messenger, to: &Destination, form: Form) -> Result<Sent> {
    if let Some(key) = form.key("image", "image_key")? {
        let caption = form.text("caption")?;
        return deliver(messenger, to, Payload::ImageKey(key), caption).await;
    }
    let part = form.upload("image")?;
    let ext = image_format(&part.bytes).ok_or(MessageError::NotAnImage)?;
    let caption = form.text("caption")?;
    let name = display_name(part.filename.as_deref(), &format!("image.{ext}"));
    let payload = Payload::Image {
        name,
        bytes: part.bytes.clone(),
    };
    deliver(messenger, to, payload, caption).await
}

/// `file` (required, non-empty), `filename` (display name, default the
/// uploaded name) and `caption` (optional).
pub async fn send_file(messenger: &dyn Messenger, to: &Destination, form: Form) -> Result<Sent> {
    let caption = form.text("caption")?;
    let given = form.text("filename")?;
    if let Some(key) = form.key("file", "file_key")? {
        if given.is_some() {
            // The platform keeps the name it was uploaded with.
            return Err(MessageError::Form(
                "`filename` cannot rename a file sent by `file_key`".into(),
            ));
        }
        return deliver(messenger, to, Payload::FileKey(key), caption).await;
    }
    let part = form.upload("file")?;
    let name = display_name(given.as_deref().or(part.filename.as_deref()), "file");
    let payload = Payload::File {
        name,
        bytes: part.bytes.clone(),
    };
    deliver(messenger, to, payload, caption).await
}

/// Upload names are untrusted everywhere they go (disk, the platform).
fn display_name(given: Option<&str>, fallback: &str) -> String {
    match given.map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => sanitize_filename(name),
        None => fallback.to_string(),
    }
}

async fn deliver(
    messenger: &dyn Messenger,
    to: &Destination,
    payload: Payload,
    caption: Option<String>,
) -> Result<Sent> {
    // What the platform cannot do is refused before anything is sent, and
    // a caption that cannot go must not leave its upload behind alone.
    messenger.capabilities().check(to, &payload)?;
    if let Some(caption) = &caption {
        messenger.check_text(caption)?;
    }
    let sent = messenger.send(to, payload).await?;
    if let Some(caption) = caption {
        // The upload is already in the conversation: say so if the caption fails.
        messenger
            .send(to, Payload::Text(caption))
            .await
            .map_err(|source| MessageError::CaptionLost {
                message_id: sent.message_id.clone(),
                source,
            })?;
    }
    Ok(sent)
}
