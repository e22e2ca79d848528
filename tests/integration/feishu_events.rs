//! Feishu inbound events: the long connection against a fake Feishu, and the
//! webhook listener, each ending in a recording sink.

use crate::common::fake_feishu_ws::*;
use crate::common::feishu_harness::*;
use crate::common::*;
use alice::connector::feishu_events::frame;
use alice::connector::feishu_events::webhook;
use alice::connector::inbound::InboundMessage;
use alice::supervisor::EventsServer;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_connection_delivers_an_event_and_acknowledges_it() {
    let s = setup("long_connection", "").await;
    wait_connections(&s.fake, 1).await;
    let (body, locale) = s.fake.endpoint_calls()[0].clone();
    assert_eq!(body, json!({"AppID": APP_ID, "AppSecret": APP_SECRET}));
    assert_eq!(locale, "zh");

    let event = message_event("om_1", "oc_group", "hello bot", true);
    s.fake.send(event_frame("f1", event.to_string().as_bytes()));
    let got = s.recorder.wait_for("om_1").await;
    assert_eq!(
        got,
        InboundMessage {
            message_id: "om_1".into(),
            receive_id_type: alice::scope::ReceiveIdType::ChatId,
            receive_id: "oc_group".into(),
            chat_type: alice::scope::ChatType::Group,
            sender_open_id: Some("ou_alice".into()),
            sender_user_id: Some("u_alice".into()),
            text: "hello bot".into(),
            mentions_bot: true,
        }
    );
    assert_eq!(s.recorder.all()[0].0, "fs");

    wait_acks(&s.fake, "f1", 1).await;
    let acks = s.fake.acks();
    let ack = ack_of(&acks, "f1")[0];
    let payload: Value = serde_json::from_slice(ack.payload()).unwrap();
    assert_eq!(payload["code"], 200);
    assert!(ack
        .header(frame::HEADER_BIZ_RT)
        .is_some_and(|v| v.parse::<u64>().is_ok()));
    assert_eq!(ack.header(frame::HEADER_TRACE_ID), Some("trace-1"));
    assert_eq!(ack.service, SERVICE_ID);

    // A p2p message that mentions nobody.
    let event = message_event("om_2", "oc_p2p", "just text", false);
    s.fake.send(event_frame("f2", event.to_string().as_bytes()));
    let got = s.recorder.wait_for("om_2").await;
    assert_eq!(
        (got.chat_type.as_str(), got.mentions_bot, got.text.as_str()),
        ("p2p", false, "just text")
    );
    s.supervisor.shutdown().await;
}

/// Answers `pong <source message id>`.
const PONG_AGENT: &str = "[bots.fs.agent]\ncommand = [\"sh\", \"-c\", \"cat > /dev/null; echo \\\"pong $ALICE_SOURCE_MESSAGE_ID\\\"\"]\n";

