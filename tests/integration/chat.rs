//! The reply pipeline on the local connector: inbound messages are answered
//! by the bot's agent, in order per conversation, in parallel across them.

use crate::common::*;
use serde_json::{json, Value};
use std::path::PathBuf;

struct Chat {
    app: InProcess,
    dir: TestDir,
}

impl Chat {
    async fn start(extra: &str) -> Self {
        let dir = TestDir::new();
        let (base, admin) = (free_ports(1), free_ports(1));
        let agent = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/agents/chat_agent.sh");
        let log = dir.path().join("chat.log");
        dir.write_config(&format!(
            "{}[bots.alpha]\n{extra}\n[bots.alpha.agent]\ncommand = [\"sh\", \"{}\"]\nenv = {{ CHAT_LOG = \"{}\" }}\n",
            supervisor_toml(admin, base),
            agent.display(),
            log.display()
        ));
        let app = InProcess::start(&dir).await;
        app.wait_running(&["alpha"]).await;
        Self { app, dir }
    }

    async fn say(&self, conversation: &str, body: Value) -> String {
        self.app.say("alpha", conversation, body).await
    }

    async fn messages(&self, conversation: &str) -> Vec<Value> {
        let (status, body) = self
            .app
            .admin_get(&format!(
                "/api/bots/alpha/conversations/{conversation}/messages?limit=200"
            ))
            .await;
        assert_eq!(status, 200);
        body.as_array().unwrap().clone()
    }

