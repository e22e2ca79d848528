//! The Telegram connector against a fake Bot API on loopback: long polling
//! into the bot's inbound service, replies with `reply_parameters`, the
//! persisted offset, 429s waited out, long answers split, uploads.

use super::support::assert_connector_errors;
use crate::common::fake_telegram::*;
use crate::common::*;
use alice::supervisor::Supervisor;
use serde_json::{json, Value};

struct Tg {
    _dir: TestDir,
    supervisor: Supervisor,
    fake: FakeTelegram,
}

/// A Telegram bot `tg` whose agent is the shell `script` (prompt on stdin).
async fn start(script: &str) -> Tg {
    start_with(script, "").await
}

/// As [`start`], with more `[bots.tg.connector]` lines.
async fn start_with(script: &str, connector: &str) -> Tg {
    let fake = FakeTelegram::start().await;
    let dir = TestDir::new();
    let script = script.replace('\\', "\\\\").replace('"', "\\\"");
    dir.write_config(&format!(
        "{}[bots.tg]\n[bots.tg.connector]\nkind = \"telegram\"\nbot_token = \"{TOKEN}\"\nbase_url = \"{}\"\npoll_timeout_secs = 1\n{connector}[bots.tg.agent]\ncommand = [\"sh\", \"-c\", \"{script}\"]\n",
        supervisor_toml(free_ports(1), free_ports(1)),
        fake.base_url
    ));
    let supervisor = Supervisor::start_with_bin(dir.load(), env!("CARGO_BIN_EXE_alice").into())
        .await
        .expect("supervisor starts");
    eventually("tg running", || async {
        supervisor.status("tg").await.unwrap().bot.is_some()
    })
    .await;
    Tg {
        _dir: dir,
        supervisor,
        fake,
    }
}

const PONG: &str = "cat > /dev/null; echo \"pong $ALICE_SOURCE_MESSAGE_ID\"";

