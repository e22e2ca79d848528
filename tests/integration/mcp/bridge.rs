//! An agent run's way in: the workspace's `.mcp.json` with the run's token
//! from its environment, limited to its conversation; and `alice mcp`, the
//! stdio bridge, answering as `/mcp` does.

use super::*;
use crate::runs::{BotSpec, Harness};
use crate::tools::{tool_skill, tools_bot, ECHO};
use rmcp::transport::TokioChildProcess;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runs_mcp_json_reaches_mcp_with_the_runs_token_for_its_conversation_only() {
    // `invoke_enabled` is off: a run's token reaches MCP all the same.
    let h = Harness::start(&[BotSpec::new("alpha", "mcp_json.sh")], "").await;
    tool_skill(&h, "alpha", "echo", ECHO);
    let main = h.token("alpha").await;
    let (status, accepted) = h
        .headless(
            "alpha",
            json!({"prompt": "hold", "scope": {"receive_id": "oc_mine"}}),
        )
        .await;
    assert_eq!(status, 202, "{accepted}");
    let task = accepted["taskId"].as_str().unwrap().to_string();
    let run_token = h.run_token("alpha", &task).await;

    // The file the run saw: no secret in it, the token from the environment.
    let seen = h.workspace("alpha").join(format!("seen-mcp-{task}.json"));
    let written = std::fs::read_to_string(&seen).expect("the run saw .mcp.json");
    assert!(
        !written.contains(&main) && !written.contains(&run_token),
        "{written}"
    );
    let file: Value = serde_json::from_str(&written).unwrap();
    let server = &file["mcpServers"]["alice"];
    assert_eq!(server["type"], "http", "{file}");
    assert_eq!(server["url"], format!("{}/mcp", h.url("alpha")), "{file}");
    // What Claude Code does with `${VAR}` in headers, from the run's
    // environment (the token it got).
    let auth = server["headers"]["Authorization"]
        .as_str()
        .unwrap()
        .replace("${ALICE_RUNTIME_API_TOKEN}", &run_token);
    let token = auth.strip_prefix("Bearer ").expect("a bearer header");
    let url = server["url"].as_str().unwrap().trim_end_matches("/mcp");

    let client = connect(url, token, ProtocolVersion::V_2026_07_28, &[]).await;
    let names: Vec<String> = tool_list(&client).await.into_iter().map(|t| t.0).collect();
    assert!(
        names.contains(&"echo".to_string()) && names.contains(&"goal_create".to_string()),
        "{names:?}"
    );
    // Its own conversation, whatever it asks.
    let echoed = call(&client, "echo", json!({"word": "hi"})).await;
    assert!(text(&echoed).contains("oc_mine"), "{echoed:?}");
    let other = call(
        &client,
        "automation_create",
        json!({"scope_type": "chat",
        "scope_id": "oc_other", "action": "send_text", "text": "x", "cron": "0 9 * * *"}),
    )
    .await;
    assert_eq!(other.is_error, Some(true), "{other:?}");
    let mine = call(
        &client,
        "automation_create",
        json!({"text": "x", "cron": "0 9 * * *"}),
    )
    .await;
    assert_eq!(
        mine.structured_content.as_ref().unwrap()["scope_id"],
        "oc_mine",
        "{mine:?}"
    );
    client.cancel().await.unwrap();
    // Headers naming another conversation: refused.
    let refused = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(format!("{url}/mcp"))
            .auth_header(token)
            .custom_headers(HashMap::from([(
                http::HeaderName::from_static("x-alice-receive-id"),
                http::HeaderValue::from_static("oc_other"),
            )])),
    );
    assert!(ClientConfig::default().serve(refused).await.is_err());

    h.open_gate("alpha");
    h.finished(&task).await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alice_mcp_over_stdio_lists_what_http_lists() {
    let h = tools_bot("", "lines.sh").await;
    tool_skill(&h, "alpha", "echo", ECHO);
    let (url, token) = (h.url("alpha"), h.token("alpha").await);
    let http = connect(&url, &token, ProtocolVersion::V_2026_07_28, &[]).await;
    let want = tool_list(&http).await;
    http.cancel().await.unwrap();

    for version in [ProtocolVersion::V_2026_07_28, ProtocolVersion::V_2025_06_18] {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_alice"));
        cmd.arg("mcp")
            .env("ALICE_RUNTIME_API_BASE_URL", &url)
            .env("ALICE_RUNTIME_API_TOKEN", &token)
            .env("ALICE_RECEIVE_ID", "oc_bridge");
        let transport = TokioChildProcess::new(cmd).expect("alice mcp starts");
        let bridge = start(transport, version.clone()).await;
        assert_eq!(tool_list(&bridge).await, want, "{version}");
        let echoed = call(&bridge, "echo", json!({"word": "hi"})).await;
        assert!(text(&echoed).contains("oc_bridge"), "{echoed:?}");
        bridge.cancel().await.unwrap();
    }
    h.stop().await;
}
