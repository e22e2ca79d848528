//! Helpers of the messages tests: hand-built multipart bodies, a bot's
//! Runtime API as a client, the supervisor with given bots.

use crate::common::*;
use serde_json::Value;
use std::path::Path;

/// A 1×1 PNG header: enough for the magic-byte check.
pub const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
pub const BOUNDARY: &str = "alice-test-boundary-7c9d";
pub const CHAT: (&str, &str) = ("x-alice-receive-id", "oc_demo");

/// One multipart part: (field name, file name for uploads, bytes).
pub type PartSpec<'a> = (&'a str, Option<&'a str>, &'a [u8]);

/// A `multipart/form-data` body built by hand, so that names reach the
/// server exactly as written (traversal, NUL bytes).
pub fn form(parts: &[PartSpec<'_>]) -> (String, Vec<u8>) {
    let mut body = Vec::new();
    for (name, filename, bytes) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        body.extend_from_slice(
            format!("Content-Disposition: form-data; name=\"{name}\"").as_bytes(),
        );
        if let Some(filename) = filename {
            // `*=…` writes RFC 5987's `filename*` as given.
            let param = match filename.strip_prefix('*') {
                Some(ext) => format!("; filename*{ext}"),
                None => format!("; filename=\"{filename}\""),
            };
            body.extend_from_slice(param.as_bytes());
            body.extend_from_slice(b"\r\nContent-Type: application/octet-stream");
        }
        body.extend_from_slice(b"\r\n\r\n");
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={BOUNDARY}"), body)
}

pub struct BotApi {
    pub url: String,
    pub token: String,
}

impl BotApi {
    pub async fn post_raw(
        &self,
        route: &str,
        headers: &[(&str, &str)],
        content_type: &str,
        body: reqwest::Body,
    ) -> (u16, Value) {
        let mut req = client()
            .post(format!("{}/api/v1/messages/{route}", self.url))
            .bearer_auth(&self.token)
            .header("content-type", content_type)
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        (status, res.json().await.expect("JSON body"))
    }

    pub async fn post(
        &self,
        route: &str,
        headers: &[(&str, &str)],
        parts: &[PartSpec<'_>],
    ) -> (u16, Value) {
        let (content_type, body) = form(parts);
        self.post_raw(route, headers, &content_type, body.into())
            .await
    }
}

/// The supervisor with `bots` (TOML tables, in order of `ids`) and each bot's API.
pub async fn start(bots: &str, ids: &[&str]) -> (TestDir, InProcess, Vec<BotApi>) {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(ids.len() as u16), free_ports(1));
    dir.write_config(&format!("{}{bots}", supervisor_toml(admin, base)));
    let app = InProcess::start(&dir).await;
    app.wait_running(ids).await;
    let mut apis = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        apis.push(BotApi {
            url: format!("http://127.0.0.1:{}", base + i as u16),
            token: app.bot_token(id).await,
        });
    }
    (dir, app, apis)
}

pub async fn messages_of(app: &InProcess, bot: &str, receive_id: &str) -> Vec<Value> {
    let (status, list) = app
        .admin_get(&format!(
            "/api/bots/{bot}/conversations/{receive_id}/messages"
        ))
        .await;
    assert_eq!(status, 200, "{list}");
    list.as_array().expect("array").clone()
}

/// Each `[bots.<bot>.connector]` body is refused by the loader with an
/// error naming its key; the config that loads.
pub fn assert_connector_errors(
    bot: &str,
    cases: &[(&str, &str)],
    valid: &str,
) -> alice::config::Config {
    for (connector, key) in cases {
        let dir = TestDir::new();
        dir.write_config(&format!("[bots.{bot}.connector]\n{connector}"));
        let err = alice::config::load(&dir.config_path()).expect_err(connector);
        assert!(err.to_string().contains(&format!("`{key}`")), "{err}");
    }
    let dir = TestDir::new();
    dir.write_config(&format!("[bots.{bot}.connector]\n{valid}"));
    dir.load()
}

pub fn error_of(body: &Value) -> &str {
    body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error in {body}"))
}

pub fn percent_decode(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex: String = bytes.by_ref().take(2).map(char::from).collect();
            out.push(u8::from_str_radix(&hex, 16).expect("hex"));
        } else {
            out.push(b);
        }
    }
    out
}

/// Every file below `root`, recursively.
pub fn files_under(root: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root).expect("read_dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}
