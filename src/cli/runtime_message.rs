//! `alice runtime message image|file`: an upload read from disk, or the key
//! of an image or file the platform already holds, as the multipart form
//! of the Runtime API's message routes.

use super::runtime_client::RuntimeClient;
use clap::Subcommand;
use reqwest::multipart::{Form, Part};
use reqwest::Method;
use std::path::PathBuf;

#[derive(Subcommand)]
pub(super) enum Message {
    /// Upload and send an image, or send one the platform holds (--image-key).
    Image {
        /// The image file.
        file: Option<PathBuf>,
        /// The file, as an option.
        #[arg(long = "path", conflicts_with = "file")]
        path: Option<PathBuf>,
        /// An image the platform already holds (`img_…`), instead of a file.
        #[arg(long = "image-key", conflicts_with_all = ["file", "path"])]
        image_key: Option<String>,
        /// Text sent with it.
        #[arg(long)]
        caption: Option<String>,
    },
    /// Upload and send a file, or send one the platform holds (--file-key).
    File {
        /// The file.
        file: Option<PathBuf>,
        /// The file, as an option.
        #[arg(long = "path", conflicts_with = "file")]
        path: Option<PathBuf>,
        /// A file the platform already holds (`file_…`), instead of a file.
        #[arg(long = "file-key", conflicts_with_all = ["file", "path", "filename"])]
        file_key: Option<String>,
        /// The name shown in the chat (default: the file's own name).
        #[arg(long, visible_alias = "file-name")]
        filename: Option<String>,
        /// Text sent with it.
        #[arg(long)]
        caption: Option<String>,
    },
}

pub(super) async fn request(
    client: &RuntimeClient,
    message: Message,
) -> Result<reqwest::RequestBuilder, String> {
    let (kind, file, path, key, filename, caption) = match message {
        Message::Image {
            file,
            path,
            image_key,
            caption,
        } => ("image", file, path, image_key, None, caption),
        Message::File {
            file,
            path,
            file_key,
            filename,
            caption,
        } => ("file", file, path, file_key, filename, caption),
    };
    let route = format!("/api/v1/messages/{kind}");
    if let Some(key) = key {
        let mut form = Form::new().text(format!("{kind}_key"), key);
        if let Some(caption) = caption {
            form = form.text("caption", caption);
        }
        return Ok(client.request(Method::POST, &route).multipart(form));
    }
    let path = file.or(path).ok_or_else(|| {
        format!("which {kind}? give its path (alice runtime message {kind} PATH) or --{kind}-key")
    })?;
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.is_empty() {
        return Err(format!("{} is empty", path.display()));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| kind.to_string());
    let part = Part::bytes(bytes)
        .file_name(name.clone())
        .mime_str(mime_of(&name))
        .map_err(|e| e.to_string())?;
    let mut form = Form::new().part(kind, part);
    if let Some(filename) = filename {
        form = form.text("filename", filename);
    }
    if let Some(caption) = caption {
        form = form.text("caption", caption);
    }
    Ok(client.request(Method::POST, &route).multipart(form))
}

fn mime_of(name: &str) -> &'static str {
    let ext = name.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "bmp" => "image/bmp",
        "pdf" => "application/pdf",
        "txt" | "md" => "text/plain",
        _ => "application/octet-stream",
    }
}