async fn wait_sent(fake: &FakeTelegram, method: &str, n: usize) -> Vec<Value> {
    eventually(&format!("{n} {method}"), || async {
        fake.sent(method).len() >= n
    })
    .await;
    fake.sent(method)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_long_polling_delivers_a_message_answered_with_reply_parameters() {
    let tg = start(PONG).await;
    tg.fake.message(10, 777, 5, "hello", json!({}));
    let sent = wait_sent(&tg.fake, "sendMessage", 1).await;
    assert_eq!(sent[0]["chat_id"], "777");
    assert_eq!(sent[0]["text"], "pong 777:5");
    assert_eq!(sent[0]["reply_parameters"]["message_id"], 5);
    tg.supervisor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_offset_is_persisted_across_a_restart_no_repeat_no_loss() {
    let tg = start(PONG).await;
    tg.fake.message(10, 777, 5, "one", json!({}));
    wait_sent(&tg.fake, "sendMessage", 1).await;
    eventually("the offset moved past 10", || async {
        tg.fake.offsets().contains(&Some(11))
    })
    .await;
    tg.supervisor.restart_bot("tg").await.expect("restart");
    let before = tg.fake.offsets().len();
    tg.fake.message(11, 777, 6, "two", json!({}));
    let sent = wait_sent(&tg.fake, "sendMessage", 2).await;
    assert_eq!(sent[1]["text"], "pong 777:6");
    // The restarted bot asked from where the first left off: never without
    // an offset, never below it.
    let after: Vec<Option<i64>> = tg.fake.offsets()[before..].to_vec();
    assert!(
        after.iter().all(|o| o.is_some_and(|o| o >= 11)),
        "{after:?}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let texts: Vec<Value> = tg
        .fake
        .sent("sendMessage")
        .iter()
        .map(|b| b["text"].clone())
        .collect();
    assert_eq!(texts, [json!("pong 777:5"), json!("pong 777:6")]);
    tg.supervisor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_429_retry_after_is_waited_out_and_the_message_sent() {
    let tg = start(PONG).await;
    tg.fake.throttle_once(1);
    tg.fake.message(10, 777, 5, "hello", json!({}));
    let sent = wait_sent(&tg.fake, "sendMessage", 2).await;
    assert_eq!(sent[0], sent[1], "the same message was retried");
    tg.supervisor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_a_5000_character_answer_is_split_in_two() {
    let tg = start("cat > /dev/null; head -c 5000 /dev/zero | tr '\\\\0' x").await;
    tg.fake.message(10, 777, 5, "long please", json!({}));
    let sent = wait_sent(&tg.fake, "sendMessage", 2).await;
    let lengths: Vec<usize> = sent
        .iter()
        .map(|b| b["text"].as_str().unwrap().chars().count())
        .collect();
    assert_eq!(lengths, [4096, 904]);
    assert_eq!(sent[0]["reply_parameters"]["message_id"], 5);
    assert!(sent[1].get("reply_parameters").is_none());
    tg.supervisor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_groups_answer_a_mention_or_a_reply_to_the_bot_only() {
    let tg = start(PONG).await;
    tg.fake.message(10, -1001, 1, "no one named", json!({}));
    let mention = format!("@{BOT_USERNAME} hi");
    tg.fake.message(
        11,
        -1001,
        2,
        &mention,
        json!({"entities": [{"type": "mention", "offset": 0, "length": BOT_USERNAME.len() + 1}]}),
    );
    tg.fake.message(12, -1001, 3, "and you?",
        json!({"reply_to_message": {"message_id": 1001, "date": 0, "chat": {"id": -1001, "type": "supergroup"}, "from": {"id": BOT_ID, "is_bot": true, "first_name": "Jobs"}}}));
    let sent = wait_sent(&tg.fake, "sendMessage", 2).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let texts: Vec<Value> = tg
        .fake
        .sent("sendMessage")
        .iter()
        .map(|b| b["text"].clone())
        .collect();
    assert_eq!(
        texts,
        [json!("pong -1001:2"), json!("pong -1001:3")],
        "{sent:?}"
    );
    tg.supervisor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_the_bundled_alice_message_skill_sends_a_photo_and_a_document() {
    let script = format!(
        "sh {}/tests/agents/skill_image.sh",
        env!("CARGO_MANIFEST_DIR")
    );
    let tg = start(&script).await;
    tg.fake.message(10, 777, 5, "a picture please", json!({}));
    let photo = wait_sent(&tg.fake, "sendPhoto", 1).await;
    let body = photo[0].as_str().unwrap();
    assert!(body.contains("name=\"photo\""), "{body}");
    assert!(body.contains("name=\"chat_id\""), "{body}");
    assert!(
        body.contains("\"message_id\":5"),
        "reply_parameters: {body}"
    );
    let document = wait_sent(&tg.fake, "sendDocument", 1).await;
    let body = document[0].as_str().unwrap();
    assert!(
        body.contains("name=\"document\"") && body.contains("quarterly numbers"),
        "{body}"
    );
    let captions = wait_sent(&tg.fake, "sendMessage", 2).await;
    assert_eq!(captions[0]["text"], "made by the agent");
    tg.supervisor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_webhook_checks_the_secret_token_and_delivers() {
    let connector = "events = \"webhook\"\nwebhook_secret = \"s3cret_-\"\npublic_url = \"https://bots.example/webhooks/telegram/tg\"\n";
    let tg = start_with(PONG, connector).await;
    let registered = wait_sent(&tg.fake, "setWebhook", 1).await;
    assert_eq!(
        registered[0]["url"],
        "https://bots.example/webhooks/telegram/tg"
    );
    assert_eq!(registered[0]["secret_token"], "s3cret_-");

    let server = alice::supervisor::EventsServer::start(
        tg.supervisor.clone(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .expect("events listener");
    let url = format!("http://{}/webhooks/telegram/tg", server.addr());
    let update = json!({"update_id": 1, "message": {"message_id": 9, "date": 0,
        "chat": {"id": 777, "type": "private"}, "from": {"id": 5, "is_bot": false, "first_name": "Ann"}, "text": "hi"}});
    for secret in [Some("wrong"), None] {
        let mut req = client().post(&url).json(&update);
        if let Some(secret) = secret {
            req = req.header("X-Telegram-Bot-Api-Secret-Token", secret);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 401);
        let body: Value = res.json().await.unwrap();
        assert!(body["error"].is_string(), "{body}");
    }
    let res = client()
        .post(&url)
        .header("X-Telegram-Bot-Api-Secret-Token", "s3cret_-")
        .json(&update)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let sent = wait_sent(&tg.fake, "sendMessage", 1).await;
    assert_eq!(sent[0]["text"], "pong 777:9");
    // Only the delivery with the right secret was answered.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(tg.fake.sent("sendMessage").len(), 1);
    let doc = get_json(&format!("http://{}/openapi.json", server.addr())).await;
    assert!(doc["paths"]["/webhooks/telegram/{bot_id}"]["post"].is_object());
    server.stop().await;
    tg.supervisor.shutdown().await;
}

/// Telegram's config keys are checked by the loader, naming the key.
#[test]
fn telegram_config_errors_name_the_key() {
    let config = assert_connector_errors(
        "tg",
        &[
        ("kind = \"telegram\"\n", "bots.tg.connector.bot_token"),
        (
            "kind = \"telegram\"\nbot_token = \"1:a\"\nevents = \"webhook\"\nwebhook_secret = \"has space\"\npublic_url = \"https://x\"\n",
            "bots.tg.connector.webhook_secret",
        ),
        (
            "kind = \"telegram\"\nbot_token = \"1:a\"\nevents = \"webhook\"\nwebhook_secret = \"ok\"\n",
            "bots.tg.connector.public_url",
        ),
        (
            "kind = \"telegram\"\nbot_token = \"1:a\"\npoll_timeout_secs = 90\n",
            "bots.tg.connector.poll_timeout_secs",
        ),
        ("kind = \"feishu\"\napp_id = \"a\"\napp_secret = \"b\"\nevents = \"long_polling\"\n", "bots.tg.connector.events"),
        ],
        "kind = \"telegram\"\nbot_token = \"1:a\"\n",
    );
    let connector = &config.bot("tg").unwrap().connector;
    assert_eq!(connector.api_base(), "https://api.telegram.org");
}

/// An inbound photo is fetched by `getFile` and saved into the bot's
/// folder; the message's text names the saved file for the agent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_an_inbound_photo_is_saved_into_the_bot_folder_and_named_in_the_text() {
    let tg = start(PONG).await;
    let mut feed = tg.supervisor.inbound_feed();
    tg.fake.photo(10, 777, 5, "look", b"\xff\xd8\xffjpeg bytes");
    let (_, message) = tokio::time::timeout(std::time::Duration::from_secs(20), feed.recv())
        .await
        .expect("a message in time")
        .expect("the feed");
    assert!(message.text.starts_with("look"), "{}", message.text);
    let saved = message
        .text
        .lines()
        .find_map(|l| l.strip_prefix("[photo saved at ")?.strip_suffix(']'))
        .unwrap_or_else(|| panic!("no saved path in {:?}", message.text));
    let saved = std::path::Path::new(saved);
    assert!(saved.starts_with(tg._dir.path()), "{saved:?}");
    assert_eq!(std::fs::read(saved).unwrap(), b"\xff\xd8\xffjpeg bytes");
    wait_sent(&tg.fake, "sendMessage", 1).await;
    tg.supervisor.shutdown().await;
}

/// The next `getUpdates` offset is Telegram's acknowledgement, so alice asks
/// past an update only once the message is on disk: killed -9 right after,
/// the real binary answers it when started again (once), and never asks for
/// it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_an_acknowledged_update_survives_kill_9() {
    let fake = FakeTelegram::start().await;
    let dir = TestDir::new();
    let go = dir.path().join("answer-now");
    // Until `go` exists the agent waits: the message is taken, not answered.
    let script = format!(
        "cat > /dev/null; while [ ! -e {} ]; do sleep 0.1; done; echo \\\"pong $ALICE_SOURCE_MESSAGE_ID\\\"",
        go.display()
    );
    let config = dir.write_config(&format!(
        "{}[bots.tg]\n[bots.tg.connector]\nkind = \"telegram\"\nbot_token = \"{TOKEN}\"\nbase_url = \"{}\"\npoll_timeout_secs = 1\n[bots.tg.agent]\ncommand = [\"sh\", \"-c\", \"{script}\"]\n",
        supervisor_toml(free_ports(1), free_ports(1)),
        fake.base_url
    ));
    let mut first = spawn_serve(&config, &[]);
    fake.message(10, 777, 5, "hello", json!({}));
    eventually("the offset moved past 10", || async {
        fake.offsets().contains(&Some(11))
    })
    .await;
    send_signal(&first, libc::SIGKILL);
    first.wait().expect("killed");
    assert!(
        fake.sent("sendMessage").is_empty(),
        "answered before the kill"
    );

    std::fs::write(&go, "").expect("marker");
    let asked_before = fake.offsets().len();
    let mut second = spawn_serve(&config, &[]);
    let sent = wait_sent(&fake, "sendMessage", 1).await;
    assert_eq!(sent[0]["text"], "pong 777:5");
    eventually("the restarted bot polls", || async {
        fake.offsets().len() > asked_before
    })
    .await;
    let after: Vec<Option<i64>> = fake.offsets()[asked_before..].to_vec();
    assert!(
        after.iter().all(|o| o.is_some_and(|o| o >= 11)),
        "{after:?}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(fake.sent("sendMessage").len(), 1);
    send_signal(&second, libc::SIGTERM);
    wait_exit(&mut second, 15);
}