    /// The bot's replies in a conversation, once `n` have arrived.
    async fn replies(&self, conversation: &str, n: usize) -> Vec<Value> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let out: Vec<Value> = self
                .messages(conversation)
                .await
                .into_iter()
                .filter(|m| m["direction"] == "out")
                .collect();
            if out.len() >= n {
                return out;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {n} replies in {conversation}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("chat.log")).unwrap_or_default()
    }

    fn file(&self, suffix: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("chat.log.{suffix}"))).unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_conversation_is_answered_in_order_and_never_concurrently() {
    let chat = Chat::start("").await;
    let mut ids = Vec::new();
    for i in 1..=3 {
        ids.push(
            chat.say("oc_one", json!({"text": format!("slow {i}")}))
                .await,
        );
    }
    let replies = chat.replies("oc_one", 3).await;
    let reply_to: Vec<&str> = replies
        .iter()
        .map(|r| r["reply_to"].as_str().unwrap())
        .collect();
    assert_eq!(reply_to, ids.iter().map(String::as_str).collect::<Vec<_>>());
    let texts: Vec<&str> = replies
        .iter()
        .map(|r| r["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        ["answer: slow 1", "answer: slow 2", "answer: slow 3"]
    );
    let expected: Vec<String> = ids
        .iter()
        .flat_map(|id| [format!("start {id}"), format!("end {id}")])
        .collect();
    assert_eq!(
        chat.log().lines().collect::<Vec<_>>(),
        expected,
        "runs overlapped"
    );
    chat.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_conversations_are_answered_in_parallel() {
    let chat = Chat::start("").await;
    chat.say("c1", json!({"text": "wait-for-c2"})).await;
    chat.say("c2", json!({"text": "wait-for-c1"})).await;
    assert_eq!(chat.replies("c1", 1).await[0]["text"], "together");
    assert_eq!(chat.replies("c2", 1).await[0]["text"], "together");
    chat.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_gets_the_message_ids_history_and_a_failure_never_wedges_the_queue() {
    let chat = Chat::start("").await;
    let first = chat
        .say(
            "oc_env",
            json!({"text": "hello there", "sender_open_id": "ou_alice"}),
        )
        .await;
    chat.replies("oc_env", 1).await;
    let env = chat.file(&format!("env.{first}"));
    for expected in [
        format!("ALICE_SOURCE_MESSAGE_ID={first}"),
        "ALICE_RECEIVE_ID=oc_env".into(),
        "ALICE_RECEIVE_ID_TYPE=chat_id".into(),
        "ALICE_ACTOR_OPEN_ID=ou_alice".into(),
        "ALICE_CHAT_TYPE=p2p".into(),
        "ALICE_SESSION_KEY=open_id:ou_alice|scene:chat".into(),
    ] {
        assert!(
            env.lines().any(|l| l == expected),
            "missing {expected} in\n{env}"
        );
    }
    assert!(env.contains("ALICE_RUNTIME_API_BASE_URL=http://127.0.0.1:"));
    assert!(env.contains("ALICE_RUNTIME_API_TOKEN="));
    assert!(env.contains("ALICE_RUNTIME_BIN=/"));

    let failing = chat
        .say(
            "oc_env",
            json!({"text": "fail now", "sender_open_id": "ou_alice"}),
        )
        .await;
    let third = chat
        .say(
            "oc_env",
            json!({"text": "still there?", "sender_open_id": "ou_alice"}),
        )
        .await;
    let replies = chat.replies("oc_env", 3).await;
    assert_eq!(replies[1]["reply_to"], failing.as_str());
    assert_eq!(
        replies[1]["text"],
        "Sorry, I could not answer that. Please try again."
    );
    assert_eq!(replies[2]["reply_to"], third.as_str());
    assert_eq!(replies[2]["text"], "answer: still there?");

    // The history of the conversation reaches the prompt.
    let prompt = chat.file(&format!("prompt.{third}"));
    assert!(prompt.contains("user: hello there"), "{prompt}");
    assert!(
        prompt.contains("assistant: answer: hello there"),
        "{prompt}"
    );

    // So does the conversation's active goal (and the run's environment).
    let token = chat.app.bot_token("alpha").await;
    let bot_addr = chat
        .app
        .supervisor
        .status("alpha")
        .await
        .unwrap()
        .config
        .listen_addr();
    let res = client()
        .post(format!("http://{bot_addr}/api/v1/goal"))
        .bearer_auth(&token)
        .header("X-Alice-Session-Key", "open_id:ou_alice|scene:chat")
        .json(&json!({"description": "ship the release"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let fourth = chat
        .say(
            "oc_env",
            json!({"text": "what now?", "sender_open_id": "ou_alice"}),
        )
        .await;
    chat.replies("oc_env", 4).await;
    let prompt = chat.file(&format!("prompt.{fourth}"));
    assert!(prompt.contains("ship the release"), "{prompt}");
    assert!(prompt.trim_end().ends_with("what now?"), "{prompt}");
    assert!(chat
        .file(&format!("env.{fourth}"))
        .contains("ALICE_GOAL=ship the release"));
    chat.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bundled_automation_skill_works_from_a_p2p_chat() {
    let chat = Chat::start("").await;
    let id = chat.say("oc_p2p", json!({"text": "task please"})).await;
    assert_eq!(chat.replies("oc_p2p", 1).await[0]["text"], "created");
    let task: Value = serde_json::from_str(&chat.file(&format!("task.{id}"))).unwrap();
    assert_eq!(
        (task["scope_type"].as_str(), task["scope_id"].as_str()),
        (Some("chat"), Some("oc_p2p"))
    );
    chat.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_need_a_mention_and_no_reply_sends_nothing() {
    let chat = Chat::start("").await;
    chat.say("oc_group", json!({"text": "chatter", "chat_type": "group"}))
        .await;
    chat.say(
        "oc_group",
        json!({"text": "silent please", "chat_type": "group", "mentions_bot": true}),
    )
    .await;
    let asked = chat
        .say(
            "oc_group",
            json!({"text": "@bot hi", "chat_type": "group", "mentions_bot": true}),
        )
        .await;
    let replies = chat.replies("oc_group", 1).await;
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(replies[0]["reply_to"], asked.as_str());
    assert!(
        !chat.log().contains("chatter"),
        "the unmentioned message reached the agent"
    );
    assert_eq!(chat.log().matches("start").count(), 2);

    let chat_all = Chat::start("[bots.alpha.chat]\ntrigger_mode = \"all\"\n").await;
    chat_all
        .say("oc_group", json!({"text": "chatter", "chat_type": "group"}))
        .await;
    assert_eq!(
        chat_all.replies("oc_group", 1).await[0]["text"],
        "answer: chatter"
    );
    chat.app.stop().await;
    chat_all.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_to_a_stopped_bot_are_answered_after_it_starts() {
    let chat = Chat::start("").await;
    let (status, _) = chat.app.admin_post("/api/bots/alpha/stop").await;
    assert_eq!(status, 200);
    let id = chat.say("oc_later", json!({"text": "are you there"})).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(chat
        .messages("oc_later")
        .await
        .iter()
        .all(|m| m["direction"] == "in"));
    let (status, _) = chat.app.admin_post("/api/bots/alpha/start").await;
    assert_eq!(status, 200);
    let replies = chat.replies("oc_later", 1).await;
    assert_eq!(replies[0]["reply_to"], id.as_str());

    let res = client()
        .post(format!(
            "{}/api/bots/alpha/conversations/x/messages",
            chat.app.admin_url
        ))
        .bearer_auth(chat.app.supervisor.admin_token())
        .json(&json!({"text": "  "}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    chat.app.stop().await;
}

/// The shipped `bots.toml` (on test ports and a temporary data folder): a
/// user types into `alice chat` and the example bot answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_example_bot_answers_through_alice_chat() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(2), free_ports(1));
    let Shipped {
        config,
        env,
        mut serve,
    } = Shipped::start(&dir, admin, base);
    wait_healthy(&format!("http://127.0.0.1:{admin}/healthz")).await;
    wait_healthy(&format!("http://127.0.0.1:{}/healthz", base + 1)).await;

    let out = run_chat(
        &[
            "--config",
            config.to_str().unwrap(),
            "alpha",
            "--linger",
            "6",
        ],
        &env,
        b"hello alice\n/time\n/image\n/remind 2s stretch\n",
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 7, "{stdout}");
    assert_eq!(lines[0], "alpha> You said: hello alice");
    assert!(
        lines[1].starts_with("alpha> It is ") && lines[1].ends_with(" UTC."),
        "{stdout}"
    );
    // /image: the agent's skill call (`alice runtime message image`) reaches
    // its own bot and the picture lands in the conversation, then the answer.
    assert!(
        lines[2].starts_with("alpha> [image: ") && lines[2].contains("files/om_"),
        "{stdout}"
    );
    assert_eq!(lines[3], "alpha> A picture, as asked.");
    assert_eq!(lines[4], "alpha> Sent you a picture.");
    // /remind: an automation task created by the skill arrives later.
    assert!(
        lines[5].starts_with("alpha> OK, I will remind you at "),
        "{stdout}"
    );
    assert_eq!(lines[6], "alpha> Reminder: stretch");

    terminate(&mut serve);
}

/// The supervisor's own secrets in its environment (admin token, other
/// bots' tokens) never reach an agent: it sees only its own ALICE_* values.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_never_inherit_the_supervisors_secrets() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(2), free_ports(1));
    let agent = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/agents/chat_agent.sh");
    let log = dir.path().join("chat.log");
    let path = dir.write_config(&format!(
        "{}[bots.alpha]\n[bots.alpha.agent]\ncommand = [\"sh\", \"{}\"]\nenv = {{ CHAT_LOG = \"{}\" }}\n[bots.beta]\n",
        supervisor_toml(admin, base),
        agent.display(),
        log.display()
    ));
    let mut serve = alice_command(&["serve", "--config", path.to_str().unwrap()])
        .env("ALICE_SUPERVISOR__ADMIN_TOKEN", "admin-secret-1")
        .env("ALICE_BOTS__BETA__RUNTIME_HTTP_TOKEN", "beta-secret-2")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_healthy(&format!("http://127.0.0.1:{admin}/healthz")).await;
    wait_healthy(&format!("http://127.0.0.1:{base}/healthz")).await;
    let res = client()
        .post(format!(
            "http://127.0.0.1:{admin}/api/bots/alpha/conversations/oc_env/messages"
        ))
        .bearer_auth("admin-secret-1")
        .json(&json!({"text": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let id = res.json::<Value>().await.unwrap()["message_id"]
        .as_str()
        .unwrap()
        .to_string();
    let env_file = dir.path().join(format!("chat.log.env.{id}"));
    eventually("the agent ran", || async { env_file.exists() }).await;
    eventually("the agent finished", || async {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("end ")
    })
    .await;
    let env = std::fs::read_to_string(&env_file).unwrap();
    assert!(env.contains("ALICE_RECEIVE_ID=oc_env"), "{env}");
    assert!(!env.contains("secret"), "{env}");
    terminate(&mut serve);
}

/// Conversation ids are user input: `alice chat` escapes them in URLs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alice_chat_takes_any_conversation_id() {
    let chat = Chat::start("").await;
    let config = chat.dir.config_path();
    let out = run_chat(
        &[
            "--config",
            config.to_str().unwrap(),
            "alpha",
            "--conversation",
            "team #1?/x",
        ],
        &[],
        b"hi\n",
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.trim(), "alpha> answer: hi");
    let (status, list) = chat.app.admin_get("/api/bots/alpha/conversations").await;
    assert_eq!(status, 200);
    assert_eq!(list[0]["receive_id"], "team #1?/x");
    chat.app.stop().await;
}

/// The bot's agent, telling the test each time it has answered.
struct Notifying {
    runner: alice::agent::AgentRunner,
    answered: tokio::sync::mpsc::UnboundedSender<()>,
}

#[async_trait::async_trait]
impl alice::chat::Answerer for Notifying {
    async fn answer(
        &self,
        scope: &alice::scope::Scope,
        prompt: &str,
    ) -> (Option<String>, Result<String, alice::agent::AgentError>) {
        let outcome = alice::chat::Answerer::answer(&self.runner, scope, prompt).await;
        let _ = self.answered.send(());
        outcome
    }
}

/// A runner and a pipeline of bot `alpha` on `store`, as a start builds them.
fn chat_parts(
    dir: &TestDir,
    store: &alice::store::BotStore,
    answered: tokio::sync::mpsc::UnboundedSender<()>,
) -> (
    alice::agent::AgentRunner,
    alice::chat::ChatPipeline,
    alice::connector::LocalConnector,
) {
    use std::sync::Arc;
    let folder = dir.path().join("alpha");
    let local = alice::connector::LocalConnector::open(store.clone(), folder.clone()).unwrap();
    let config = alice::config::AgentConfig {
        command: vec![
            "sh".into(),
            "-c".into(),
            "cat >/dev/null; echo the real answer".into(),
        ],
        ..Default::default()
    };
    let runner = alice::agent::AgentRunner::new(alice::agent::AgentSetup {
        bot_id: "alpha".into(),
        config,
        workspace: folder.join("workspace"),
        skills_dir: folder.join("workspace/skills"),
        base_url: "http://127.0.0.1:9".into(),
        bin: PathBuf::from(env!("CARGO_BIN_EXE_alice")),
        store: store.clone(),
        goals: alice::goal::Goals::open(store).unwrap(),
        host_slots: Arc::new(tokio::sync::Semaphore::new(4)),
        shutdown_timeout: std::time::Duration::from_secs(1),
        metrics: alice::metrics::BotMetrics::new("alpha", "local"),
    })
    .unwrap();
    let answerer = Arc::new(Notifying {
        runner: runner.clone(),
        answered,
    });
    let pipeline = alice::chat::ChatPipeline::new(
        "alpha",
        Default::default(),
        store,
        Arc::new(local.clone()),
        answerer,
        1,
        alice::metrics::BotMetrics::new("alpha", "local"),
    )
    .unwrap();
    (runner, pipeline, local)
}

/// The race of a stop: the agent runner already refuses (the bot is
/// stopping) while the chat pipeline still hands it a message. The message
/// stays queued, unanswered, and gets its real answer after the next start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_refused_because_the_bot_is_stopping_stays_queued() {
    let dir = TestDir::new();
    let store = alice::store::Store::open(&dir.path().join("data")).unwrap();
    let bot = store.bot("alpha");
    let (tx, mut answered) = tokio::sync::mpsc::unbounded_channel();
    let (runner, pipeline, local) = chat_parts(&dir, &bot, tx.clone());
    runner.cancel_all();
    let message = alice::connector::inbound::InboundMessage {
        message_id: "om_race".into(),
        receive_id_type: alice::scope::ReceiveIdType::ChatId,
        receive_id: "race".into(),
        chat_type: alice::scope::ChatType::P2p,
        sender_open_id: Some("ou_1".into()),
        sender_user_id: None,
        text: "hello".into(),
        mentions_bot: false,
    };
    assert!(pipeline.push(message).await.unwrap());
    answered.recv().await.expect("the refused run");
    pipeline.stopped().await;
    runner.stop().await;
    let inbox = alice::chat::Inbox::open(bot.clone()).unwrap();
    let waiting: Vec<String> = inbox
        .unanswered()
        .unwrap()
        .into_iter()
        .map(|p| p.message.message_id)
        .collect();
    assert_eq!(waiting, ["om_race"], "the message stays queued");
    let (sent, _) = local.messages("race", 0, 100).unwrap();
    assert!(sent.is_empty(), "nothing was sent: {sent:?}");

    // The next start answers it for real.
    let (runner, pipeline, local) = chat_parts(&dir, &bot, tx);
    assert_eq!(pipeline.resume().unwrap(), 1);
    answered.recv().await.expect("the real run");
    eventually("the answer is sent and the message done", || async {
        inbox.unanswered().unwrap().is_empty()
    })
    .await;
    let (sent, _) = local.messages("race", 0, 100).unwrap();
    let texts: Vec<_> = sent.iter().filter_map(|m| m.text.clone()).collect();
    assert_eq!(texts, ["the real answer"], "{sent:?}");
    pipeline.stopped().await;
    runner.stop().await;
}

/// Log lines written while a test runs on its own thread.
#[derive(Clone, Default)]
struct CapturedLog(std::sync::Arc<parking_lot::Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A history that cannot be read is an error in the log naming the bot and
/// the session, and the message is still answered (without history).
#[tokio::test(flavor = "current_thread")]
async fn an_unreadable_history_is_logged_and_the_message_still_answered() {
    let captured = CapturedLog::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let dir = TestDir::new();
    let store = alice::store::Store::open(&dir.path().join("data")).unwrap();
    let bot = store.bot("alpha");
    // A turn that is not a turn: reading the session's history fails.
    let session = "open_id:ou_1|scene:chat";
    bot.tree::<String>(alice::store::Tree::History)
        .unwrap()
        .insert(&format!("{session}\u{1f}{:020}", 1), &"garbage".to_string())
        .unwrap();
    let (tx, mut answered) = tokio::sync::mpsc::unbounded_channel();
    let (runner, pipeline, local) = chat_parts(&dir, &bot, tx);
    let message = alice::connector::inbound::InboundMessage {
        message_id: "om_hist".into(),
        receive_id_type: alice::scope::ReceiveIdType::ChatId,
        receive_id: "hist".into(),
        chat_type: alice::scope::ChatType::P2p,
        sender_open_id: Some("ou_1".into()),
        sender_user_id: None,
        text: "hello".into(),
        mentions_bot: false,
    };
    assert!(pipeline.push(message).await.unwrap());
    answered.recv().await.expect("the run");
    eventually("the answer is sent", || async {
        !local.messages("hist", 0, 100).unwrap().0.is_empty()
    })
    .await;
    pipeline.stopped().await;
    runner.stop().await;
    let log = String::from_utf8_lossy(&captured.0.lock()).to_string();
    let line = log
        .lines()
        .find(|l| l.contains("cannot read the conversation's history"))
        .unwrap_or_else(|| panic!("no history error in the log:\n{log}"));
    assert!(line.contains("ERROR"), "{line}");
    assert!(line.contains("alpha") && line.contains(session), "{line}");
}

/// Records written before chat types, roles, directions and message types
/// were enums (plain strings in JSON) load as the enums, and the typed
/// records are written back as the same strings.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_written_as_strings_still_load() {
    use alice::chat::Role;
    use alice::connector::local::{Direction, MsgType};
    use alice::scope::{ChatType, ReceiveIdType, Scope};
    use alice::store::Tree;

    let dir = TestDir::new();
    let store = alice::store::Store::open(&dir.path().join("data")).unwrap();
    let bot = store.bot("alpha");
    let raw = |tree| bot.tree::<Value>(tree).unwrap();
    let at = "2026-11-30T10:00:00Z";
    let old_message = json!({
        "message_id": "om_old", "receive_id_type": "chat_id", "receive_id": "oc_old",
        "direction": "out", "msg_type": "image", "text": null, "file_name": "a.png",
        "file_path": "files/om_old-a.png", "size": 3, "reply_to": "om_q", "created_at": at,
    });
    raw(Tree::LocalMessages)
        .insert(&format!("oc_old\u{1f}{:020}", 1), &old_message)
        .unwrap();
    raw(Tree::LocalConversations)
        .insert(
            "oc_old",
            &json!({"receive_id": "oc_old", "receive_id_type": "chat_id", "messages": 1, "last_message_at": at}),
        )
        .unwrap();
    let session = "chat_id:oc_old|scene:chat";
    for (seq, role) in [(2, "user"), (3, "assistant")] {
        raw(Tree::History)
            .insert(
                &format!("{session}\u{1f}{seq:020}"),
                &json!({"role": role, "text": format!("said by {role}")}),
            )
            .unwrap();
    }
    raw(Tree::Inbox)
        .insert(
            &format!("{:020}", 4),
            &json!({"seq": 4, "session_key": session, "received_at": at, "message": {
                "message_id": "om_in", "receive_id_type": "chat_id", "receive_id": "oc_old",
                "chat_type": "group", "sender_open_id": "ou_1", "sender_user_id": null,
                "text": "@bot hi", "mentions_bot": true,
            }}),
        )
        .unwrap();

    let local =
        alice::connector::LocalConnector::open(bot.clone(), dir.path().join("alpha")).unwrap();
    let (messages, total) = local.messages("oc_old", 0, 10).unwrap();
    assert_eq!(total, 1);
    assert_eq!(
        (messages[0].direction, messages[0].msg_type),
        (Direction::Out, MsgType::Image)
    );
    assert_eq!(serde_json::to_value(&messages[0]).unwrap(), old_message);

    let history = alice::chat::History::open(bot.clone()).unwrap();
    let turns = history.recent(session, 10).unwrap();
    let roles: Vec<Role> = turns.iter().map(|t| t.role).collect();
    assert_eq!(roles, [Role::User, Role::Assistant]);
    assert_eq!(
        alice::chat::build_prompt(&turns, "next"),
        "Conversation so far:\nuser: said by user\nassistant: said by assistant\n\nNew message:\nnext"
    );

    let inbox = alice::chat::Inbox::open(bot.clone()).unwrap();
    let waiting = inbox.unanswered().unwrap();
    assert_eq!(waiting[0].message.chat_type, ChatType::Group);
    assert_eq!(waiting[0].message.receive_id_type, ReceiveIdType::ChatId);

    // A run's scope as run records keep it.
    let stored = json!({"receive_id_type": "open_id", "receive_id": "ou_1", "source_message_id": null,
        "actor_user_id": null, "actor_open_id": "ou_1", "chat_type": "p2p", "session_key": null});
    let scope: Scope = serde_json::from_value(stored.clone()).unwrap();
    assert_eq!(scope.receive_id_type(), ReceiveIdType::OpenId);
    assert_eq!(scope.chat_type, Some(ChatType::P2p));
    assert_eq!(serde_json::to_value(&scope).unwrap(), stored);
    // The supervisor's run requests took any string here: such a record loads.
    let odd: Scope = serde_json::from_value(
        json!({"receive_id_type": "bogus", "chat_type": "topic", "receive_id": "x"}),
    )
    .unwrap();
    assert_eq!((odd.receive_id_type, odd.chat_type), (None, None));
    let empty: Scope = serde_json::from_value(json!({})).unwrap();
    assert_eq!(empty, Scope::default());
}

/// The local `say` route takes `p2p` (the default) or `group` and answers
/// anything else with the same 400 as ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn say_takes_p2p_or_group_and_nothing_else() {
    let chat = Chat::start("").await;
    let url = format!(
        "{}/api/bots/alpha/conversations/oc_kinds/messages",
        chat.app.admin_url
    );
    for (chat_type, status) in [
        (json!("p2p"), 202),
        (json!("group"), 202),
        (Value::Null, 202),
        (json!("channel"), 400),
        (json!("P2P"), 400),
    ] {
        let res = client()
            .post(&url)
            .bearer_auth(chat.app.supervisor.admin_token())
            .json(&json!({"text": "hi", "chat_type": chat_type}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), status, "{chat_type}");
        if status == 400 {
            let body: Value = res.json().await.unwrap();
            assert_eq!(
                body["error"], "`chat_type` must be `p2p` or `group`",
                "{body}"
            );
        }
    }
    chat.app.stop().await;
}
