//! Listing, synchronous invocation, timeouts, run-token scoping, config.

use super::*;
use crate::common::*;
use crate::runs::{bot_call, BotSpec, Harness};
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tools_are_listed_by_expose_allowlist_and_denylist_and_refused_when_off() {
    let bots = [
        ("dflt", String::new()),
        ("tools", "expose = \"tools\"".to_string()),
        ("sets", "expose = \"toolsets\"".to_string()),
        ("agents", "expose = \"agents\"".to_string()),
        ("all", "expose = \"all\"".to_string()),
        (
            "lists",
            "expose = \"toolsets\"\nallowlist = [\"goal.*\", \"echo\", \"agent.ask\"]\ndenylist = [\"goal.create\", \"echo\"]".to_string(),
        ),
        ("noperm", "expose = \"toolsets\"".to_string()),
    ];
    let extras: Vec<String> = bots
        .iter()
        .map(|(id, keys)| {
            let perms = if *id == "noperm" {
                format!("[bots.{id}.permissions]\nruntime_automation = false\n")
            } else {
                String::new()
            };
            format!("{perms}{}", tools_toml(id, keys))
        })
        .collect();
    let mut specs: Vec<BotSpec> = bots
        .iter()
        .zip(&extras)
        .map(|((id, _), extra)| BotSpec {
            extra,
            ..BotSpec::new(id, "lines.sh")
        })
        .collect();
    specs.push(BotSpec::new("off", "lines.sh"));
    let h = Harness::start(&specs, "").await;
    for (id, _) in &bots {
        tool_skill(&h, id, "echo", ECHO);
    }
    let mut with_echo: Vec<&str> = BUILTINS.to_vec();
    with_echo.push("echo");
    with_echo.sort();
    let mut everything = with_echo.clone();
    everything.push("agent.ask");
    everything.sort();
    let expected: [(&str, Vec<&str>); 7] = [
        ("dflt", with_echo),
        ("tools", vec!["echo"]),
        ("sets", BUILTINS.to_vec()),
        ("agents", vec!["agent.ask"]),
        ("all", everything),
        // The denylist goes first; the allowlist then replaces `expose`.
        (
            "lists",
            vec!["agent.ask", "goal.complete", "goal.delay", "goal.get"],
        ),
        // A built-in whose permission is off is not offered.
        (
            "noperm",
            BUILTINS
                .iter()
                .copied()
                .filter(|n| {
                    !matches!(
                        *n,
                        "automation.create" | "automation.update" | "automation.delete"
                    )
                })
                .collect(),
        ),
    ];
    for (id, want) in &expected {
        let token = h.token(id).await;
        assert_eq!(names(&h.url(id), &token).await, *want, "bot {id}");
    }

    // A tool that is filtered out, or unknown, is 404.
    let token = h.token("tools").await;
    for name in ["goal.get", "nope"] {
        let (status, body) = invoke(
            &h.url("tools"),
            &token,
            json!({"tool_name": name, "args": {}}),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("tool_not_found")),
            "{body}"
        );
    }
    let token = h.token("lists").await;
    let (status, body) = invoke(
        &h.url("lists"),
        &token,
        json!({"tool_name": "goal.create", "args": {}}),
    )
    .await;
    assert_eq!(status, 404, "{body}");

    // Off (the default): 403 on both routes.
    let url = h.url("off");
    let token = h.token("off").await;
    let (status, body) = bot_call(
        Method::GET,
        &format!("{url}/api/v1/tools"),
        &token,
        &[],
        None,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("tools_disabled")),
        "{body}"
    );
    let (status, body) = invoke(&url, &token, json!({"tool_name": "goal.get", "args": {}})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("tools_disabled")),
        "{body}"
    );
    // And a wrong token is 401 as everywhere.
    let (status, _) = bot_call(
        Method::GET,
        &format!("{}/api/v1/tools", h.url("dflt")),
        "wrong",
        &[],
        None,
    )
    .await;
    assert_eq!(status, 401);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builtins_and_skill_tools_run_synchronously_with_the_callers_scope() {
    let h = tools_bot("expose = \"all\"", "lines.sh").await;
    tool_skill(&h, "alpha", "echo", ECHO);
    let (url, token) = (h.url("alpha"), h.token("alpha").await);
    let context =
        json!({"receive_id_type": "chat_id", "receive_id": "oc_tools", "actor_open_id": "ou_me"});

    // A built-in: automation.create, then the task is there over HTTP.
    let task = json!({"scope_type": "chat", "scope_id": "oc_tools", "action": "send_text",
        "text": "hi", "cron": "0 9 * * *"});
    let (status, body) = invoke(
        &url,
        &token,
        json!({"tool_name": "automation.create", "args": task, "context": context}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ok"], true, "{body}");
    assert_eq!(body["tool_name"], "automation.create");
    assert!(
        uuid::Uuid::parse_str(body["request_id"].as_str().unwrap()).is_ok(),
        "{body}"
    );
    assert!(body["duration_ms"].as_f64().is_some(), "{body}");
    let id = body["result"]["id"].as_str().expect("task id").to_string();
    let (status, got) = bot_call(
        Method::GET,
        &format!("{url}/api/v1/automation/tasks/{id}"),
        &token,
        &[],
        None,
    )
    .await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["created_by"]["actor_open_id"], "ou_me", "{got}");
    let (_, listed) = invoke(
        &url,
        &token,
        json!({"tool_name": "automation.list", "args": {}}),
    )
    .await;
    assert_eq!(listed["result"]["total"], 1, "{listed}");
    let (_, deleted) = invoke(
        &url,
        &token,
        json!({"tool_name": "automation.delete", "args": {"task_id": id}}),
    )
    .await;
    assert_eq!(deleted["ok"], true, "{deleted}");
    let (status, _) = bot_call(
        Method::GET,
        &format!("{url}/api/v1/automation/tasks/{id}"),
        &token,
        &[],
        None,
    )
    .await;
    assert_eq!(status, 404);

    // message.send_image: the image arrives in the conversation.
    let (status, body) = invoke(&url, &token, json!({"tool_name": "message.send_image",
        "args": {"image_base64": PNG, "filename": "dot.png", "caption": "a dot"}, "context": context})).await;
    assert_eq!((status, &body["ok"]), (200, &json!(true)), "{body}");
    let (_, messages) = h
        .app
        .admin_get("/api/bots/alpha/conversations/oc_tools/messages")
        .await;
    let kinds: Vec<&str> = messages
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["msg_type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["image", "text"], "{messages}");

    // Goals through the conversation of the headers.
    let headers = [("X-Alice-Receive-Id", "oc_tools")];
    let (_, created) = bot_call(
        Method::POST,
        &format!("{url}/api/v1/tools/invoke"),
        &token,
        &headers,
        Some(json!({"tool_name": "goal.create", "args": {"description": "ship it"}})),
    )
    .await;
    assert_eq!(created["ok"], true, "{created}");
    let (_, goal) = bot_call(
        Method::GET,
        &format!("{url}/api/v1/goal"),
        &token,
        &headers,
        None,
    )
    .await;
    assert_eq!(goal["description"], "ship it", "{goal}");
    let (_, delayed) = bot_call(
        Method::POST,
        &format!("{url}/api/v1/tools/invoke"),
        &token,
        &headers,
        Some(json!({"tool_name": "goal.delay", "args": {"duration": "2h", "reason": "waiting for CI"}})),
    )
    .await;
    assert_eq!(
        delayed["result"]["last_delay"]["reason"], "waiting for CI",
        "{delayed}"
    );
    let (_, done) = bot_call(
        Method::POST,
        &format!("{url}/api/v1/tools/invoke"),
        &token,
        &headers,
        Some(json!({"tool_name": "goal.complete", "args": {}})),
    )
    .await;
    assert_eq!(done["result"]["status"], "completed", "{done}");

    // A failing built-in is `ok: false` with 200, as the seed has it.
    let (status, body) = invoke(&url, &token, json!({"tool_name": "goal.get", "args": {}})).await;
    assert_eq!((status, &body["ok"]), (200, &json!(false)), "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("conversation"),
        "{body}"
    );

    // The skill tool: arguments on stdin, the scope in its environment.
    let (status, body) = invoke(
        &url,
        &token,
        json!({"tool_name": "echo", "args": {"word": "hello"},
        "context": context}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ok"], true, "{body}");
    assert_eq!(
        body["result"],
        json!({"args": {"word": "hello"}, "receive_id": "oc_tools"})
    );
    let env = std::fs::read_to_string(h.workspace("alpha").join("echo-env.txt")).unwrap();
    assert!(env.contains("ALICE_RECEIVE_ID=oc_tools\n"), "{env}");
    assert!(env.contains("ALICE_ACTOR_OPEN_ID=ou_me\n"), "{env}");
    assert!(
        env.contains("ALICE_SESSION_KEY=chat_id:oc_tools|scene:chat\n"),
        "{env}"
    );
    assert!(!env.contains(&token), "the skill got the bot's main token");

    // A skill that fails is `ok: false` with its exit status and stderr.
    tool_skill(&h, "alpha", "fails", "#!/bin/sh\necho boom >&2\nexit 3\n");
    let (status, body) = invoke(&url, &token, json!({"tool_name": "fails", "args": {}})).await;
    assert_eq!((status, &body["ok"]), (200, &json!(false)), "{body}");
    let error = body["error"].as_str().unwrap();
    assert!(
        error.contains("status 3") && error.contains("boom"),
        "{body}"
    );

    // agent.ask is a recorded run.
    let (_, asked) = invoke(
        &url,
        &token,
        json!({"tool_name": "agent.ask", "args": {"prompt": "ping"}, "context": context}),
    )
    .await;
    assert_eq!(asked["ok"], true, "{asked}");
    assert!(asked["result"].is_string(), "{asked}");
    let (_, runs) = bot_call(
        Method::GET,
        &format!("{url}/api/v1/runs"),
        &token,
        &[],
        None,
    )
    .await;
    let origins: Vec<&str> = runs["items"]
        .as_array()
        .or(runs.as_array())
        .unwrap()
        .iter()
        .map(|r| r["origin"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        origins.iter().filter(|o| **o == "tool").count(),
        3,
        "{runs}"
    );

    // Bad bodies are 400.
    for (body, code) in [
        (json!({"tool_name": "echo", "args": [1]}), "invalid_request"),
        (json!({"tool_name": "echo", "args": "x"}), "invalid_request"),
        (json!({"args": {}}), "invalid_request"),
        (json!({"tool_name": "echo"}), "invalid_request"),
        (
            json!({"tool_name": "echo", "args": {}, "context": {"group_id": 1}}),
            "invalid_request",
        ),
        (json!([1]), "invalid_json"),
        // The schema's `required` and `additionalProperties: false`.
        (
            json!({"tool_name": "goal.create", "args": {}}),
            "invalid_request",
        ),
        (
            json!({"tool_name": "goal.get", "args": {"nope": 1}}),
            "invalid_request",
        ),
    ] {
        let (status, answer) = invoke(&url, &token, body.clone()).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (400, Some(code)),
            "{body}: {answer}"
        );
    }
    let res = client()
        .post(format!("{url}/api/v1/tools/invoke"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_that_runs_too_long_answers_ok_false() {
    let h = tools_bot("timeout_secs = 1", "lines.sh").await;
    tool_skill(
        &h,
        "alpha",
        "slow",
        "#!/bin/sh\ncat > /dev/null\nsleep 30\necho late\n",
    );
    let (status, body) = invoke(
        &h.url("alpha"),
        &h.token("alpha").await,
        json!({"tool_name": "slow", "args": {}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ok"], false, "{body}");
    assert_eq!(body["error"], "Execution timed out after 1s", "{body}");
    assert!(
        body["duration_ms"].as_f64().is_some() && body.get("result").is_none(),
        "{body}"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_token_invokes_only_on_its_own_conversation() {
    let h = tools_bot("", "gate.sh").await;
    tool_skill(&h, "alpha", "echo", ECHO);
    let url = h.url("alpha");
    let (status, accepted) = h
        .headless(
            "alpha",
            json!({"prompt": "hold", "scope": {"receive_id": "oc_mine"}}),
        )
        .await;
    assert_eq!(status, 202, "{accepted}");
    let task = accepted["taskId"].as_str().unwrap().to_string();
    let run_token = h.run_token("alpha", &task).await;

    // Another conversation, in the context or the headers: 403.
    let (status, body) = invoke(
        &url,
        &run_token,
        json!({"tool_name": "goal.create",
        "args": {"description": "theirs"}, "context": {"receive_id": "oc_other"}}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("outside_scope")),
        "{body}"
    );
    let (status, _) = bot_call(
        Method::POST,
        &format!("{url}/api/v1/tools/invoke"),
        &run_token,
        &[("X-Alice-Receive-Id", "oc_other")],
        Some(json!({"tool_name": "goal.get", "args": {}})),
    )
    .await;
    assert_eq!(status, 403);
    // A task aimed at another conversation is refused by the service.
    let (status, body) = invoke(
        &url,
        &run_token,
        json!({"tool_name": "automation.create",
        "args": {"scope_type": "chat", "scope_id": "oc_other", "action": "send_text", "text": "x",
                 "cron": "0 9 * * *"}}),
    )
    .await;
    assert_eq!((status, &body["ok"]), (200, &json!(false)), "{body}");

    // Headers naming another conversation are refused even with a context,
    // and on the list too.
    let other = [("X-Alice-Receive-Id", "oc_other")];
    let (status, _) = bot_call(
        Method::POST,
        &format!("{url}/api/v1/tools/invoke"),
        &run_token,
        &other,
        Some(json!({"tool_name": "goal.get", "args": {}, "context": {"receive_id": "oc_mine"}})),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = bot_call(
        Method::GET,
        &format!("{url}/api/v1/tools"),
        &run_token,
        &other,
        None,
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = bot_call(
        Method::GET,
        &format!("{url}/api/v1/tools"),
        &run_token,
        &[],
        None,
    )
    .await;
    assert_eq!(status, 200);

    // Without a context the run's own conversation is used (a task without
    // a scope goes there too).
    let (_, body) = invoke(
        &url,
        &run_token,
        json!({"tool_name": "automation.create", "args": {"text": "x", "cron": "0 9 * * *"}}),
    )
    .await;
    assert_eq!(body["result"]["scope_id"], "oc_mine", "{body}");
    let (_, body) = invoke(
        &url,
        &run_token,
        json!({"tool_name": "goal.create",
        "args": {"description": "mine"}}),
    )
    .await;
    assert_eq!(body["ok"], true, "{body}");
    let token = h.token("alpha").await;
    let (_, goal) = bot_call(
        Method::GET,
        &format!("{url}/api/v1/goal"),
        &token,
        &[("X-Alice-Receive-Id", "oc_mine")],
        None,
    )
    .await;
    assert_eq!(goal["description"], "mine", "{goal}");
    let (status, _) = bot_call(
        Method::GET,
        &format!("{url}/api/v1/goal"),
        &token,
        &[("X-Alice-Receive-Id", "oc_other")],
        None,
    )
    .await;
    assert_eq!(status, 204);
    // A skill tool started by the run's token runs in the run's scope.
    let (_, body) = invoke(&url, &run_token, json!({"tool_name": "echo", "args": {}})).await;
    assert_eq!(body["result"]["receive_id"], "oc_mine", "{body}");

    h.open_gate("alpha");
    h.finished(&task).await;
    h.stop().await;
}

#[test]
fn tool_config_is_checked_and_errors_name_the_key() {
    let dir = TestDir::new();
    let sup = supervisor_toml(free_ports(1), free_ports(1));
    for (keys, key) in [
        ("timeout_secs = 0", "bots.alpha.tools.timeout_secs"),
        ("timeout_secs = 1801", "bots.alpha.tools.timeout_secs"),
        (
            "callback_timeout_secs = 0",
            "bots.alpha.tools.callback_timeout_secs",
        ),
        ("allowlist = [\"\"]", "bots.alpha.tools.allowlist"),
        ("expose = \"everything\"", "bots.alpha.tools.expose"),
        ("invoke = true", "bots.alpha.tools"),
    ] {
        dir.write_config(&format!("{sup}[bots.alpha.tools]\n{keys}\n"));
        let err = alice::config::load(&dir.config_path()).expect_err(keys);
        assert!(
            err.key.as_deref().is_some_and(|k| k.starts_with(key)),
            "{keys}: {err}"
        );
    }
    dir.write_config(&format!("{sup}[bots.alpha]\n"));
    let tools = &dir.load().bots[0].tools;
    assert!(!tools.invoke_enabled && !tools.callback_allow_loopback);
    assert_eq!((tools.timeout_secs, tools.callback_timeout_secs), (120, 10));
    assert_eq!(tools.expose, alice::config::Expose::ToolsAndToolsets);
}
