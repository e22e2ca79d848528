//! `/mcp` with the bot's main token: tools in both eras, calls and their
//! effects over HTTP, resources, and what is refused.

use super::*;
use crate::common::*;
use crate::runs::{bot_call, BotSpec, Harness};
use crate::tools::{tool_skill, tools_bot, tools_toml, ECHO, PNG};
use reqwest::Method;
use rmcp::model::ReadResourceRequestParams;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mcp_client_lists_and_calls_the_bots_tools_in_both_eras() {
    let h = tools_bot("", "lines.sh").await;
    tool_skill(&h, "alpha", "echo", ECHO);
    tool_skill(&h, "alpha", "fails", "#!/bin/sh\necho boom >&2\nexit 3\n");
    let (url, token) = (h.url("alpha"), h.token("alpha").await);
    let conversation = [
        ("x-alice-receive-id", "oc_mcp"),
        ("x-alice-actor-open-id", "ou_me"),
    ];

    // The tool API's list, names with `_` for `.`, the same schemas.
    let (_, api) = bot_call(
        Method::GET,
        &format!("{url}/api/v1/tools"),
        &token,
        &[],
        None,
    )
    .await;
    let mut want: Vec<(String, Value)> = api["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["function"]["name"].as_str().unwrap().replace('.', "_"),
                t["function"]["parameters"].clone(),
            )
        })
        .collect();
    want.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(
        want.iter().any(|(n, _)| n == "automation_create"),
        "{want:?}"
    );
    for version in [ProtocolVersion::V_2026_07_28, ProtocolVersion::V_2025_06_18] {
        let client = connect(&url, &token, version.clone(), &conversation).await;
        assert_eq!(tool_list(&client).await, want, "{version}");
        client.cancel().await.unwrap();
    }

    // Calls in the legacy era (Codex's), effects seen over HTTP.
    let client = connect(&url, &token, ProtocolVersion::V_2025_06_18, &conversation).await;
    let sent = call(
        &client,
        "message_send_image",
        json!({"image_base64": PNG, "filename": "dot.png", "caption": "a dot"}),
    )
    .await;
    assert_ne!(sent.is_error, Some(true), "{sent:?}");
    let (_, messages) = h
        .app
        .admin_get("/api/bots/alpha/conversations/oc_mcp/messages")
        .await;
    let kinds: Vec<&str> = messages
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["msg_type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["image", "text"], "{messages}");

    let created = call(
        &client,
        "automation_create",
        json!({"scope_type": "chat",
        "scope_id": "oc_mcp", "action": "send_text", "text": "hi", "cron": "0 9 * * *"}),
    )
    .await;
    assert_ne!(created.is_error, Some(true), "{created:?}");
    let id = created.structured_content.as_ref().expect("structured")["id"]
        .as_str()
        .expect("task id")
        .to_string();
    let (status, task) = bot_call(
        Method::GET,
        &format!("{url}/api/v1/automation/tasks/{id}"),
        &token,
        &[],
        None,
    )
    .await;
    assert_eq!(status, 200, "{task}");
    assert_eq!(task["created_by"]["actor_open_id"], "ou_me", "{task}");

    // A skill tool: arguments on stdin, the conversation in its environment.
    let echoed = call(&client, "echo", json!({"word": "hello"})).await;
    assert_eq!(
        serde_json::from_str::<Value>(&text(&echoed)).unwrap(),
        json!({"args": {"word": "hello"}, "receive_id": "oc_mcp"})
    );

    // A failing tool, or bad arguments, is an `isError` result the model
    // sees; an unknown tool a JSON-RPC error.
    let failed = call(&client, "fails", json!({})).await;
    assert_eq!(failed.is_error, Some(true), "{failed:?}");
    assert!(text(&failed).contains("boom"), "{failed:?}");
    let bad = call(&client, "goal_create", json!({})).await;
    assert_eq!(bad.is_error, Some(true), "{bad:?}");
    let unknown = client
        .call_tool(CallToolRequestParams::new("automation.create"))
        .await;
    assert!(unknown.is_err(), "{unknown:?}");

    // Resources: the conversation's goal and history, the bot's tasks.
    call(&client, "goal_create", json!({"description": "ship it"})).await;
    let mut uris: Vec<String> = client
        .list_all_resources()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.uri)
        .collect();
    uris.sort();
    assert_eq!(
        uris,
        [
            "alice://conversation/goal",
            "alice://conversation/history",
            "alice://tasks"
        ]
    );
    let read = |uri: &str| {
        let client = &client;
        let uri = uri.to_string();
        async move {
            let result = client
                .read_resource(ReadResourceRequestParams::new(uri))
                .await
                .expect("resources/read");
            match &result.contents[0] {
                rmcp::model::ResourceContents::TextResourceContents { text, .. } => {
                    serde_json::from_str::<Value>(text).unwrap()
                }
                other => panic!("{other:?}"),
            }
        }
    };
    assert_eq!(
        read("alice://conversation/goal").await["description"],
        "ship it"
    );
    assert!(read("alice://conversation/history").await.is_array());
    assert_eq!(read("alice://tasks").await["total"], 1);
    client.cancel().await.unwrap();
    h.stop().await;
}

/// A raw POST to `/mcp`.
async fn post(url: &str, token: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut req = client()
        .post(format!("{url}/mcp"))
        .bearer_auth(token)
        .header("accept", "application/json, text/event-stream")
        .json(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"}}}),
        );
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_refuses_wrong_tokens_web_origins_and_a_switched_off_bot() {
    let on = tools_toml("on", "");
    let off = tools_toml("off", "mcp_enabled = false");
    let h = Harness::start(
        &[
            BotSpec {
                extra: &on,
                ..BotSpec::new("on", "lines.sh")
            },
            BotSpec {
                extra: &off,
                ..BotSpec::new("off", "lines.sh")
            },
            BotSpec::new("closed", "lines.sh"),
        ],
        "",
    )
    .await;
    let (url, token) = (h.url("on"), h.token("on").await);
    let (status, body) = post(&url, &token, &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["protocolVersion"], "2025-06-18", "{body}");

    let (status, body) = post(&url, "wrong", &[]).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["error"].is_string(), "{body}");
    // A browser page of another site; loopback pages pass.
    let (status, body) = post(&url, &token, &[("origin", "https://evil.example")]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("invalid_origin")),
        "{body}"
    );
    let (status, _) = post(&url, &token, &[("origin", "http://localhost:3000")]).await;
    assert_eq!(status, 200);
    // No session stream here.
    let res = client()
        .get(format!("{url}/mcp"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);

    // The main token without `invoke_enabled`, like the tool API.
    let (status, body) = post(&h.url("closed"), &h.token("closed").await, &[]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("tools_disabled")),
        "{body}"
    );
    // `mcp_enabled = false`: no MCP at all.
    let (status, body) = post(&h.url("off"), &h.token("off").await, &[]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("mcp_disabled")),
        "{body}"
    );
    h.stop().await;
}
