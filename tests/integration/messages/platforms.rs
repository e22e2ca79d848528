//! Three platforms and the local chat side by side in one supervisor: a
//! Feishu, a Telegram and a OneBot bot against their fakes, and a local
//! bot, each answering several messages per conversation through its one
//! inbound service — in order per conversation, each once.

use super::support::*;
use crate::common::fake_feishu_ws::{self, event_frame, message_event, FakeFeishu};
use crate::common::fake_onebot::{FakeOneBot, TOKEN as OB_TOKEN};
use crate::common::fake_telegram::{FakeTelegram, TOKEN as TG_TOKEN};
use crate::common::*;
use serde_json::{json, Value};
use std::time::Duration;

/// Answers with the message id; a first message (id ending in 1) is slow,
/// so a later one would overtake it if order were not kept.
const AGENT: &str = "[bots.{id}.agent]\ncommand = [\"sh\", \"-c\", \"cat > /dev/null; case $ALICE_SOURCE_MESSAGE_ID in *1) sleep 0.4;; esac; echo pong $ALICE_SOURCE_MESSAGE_ID\"]\n";

fn agent(id: &str) -> String {
    AGENT.replace("{id}", id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_platforms_and_the_local_chat_answer_in_order_per_conversation_each_once() {
    let feishu = FakeFeishu::start().await;
    let telegram = FakeTelegram::start().await;
    let onebot = FakeOneBot::server().await;
    let bots = format!(
        "[bots.fs.connector]\nkind = \"feishu\"\napp_id = \"{}\"\napp_secret = \"{}\"\nbase_url = \"{}\"\n{}\
         [bots.tg.connector]\nkind = \"telegram\"\nbot_token = \"{TG_TOKEN}\"\nbase_url = \"{}\"\npoll_timeout_secs = 1\n{}\
         [bots.qq.connector]\nkind = \"onebot\"\nws_url = \"{}\"\naccess_token = \"{OB_TOKEN}\"\n{}\
         [bots.chat]\n{}",
        fake_feishu_ws::APP_ID,
        fake_feishu_ws::APP_SECRET,
        feishu.base_url,
        agent("fs"),
        telegram.base_url,
        agent("tg"),
        onebot.ws_url,
        agent("qq"),
        agent("chat"),
    );
    let (_dir, app, _apis) = start(&bots, &["fs", "tg", "qq", "chat"]).await;
    eventually("feishu and onebot connected", || async {
        feishu.connections() >= 1 && onebot.connections() >= 1
    })
    .await;

    // Three messages in each of two conversations per platform, interleaved.
    let mut local_ids: Vec<Vec<String>> = vec![Vec::new(), Vec::new()];
    for n in 1..=3 {
        for (c, chat) in ["oc_a", "oc_b"].iter().enumerate() {
            let id = format!("om_{}{n}", ["a", "b"][c]);
            let event = message_event(&id, chat, "hi", false);
            feishu.send(event_frame(
                &format!("f_{id}"),
                event.to_string().as_bytes(),
            ));
        }
        for (c, chat) in [777, 778].iter().enumerate() {
            telegram.message(n * 10 + c as i64, *chat, n, "hi", json!({}));
        }
        onebot.private_message(100 + n, 42, json!("hi"));
        onebot.group_message(
            200 + n,
            555,
            json!(format!(
                "[CQ:at,qq={}] hi",
                crate::common::fake_onebot::SELF_ID
            )),
        );
        for (c, room) in ["room1", "room2"].iter().enumerate() {
            local_ids[c].push(say(&app, room, &format!("hi {n}")).await);
        }
    }

    // Feishu: the messages each reply answers, per chat.
    eventually("6 feishu replies", || async { feishu.replies().len() >= 6 }).await;
    for chat in ["a", "b"] {
        let answered: Vec<String> = feishu
            .replies()
            .into_iter()
            .map(|(id, _)| id)
            .filter(|id| id.starts_with(&format!("om_{chat}")))
            .collect();
        let want: Vec<String> = (1..=3).map(|n| format!("om_{chat}{n}")).collect();
        assert_eq!(answered, want);
    }
    // Telegram: the texts sent to each chat.
    eventually("6 telegram answers", || async {
        telegram.sent("sendMessage").len() >= 6
    })
    .await;
    for chat in ["777", "778"] {
        let texts: Vec<Value> = telegram
            .sent("sendMessage")
            .into_iter()
            .filter(|b| b["chat_id"] == chat)
            .map(|b| b["text"].clone())
            .collect();
        let want: Vec<Value> = (1..=3).map(|n| json!(format!("pong {chat}:{n}"))).collect();
        assert_eq!(texts, want);
    }
    // QQ: a private chat and a group.
    let text = |p: &Value| {
        p["message"][1]["data"]["text"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    eventually("6 qq answers", || async {
        onebot.actions("send_private_msg").len() + onebot.actions("send_group_msg").len() >= 6
    })
    .await;
    let private: Vec<String> = onebot
        .actions("send_private_msg")
        .iter()
        .map(text)
        .collect();
    assert_eq!(private, ["pong 101", "pong 102", "pong 103"]);
    let group: Vec<String> = onebot.actions("send_group_msg").iter().map(text).collect();
    assert_eq!(group, ["pong 201", "pong 202", "pong 203"]);
    // Local: the replies quote the messages in order.
    for (c, room) in ["room1", "room2"].iter().enumerate() {
        eventually(&format!("3 replies in {room}"), || async {
            replies(&app, room).await.len() >= 3
        })
        .await;
        let reply_to: Vec<String> = replies(&app, room)
            .await
            .iter()
            .map(|r| r["reply_to"].as_str().unwrap_or_default().to_string())
            .collect();
        assert_eq!(reply_to, local_ids[c]);
    }

    // Nothing more arrives later (each answered once).
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(feishu.replies().len(), 6);
    assert_eq!(telegram.sent("sendMessage").len(), 6);
    assert_eq!(
        onebot.actions("send_private_msg").len() + onebot.actions("send_group_msg").len(),
        6
    );
    app.stop().await;
}

/// A user's message to the local bot `chat`; its id.
async fn say(app: &InProcess, room: &str, text: &str) -> String {
    app.say("chat", room, json!({"text": text})).await
}

async fn replies(app: &InProcess, room: &str) -> Vec<Value> {
    messages_of(app, "chat", room)
        .await
        .into_iter()
        .filter(|m| m["direction"] == "out")
        .collect()
}
