//! Messages: the image and file endpoints over the local connector and over
//! the Feishu connector against a fake Feishu on loopback.

mod common;

use common::fake_feishu::{FakeFeishu, Fault, APP_ID, APP_SECRET};
use common::*;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A 1×1 PNG header: enough for the magic-byte check.
const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
const BOUNDARY: &str = "alice-test-boundary-7c9d";
const CHAT: (&str, &str) = ("x-alice-receive-id", "oc_demo");

/// One multipart part: (field name, file name for uploads, bytes).
type PartSpec<'a> = (&'a str, Option<&'a str>, &'a [u8]);

/// A `multipart/form-data` body built by hand, so that names reach the
/// server exactly as written (traversal, NUL bytes).
fn form(parts: &[PartSpec<'_>]) -> (String, Vec<u8>) {
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

struct BotApi {
    url: String,
    token: String,
}

impl BotApi {
    async fn post_raw(
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

    async fn post(
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
async fn start(bots: &str, ids: &[&str]) -> (TestDir, InProcess, Vec<BotApi>) {
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

async fn messages_of(app: &InProcess, bot: &str, receive_id: &str) -> Vec<Value> {
    let (status, list) = app
        .admin_get(&format!(
            "/api/bots/{bot}/conversations/{receive_id}/messages"
        ))
        .await;
    assert_eq!(status, 200, "{list}");
    list.as_array().expect("array").clone()
}

fn error_of(body: &Value) -> &str {
    body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error in {body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_connector_round_trips_image_file_and_caption_and_the_cli_shows_them() {
    let (dir, app, apis) = start("[bots.alpha]\n", &["alpha"]).await;
    let alpha = &apis[0];

    let (status, sent) = alpha
        .post(
            "image",
            &[CHAT, ("x-alice-receive-id-type", "chat_id")],
            &[
                ("image", Some("cat.png"), PNG),
                ("caption", None, b"look at this"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    let image_id = sent["message_id"].as_str().unwrap().to_string();
    assert!(image_id.starts_with("om_"), "{image_id}");

    let (status, sent) = alpha
        .post(
            "file",
            &[CHAT, ("x-alice-source-message-id", "om_source1")],
            &[
                ("file", Some("r.pdf"), b"%PDF-1.7 quarterly"),
                ("filename", None, b"Q3 report.pdf"),
                ("caption", None, b"the numbers"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    let file_id = sent["message_id"].as_str().unwrap().to_string();

    let (_, conversations) = app.admin_get("/api/bots/alpha/conversations").await;
    assert_eq!(conversations[0]["receive_id"], "oc_demo");
    assert_eq!(conversations[0]["messages"], 4);

    let log = messages_of(&app, "alpha", "oc_demo").await;
    let kinds: Vec<&str> = log
        .iter()
        .map(|m| m["msg_type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["image", "text", "file", "text"]);
    assert_eq!(log[0]["message_id"], image_id.as_str());
    assert_eq!(log[0]["file_name"], "cat.png");
    assert_eq!(log[1]["text"], "look at this");
    assert_eq!(log[1]["reply_to"], Value::Null);
    assert_eq!(log[2]["message_id"], file_id.as_str());
    assert_eq!(log[2]["file_name"], "Q3 report.pdf");
    assert_eq!(log[2]["reply_to"], "om_source1");
    assert_eq!(
        (&log[3]["text"], &log[3]["reply_to"]),
        (&json!("the numbers"), &json!("om_source1"))
    );
    let bot_folder = dir.path().join("data/alpha");
    for (message, bytes) in [(&log[0], PNG), (&log[2], &b"%PDF-1.7 quarterly"[..])] {
        let path = bot_folder.join(message["file_path"].as_str().unwrap());
        assert_eq!(std::fs::read(&path).expect("stored file"), bytes);
        assert_eq!(message["size"], bytes.len());
    }

    let config = dir.config_path();
    let config = config.to_str().unwrap();
    let out = alice_command(&["chat", "log", "alpha", "oc_demo", "--config", config])
        .output()
        .expect("alice chat log");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for expected in [
        "look at this",
        "Q3 report.pdf",
        "the numbers",
        &image_id,
        "om_source1",
    ] {
        assert!(
            stdout.contains(expected),
            "{expected} missing from:\n{stdout}"
        );
    }
    let out = alice_command(&[
        "chat", "log", "alpha", "oc_demo", "--json", "--config", config,
    ])
    .output()
    .expect("alice chat log --json");
    let printed: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(printed, Value::Array(log.clone()));
    let out = alice_command(&[
        "chat", "log", "alpha", "oc_demo", "--limit", "1", "--json", "--config", config,
    ])
    .output()
    .expect("alice chat log --limit");
    let printed: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(printed, json!([log[3]]), "--limit keeps the latest");
    let out = alice_command(&["chat", "list", "alpha", "--config", config])
        .output()
        .expect("alice chat list");
    assert!(String::from_utf8_lossy(&out.stdout).contains("oc_demo"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_empty_or_wrong_parts_get_400_and_send_nothing() {
    let (_dir, app, apis) = start("[bots.alpha]\n", &["alpha"]).await;
    let alpha = &apis[0];
    // (route, headers, parts, what the error says)
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, Vec<PartSpec<'a>>, &'a str);
    let cases: Vec<Case> = vec![
        (
            "image",
            vec![],
            vec![("image", Some("a.png"), PNG)],
            "X-Alice-Receive-Id",
        ),
        (
            "image",
            vec![CHAT],
            vec![("caption", None, b"hi")],
            "no `image` part",
        ),
        (
            "image",
            vec![CHAT],
            vec![("image", Some("a.png"), b"")],
            "`image` part is empty",
        ),
        (
            "image",
            vec![CHAT],
            vec![("image", Some("a.png"), b"just text, not pixels")],
            "not an image",
        ),
        (
            "image",
            vec![CHAT],
            vec![("image", Some("doc.png"), b"%PDF-1.7")],
            "not an image",
        ),
        (
            "image",
            vec![CHAT],
            vec![("image", Some("a.png"), PNG), ("image", Some("b.png"), PNG)],
            "more than once",
        ),
        (
            "file",
            vec![],
            vec![("file", Some("a.txt"), b"x")],
            "X-Alice-Receive-Id",
        ),
        (
            "file",
            vec![CHAT],
            vec![("filename", None, b"a.txt")],
            "no `file` part",
        ),
        (
            "file",
            vec![CHAT],
            vec![("file", Some("a.txt"), b"")],
            "`file` part is empty",
        ),
    ];
    for (route, headers, parts, reason) in &cases {
        let (status, body) = alpha.post(route, headers, parts).await;
        assert_eq!(status, 400, "{route} {reason}: {body}");
        assert!(error_of(&body).contains(reason), "{reason}: {body}");
    }
    // A JSON body, no body type at all, and a broken multipart body.
    for route in ["image", "file"] {
        let json_body = json!({"image": "aGVsbG8=", "file": "aGVsbG8="}).to_string();
        let (status, body) = alpha
            .post_raw(route, &[CHAT], "application/json", json_body.into())
            .await;
        assert_eq!(status, 400, "{body}");
        assert!(error_of(&body).contains("multipart/form-data"), "{body}");
        let (status, body) = alpha
            .post_raw(
                route,
                &[CHAT],
                "multipart/form-data; boundary=other",
                b"--nope\r\n".to_vec().into(),
            )
            .await;
        assert_eq!(status, 400, "{body}");
    }
    let (_, conversations) = app.admin_get("/api/bots/alpha/conversations").await;
    assert_eq!(conversations, json!([]), "nothing was sent");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_accepted_image_format_is_recognised_by_its_bytes() {
    let (_dir, app, apis) = start("[bots.alpha]\n", &["alpha"]).await;
    let mut webp = b"RIFF\x1a\0\0\0WEBPVP8 ".to_vec();
    webp.extend([0u8; 14]);
    let images: [(&str, &[u8]); 8] = [
        ("png", PNG),
        ("jpg", b"\xff\xd8\xff\xe0\0\x10JFIF\0\x01"),
        ("gif", b"GIF89a\x01\0\x01\0\0\0\0;"),
        ("webp", &webp),
        ("bmp", b"BM\x3a\0\0\0\0\0\0\0\x36\0\0\0\x28\0"),
        ("tiff", b"II*\0\x08\0\0\0\0\0"),
        ("tiff", b"MM\0*\0\0\0\x08\0\0"),
        ("ico", b"\0\0\x01\0\x01\0\x10\x10\0\0"),
    ];
    for (ext, bytes) in images {
        // No file name: the stored name comes from the detected format.
        let (status, body) = apis[0]
            .post("image", &[CHAT], &[("image", None, bytes)])
            .await;
        assert_eq!(status, 200, "{ext}: {body}");
    }
    let names: Vec<String> = messages_of(&app, "alpha", "oc_demo")
        .await
        .iter()
        .map(|m| m["file_name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "image.png",
            "image.jpg",
            "image.gif",
            "image.webp",
            "image.bmp",
            "image.tiff",
            "image.tiff",
            "image.ico"
        ]
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_permission_off_gets_403() {
    let bots = "[bots.quiet]\n[bots.quiet.permissions]\nruntime_message = false\n";
    let (_dir, app, apis) = start(bots, &["quiet"]).await;
    let (status, body) = apis[0]
        .post("image", &[CHAT], &[("image", Some("a.png"), PNG)])
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        error_of(&body).contains("permissions.runtime_message"),
        "{body}"
    );
    let (status, _) = apis[0]
        .post("file", &[CHAT], &[("file", Some("a.txt"), b"x")])
        .await;
    assert_eq!(status, 403);
    let (_, conversations) = app.admin_get("/api/bots/quiet/conversations").await;
    assert_eq!(conversations, json!([]));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_limit_get_413_whether_declared_or_streamed() {
    let bots = "[bots.alpha]\n[bots.alpha.limits]\nbody_bytes = 65536\n";
    let (_dir, app, apis) = start(bots, &["alpha"]).await;
    let alpha = &apis[0];
    let mut big = PNG.to_vec();
    big.resize(70_000, 0);

    // Declared: Content-Length is over the limit.
    let (status, body) = alpha
        .post("image", &[CHAT], &[("image", Some("big.png"), &big)])
        .await;
    assert_eq!(status, 413, "{body}");

    // Streamed: chunked, no length; the stream would go on for 1 GiB, so an
    // answer at all means the server stopped reading early.
    let pulled = Arc::new(AtomicUsize::new(0));
    let counter = pulled.clone();
    let (content_type, head) = form(&[("image", Some("endless.png"), PNG)]);
    let head = head[..head.len() - BOUNDARY.len() - 8].to_vec();
    let chunks = std::iter::once(head).chain(std::iter::repeat_n(vec![0u8; 16 * 1024], 65_536));
    let stream = futures_util::stream::iter(chunks.map(move |c| {
        counter.fetch_add(c.len(), Ordering::SeqCst);
        Ok::<_, std::io::Error>(c)
    }));
    let (status, body) = alpha
        .post_raw(
            "image",
            &[CHAT],
            &content_type,
            reqwest::Body::wrap_stream(stream),
        )
        .await;
    assert_eq!(status, 413, "{body}");
    assert!(error_of(&body).contains("65536"), "{body}");
    assert!(
        pulled.load(Ordering::SeqCst) < 64 << 20,
        "the whole body was read"
    );

    // Just under the limit passes.
    big.truncate(60_000);
    let (status, body) = alpha
        .post("image", &[CHAT], &[("image", Some("ok.png"), &big)])
        .await;
    assert_eq!(status, 200, "{body}");
    app.stop().await;
}

fn percent_decode(s: &str) -> Vec<u8> {
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
fn files_under(root: &Path) -> Vec<std::path::PathBuf> {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploaded_names_never_escape_the_bot_folder() {
    let (dir, app, apis) = start("[bots.alpha]\n", &["alpha"]).await;
    let alpha = &apis[0];
    let long = format!("{}.txt", "x".repeat(5000));
    let names: Vec<(&str, &str)> = vec![
        ("../../etc/passwd", "passwd"),
        ("/etc/shadow", "shadow"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("....//....//x.sh", "x.sh"),
        ("*=UTF-8''nul%00byte.txt", "nulbyte.txt"),
        ("*=UTF-8''..%2F..%2F%E6%8A%A5%E5%91%8A.txt", "报告.txt"),
        (&long, ""),
    ];
    for (name, _) in &names {
        let (status, body) = alpha
            .post("file", &[CHAT], &[("file", Some(name), b"payload")])
            .await;
        assert_eq!(status, 200, "{name:?}: {body}");
        // The display-name field is just as untrusted.
        let field = match name.strip_prefix("*=UTF-8''") {
            Some(encoded) => percent_decode(encoded),
            None => name.as_bytes().to_vec(),
        };
        let (status, body) = alpha
            .post(
                "file",
                &[CHAT],
                &[
                    ("file", Some("a.txt"), b"payload"),
                    ("filename", None, &field),
                ],
            )
            .await;
        assert_eq!(status, 200, "filename {name:?}: {body}");
    }
    // A raw NUL cannot be in a part's header at all.
    let (status, body) = alpha
        .post("file", &[CHAT], &[("file", Some("a\0b.txt"), b"payload")])
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = alpha
        .post(
            "image",
            &[CHAT],
            &[("image", Some("../../../escaped.png"), PNG)],
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let log = messages_of(&app, "alpha", "oc_demo").await;
    assert_eq!(log.len(), names.len() * 2 + 1);
    for (i, (name, expected)) in names.iter().enumerate() {
        for message in &log[i * 2..i * 2 + 2] {
            let stored = message["file_name"].as_str().unwrap();
            if expected.is_empty() {
                assert!(stored.len() <= 120 && stored.starts_with("xxx"), "{stored}");
            } else {
                assert_eq!(stored, *expected, "from {name:?}");
            }
        }
    }
    assert_eq!(log.last().unwrap()["file_name"], "escaped.png");

    // On disk: every upload is a plain file directly in the bot's files folder.
    let files = dir.path().join("data/alpha/files");
    let mut uploads = 0;
    for path in files_under(dir.path()) {
        let canonical = path.canonicalize().unwrap();
        if canonical.starts_with(files.canonicalize().unwrap()) {
            assert_eq!(path.parent().unwrap(), files, "{}", path.display());
            assert!(path.file_name().unwrap().len() <= 160, "{}", path.display());
            uploads += 1;
        } else {
            // Only the database and tokens live elsewhere.
            let rel = path
                .strip_prefix(dir.path())
                .unwrap()
                .to_string_lossy()
                .to_string();
            assert!(
                rel.starts_with("data/db") || rel.ends_with(".token") || rel == "bots.toml",
                "{rel}"
            );
        }
    }
    assert_eq!(uploads, log.len());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_routes_are_in_the_openapi_document() {
    let (_dir, app, apis) = start("[bots.alpha]\n", &["alpha"]).await;
    let doc: Value = client()
        .get(format!("{}/openapi.json", apis[0].url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for route in ["/api/v1/messages/image", "/api/v1/messages/file"] {
        let post = &doc["paths"][route]["post"];
        assert!(
            post["requestBody"]["content"]["multipart/form-data"].is_object(),
            "{route}: {post}"
        );
        for status in ["200", "400", "403", "413", "502", "504"] {
            assert!(post["responses"][status].is_object(), "{route} {status}");
        }
    }
    app.stop().await;
}

// ---- Feishu, against a fake Feishu on loopback ----

const IMAGES: &str = "/open-apis/im/v1/images";
const FILES: &str = "/open-apis/im/v1/files";
const SEND: &str = "/open-apis/im/v1/messages";

/// One Feishu bot `fs` pointed at a fresh fake.
async fn feishu_bot(extra: &str) -> (FakeFeishu, TestDir, InProcess, BotApi) {
    let fake = FakeFeishu::start();
    let bots = format!("[bots.fs]\n{}", fake.connector_toml("fs", extra));
    let (dir, app, mut apis) = start(&bots, &["fs"]).await;
    (fake, dir, app, apis.remove(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feishu_image_is_uploaded_with_the_tenant_token_and_sent_to_the_scope_with_its_caption() {
    let (fake, _dir, app, fs) = feishu_bot("").await;
    let (status, sent) = fs
        .post(
            "image",
            &[
                ("x-alice-receive-id", "ou_user1"),
                ("x-alice-receive-id-type", "open_id"),
            ],
            &[
                ("image", Some("chart.png"), PNG),
                ("caption", None, b"weekly chart"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{sent}");

    let token = fake.calls_to("/open-apis/auth/v3/tenant_access_token/internal");
    assert_eq!(token.len(), 1);
    assert_eq!(
        token[0].json,
        json!({"app_id": APP_ID, "app_secret": APP_SECRET})
    );

    let uploads = fake.calls_to(IMAGES);
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].authorization.as_deref(), Some("Bearer t-1"));
    assert_eq!(uploads[0].form["image_type"].text(), "message");
    assert_eq!(uploads[0].form["image"].bytes, PNG);
    assert_eq!(uploads[0].form.len(), 2, "only image_type and image");

    let messages = fake.message_calls();
    assert_eq!(messages.len(), 2, "the image, then its caption");
    for m in &messages {
        assert_eq!(m.path, SEND);
        assert_eq!(
            m.query.get("receive_id_type").map(String::as_str),
            Some("open_id")
        );
        assert_eq!(m.json["receive_id"], "ou_user1");
        assert_eq!(m.authorization.as_deref(), Some("Bearer t-1"));
        let uuid = m.json["uuid"].as_str().expect("uuid");
        assert!(!uuid.is_empty() && uuid.len() <= 50);
    }
    assert_ne!(messages[0].json["uuid"], messages[1].json["uuid"]);
    assert_eq!(messages[0].json["msg_type"], "image");
    assert_eq!(messages[0].content(), json!({"image_key": "img_v3_1"}));
    assert_eq!(messages[1].json["msg_type"], "text");
    assert_eq!(messages[1].content(), json!({"text": "weekly chart"}));
    assert_eq!(sent["message_id"], "om_fake2", "the image message's id");
    fake.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feishu_file_with_a_source_message_goes_to_the_reply_endpoint() {
    let (fake, _dir, app, fs) = feishu_bot("").await;
    let reply_to = [CHAT, ("x-alice-source-message-id", "om_source9")];
    let (status, sent) = fs
        .post(
            "file",
            &reply_to,
            &[
                ("file", Some("upload.bin"), b"%PDF-1.7 numbers"),
                ("filename", None, b"Q3 report.pdf"),
                ("caption", None, b"as promised"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    let (status, _) = fs
        .post(
            "file",
            &[CHAT],
            &[("file", Some("rows.csv"), b"a,b\n1,2\n")],
        )
        .await;
    assert_eq!(status, 200);

    let uploads = fake.calls_to(FILES);
    assert_eq!(uploads.len(), 2);
    assert_eq!(uploads[0].form["file_type"].text(), "pdf");
    assert_eq!(uploads[0].form["file_name"].text(), "Q3 report.pdf");
    assert_eq!(uploads[0].form["file"].bytes, b"%PDF-1.7 numbers");
    assert_eq!(uploads[1].form["file_type"].text(), "stream");
    assert_eq!(uploads[1].form["file_name"].text(), "rows.csv");

    let messages = fake.message_calls();
    let reply = "/open-apis/im/v1/messages/om_source9/reply";
    assert_eq!(messages[0].path, reply);
    assert_eq!(messages[0].json["msg_type"], "file");
    assert_eq!(messages[0].content(), json!({"file_key": "file_v3_1"}));
    assert!(messages[0].json["uuid"].is_string());
    assert_eq!(messages[1].path, reply, "the caption replies too");
    assert_eq!(messages[1].content(), json!({"text": "as promised"}));
    // Without a source message: a plain send to the chat (chat_id by default).
    assert_eq!(messages[2].path, SEND);
    assert_eq!(
        messages[2].query.get("receive_id_type").map(String::as_str),
        Some("chat_id")
    );
    assert_eq!(messages[2].json["receive_id"], "oc_demo");
    assert_eq!(messages[2].json["msg_type"], "file");
    fake.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feishu_token_is_fetched_once_for_many_messages() {
    let (fake, _dir, app, fs) = feishu_bot("").await;
    let fs = Arc::new(fs);
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..6 {
        let fs = fs.clone();
        sends.spawn(async move {
            let name = format!("f{i}.txt");
            fs.post("file", &[CHAT], &[("file", Some(&name), b"hello")])
                .await
                .0
        });
    }
    while let Some(status) = sends.join_next().await {
        assert_eq!(status.unwrap(), 200);
    }
    assert_eq!(fake.token_calls(), 1);
    assert_eq!(fake.delivered(), 6);
    fake.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feishu_invalid_token_is_refreshed_once_and_the_call_retried() {
    let (fake, _dir, app, fs) = feishu_bot("").await;
    let image = [("image", Some("a.png"), PNG)];
    assert_eq!(fs.post("image", &[CHAT], &image).await.0, 200);
    fake.revoke_tokens();

    let (status, body) = fs.post("image", &[CHAT], &image).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(fake.token_calls(), 2, "one refresh");
    let uploads = fake.calls_to(IMAGES);
    let auth: Vec<_> = uploads
        .iter()
        .map(|c| c.authorization.clone().unwrap())
        .collect();
    assert_eq!(
        auth,
        ["Bearer t-1", "Bearer t-1", "Bearer t-2"],
        "refused, then retried"
    );
    let last = fake.message_calls().pop().unwrap();
    assert_eq!(last.authorization.as_deref(), Some("Bearer t-2"));

    // A token refused again right after the refresh: one refresh only, then 502.
    for _ in 0..2 {
        fake.inject(
            SEND,
            Fault::Refuse {
                status: 400,
                code: 99991663,
                msg: "Invalid access token",
            },
        );
    }
    let (status, body) = fs.post("image", &[CHAT], &image).await;
    assert_eq!(status, 502, "{body}");
    assert!(error_of(&body).contains("99991663"), "{body}");
    assert_eq!(fake.token_calls(), 3);
    fake.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feishu_throttling_waits_for_the_reset_and_retries_without_sending_twice() {
    let (fake, _dir, app, fs) = feishu_bot("").await;
    fake.inject(
        SEND,
        Fault::Throttle {
            status: 429,
            reset: "1",
        },
    );
    // Older APIs throttle with HTTP 400 and the same code.
    fake.inject(
        IMAGES,
        Fault::Throttle {
            status: 400,
            reset: "1",
        },
    );
    let (status, body) = fs
        .post("image", &[CHAT], &[("image", Some("a.png"), PNG)])
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(fake.calls_to(IMAGES).len(), 2);
    let sends = fake.message_calls();
    assert_eq!(sends.len(), 2, "throttled, then retried");
    assert_eq!(
        sends[0].json["uuid"], sends[1].json["uuid"],
        "same idempotency key"
    );
    assert_eq!(fake.delivered(), 1);
    fake.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feishu_refusals_become_502_with_feishus_code_and_message() {
    let (fake, _dir, app, fs) = feishu_bot("").await;
    fake.inject(
        SEND,
        Fault::Refuse {
            status: 200,
            code: 230002,
            msg: "Bot can NOT be out of the chat.",
        },
    );
    let (status, body) = fs
        .post("image", &[CHAT], &[("image", Some("a.png"), PNG)])
        .await;
    assert_eq!(status, 502, "{body}");
    let error = error_of(&body);
    assert!(
        error.contains("230002") && error.contains("Bot can NOT be out of the chat."),
        "{error}"
    );

    fake.inject(
        FILES,
        Fault::Refuse {
            status: 400,
            code: 234001,
            msg: "Invalid request param.",
        },
    );
    let (status, body) = fs
        .post("file", &[CHAT], &[("file", Some("a.txt"), b"x")])
        .await;
    assert_eq!(status, 502, "{body}");
    assert!(error_of(&body).contains("Invalid request param."), "{body}");

    // The file went out but its caption was refused: the answer says both.
    fake.inject(SEND, Fault::Delay(Duration::ZERO)); // the file: answered normally
    fake.inject(
        SEND,
        Fault::Refuse {
            status: 200,
            code: 230028,
            msg: "The messages do NOT pass the audit.",
        },
    );
    let (status, body) = fs
        .post(
            "file",
            &[CHAT],
            &[("file", Some("a.txt"), b"x"), ("caption", None, b"hi")],
        )
        .await;
    assert_eq!(status, 502, "{body}");
    let error = error_of(&body);
    assert!(
        error.contains("was sent but its caption was not") && error.contains("230028"),
        "{error}"
    );
    fake.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feishu_silence_becomes_504_and_its_limits_apply_before_upload() {
    let extra = "request_timeout_secs = 1\n[bots.fs.limits]\nbody_bytes = 12000000\n";
    let (fake, _dir, app, fs) = feishu_bot(extra).await;
    fake.inject(IMAGES, Fault::Delay(Duration::from_secs(3)));
    let (status, body) = fs
        .post("image", &[CHAT], &[("image", Some("a.png"), PNG)])
        .await;
    assert_eq!(status, 504, "{body}");

    let mut huge = PNG.to_vec();
    huge.resize(10 * 1024 * 1024 + 1, 0);
    let (status, body) = fs
        .post("image", &[CHAT], &[("image", Some("huge.png"), &huge)])
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(error_of(&body).contains("at most"), "{body}");
    assert_eq!(fake.calls_to(IMAGES).len(), 1, "only the delayed one");
    fake.stop().await;
    app.stop().await;
}
