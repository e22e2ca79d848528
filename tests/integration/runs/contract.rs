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
