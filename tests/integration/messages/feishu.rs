//! The Feishu connector against a fake Feishu on loopback.

use super::support::*;
use crate::common::fake_feishu::{FakeFeishu, Fault, APP_ID, APP_SECRET};
use crate::common::*;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

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
