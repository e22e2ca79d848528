//! Goals: every status code, scope isolation, the permission switch, and
//! what an agent run in a scope with a goal is told.

use super::*;
use reqwest::Method;
use serde_json::json;

const CHAT_A: (&str, &str) = ("X-Alice-Receive-Id", "oc_a");
const CHAT_B: (&str, &str) = ("X-Alice-Receive-Id", "oc_b");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn goal_lifecycle_answers_every_status_code() {
    let h = Harness::start(&[BotSpec::new("alpha", "lines.sh")], "").await;
    let token = h.token("alpha").await;
    let goal = format!("{}/api/v1/goal", h.url("alpha"));
    let call = |method: Method, path: &str, body: Option<Value>| {
        let url = format!("{goal}{path}");
        let token = token.clone();
        async move { bot_call(method, &url, &token, &[CHAT_A], body).await }
    };

    let (status, _) = call(Method::GET, "", None).await;
    assert_eq!(status, 204, "no goal yet");
    let (status, body) = call(Method::POST, "/pause", None).await;
    assert_eq!(status, 404, "pause without a goal: {body}");
    assert!(body["error"].is_string());
    for bad in [json!({}), json!({"description": "   "})] {
        let (status, body) = call(Method::POST, "", Some(bad.clone())).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }

    let (status, created) = call(
        Method::POST,
        "",
        Some(json!({"description": "Review PR #42"})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert!(created["id"].as_str().unwrap().starts_with("goal_"));
    assert_eq!(created["description"], "Review PR #42");
    assert_eq!(created["status"], "in_progress");
    assert!(created["created_at"].is_string() && created["updated_at"].is_string());

    let (status, body) = call(Method::POST, "", Some(json!({"description": "another"}))).await;
    assert_eq!(status, 409, "an unfinished goal exists: {body}");

    for (path, expect_status, expect_goal) in [
        ("/pause", 200, "paused"),
        ("/pause", 409, ""),
        ("/resume", 200, "in_progress"),
        ("/resume", 409, ""),
        ("/pause", 200, "paused"),
        ("/complete", 200, "completed"),
        ("/complete", 409, ""),
        ("/resume", 409, ""),
    ] {
        let (status, body) = call(Method::POST, path, None).await;
        assert_eq!(status, expect_status, "{path}: {body}");
        if status == 200 {
            assert_eq!(body["status"], expect_goal, "{path}");
            assert_eq!(body["id"], created["id"]);
        }
    }
    // A finished goal is no longer the conversation's goal (204), but its
    // history keeps it.
    let (status, _) = call(Method::GET, "", None).await;
    assert_eq!(status, 204, "completed");
    let list = format!("{}/api/v1/goals?status=completed", h.url("alpha"));
    let (status, body) = bot_call(Method::GET, &list, &token, &[CHAT_A], None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body[0]["id"], created["id"]);

    // A completed goal is replaced by a new one.
    let (status, second) = call(Method::POST, "", Some(json!({"description": "Ship it"}))).await;
    assert_eq!(status, 201, "{second}");
    assert_ne!(second["id"], created["id"]);

    let (status, _) = call(Method::DELETE, "", None).await;
    assert_eq!(status, 204);
    let (status, _) = call(Method::GET, "", None).await;
    assert_eq!(status, 204, "deleted");
    let (status, _) = call(Method::DELETE, "", None).await;
    assert_eq!(status, 204, "deleting nothing is fine");

    // Without a conversation there is no goal to speak of.
    let (status, body) = bot_call(Method::GET, &goal, &token, &[], None).await;
    assert_eq!(status, 400, "{body}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn goals_are_per_scope_and_the_permission_switch_refuses_changes() {
    let mut beta = BotSpec::new("beta", "lines.sh");
    beta.extra = "[bots.beta.permissions]\nruntime_goal = false\n";
    let h = Harness::start(&[BotSpec::new("alpha", "lines.sh"), beta], "").await;
    let token = h.token("alpha").await;
    let goal = format!("{}/api/v1/goal", h.url("alpha"));

    let body = Some(json!({"description": "A's goal"}));
    let (status, a) = bot_call(Method::POST, &goal, &token, &[CHAT_A], body).await;
    assert_eq!(status, 201);
    let (status, _) = bot_call(Method::GET, &goal, &token, &[CHAT_B], None).await;
    assert_eq!(status, 204, "B does not see A's goal");
    let (status, _) = bot_call(
        Method::POST,
        &format!("{goal}/pause"),
        &token,
        &[CHAT_B],
        None,
    )
    .await;
    assert_eq!(status, 404, "nor change it");
    // The session key derived from the receive id is the explicit one.
    let session = [("X-Alice-Session-Key", "chat_id:oc_a|scene:chat")];
    let (status, same) = bot_call(Method::GET, &goal, &token, &session, None).await;
    assert_eq!((status, &same["id"]), (200, &a["id"]));
    let open_id = [("X-Alice-Receive-Id-Type", "open_id"), CHAT_A];
    let (status, _) = bot_call(Method::GET, &goal, &token, &open_id, None).await;
    assert_eq!(status, 204, "another id type is another conversation");

    let beta_token = h.token("beta").await;
    let beta_goal = format!("{}/api/v1/goal", h.url("beta"));
    let body = Some(json!({"description": "x"}));
    let (status, err) = bot_call(Method::POST, &beta_goal, &beta_token, &[CHAT_A], body).await;
    assert_eq!(status, 403, "{err}");
    assert!(err["error"].as_str().unwrap().contains("runtime_goal"));
    for (method, path) in [(Method::POST, "/pause"), (Method::DELETE, "")] {
        let url = format!("{beta_goal}{path}");
        let (status, _) = bot_call(method, &url, &beta_token, &[CHAT_A], None).await;
        assert_eq!(status, 403, "{path}");
    }
    let (status, _) = bot_call(Method::GET, &beta_goal, &beta_token, &[CHAT_A], None).await;
    assert_eq!(status, 204, "reading stays allowed");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_in_a_scope_with_a_goal_is_told_the_goal() {
    // The goal engine is off: its iterations would write the same files.
    let mut spec = BotSpec::new("alpha", "lines.sh");
    spec.extra = "[bots.alpha.goal]\nenabled = false\n";
    let h = Harness::start(&[spec], "").await;
    let token = h.token("alpha").await;
    let goal = format!("{}/api/v1/goal", h.url("alpha"));
    let body = Some(json!({"description": "Keep the changelog short"}));
    let (status, created) = bot_call(Method::POST, &goal, &token, &[CHAT_A], body).await;
    assert_eq!(status, 201);

    let scope = json!({"receive_id": "oc_a"});
    let (status, run) = h
        .headless(
            "alpha",
            json!({"prompt": "write it", "wait": true, "scope": scope}),
        )
        .await;
    assert_eq!(
        (status, run["status"].as_str()),
        (200, Some("succeeded")),
        "{run}"
    );
    assert_eq!(run["goal_id"], created["id"]);
    assert_eq!(
        run["prompt"], "write it",
        "the record keeps the caller's prompt"
    );
    let ws = h.workspace("alpha");
    let told = std::fs::read_to_string(ws.join("goal.txt")).unwrap();
    assert_eq!(told, "Keep the changelog short");
    let prompt = std::fs::read_to_string(ws.join("prompt.txt")).unwrap();
    assert!(prompt.contains("Keep the changelog short"), "{prompt}");
    assert!(prompt.trim_end().ends_with("write it"), "{prompt}");

    // Paused: not pursued, so not told.
    bot_call(
        Method::POST,
        &format!("{goal}/pause"),
        &token,
        &[CHAT_A],
        None,
    )
    .await;
    let (_, run) = h
        .headless(
            "alpha",
            json!({"prompt": "again", "wait": true, "scope": {"receive_id": "oc_a"}}),
        )
        .await;
    assert_eq!(run["goal_id"], Value::Null);
    assert_eq!(std::fs::read_to_string(ws.join("goal.txt")).unwrap(), "");
    assert_eq!(
        std::fs::read_to_string(ws.join("prompt.txt")).unwrap(),
        "again"
    );
    h.stop().await;
}
