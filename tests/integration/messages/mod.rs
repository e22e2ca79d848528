//! Messages: the image and file endpoints over the local connector and over
//! the Feishu connector against a fake Feishu on loopback.

mod feishu;
mod keys;
mod onebot;
mod platforms;
mod props;
mod support;
mod telegram;

use crate::common::*;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use support::*;

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
            // Only the database, tokens, the bot folder's lock and the
            // workspace (bundled skills, written at start) live elsewhere.
            let rel = path
                .strip_prefix(dir.path())
                .unwrap()
                .to_string_lossy()
                .to_string();
            assert!(
                rel.starts_with("data/db")
                    || rel.ends_with(".token")
                    || rel == "bots.toml"
                    || rel == "data/alpha/alice.lock"
                    || rel.starts_with("data/alpha/workspace/"),
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

/// The local connector keeps `connector.keep_messages` per conversation:
/// older messages and their files go; pages come from storage with the
/// kept total.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_connector_keeps_the_newest_messages_and_pages_them() {
    let (dir, app, apis) = start(
        "[bots.alpha]\n[bots.alpha.connector]\nkind = \"local\"\nkeep_messages = 3\n",
        &["alpha"],
    )
    .await;
    let alpha = &apis[0];
    for i in 0..5 {
        let name = format!("f{i}.txt");
        let body = format!("payload {i}");
        let (status, reply) = alpha
            .post("file", &[CHAT], &[("file", Some(&name), body.as_bytes())])
            .await;
        assert_eq!(status, 200, "{reply}");
    }
    let kept = messages_of(&app, "alpha", "oc_demo").await;
    let names: Vec<&str> = kept
        .iter()
        .filter_map(|m| m["file_name"].as_str())
        .collect();
    assert_eq!(names, ["f2.txt", "f3.txt", "f4.txt"]);
    let files = files_under(&dir.path().join("data/alpha/files"));
    let mut stored: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    stored.sort();
    assert_eq!(stored.len(), 3, "{stored:?}");
    assert!(stored
        .iter()
        .all(|n| !n.ends_with("f0.txt") && !n.ends_with("f1.txt")));

    let res = client()
        .get(format!(
            "{}/api/bots/alpha/conversations/oc_demo/messages?offset=1&limit=1",
            app.admin_url
        ))
        .bearer_auth(app.supervisor.admin_token())
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-total-count"], "3");
    let page: Value = res.json().await.unwrap();
    assert_eq!(page[0]["file_name"], "f3.txt", "{page}");
    let (_, conversations) = app.admin_get("/api/bots/alpha/conversations").await;
    assert_eq!(conversations[0]["messages"], 3, "{conversations}");
    app.stop().await;
}

/// Bidi and other invisible controls (U+202E makes `exe.pdf` look like
/// `fdp.exe`) never reach a stored or displayed name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bidi_controls_are_stripped_from_upload_names() {
    let (_dir, app, apis) = start("[bots.alpha]\n", &["alpha"]).await;
    let alpha = &apis[0];
    let (status, body) = alpha
        .post(
            "file",
            &[CHAT],
            &[("file", Some("*=UTF-8''invoice%E2%80%AEfdp.exe"), b"MZ")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let field = "r\u{2067}e\u{200f}p\u{061c}o\u{2066}r\u{202a}t\u{feff}.pdf\u{200b}";
    let (status, body) = alpha
        .post(
            "file",
            &[CHAT],
            &[
                ("file", Some("a.txt"), b"payload"),
                ("filename", None, field.as_bytes()),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let log = messages_of(&app, "alpha", "oc_demo").await;
    let names: Vec<&str> = log
        .iter()
        .map(|m| m["file_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["invoicefdp.exe", "report.pdf"]);
    app.stop().await;
}

/// Every connector declares its text limit; the local one is Feishu's
/// 150 KB, and a caption over it is refused (400) before anything is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caption_over_the_text_limit_is_refused_on_the_local_connector() {
    let (_dir, app, apis) = start("[bots.alpha]\n", &["alpha"]).await;
    let alpha = &apis[0];
    for len in [1_000_000, 150 * 1024 + 1] {
        let caption = "a".repeat(len);
        let (status, body) = alpha
            .post(
                "image",
                &[CHAT],
                &[
                    ("image", Some("cat.png"), PNG),
                    ("caption", None, caption.as_bytes()),
                ],
            )
            .await;
        assert_eq!(status, 400, "{len}: {body}");
        assert!(error_of(&body).contains("153600"), "{body}");
    }
    assert!(messages_of(&app, "alpha", "oc_demo").await.is_empty());
    let caption = "a".repeat(150 * 1024);
    let (status, body) = alpha
        .post(
            "image",
            &[CHAT],
            &[
                ("image", Some("cat.png"), PNG),
                ("caption", None, caption.as_bytes()),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(messages_of(&app, "alpha", "oc_demo").await.len(), 2);
    app.stop().await;
}
