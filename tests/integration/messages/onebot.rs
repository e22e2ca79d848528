//! The OneBot v11 connector against a fake implementation on loopback:
//! forward mode (alice dials the fake), reverse mode (the fake dials the
//! events listener), groups answered on an `at` only, private messages,
//! `echo` correlation, reconnects, heartbeats, redeliveries.

use super::support::*;
use crate::common::fake_onebot::*;
use crate::common::*;
use serde_json::{json, Value};
use std::time::Duration;

const PONG: &str = "cat > /dev/null; echo \"pong $ALICE_SOURCE_MESSAGE_ID\"";

/// A OneBot bot `qq` whose agent is the shell `script`, with more
/// `[bots.qq.connector]` lines.
fn qq_bot(script: &str, connector: &str) -> String {
    let script = script.replace('\\', "\\\\").replace('"', "\\\"");
    format!(
        "[bots.qq]\n[bots.qq.connector]\nkind = \"onebot\"\naccess_token = \"{TOKEN}\"\n{connector}[bots.qq.agent]\ncommand = [\"sh\", \"-c\", \"{script}\"]\n"
    )
}

struct Qq {
    _dir: TestDir,
    app: InProcess,
    api: BotApi,
    fake: FakeOneBot,
}

/// Forward mode: the bot dials the fake.
async fn forward(script: &str, connector: &str) -> Qq {
    let fake = FakeOneBot::server().await;
    let bot = qq_bot(
        script,
        &format!(
            "mode = \"forward\"\nws_url = \"{}\"\n{connector}",
            fake.ws_url
        ),
    );
    let (dir, app, mut apis) = start(&bot, &["qq"]).await;
    eventually("the bot dialled the fake", || async {
        fake.connections() >= 1
    })
    .await;
    Qq {
        _dir: dir,
        app,
        api: apis.remove(0),
        fake,
    }
}

async fn wait_actions(fake: &FakeOneBot, action: &str, n: usize) -> Vec<Value> {
    eventually(&format!("{n} {action}"), || async {
        fake.actions(action).len() >= n
    })
    .await;
    fake.actions(action)
}