async fn wait_reply_text(fake: &FakeFeishu, to: &str) -> String {
    eventually(&format!("a reply to {to}"), || async {
        fake.replies().iter().any(|(id, _)| id == to)
    })
    .await;
    let (_, body) = fake.replies().into_iter().find(|(id, _)| id == to).unwrap();
    assert_eq!(body["msg_type"], "text");
    let content: Value = serde_json::from_str(body["content"].as_str().unwrap()).unwrap();
    content["text"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_connection_event_is_answered_as_a_reply_through_the_pipeline() {
    let s = setup_with_pipeline("long_connection", PONG_AGENT).await;
    wait_connections(&s.fake, 1).await;
    let event = message_event("om_ping", "oc_group", "ping", true);
    s.fake.send(event_frame("f1", event.to_string().as_bytes()));
    wait_acks(&s.fake, "f1", 1).await;
    assert_eq!(wait_reply_text(&s.fake, "om_ping").await, "pong om_ping");
    // Who the bot is (for the @mention) and the reply share one tenant token.
    assert_eq!(s.fake.token_calls(), 1);
    s.supervisor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_connection_reconnects_after_a_drop_and_events_keep_flowing() {
    let s = setup("long_connection", "").await;
    wait_connections(&s.fake, 1).await;
    s.fake.send(event_frame(
        "f1",
        message_event("om_a", "oc_1", "one", false)
            .to_string()
            .as_bytes(),
    ));
    s.recorder.wait_for("om_a").await;

    s.fake.drop_connection();
    wait_connections(&s.fake, 2).await;
    assert!(
        s.fake.endpoint_calls().len() >= 2,
        "the endpoint is asked again"
    );
    s.fake.send(event_frame(
        "f2",
        message_event("om_b", "oc_1", "two", false)
            .to_string()
            .as_bytes(),
    ));
    assert_eq!(s.recorder.wait_for("om_b").await.text, "two");
    wait_acks(&s.fake, "f2", 1).await;
    s.supervisor.shutdown().await;
}

/// The bot `fs`'s internal probe.
pub async fn fs_probe(s: &Setup) -> Value {
    let status = s.supervisor.status("fs").await.unwrap();
    let bot = status.bot.expect("fs runs");
    let url = format!(
        "http://{}/api/v1/probes/internal",
        status.config.listen_addr()
    );
    let res = client()
        .get(url)
        .bearer_auth(bot.token())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_connection_whose_pings_go_unanswered_is_declared_dead_and_reopened() {
    let s = setup("long_connection", "").await;
    wait_connections(&s.fake, 1).await;
    eventually("connected once a pong came", || async {
        fs_probe(&s).await["connector"]["state"] == "connected"
    })
    .await;
    let p = fs_probe(&s).await;
    assert!(p["connector"]["connected_since"].is_string(), "{p}");
    assert!(p["connector"]["last_pong_at"].is_string(), "{p}");

    // The socket stays open, but nothing answers: two missed pongs (1 s
    // apart, the fake's interval) and the connection is given up.
    s.fake.answer_pings(false);
    eventually("no longer connected", || async {
        fs_probe(&s).await["connector"]["state"] != "connected"
    })
    .await;
    let p = fs_probe(&s).await;
    assert!(p["connector"]["connected_since"].is_null(), "{p}");
    // The supervisor's probe says so too.
    let all = serde_json::to_value(s.supervisor.probes().await).unwrap();
    let fs = all["bots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == "fs")
        .unwrap();
    assert_eq!(fs["state"], "running", "{all}");
    assert_ne!(fs["connector_state"], "connected", "{all}");
    assert_eq!(fs["health"], "degraded", "{all}");
    eventually("dropped for the missed pongs", || async {
        fs_probe(&s).await["connector"]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("pong"))
    })
    .await;
    // A new connection that does not answer either is never called connected.
    wait_connections(&s.fake, 2).await;
    for _ in 0..5 {
        let p = fs_probe(&s).await;
        assert_ne!(p["connector"]["state"], "connected", "{p}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }

    s.fake.answer_pings(true);
    eventually("connected again", || async {
        fs_probe(&s).await["connector"]["state"] == "connected"
    })
    .await;
    s.supervisor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_bot_is_idle_until_feishu_is_heard_from() {
    let s = setup("webhook", &webhook_keys()).await;
    let p = fs_probe(&s).await;
    assert_eq!(p["connector"]["state"], "idle", "{p}");
    assert!(p["connector"]["last_event_at"].is_null(), "{p}");
    let l = listener(&s).await;
    let url = format!("{}/webhooks/feishu/fs", l.url);
    let challenge =
        json!({"challenge": "ch-1", "token": VERIFICATION_TOKEN, "type": "url_verification"});
    assert_eq!(post_signed(&url, &challenge, None).await.0, 200);
    let p = fs_probe(&s).await;
    assert_eq!(p["connector"]["state"], "connected", "{p}");
    assert!(p["connector"]["connected_since"].is_string(), "{p}");
    assert!(p["connector"]["last_event_at"].is_null(), "{p}");
    l.server.stop().await;
    s.supervisor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_frames_are_reassembled_before_delivery() {
    let s = setup("long_connection", "").await;
    wait_connections(&s.fake, 1).await;
    let long_text = "x".repeat(3000);
    let event = message_event("om_big", "oc_1", &long_text, false).to_string();
    let mut parts = split_frames("f_big", event.as_bytes(), 3);
    // Out of order, as nothing promises otherwise.
    parts.swap(0, 2);
    for part in parts {
        s.fake.send(part);
    }
    assert_eq!(s.recorder.wait_for("om_big").await.text, long_text);
    wait_acks(&s.fake, "f_big", 1).await;
    assert_eq!(s.recorder.with_id("om_big").len(), 1);
    s.supervisor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pings_carry_the_service_id_and_repeat() {
    let s = setup("long_connection", "").await;
    wait_connections(&s.fake, 1).await;
    eventually("two pings on the first connection", || async {
        s.fake.pings().iter().filter(|(conn, _)| *conn == 1).count() >= 2
    })
    .await;
    for (_, ping) in s.fake.pings() {
        assert_eq!(
            (ping.service, ping.method),
            (SERVICE_ID, frame::METHOD_CONTROL)
        );
    }
    s.supervisor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_connection_redelivery_is_delivered_once_even_after_a_restart() {
    let s = setup("long_connection", "").await;
    wait_connections(&s.fake, 1).await;
    let event = message_event("om_r", "oc_1", "once", false).to_string();
    s.fake.send(event_frame("f1", event.as_bytes()));
    s.fake.send(event_frame("f2", event.as_bytes()));
    // Both are acknowledged (a redelivery too, or Feishu would keep trying).
    wait_acks(&s.fake, "f2", 1).await;
    assert_eq!(s.recorder.with_id("om_r").len(), 1);

    s.supervisor.restart_bot("fs").await.expect("restart");
    wait_connections(&s.fake, 2).await;
    s.fake.send(event_frame("f3", event.as_bytes()));
    s.fake.send(event_frame(
        "f4",
        message_event("om_next", "oc_1", "next", false)
            .to_string()
            .as_bytes(),
    ));
    s.recorder.wait_for("om_next").await;
    wait_acks(&s.fake, "f3", 1).await;
    assert_eq!(
        s.recorder.with_id("om_r").len(),
        1,
        "{:?}",
        s.recorder.all()
    );
    s.supervisor.shutdown().await;
}

// ---- webhook ----

const ENCRYPT_KEY: &str = "encrypt-key";
const VERIFICATION_TOKEN: &str = "v-token";

fn webhook_keys() -> String {
    format!("verification_token = \"{VERIFICATION_TOKEN}\"\nencrypt_key = \"{ENCRYPT_KEY}\"\n")
}

struct Listener {
    url: String,
    server: EventsServer,
}

async fn listener(s: &Setup) -> Listener {
    let server = EventsServer::start(s.supervisor.clone(), "127.0.0.1:0".parse().unwrap())
        .expect("events listener starts");
    Listener {
        url: format!("http://{}", server.addr()),
        server,
    }
}

/// Posts `plain` encrypted and signed as Feishu does; `signature` overrides
/// the right one.
async fn post_signed(url: &str, plain: &Value, signature: Option<&str>) -> (u16, Value) {
    post_signed_at(url, plain, signature, unix_now()).await
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// As [`post_signed`], signed at `timestamp` (Unix seconds).
async fn post_signed_at(
    url: &str,
    plain: &Value,
    signature: Option<&str>,
    timestamp: i64,
) -> (u16, Value) {
    let body =
        json!({"encrypt": webhook::encrypt(plain.to_string().as_bytes(), ENCRYPT_KEY, [9; 16])})
            .to_string();
    let timestamp = timestamp.to_string();
    let (timestamp, nonce) = (timestamp.as_str(), "nonce-1");
    let right = webhook::signature(timestamp, nonce, ENCRYPT_KEY, body.as_bytes());
    let res = client()
        .post(url)
        .header("content-type", "application/json")
        .header(webhook::TIMESTAMP_HEADER, timestamp)
        .header(webhook::NONCE_HEADER, nonce)
        .header(webhook::SIGNATURE_HEADER, signature.unwrap_or(&right))
        .body(body)
        .send()
        .await
        .expect("post");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn post_plain(url: &str, body: &Value) -> (u16, Value) {
    let res = client().post(url).json(body).send().await.expect("post");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_answers_the_url_verification_handshake() {
    let s = setup("webhook", &webhook_keys()).await;
    let l = listener(&s).await;
    let url = format!("{}/webhooks/feishu/fs", l.url);
    let challenge =
        json!({"challenge": "ch-1", "token": VERIFICATION_TOKEN, "type": "url_verification"});

    // Encrypted (the bot has an Encrypt Key), and unsigned as the SDK allows.
    let sealed = json!({"encrypt": webhook::encrypt(challenge.to_string().as_bytes(), ENCRYPT_KEY, [1; 16])});
    assert_eq!(
        post_plain(&url, &sealed).await,
        (200, json!({"challenge": "ch-1"}))
    );
    // Signed too.
    assert_eq!(
        post_signed(&url, &challenge, None).await,
        (200, json!({"challenge": "ch-1"}))
    );

    let wrong = json!({"challenge": "ch-2", "token": "not-it", "type": "url_verification"});
    let sealed =
        json!({"encrypt": webhook::encrypt(wrong.to_string().as_bytes(), ENCRYPT_KEY, [1; 16])});
    let (status, body) = post_plain(&url, &sealed).await;
    assert_eq!(status, 401);
    assert!(
        body["error"].as_str().is_some_and(|e| e.contains("token")),
        "{body}"
    );
    l.server.stop().await;
    s.supervisor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_delivers_a_signed_encrypted_event() {
    let s = setup("webhook", &webhook_keys()).await;
    let l = listener(&s).await;
    let url = format!("{}/webhooks/feishu/fs", l.url);
    let event = message_event("om_w", "oc_team", "hi there", true);
    assert_eq!(
        post_signed(&url, &event, None).await,
        (200, json!({"msg": "success"}))
    );
    let got = s.recorder.wait_for("om_w").await;
    assert_eq!(
        (got.receive_id.as_str(), got.text.as_str(), got.mentions_bot),
        ("oc_team", "hi there", true)
    );
    assert_eq!(got.sender_open_id.as_deref(), Some("ou_alice"));

    // Other events are acknowledged and ignored.
    let other = json!({"schema": "2.0", "header": {"event_type": "im.chat.updated_v1", "token": VERIFICATION_TOKEN}, "event": {}});
    assert_eq!(post_signed(&url, &other, None).await.0, 200);
    l.server.stop().await;
    s.supervisor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_event_is_answered_as_a_reply_through_the_pipeline() {
    let extra = format!("{}{PONG_AGENT}", webhook_keys());
    let s = setup_with_pipeline("webhook", &extra).await;
    let l = listener(&s).await;
    let url = format!("{}/webhooks/feishu/fs", l.url);
    let event = message_event("om_hook", "oc_p2p", "hello", false);
    assert_eq!(post_signed(&url, &event, None).await.0, 200);
    assert_eq!(post_signed(&url, &event, None).await.0, 200);
    assert_eq!(wait_reply_text(&s.fake, "om_hook").await, "pong om_hook");
    // A later message is answered after it; the copy never was.
    let next = message_event("om_hook2", "oc_p2p", "again", false);
    assert_eq!(post_signed(&url, &next, None).await.0, 200);
    wait_reply_text(&s.fake, "om_hook2").await;
    let to_first = s
        .fake
        .replies()
        .iter()
        .filter(|(id, _)| id == "om_hook")
        .count();
    assert_eq!(to_first, 1);
    l.server.stop().await;
    s.supervisor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_refuses_a_bad_signature_and_processes_nothing() {
    let s = setup("webhook", &webhook_keys()).await;
    let l = listener(&s).await;
    let url = format!("{}/webhooks/feishu/fs", l.url);
    let event = message_event("om_sig", "oc_1", "forged?", false);
    let (status, body) = post_signed(&url, &event, Some(&"0".repeat(64))).await;
    assert_eq!(status, 401);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("Signature")),
        "{body}"
    );

    // An unsigned event is refused too when the bot has an Encrypt Key.
    let sealed =
        json!({"encrypt": webhook::encrypt(event.to_string().as_bytes(), ENCRYPT_KEY, [2; 16])});
    assert_eq!(post_plain(&url, &sealed).await.0, 401);

    // Nothing was processed: not even marked as seen, so the genuine one
    // is still delivered (once).
    assert_eq!(post_signed(&url, &event, None).await.0, 200);
    s.recorder.wait_for("om_sig").await;
    assert_eq!(s.recorder.with_id("om_sig").len(), 1);
    l.server.stop().await;
    s.supervisor.shutdown().await;
}

/// A correctly signed event whose timestamp is more than five minutes old
/// (a replay) or ahead is refused with 401 and processed not at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_refuses_a_replayed_or_future_signed_event() {
    let s = setup("webhook", &webhook_keys()).await;
    let l = listener(&s).await;
    let url = format!("{}/webhooks/feishu/fs", l.url);
    let event = message_event("om_replay", "oc_1", "again?", false);
    for skew in [-301, -3600, 301, -1_700_000_000] {
        let (status, body) = post_signed_at(&url, &event, None, unix_now() + skew).await;
        assert_eq!(status, 401, "{skew}: {body}");
        assert!(
            body["error"]
                .as_str()
                .is_some_and(|e| e.contains("Timestamp")),
            "{body}"
        );
    }
    // Not even marked as seen: the fresh one is delivered.
    assert_eq!(
        post_signed_at(&url, &event, None, unix_now() - 60).await.0,
        200
    );
    s.recorder.wait_for("om_replay").await;
    assert_eq!(s.recorder.with_id("om_replay").len(), 1);
    l.server.stop().await;
    s.supervisor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_redelivery_is_delivered_once_even_after_a_restart() {
    let s = setup("webhook", &webhook_keys()).await;
    let l = listener(&s).await;
    let url = format!("{}/webhooks/feishu/fs", l.url);
    let event = message_event("om_dup", "oc_1", "once", false);
    assert_eq!(post_signed(&url, &event, None).await.0, 200);
    assert_eq!(post_signed(&url, &event, None).await.0, 200);
    s.recorder.wait_for("om_dup").await;

    s.supervisor.restart_bot("fs").await.expect("restart");
    assert_eq!(post_signed(&url, &event, None).await.0, 200);
    // A later message arrives after whatever the copies could have caused.
    let next = message_event("om_after", "oc_1", "after", false);
    assert_eq!(post_signed(&url, &next, None).await.0, 200);
    s.recorder.wait_for("om_after").await;
    assert_eq!(
        s.recorder.with_id("om_dup").len(),
        1,
        "{:?}",
        s.recorder.all()
    );

    // A stopped bot answers 503 so that Feishu retries later.
    s.supervisor.stop_bot("fs").await.expect("stop");
    let later = message_event("om_later", "oc_1", "later", false);
    assert_eq!(post_signed(&url, &later, None).await.0, 503);
    l.server.stop().await;
    s.supervisor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_unknown_bots_and_other_transports_are_refused() {
    let s = setup("long_connection", "").await;
    let l = listener(&s).await;
    let event = message_event("om_x", "oc_1", "x", false);
    let (status, body) = post_plain(&format!("{}/webhooks/feishu/nobody", l.url), &event).await;
    assert_eq!(status, 404);
    assert!(body["error"].is_string());
    // A Feishu bot on the long connection, and a local bot.
    for id in ["fs", "plain"] {
        let (status, body) = post_plain(&format!("{}/webhooks/feishu/{id}", l.url), &event).await;
        assert_eq!(status, 409, "{id}: {body}");
    }
    // The listener describes itself.
    let doc: Value = client()
        .get(format!("{}/openapi.json", l.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        doc["paths"]["/webhooks/feishu/{bot_id}"]["post"].is_object(),
        "{doc}"
    );
    l.server.stop().await;
    s.supervisor.shutdown().await;
}

// ---- the bot's one inbound service ----

/// The value of `alice_inbound_messages_total` for the bot `fs` and `outcome`.
async fn inbound_count(s: &Setup, outcome: &str) -> f64 {
    let text = s.supervisor.metrics().await;
    let label = format!("outcome=\"{outcome}\"");
    text.lines()
        .filter(|l| l.starts_with("alice_inbound_messages_total{"))
        .find(|l| l.contains("bot=\"fs\"") && l.contains(&label))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0.0)
}

/// A Feishu redelivery reaches the bot's inbound service, which drops it
/// (the transport keeps no memory of its own), and is answered once, even
/// when it comes again after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_delivered_twice_is_answered_once_by_the_inbound_service_even_after_a_restart() {
    let s = setup_with_pipeline("long_connection", PONG_AGENT).await;
    wait_connections(&s.fake, 1).await;
    let event = message_event("om_d", "oc_1", "twice", false).to_string();
    s.fake.send(event_frame("f1", event.as_bytes()));
    s.fake.send(event_frame("f2", event.as_bytes()));
    wait_acks(&s.fake, "f2", 1).await;
    eventually("the copy counted as a duplicate", || async {
        inbound_count(&s, "duplicate").await >= 1.0
    })
    .await;
    assert_eq!(wait_reply_text(&s.fake, "om_d").await, "pong om_d");

    s.supervisor.restart_bot("fs").await.expect("restart");
    wait_connections(&s.fake, 2).await;
    s.fake.send(event_frame("f3", event.as_bytes()));
    let next = message_event("om_d2", "oc_1", "next", false).to_string();
    s.fake.send(event_frame("f4", next.as_bytes()));
    wait_reply_text(&s.fake, "om_d2").await;
    wait_acks(&s.fake, "f3", 1).await;
    let to_first = s
        .fake
        .replies()
        .iter()
        .filter(|(id, _)| id == "om_d")
        .count();
    assert_eq!(to_first, 1, "{:?}", s.fake.replies());
    s.supervisor.shutdown().await;
}

/// Answers `re <source message id>`, slowly for a text saying `slow`.
const ORDER_AGENT: &str = "[bots.fs.agent]\ncommand = [\"sh\", \"-c\", \"p=$(cat); case \\\"$p\\\" in *slow*) sleep 1;; esac; echo \\\"re $ALICE_SOURCE_MESSAGE_ID\\\"\"]\n";

/// Messages of one Feishu conversation are answered in arrival order, even
/// when the first takes longest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_platform_conversation_is_answered_in_arrival_order() {
    let s = setup_with_pipeline("long_connection", ORDER_AGENT).await;
    wait_connections(&s.fake, 1).await;
    for (frame, id, text) in [
        ("f1", "om_o1", "slow"),
        ("f2", "om_o2", "fast"),
        ("f3", "om_o3", "fast"),
    ] {
        let event = message_event(id, "oc_order", text, false).to_string();
        s.fake.send(event_frame(frame, event.as_bytes()));
        wait_acks(&s.fake, frame, 1).await;
    }
    wait_reply_text(&s.fake, "om_o3").await;
    let order: Vec<String> = s.fake.replies().into_iter().map(|(id, _)| id).collect();
    assert_eq!(order, ["om_o1", "om_o2", "om_o3"]);
    s.supervisor.shutdown().await;
}
