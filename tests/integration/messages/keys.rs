//! Sending an image or file the platform already holds, by its key
//! (`image_key` / `file_key`): the local connector issues keys and knows only
//! those; Feishu's keys go straight into the message.

use super::support::*;
use crate::common::fake_feishu::FakeFeishu;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_connector_issues_keys_and_sends_again_only_what_it_issued() {
    let (_dir, app, apis) = start("[bots.alpha]\n", &["alpha"]).await;
    let alpha = &apis[0];

    let (status, sent) = alpha
        .post("image", &[CHAT], &[("image", Some("cat.png"), PNG)])
        .await;
    assert_eq!(status, 200, "{sent}");
    let image_key = sent["image_key"]
        .as_str()
        .expect("an image key")
        .to_string();
    assert!(image_key.starts_with("img_"), "{sent}");
    let (status, sent) = alpha
        .post(
            "file",
            &[CHAT],
            &[
                ("file", Some("r.pdf"), b"%PDF-1.7 numbers"),
                ("filename", None, b"Q3.pdf"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    let file_key = sent["file_key"].as_str().expect("a file key").to_string();
    assert!(file_key.starts_with("file_"), "{sent}");

    // Sent again by key, to another conversation, with a caption.
    let other = [("x-alice-receive-id", "oc_other")];
    let (status, again) = alpha
        .post(
            "image",
            &other,
            &[
                ("image_key", None, image_key.as_bytes()),
                ("caption", None, b"again"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["image_key"], image_key.as_str(), "the same key");
    let (status, again) = alpha
        .post("file", &other, &[("file_key", None, file_key.as_bytes())])
        .await;
    assert_eq!(status, 200, "{again}");
    let log = messages_of(&app, "alpha", "oc_other").await;
    let kinds: Vec<(&str, Option<&str>)> = log
        .iter()
        .map(|m| (m["msg_type"].as_str().unwrap(), m["file_name"].as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("image", Some("cat.png")),
            ("text", None),
            ("file", Some("Q3.pdf"))
        ]
    );
    assert_eq!(log[2]["size"], 16, "the same bytes");

    // Keys it never issued, a key of the other kind, both a part and a key,
    // a blank key: 400, nothing sent.
    for (route, parts, says) in [
        (
            "image",
            vec![("image_key", None, &b"img_v3_nope"[..])],
            "no such key",
        ),
        (
            "file",
            vec![("file_key", None, &b"file_v3_nope"[..])],
            "no such key",
        ),
        (
            "file",
            vec![("file_key", None, image_key.as_bytes())],
            "no such key",
        ),
        (
            "image",
            vec![
                ("image", Some("c.png"), PNG),
                ("image_key", None, image_key.as_bytes()),
            ],
            "not both",
        ),
        (
            "image",
            vec![("image_key", None, &b"  "[..])],
            "`image` part",
        ),
    ] {
        let (status, body) = alpha.post(route, &other, &parts).await;
        assert_eq!(status, 400, "{route} {body}");
        assert!(error_of(&body).contains(says), "{route}: {body}");
    }
    assert_eq!(messages_of(&app, "alpha", "oc_other").await.len(), 3);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feishu_keys_go_straight_into_the_message_without_an_upload() {
    let fake = FakeFeishu::start();
    let bots = format!("[bots.fs]\n{}", fake.connector_toml("fs", ""));
    let (_dir, app, mut apis) = start(&bots, &["fs"]).await;
    let fs = apis.remove(0);

    let (status, sent) = fs
        .post("image", &[CHAT], &[("image", Some("c.png"), PNG)])
        .await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["image_key"], "img_v3_1", "the uploaded image's key");

    let (status, sent) = fs
        .post("image", &[CHAT], &[("image_key", None, b"img_v3_xxx")])
        .await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["image_key"], "img_v3_xxx");
    let (status, sent) = fs
        .post("file", &[CHAT], &[("file_key", None, b"file_v3_xxx")])
        .await;
    assert_eq!(status, 200, "{sent}");

    assert_eq!(
        fake.calls_to("/open-apis/im/v1/images").len(),
        1,
        "one upload only"
    );
    assert!(fake.calls_to("/open-apis/im/v1/files").is_empty());
    let messages = fake.message_calls();
    assert_eq!(messages.len(), 3);
    assert_eq!(messages[1].json["msg_type"], "image");
    assert_eq!(messages[1].content(), json!({"image_key": "img_v3_xxx"}));
    assert_eq!(messages[2].json["msg_type"], "file");
    assert_eq!(messages[2].content(), json!({"file_key": "file_v3_xxx"}));
    fake.stop().await;
    app.stop().await;
}