fn text_of(params: &Value) -> String {
    params["message"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["type"] == "text")
        .map(|s| s["data"]["text"].as_str().unwrap_or_default())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onebot_a_group_message_is_answered_in_the_group_only_with_an_at_of_the_bot() {
    let qq = forward(PONG, "").await;
    qq.fake.group_message(1, 555, json!("no one named"));
    qq.fake
        .group_message(2, 555, json!("[CQ:at,qq=3] not me either"));
    qq.fake.group_message(
        3,
        555,
        json!([{"type": "at", "data": {"qq": SELF_ID.to_string()}}, {"type": "text", "data": {"text": " hi"}}]),
    );
    qq.fake
        .group_message(4, 555, json!(format!("[CQ:at,qq={SELF_ID}] and a CQ code")));
    let sent = wait_actions(&qq.fake, "send_group_msg", 2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent_now = qq.fake.actions("send_group_msg");
    assert_eq!(sent_now.len(), 2, "{sent_now:?}");
    assert_eq!(sent[0]["group_id"], 555);
    assert_eq!(text_of(&sent[0]), "pong 3");
    assert_eq!(text_of(&sent[1]), "pong 4");
    // The answer quotes the message it answers.
    assert_eq!(
        sent[0]["message"][0],
        json!({"type": "reply", "data": {"id": "3"}})
    );
    qq.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onebot_a_private_message_is_answered_privately() {
    let qq = forward(PONG, "").await;
    qq.fake.private_message(9, 42, json!("hello"));
    let sent = wait_actions(&qq.fake, "send_private_msg", 1).await;
    assert_eq!(sent[0]["user_id"], 42);
    assert_eq!(text_of(&sent[0]), "pong 9");
    qq.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onebot_a_message_delivered_twice_is_answered_once() {
    let qq = forward(PONG, "").await;
    qq.fake.private_message(9, 42, json!("hello"));
    qq.fake.private_message(9, 42, json!("hello"));
    qq.fake.private_message(10, 42, json!("again"));
    let sent = wait_actions(&qq.fake, "send_private_msg", 2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let texts: Vec<String> = qq
        .fake
        .actions("send_private_msg")
        .iter()
        .map(text_of)
        .collect();
    assert_eq!(texts, ["pong 9", "pong 10"], "{sent:?}");
    qq.app.stop().await;
}

/// Two sends in flight; the fake answers the second first: each caller gets
/// its own answer (the message id of its own action).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onebot_action_answers_are_matched_by_echo_when_they_come_out_of_order() {
    let qq = forward(PONG, "").await;
    qq.fake.hold_answers(2);
    let to = [
        ("x-alice-receive-id-type", "user_id"),
        ("x-alice-receive-id", "42"),
    ];
    let (a, b) = tokio::join!(
        qq.api.post("image", &to, &[("image", Some("a.png"), PNG)]),
        async {
            // The second only once the first is on the wire.
            wait_actions(&qq.fake, "send_private_msg", 1).await;
            qq.api
                .post("image", &to, &[("image", Some("b.png"), PNG)])
                .await
        }
    );
    assert_eq!((a.0, b.0), (200, 200), "{a:?} {b:?}");
    let sent = qq.fake.actions("send_private_msg");
    let place = |name: &str| {
        7001 + sent
            .iter()
            .position(|p| p["message"][0]["data"]["name"] == name)
            .expect("sent")
    };
    assert_eq!(a.1["message_id"], place("a.png").to_string());
    assert_eq!(b.1["message_id"], place("b.png").to_string());
    let image = &sent[0]["message"][0];
    assert_eq!(image["type"], "image");
    assert!(
        image["data"]["file"]
            .as_str()
            .unwrap()
            .starts_with("base64://"),
        "{image}"
    );
    qq.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onebot_an_action_never_answered_times_out_with_504() {
    let qq = forward(PONG, "request_timeout_secs = 1\n").await;
    qq.fake.silent(true);
    let to = [
        ("x-alice-receive-id-type", "chat_id"),
        ("x-alice-receive-id", "555"),
    ];
    let (status, body) = qq
        .api
        .post("image", &to, &[("image", Some("a.png"), PNG)])
        .await;
    assert_eq!(status, 504, "{body}");
    assert!(error_of(&body).contains("send_group_msg"), "{body}");
    qq.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onebot_reconnects_after_the_socket_drops_and_heartbeats_show_in_the_probe() {
    let qq = forward(PONG, "").await;
    qq.fake.heartbeat(30_000);
    let probe = || async {
        let res = client()
            .get(format!("{}/api/v1/probes/internal", qq.api.url))
            .bearer_auth(&qq.api.token)
            .send()
            .await
            .unwrap();
        res.json::<Value>().await.unwrap()["connector"].clone()
    };
    eventually("a heartbeat in the probe", || async {
        probe().await["last_pong_at"].is_string()
    })
    .await;
    let p = probe().await;
    assert_eq!(
        (p["kind"].as_str(), p["state"].as_str()),
        (Some("onebot"), Some("connected"))
    );
    eventually("alice_connector_up is 1", || async {
        qq.app.supervisor.metrics().await.lines().any(|l| {
            l.starts_with("alice_connector_up{") && l.contains("bot=\"qq\"") && l.ends_with(" 1")
        })
    })
    .await;

    qq.fake.drop_socket();
    eventually("dialled again", || async { qq.fake.connections() >= 2 }).await;
    qq.fake.private_message(11, 42, json!("still there?"));
    let sent = wait_actions(&qq.fake, "send_private_msg", 1).await;
    assert_eq!(text_of(&sent[0]), "pong 11");
    let p = probe().await;
    assert_eq!(p["state"], "connected", "{p}");
    assert!(p["last_error"].is_string(), "why it dropped: {p}");
    qq.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onebot_reverse_mode_refuses_a_wrong_token_and_serves_the_right_one() {
    let bot = qq_bot(PONG, "mode = \"reverse\"\n");
    let (_dir, app, _apis) = start(&bot, &["qq"]).await;
    let server = alice::supervisor::EventsServer::start(
        app.supervisor.clone(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .expect("events listener");
    let url = format!("ws://{}/onebot/qq", server.addr());
    let fake = FakeOneBot::default();
    assert_eq!(fake.dial(&url, Some("Bearer wrong")).await, Err(401));
    assert_eq!(fake.dial(&url, None).await, Err(401));
    // A wrong bot or kind is named as such, not upgraded.
    let res = client()
        .get(format!("http://{}/onebot/nobody", server.addr()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let doc = get_json(&format!("http://{}/openapi.json", server.addr())).await;
    assert!(doc["paths"]["/onebot/{bot_id}"]["get"].is_object(), "{doc}");
    fake.dial(&url, Some(&format!("Bearer {TOKEN}")))
        .await
        .expect("the right token is let in");
    fake.group_message(5, 555, json!(format!("[CQ:at,qq={SELF_ID}] hi")));
    let sent = wait_actions(&fake, "send_group_msg", 1).await;
    assert_eq!(text_of(&sent[0]), "pong 5");
    // A stopped bot hangs up: nothing reaches a bot that no longer runs.
    app.supervisor.stop_bot("qq").await.unwrap();
    eventually("the socket closed", || async { !fake.socket_open() }).await;
    server.stop().await;
    app.stop().await;
}

/// OneBot's config keys are checked by the loader, naming the key.
#[test]
fn onebot_config_errors_name_the_key() {
    let config = assert_connector_errors(
        "qq",
        &[
            (
                "kind = \"onebot\"\nws_url = \"http://x\"\n",
                "bots.qq.connector.ws_url",
            ),
            (
                "kind = \"onebot\"\nmode = \"reverse\"\n",
                "bots.qq.connector.access_token",
            ),
            (
                "kind = \"onebot\"\nevents = \"webhook\"\n",
                "bots.qq.connector.events",
            ),
        ],
        "kind = \"onebot\"\naccess_token = \"s3cret\"\n",
    );
    let connector = &config.bot("qq").unwrap().connector;
    assert_eq!(connector.ws_url, "ws://127.0.0.1:3001");
    assert!(!format!("{connector:?}").contains("s3cret"));
}

/// A socket that stays open but goes silent for three heartbeat intervals
/// is given up, and forward mode dials again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onebot_a_silent_socket_is_given_up_after_three_heartbeat_intervals() {
    let qq = forward(PONG, "").await;
    qq.fake.heartbeat(200);
    eventually("dialled again after the silence", || async {
        qq.fake.connections() >= 2
    })
    .await;
    qq.app.stop().await;
}

/// What QQ cannot do is refused before anything reaches the implementation:
/// sending again by key (501), a caption over one message's 4 500
/// characters (400), a conversation that is neither a group nor a user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onebot_what_qq_cannot_do_is_refused_before_anything_is_sent() {
    let qq = forward(PONG, "").await;
    let group = [
        ("x-alice-receive-id-type", "chat_id"),
        ("x-alice-receive-id", "555"),
    ];
    let (status, body) = qq
        .api
        .post("image", &group, &[("image_key", None, b"img_v3_1")])
        .await;
    assert_eq!(status, 501, "{body}");
    let caption = "字".repeat(4501);
    let (status, body) = qq
        .api
        .post(
            "image",
            &group,
            &[
                ("image", Some("a.png"), PNG),
                ("caption", None, caption.as_bytes()),
            ],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(error_of(&body).contains("4500"), "{body}");
    let (status, body) = qq
        .api
        .post(
            "image",
            &[
                ("x-alice-receive-id-type", "open_id"),
                ("x-alice-receive-id", "ou_x"),
            ],
            &[("image", Some("a.png"), PNG)],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(qq.fake.actions("send_group_msg").is_empty());
    assert!(qq.fake.actions("send_private_msg").is_empty());
    // A caption at the limit goes (after its image).
    let caption = "字".repeat(4500);
    let (status, body) = qq
        .api
        .post(
            "image",
            &group,
            &[
                ("image", Some("a.png"), PNG),
                ("caption", None, caption.as_bytes()),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(qq.fake.actions("send_group_msg").len(), 2);
    qq.app.stop().await;
}

/// A reverse socket is a request whose body lasts as long as the socket:
/// the events listener's body deadline (30 s) must not cut it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onebot_a_reverse_socket_outlives_the_listeners_body_deadline() {
    let bot = qq_bot(PONG, "mode = \"reverse\"\n");
    let (_dir, app, _apis) = start(&bot, &["qq"]).await;
    let server = alice::supervisor::EventsServer::start(
        app.supervisor.clone(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .expect("events listener");
    let fake = FakeOneBot::default();
    fake.dial(
        &format!("ws://{}/onebot/qq", server.addr()),
        Some(&format!("Bearer {TOKEN}")),
    )
    .await
    .expect("let in");
    tokio::time::sleep(Duration::from_secs(32)).await;
    assert!(fake.socket_open(), "the socket was cut");
    fake.private_message(7, 42, json!("still there?"));
    let sent = wait_actions(&fake, "send_private_msg", 1).await;
    assert_eq!(text_of(&sent[0]), "pong 7");
    server.stop().await;
    app.stop().await;
}
