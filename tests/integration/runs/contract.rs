//! Where the Runtime API's answers follow its contract rather than a
//! resource's behaviour: a run token naming another conversation.

use super::*;
use reqwest::Method;
use serde_json::json;

/// List routes refuse a run token that names another conversation, as every
/// other route does, instead of answering with the token's own data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_token_naming_another_conversation_is_refused_on_lists() {
    let h = Harness::start(&[BotSpec::new("alpha", "gate.sh")], "").await;
    let url = h.url("alpha");
    let (status, started) = h
        .headless(
            "alpha",
            json!({"prompt": "hold", "scope": {"receive_id": "oc_mine"}}),
        )
        .await;
    assert_eq!(status, 202, "{started}");
    let task = started["taskId"].as_str().unwrap().to_string();
    let token = h.run_token("alpha", &task).await;

    let lists = [
        format!("{url}/api/v1/runs"),
        format!("{url}/api/v1/automation/tasks"),
        format!("{url}/api/v1/runs/{task}"),
        format!("{url}/api/v1/runs/{task}/events"),
    ];
    for list in &lists {
        let (status, body) = bot_call(Method::GET, list, &token, &[], None).await;
        assert_eq!(status, 200, "{list}, no headers: {body}");
        let own = [("X-Alice-Receive-Id", "oc_mine")];
        let (status, body) = bot_call(Method::GET, list, &token, &own, None).await;
        assert_eq!(status, 200, "{list}, its own conversation: {body}");
        for other in [
            ("X-Alice-Receive-Id", "oc_other"),
            ("X-Alice-Session-Key", "chat_id:oc_other|scene:chat"),
        ] {
            let (status, body) = bot_call(Method::GET, list, &token, &[other], None).await;
            assert_eq!(status, 403, "{list} {other:?}: {body}");
            assert!(body["error"].is_string(), "{body}");
        }
    }
    h.open_gate("alpha");
    h.finished(&task).await;
    h.stop().await;
}

/// `X-Alice-Receive-Id-Type` takes Feishu's five types (empty: unset) and
/// nothing else on the routes that act on one conversation; the routes that
/// only check the headers against the token answer as they always have.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_receive_id_type_header_takes_five_types_and_nothing_else() {
    let h = Harness::start(&[BotSpec::new("alpha", "gate.sh")], "").await;
    let url = h.url("alpha");
    let main = h.token("alpha").await;
    let goal = format!("{url}/api/v1/goal");
    for kind in ["chat_id", "open_id", "user_id", "union_id", "email", ""] {
        let headers = [
            ("X-Alice-Receive-Id", "oc_1"),
            ("X-Alice-Receive-Id-Type", kind),
        ];
        let (status, body) = bot_call(Method::GET, &goal, &main, &headers, None).await;
        assert_ne!(status, 400, "{kind:?}: {body}");
    }
    for kind in ["chat", "CHAT_ID", "open_id "] {
        let headers = [
            ("X-Alice-Receive-Id", "oc_1"),
            ("X-Alice-Receive-Id-Type", kind),
        ];
        let (status, body) = bot_call(Method::GET, &goal, &main, &headers, None).await;
        if kind == "open_id " {
            // Values are trimmed, as every conversation header.
            assert_ne!(status, 400, "{kind:?}: {body}");
            continue;
        }
        assert_eq!(status, 400, "{kind:?}: {body}");
        assert_eq!(
            body["error"],
            "X-Alice-Receive-Id-Type must be one of chat_id, open_id, user_id, union_id, email",
            "{body}"
        );
    }

    // Lists only compare the headers with the token.
    let runs = format!("{url}/api/v1/runs");
    let bogus = [
        ("X-Alice-Receive-Id", "oc_mine"),
        ("X-Alice-Receive-Id-Type", "bogus"),
    ];
    let (status, body) = bot_call(Method::GET, &runs, &main, &bogus, None).await;
    assert_eq!(status, 200, "main token: {body}");
    let (status, started) = h
        .headless(
            "alpha",
            json!({"prompt": "hold", "scope": {"receive_id": "oc_mine"}}),
        )
        .await;
    assert_eq!(status, 202, "{started}");
    let task = started["taskId"].as_str().unwrap().to_string();
    let token = h.run_token("alpha", &task).await;
    let (status, body) = bot_call(Method::GET, &runs, &token, &bogus, None).await;
    assert_eq!(status, 403, "a type that is not its own: {body}");
    let (status, body) = bot_call(Method::GET, &runs, &token, &bogus[1..], None).await;
    assert_eq!(status, 200, "a type without an id names nothing: {body}");
    // The supervisor's run requests take any type, as they always have.
    let (status, odd) = h
        .headless(
            "alpha",
            json!({"prompt": "hold", "scope": {"receive_id": "oc_odd", "receive_id_type": "bogus", "chat_type": "topic"}}),
        )
        .await;
    assert_eq!(status, 202, "{odd}");
    h.open_gate("alpha");
    h.finished(&task).await;
    h.finished(odd["taskId"].as_str().unwrap()).await;
    h.stop().await;
}
