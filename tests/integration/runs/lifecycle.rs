//! Agent runs: environment, scoped tokens, watchdog, capacity, async and
//! `wait` modes, listing, cancel, validation, crash recovery, pruning.

use super::*;
use reqwest::Method;
use serde_json::json;
use std::collections::HashMap;

fn full_scope(receive_id: &str) -> Value {
    json!({
        "receive_id_type": "chat_id",
        "receive_id": receive_id,
        "source_message_id": "om_src",
        "actor_user_id": "u_1",
        "actor_open_id": "ou_1",
        "chat_type": "group",
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_bots_agent_gets_its_environment_and_reaches_only_its_own_bot() {
    let bots = [
        BotSpec::new("alpha", "record_env.sh"),
        BotSpec::new("beta", "record_env.sh"),
    ];
    let h = Harness::start(&bots, "").await;
    for (me, other) in [("alpha", "beta"), ("beta", "alpha")] {
        let body = json!({"prompt": h.url(other), "wait": true, "scope": full_scope("oc_env")});
        let (status, run) = h.headless(me, body).await;
        assert_eq!(
            (status, run["status"].as_str()),
            (200, Some("succeeded")),
            "{run}"
        );
        assert_eq!(run["bot"], me);
        assert!(run["taskId"].as_str().unwrap().starts_with("headless_"));

        let ws = h.workspace(me);
        let env: HashMap<String, String> = std::fs::read_to_string(ws.join("env.txt"))
            .unwrap()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        for var in [
            "ALICE_RUNTIME_API_BASE_URL",
            "ALICE_RUNTIME_API_TOKEN",
            "ALICE_RUNTIME_BIN",
            "ALICE_RECEIVE_ID_TYPE",
            "ALICE_RECEIVE_ID",
            "ALICE_SOURCE_MESSAGE_ID",
            "ALICE_ACTOR_USER_ID",
            "ALICE_ACTOR_OPEN_ID",
            "ALICE_CHAT_TYPE",
            "ALICE_SESSION_KEY",
        ] {
            assert!(
                env.get(var).is_some_and(|v| !v.is_empty()),
                "{me}: {var} in {env:?}"
            );
        }
        assert_eq!(env["ALICE_RUNTIME_API_BASE_URL"], h.url(me));
        assert_eq!(env["ALICE_RECEIVE_ID"], "oc_env");
        assert_eq!(env["ALICE_SESSION_KEY"], "chat_id:oc_env|scene:chat");
        assert_eq!(env["ALICE_CHAT_TYPE"], "group");
        let bin = PathBuf::from(&env["ALICE_RUNTIME_BIN"]);
        assert!(bin.is_absolute() && bin.is_file(), "{bin:?}");
        assert_ne!(
            env["ALICE_RUNTIME_API_TOKEN"],
            h.token(me).await,
            "a run token, not the main one"
        );

        let output = run["output"].as_str().unwrap();
        assert!(output.contains("own=0"), "{me}: {output}");
        assert!(output.contains("other=1"), "{me}: {output}");
        let own: Value =
            serde_json::from_slice(&std::fs::read(ws.join("own.json")).unwrap()).unwrap();
        assert_eq!(own["id"], me);
        let refused = std::fs::read_to_string(ws.join("other.err")).unwrap();
        assert!(refused.contains("401"), "{me} on {other}: {refused}");
        assert_eq!(refused.trim().lines().count(), 1, "{refused}");
    }
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_token_acts_only_on_its_conversation_and_only_while_the_run_lives() {
    let bots = [
        BotSpec::new("alpha", "gate.sh"),
        BotSpec::new("beta", "gate.sh"),
    ];
    let h = Harness::start(&bots, "").await;
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
    let goal = format!("{url}/api/v1/goal");

    // No headers: the token's own conversation (a skill may send none).
    let body = Some(json!({"description": "from the run"}));
    let (status, created) = bot_call(Method::POST, &goal, &token, &[], body).await;
    assert_eq!(status, 201, "{created}");
    let main = h.token("alpha").await;
    let mine = [("X-Alice-Receive-Id", "oc_mine")];
    let (status, seen) = bot_call(Method::GET, &goal, &main, &mine, None).await;
    assert_eq!(
        (status, &seen["id"]),
        (200, &created["id"]),
        "it landed in oc_mine"
    );
    let (status, _) = bot_call(Method::GET, &goal, &token, &mine, None).await;
    assert_eq!(status, 200, "its own conversation, named");

    // Another conversation: refused, by receive id or by session key.
    for other in [
        ("X-Alice-Receive-Id", "oc_other"),
        ("X-Alice-Session-Key", "chat_id:oc_other|scene:chat"),
    ] {
        let (status, body) = bot_call(Method::GET, &goal, &token, &[other], None).await;
        assert_eq!(status, 403, "{other:?}: {body}");
        let (status, _) = bot_call(
            Method::POST,
            &format!("{goal}/pause"),
            &token,
            &[other],
            None,
        )
        .await;
        assert_eq!(status, 403);
    }
    // Its own session key does not open another chat, nor does another
    // source message (a reply lands in that message's chat).
    let own_session = ("X-Alice-Session-Key", "chat_id:oc_mine|scene:chat");
    let image = format!("{url}/api/v1/messages/image");
    for headers in [
        vec![own_session, ("X-Alice-Receive-Id", "oc_victim")],
        vec![
            ("X-Alice-Receive-Id", "oc_mine"),
            ("X-Alice-Source-Message-Id", "om_elsewhere"),
        ],
    ] {
        let (status, body) = bot_call(Method::GET, &goal, &token, &headers, None).await;
        assert_eq!(status, 403, "{headers:?}: {body}");
        let res = client()
            .post(&image)
            .bearer_auth(&token)
            .headers(header_map(&headers))
            .multipart(reqwest::multipart::Form::new().part(
                "image",
                reqwest::multipart::Part::bytes(PNG.to_vec()).file_name("x.png"),
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{headers:?}");
    }
    // A task for another chat is refused too.
    let tasks = format!("{url}/api/v1/automation/tasks");
    let task_body = json!({"scope_type": "chat", "scope_id": "oc_victim", "action": "send_text",
        "text": "hi", "run_at": "2999-01-01T00:00:00Z"});
    let (status, _) = bot_call(Method::POST, &tasks, &token, &[], Some(task_body)).await;
    assert_eq!(status, 403);
    // Another bot does not know it.
    let beta_goal = format!("{}/api/v1/goal", h.url("beta"));
    let (status, _) = bot_call(Method::GET, &beta_goal, &token, &mine, None).await;
    assert_eq!(status, 401);
    // It sees its own runs only — not one in another chat, even one that
    // claims the same session key.
    let (status, sibling) = h
        .headless(
            "alpha",
            json!({"prompt": "hold", "scope": {"receive_id": "oc_other", "session_key": "chat_id:oc_mine|scene:chat"}}),
        )
        .await;
    assert_eq!(status, 202, "{sibling}");
    let sibling_id = sibling["taskId"].as_str().unwrap().to_string();
    let (status, _) = bot_call(
        Method::GET,
        &format!("{url}/api/v1/runs/{sibling_id}"),
        &token,
        &[],
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (status, runs) = bot_call(
        Method::GET,
        &format!("{url}/api/v1/runs"),
        &token,
        &[],
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(runs
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["scope"]["receive_id"] == "oc_mine"));

    h.open_gate("alpha");
    let done = h.finished(&task).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let (status, body) = bot_call(Method::GET, &goal, &token, &[], None).await;
    assert_eq!(status, 401, "the run is over: {body}");
    let (status, _) = bot_call(Method::GET, &format!("{url}/api/v1/bot"), &main, &[], None).await;
    assert_eq!(status, 200, "the main token keeps working");
    h.stop().await;
}

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, 0, 0, 0,
    1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89,
];

fn header_map(pairs: &[(&'static str, &'static str)]) -> reqwest::header::HeaderMap {
    let mut map = reqwest::header::HeaderMap::new();
    for (k, v) in pairs {
        map.insert(*k, reqwest::header::HeaderValue::from_static(v));
    }
    map
}

fn alive(pid: i32) -> bool {
    // A zombie waiting for its reaper is dead for our purposes.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watchdog_kills_the_whole_group_even_a_grandchild_that_ignores_sigterm() {
    let h = Harness::start(&[BotSpec::new("alpha", "grandchild.sh")], "").await;
    let body = json!({"prompt": "sleep", "wait": true, "timeoutMs": 500});
    let (status, run) = h.headless("alpha", body).await;
    assert_eq!(status, 200, "{run}");
    assert_eq!(run["status"], "timeout", "{run}");
    assert_eq!(run["timeout_ms"], 500);
    assert!(run["error"].as_str().unwrap().contains("500 ms"), "{run}");
    assert!(run["output"].as_str().unwrap().contains("started"));
    let pid: i32 = std::fs::read_to_string(h.workspace("alpha").join("grandchild.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    eventually("the grandchild is gone", || async move { !alive(pid) }).await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capacity_per_bot_and_per_host_gives_429() {
    let mut alpha = BotSpec::new("alpha", "gate.sh");
    alpha.agent_extra = "max_concurrent_runs = 1\n";
    let bots = [alpha, BotSpec::new("beta", "gate.sh")];
    let h = Harness::start(&bots, "max_concurrent_runs = 2\n").await;
    let start = |bot: &'static str| h.headless(bot, json!({"prompt": "hold"}));

    let (status, first) = start("alpha").await;
    assert_eq!(status, 202, "{first}");
    let (status, body) = start("alpha").await;
    assert_eq!(status, 429, "alpha is full: {body}");
    assert!(body["error"].as_str().unwrap().contains("alpha"));
    let (status, second) = start("beta").await;
    assert_eq!(status, 202, "beta has room: {second}");
    let (status, body) = start("beta").await;
    assert_eq!(status, 429, "the host is full: {body}");
    // The bot's own route shares the same limits.
    let res = client()
        .post(format!("{}/api/v1/runs", h.url("beta")))
        .bearer_auth(h.token("beta").await)
        .json(&json!({"prompt": "hold"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));

    h.open_gate("alpha");
    h.open_gate("beta");
    for run in [&first, &second] {
        h.finished(run["taskId"].as_str().unwrap()).await;
    }
    let (status, _) = start("alpha").await;
    assert_eq!(status, 202, "room again");
    h.stop().await;
}

/// Reads an SSE response to its end; `None` if it is still open at the
/// deadline (a generous bound, only against hangs).
async fn read_to_end(mut res: reqwest::Response) -> Option<String> {
    let mut body = String::new();
    let read = async {
        while let Ok(Some(chunk)) = res.chunk().await {
            body.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(20), read)
        .await
        .ok()?;
    Some(body)
}

/// Stopping a bot ends its runs (started on the bot's own route and on the
/// supervisor's) as `cancelled` "the bot stopped" before the stop answers,
/// and their event streams get `finished` and close.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_a_bot_cancels_its_runs_before_the_stop_answers() {
    let h = Harness::start(&[BotSpec::new("b", "gate.sh")], "").await;
    let token = h.token("b").await;
    let (status, own) = bot_call(
        Method::POST,
        &format!("{}/api/v1/runs", h.url("b")),
        &token,
        &[],
        Some(json!({"prompt": "hold"})),
    )
    .await;
    assert_eq!(status, 202, "{own}");
    let (status, admin) = h.headless("b", json!({"prompt": "hold"})).await;
    assert_eq!(status, 202, "{admin}");
    let tasks: Vec<String> = [&own, &admin]
        .iter()
        .map(|r| r["taskId"].as_str().unwrap().to_string())
        .collect();
    let mut streams = Vec::new();
    for task in &tasks {
        h.run_token("b", task).await;
        let res = client()
            .get(format!("{}/api/headless/{task}/events", h.app.admin_url))
            .bearer_auth(h.app.supervisor.admin_token())
            .header("Accept", "text/event-stream")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        streams.push(res);
    }

    let (status, body) = h.app.admin_post("/api/bots/b/stop").await;
    assert_eq!(status, 200, "{body}");
    for task in &tasks {
        let (status, run) = h.app.admin_get(&format!("/api/headless/{task}")).await;
        assert_eq!(status, 200, "{run}");
        assert_eq!(run["status"], "cancelled", "{run}");
        assert_eq!(run["error"], "the bot stopped", "{run}");
    }
    let (_, running) = h.app.admin_get("/api/headless?status=running").await;
    assert_eq!(running.as_array().map(Vec::len), Some(0), "{running}");
    for res in streams {
        let body = read_to_end(res).await.expect("the event stream closes");
        assert!(body.contains("event: finished"), "{body}");
        assert!(body.contains("cancelled"), "{body}");
    }

    // The next start leaves them as they are.
    let (status, body) = h.app.admin_post("/api/bots/b/start").await;
    assert_eq!(status, 200, "{body}");
    for task in &tasks {
        let (_, run) = h.app.admin_get(&format!("/api/headless/{task}")).await;
        assert_eq!(run["status"], "cancelled", "{run}");
        assert_eq!(run["error"], "the bot stopped", "{run}");
    }
    h.stop().await;
}

/// An agent starts with stdin, stdout and stderr only: no listening socket,
/// database file or pipe of alice's leaks into it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_gets_only_stdin_stdout_and_stderr() {
    let h = Harness::start(&[BotSpec::new("b", "fds.sh")], "").await;
    // A run from each kind of caller: the bot's own server, the admin API.
    let token = h.token("b").await;
    let (status, own) = bot_call(
        Method::POST,
        &format!("{}/api/v1/runs", h.url("b")),
        &token,
        &[],
        Some(json!({"prompt": "fds", "wait": true})),
    )
    .await;
    assert_eq!(status, 200, "{own}");
    let (status, admin) = h
        .headless("b", json!({"prompt": "fds", "wait": true}))
        .await;
    assert_eq!(status, 200, "{admin}");
    for run in [own, admin] {
        assert_eq!(run["status"], "succeeded", "{run}");
        let fds: Vec<&str> = run["output"].as_str().unwrap().split_whitespace().collect();
        assert_eq!(fds, ["0", "1", "2"], "{run}");
    }
    h.stop().await;
}

/// Restarts of one bot while agents are being spawned all the time: a
/// freshly forked agent never holds the bot's old listening socket, so every
/// restart binds its address again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_succeed_while_agents_spawn() {
    let bots = [BotSpec::new("b", "lines.sh"), BotSpec::new("s", "lines.sh")];
    let h = Harness::start(&bots, "").await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let spawners: Vec<_> = (0..3)
        .map(|_| {
            let stop = stop.clone();
            let url = format!("{}/api/workspaces/s/headless", h.app.admin_url);
            let token = h.app.supervisor.admin_token().to_string();
            tokio::spawn(async move {
                let mut spawned = 0u32;
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    let res = client()
                        .post(&url)
                        .bearer_auth(&token)
                        .json(&json!({"prompt": "spawn", "wait": true}))
                        .send()
                        .await;
                    if res.is_ok_and(|r| r.status() == 200) {
                        spawned += 1;
                    }
                }
                spawned
            })
        })
        .collect();
    // 200 restarts take about 10 s in a debug build.
    for round in 0..200 {
        let (status, body) = h.app.admin_post("/api/bots/b/restart").await;
        if status != 200 {
            let out = std::process::Command::new("ss")
                .args(["-ltnpe"])
                .output()
                .unwrap();
            eprintln!("DEBUG {}", String::from_utf8_lossy(&out.stdout));
        }
        assert_eq!(status, 200, "restart {round}: {body}");
        assert_eq!(body["state"], "running", "restart {round}: {body}");
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut spawned = 0;
    for spawner in spawners {
        spawned += spawner.await.unwrap();
    }
    assert!(spawned > 0, "no agent was spawned meanwhile");
    h.stop().await;
}
