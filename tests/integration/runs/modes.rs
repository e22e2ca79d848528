//! Async and `wait` modes, polling, listing by status, cancel, validation,
//! the bot's own `/api/v1/runs`, pruning and crash recovery.

use super::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_and_wait_modes_polling_listing_and_cancel() {
    let mut beta = BotSpec::new("beta", "gate.sh");
    beta.agent_extra = "keep_runs = 2\n";
    let h = Harness::start(&[BotSpec::new("alpha", "lines.sh"), beta], "").await;

    // Async: 202 and a task id to poll.
    let (status, accepted) = h.headless("alpha", json!({"prompt": "hi"})).await;
    assert_eq!(status, 202, "{accepted}");
    assert_eq!(accepted["status"], "running");
    let task = accepted["taskId"].as_str().unwrap();
    let done = h.finished(task).await;
    assert_eq!(done["status"], "succeeded");
    assert_eq!(done["exit_code"], 0);
    assert_eq!(done["output"], "one\ntwo\nthree");
    assert_eq!(done["agent"], "sh");
    assert!(done["finished_at"].is_string());

    // Wait: 200 and the finished record.
    let (status, record) = h
        .headless(
            "alpha",
            json!({"prompt": "hi", "wait": true, "agent": "sh"}),
        )
        .await;
    assert_eq!(
        (status, record["status"].as_str()),
        (200, Some("succeeded")),
        "{record}"
    );

    // Cancel a running run; listing by status sees it move.
    let (_, held) = h.headless("beta", json!({"prompt": "hold"})).await;
    let held = held["taskId"].as_str().unwrap().to_string();
    let (status, running) = h
        .app
        .admin_get("/api/headless?wsId=beta&status=running")
        .await;
    assert_eq!(status, 200);
    assert_eq!(running.as_array().unwrap().len(), 1, "{running}");
    assert_eq!(running[0]["taskId"], held.as_str());
    let (status, cancelled) = h
        .admin_send(Method::POST, &format!("/api/headless/{held}/cancel"), None)
        .await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
    let (status, _) = h
        .admin_send(Method::POST, &format!("/api/headless/{held}/cancel"), None)
        .await;
    assert_eq!(status, 409, "already finished");
    let (_, running) = h
        .app
        .admin_get("/api/headless?wsId=beta&status=running")
        .await;
    assert_eq!(running, json!([]));
    let (_, listed) = h
        .app
        .admin_get("/api/headless?wsId=beta&status=cancelled")
        .await;
    assert_eq!(listed[0]["taskId"], held.as_str());
    let (_, alpha_runs) = h.app.admin_get("/api/headless?wsId=alpha").await;
    let ids: Vec<&str> = alpha_runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["taskId"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [record["taskId"].as_str().unwrap(), task],
        "most recent first"
    );
    let (_, everything) = h.app.admin_get("/api/headless").await;
    assert_eq!(everything.as_array().unwrap().len(), 3);

    // Old records are pruned: beta keeps 2.
    h.open_gate("beta");
    for _ in 0..2 {
        let (status, _) = h
            .headless("beta", json!({"prompt": "x", "wait": true}))
            .await;
        assert_eq!(status, 200);
    }
    let (_, kept) = h.app.admin_get("/api/headless?wsId=beta").await;
    assert_eq!(kept.as_array().unwrap().len(), 2, "{kept}");
    let (status, _) = h.app.admin_get(&format!("/api/headless/{held}")).await;
    assert_eq!(status, 404, "the oldest was pruned");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_unknown_bots_and_spawn_failures() {
    let bots = [
        BotSpec::new("alpha", "lines.sh"),
        BotSpec::new("idle", "gate.sh"),
    ];
    let h = Harness::start(&bots, "").await;
    let long = "x".repeat(16_001);
    for (body, why) in [
        (json!({}), "prompt"),
        (json!({"prompt": "  "}), "prompt"),
        (json!({"prompt": long}), "16000"),
        (json!({"prompt": "x", "agent": "claude"}), "claude"),
        (json!({"prompt": "x", "timeoutMs": 0}), "timeoutMs"),
        (json!({"prompt": "x", "timeoutMs": 1_800_001}), "timeoutMs"),
        (json!({"prompt": "x", "timeout": 5}), "timeout"),
    ] {
        let (status, err) = h.headless("alpha", body.clone()).await;
        assert_eq!(status, 400, "{body}: {err}");
        assert!(
            err["error"].as_str().unwrap().contains(why),
            "{body}: {err}"
        );
    }
    let (status, _) = h.headless("nobody", json!({"prompt": "x"})).await;
    assert_eq!(status, 404);
    let (status, _) = h.app.admin_get("/api/headless/headless_nope").await;
    assert_eq!(status, 404);
    let (status, _) = h.app.admin_get("/api/headless?status=sleeping").await;
    assert_eq!(status, 400);

    // Stopping a bot cancels its live runs; it takes no new ones, and its
    // records and events stay readable.
    let (status, held) = h.headless("idle", json!({"prompt": "hold"})).await;
    assert_eq!(status, 202);
    let held = held["taskId"].as_str().unwrap();
    h.run_token("idle", held).await;
    let (status, _) = h.app.admin_post("/api/bots/idle/stop").await;
    assert_eq!(status, 200);
    let (status, record) = h.app.admin_get(&format!("/api/headless/{held}")).await;
    assert_eq!(status, 200);
    assert_eq!(record["status"], "cancelled", "{record}");
    assert_eq!(record["error"], "the bot stopped");
    let (status, _) = h.headless("idle", json!({"prompt": "x"})).await;
    assert_eq!(status, 409);
    let res = client()
        .get(format!("{}/api/headless/{held}/events", h.app.admin_url))
        .bearer_auth(h.app.supervisor.admin_token())
        .header("Accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    let body = res.text().await.unwrap();
    assert!(body.contains("event: finished"), "the stream ends: {body}");
    let cancel = format!("/api/headless/{held}/cancel");
    let (status, _) = h.admin_send(Method::POST, &cancel, None).await;
    assert_eq!(status, 409);
    h.stop().await;

    // A program that cannot start: 500 with the reason, and a failed record.
    let bad = Harness::start(&[BotSpec::new("alpha", "lines.sh")], "").await;
    let text = std::fs::read_to_string(bad.dir.config_path()).unwrap();
    let text = text.replace("command = [\"sh\",", "command = [\"/no/such/agent\",");
    bad.dir.write_config(&text);
    bad.app.admin_post("/api/reload").await;
    bad.app.wait_running(&["alpha"]).await;
    let (status, err) = bad.headless("alpha", json!({"prompt": "x"})).await;
    assert_eq!(status, 500, "{err}");
    assert!(
        err["error"].as_str().unwrap().contains("/no/such/agent"),
        "{err}"
    );
    let (_, failed) = bad
        .app
        .admin_get("/api/headless?wsId=alpha&status=failed")
        .await;
    assert_eq!(failed.as_array().unwrap().len(), 1, "{failed}");
    bad.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bots_own_runs_route_uses_the_callers_conversation() {
    let h = Harness::start(&[BotSpec::new("alpha", "lines.sh")], "").await;
    let url = format!("{}/api/v1/runs", h.url("alpha"));
    let token = h.token("alpha").await;
    let chat = [
        ("X-Alice-Receive-Id", "oc_api"),
        ("X-Alice-Chat-Type", "p2p"),
    ];
    let body = Some(json!({"prompt": "hi", "wait": true}));
    let (status, run) = bot_call(Method::POST, &url, &token, &chat, body).await;
    assert_eq!(
        (status, run["status"].as_str()),
        (200, Some("succeeded")),
        "{run}"
    );
    assert_eq!(run["scope"]["receive_id"], "oc_api");
    assert_eq!(run["origin"], "runtime");
    let task = run["taskId"].as_str().unwrap();
    let (status, got) = bot_call(Method::GET, &format!("{url}/{task}"), &token, &[], None).await;
    assert_eq!((status, &got["taskId"]), (200, &run["taskId"]));
    let (status, _) = bot_call(
        Method::POST,
        &format!("{url}/{task}/cancel"),
        &token,
        &[],
        None,
    )
    .await;
    assert_eq!(status, 409);
    let body = Some(json!({"prompt": "hi", "scope": {"receive_id": "x"}}));
    let (status, _) = bot_call(Method::POST, &url, &token, &chat, body).await;
    assert_eq!(status, 400, "the scope comes from headers here");
    // The supervisor sees the same run.
    let (status, _) = h.app.admin_get(&format!("/api/headless/{task}")).await;
    assert_eq!(status, 200);

    // Both documents describe the new routes.
    let doc = get_json(&format!("{}/openapi.json", h.url("alpha"))).await;
    for (path, method) in [
        ("/api/v1/goal", "get"),
        ("/api/v1/goal", "post"),
        ("/api/v1/goal", "delete"),
        ("/api/v1/goal/pause", "post"),
        ("/api/v1/goal/resume", "post"),
        ("/api/v1/goal/complete", "post"),
        ("/api/v1/runs", "post"),
        ("/api/v1/runs", "get"),
        ("/api/v1/runs/{task_id}", "get"),
        ("/api/v1/runs/{task_id}/events", "get"),
        ("/api/v1/runs/{task_id}/cancel", "post"),
        ("/api/v1/skills", "get"),
    ] {
        let op = doc["paths"][path].get(method);
        assert!(op.is_some(), "bot document lacks {method} {path}");
    }
    let doc = get_json(&format!("{}/openapi.json", h.app.admin_url)).await;
    for (path, method) in [
        ("/api/workspaces/{bot_id}/headless", "post"),
        ("/api/headless", "get"),
        ("/api/headless/{task_id}", "get"),
        ("/api/headless/{task_id}/events", "get"),
        ("/api/headless/{task_id}/cancel", "post"),
    ] {
        let op = doc["paths"][path].get(method);
        assert!(op.is_some(), "admin document lacks {method} {path}");
    }
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_left_running_by_a_crash_are_failed_at_the_next_start() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(1), free_ports(1));
    let config = dir.write_config(&format!(
        "{}[bots.alpha]\n[bots.alpha.agent]\ncommand = [\"sh\", \"{}\"]\n",
        supervisor_toml(admin, base),
        agent("gate.sh")
    ));
    let admin_url = format!("http://127.0.0.1:{admin}");
    let mut serve = spawn_serve(&config, &[]);
    wait_healthy(&format!("{admin_url}/healthz")).await;
    wait_healthy(&format!("http://127.0.0.1:{base}/healthz")).await;
    let admin_token = std::fs::read_to_string(dir.path().join("data/admin.token")).unwrap();
    let admin_token = admin_token.trim();
    let res = client()
        .post(format!("{admin_url}/api/workspaces/alpha/headless"))
        .bearer_auth(admin_token)
        .json(&json!({"prompt": "hold"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let task = res.json::<Value>().await.unwrap()["taskId"]
        .as_str()
        .unwrap()
        .to_string();

    send_signal(&serve, libc::SIGKILL);
    wait_exit(&mut serve, 10);
    // The orphaned agent may go now.
    std::fs::write(dir.path().join("data/alpha/workspace/go"), "").unwrap();

    let mut serve = spawn_serve(&config, &[]);
    wait_healthy(&format!("http://127.0.0.1:{base}/healthz")).await;
    let res = client()
        .get(format!("{admin_url}/api/headless/{task}"))
        .bearer_auth(admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let record: Value = res.json().await.unwrap();
    assert_eq!(record["status"], "failed", "{record}");
    assert!(
        record["error"].as_str().unwrap().contains("in flight"),
        "{record}"
    );
    assert!(record["finished_at"].is_string());
    send_signal(&serve, libc::SIGTERM);
    wait_exit(&mut serve, 20);
}
