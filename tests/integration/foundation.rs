//! The foundation: config, ports, auth, limits, lifecycle, admin API, CLI.

use crate::common::*;
use serde_json::Value;
use std::time::Duration;

fn two_bots(admin: u16, base: u16, extra_a: &str) -> String {
    format!(
        "{}[bots.alpha]\nname = \"Alpha\"\n{extra_a}\n[bots.beta]\nname = \"Beta\"\n",
        supervisor_toml(admin, base)
    )
}

async fn get_json(url: &str, token: Option<&str>) -> (u16, Value) {
    let mut req = client().get(url);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    (status, res.json().await.expect("JSON body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ports_follow_file_order_and_disabled_bots_keep_their_index() {
    let dir = TestDir::new();
    let base = free_ports(3);
    let admin = free_ports(1);
    dir.write_config(&format!(
        "{}[bots.zeta]\n[bots.alpha]\nenabled = false\n[bots.mid]\n",
        supervisor_toml(admin, base)
    ));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["zeta", "mid"]).await;
    let (_, list) = app.admin_get("/api/bots").await;
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["zeta", "alpha", "mid"]);
    assert_eq!(list[1]["state"], "stopped");

    let zeta = app.bot_token("zeta").await;
    let mid = app.bot_token("mid").await;
    let (status, me) = get_json(&format!("http://127.0.0.1:{base}/api/v1/bot"), Some(&zeta)).await;
    assert_eq!((status, me["id"].as_str()), (200, Some("zeta")));
    let (status, me) = get_json(
        &format!("http://127.0.0.1:{}/api/v1/bot", base + 2),
        Some(&mid),
    )
    .await;
    assert_eq!((status, me["id"].as_str()), (200, Some("mid")));
    // The disabled bot's port stays free.
    assert!(client()
        .get(format!("http://127.0.0.1:{}/healthz", base + 1))
        .send()
        .await
        .is_err());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_is_open_and_bad_tokens_get_401_json() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(2), free_ports(1));
    dir.write_config(&two_bots(admin, base, ""));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["alpha", "beta"]).await;
    let alpha_url = format!("http://127.0.0.1:{base}");

    let (status, body) = get_json(&format!("{alpha_url}/healthz"), None).await;
    assert_eq!((status, body), (200, serde_json::json!({"status": "ok"})));

    let beta_token = app.bot_token("beta").await;
    let alpha_token = app.bot_token("alpha").await;
    assert_ne!(alpha_token, beta_token);
    for token in [None, Some("wrong-token"), Some(beta_token.as_str())] {
        let (status, body) = get_json(&format!("{alpha_url}/api/v1/bot"), token).await;
        assert_eq!(status, 401, "token {token:?}");
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{body}"
        );
    }
    let (status, _) = get_json(&format!("{alpha_url}/api/v1/bot"), Some(&alpha_token)).await;
    assert_eq!(status, 200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_is_json_404_405_413() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(2), free_ports(1));
    dir.write_config(&two_bots(
        admin,
        base,
        "[bots.alpha.limits]\nbody_bytes = 1024\n",
    ));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["alpha"]).await;
    let token = app.bot_token("alpha").await;
    let url = format!("http://127.0.0.1:{base}");

    let res = client()
        .get(format!("{url}/no/such/route"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert!(res.json::<Value>().await.unwrap()["error"].is_string());

    let res = client()
        .delete(format!("{url}/api/v1/bot"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    assert!(res.json::<Value>().await.unwrap()["error"].is_string());

    let res = client()
        .post(format!("{url}/api/v1/bot"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(vec![b' '; 4096])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    let body: Value = res.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("limit"), "{body}");

    // A chunked JSON body (no Content-Length) is cut off while it is read.
    let chunks = (0..64).map(|_| Ok::<_, std::io::Error>(vec![b' '; 256]));
    let res = client()
        .post(format!("{url}/api/v1/goal"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .header("x-alice-receive-id", "oc_x")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    assert!(res.json::<Value>().await.unwrap()["error"].is_string());

    // The request id is taken from the caller, or made up, and echoed.
    let res = client()
        .get(format!("{url}/healthz"))
        .header("x-request-id", "req-42")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "req-42");
    let res = client().get(format!("{url}/healthz")).send().await.unwrap();
    assert!(!res.headers()["x-request-id"].is_empty());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_gives_429_with_retry_after_and_spares_other_bots() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(2), free_ports(1));
    dir.write_config(&two_bots(
        admin,
        base,
        "[bots.alpha.limits]\nrequests_per_minute = 5\n",
    ));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["alpha", "beta"]).await;
    let alpha = app.bot_token("alpha").await;
    let beta = app.bot_token("beta").await;
    let url = |port: u16| format!("http://127.0.0.1:{port}/api/v1/bot");

    for i in 0..5 {
        let (status, _) = get_json(&url(base), Some(&alpha)).await;
        assert_eq!(status, 200, "request {i}");
    }
    let res = client()
        .get(url(base))
        .bearer_auth(&alpha)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1, "Retry-After {retry}");
    assert!(res.json::<Value>().await.unwrap()["error"].is_string());
    for _ in 0..10 {
        let (status, _) = get_json(&url(base + 1), Some(&beta)).await;
        assert_eq!(status, 200, "beta is unaffected");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_auth_attempts_are_throttled_per_client() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(2), free_ports(1));
    dir.write_config(&two_bots(admin, base, ""));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["alpha"]).await;
    let url = format!("http://127.0.0.1:{base}/api/v1/bot");
    let mut statuses = Vec::new();
    for _ in 0..40 {
        statuses.push(get_json(&url, Some("guess")).await.0);
    }
    assert_eq!(statuses[0], 401);
    assert_eq!(*statuses.last().unwrap(), 429, "{statuses:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarting_one_bot_never_disturbs_another() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(2), free_ports(1));
    dir.write_config(&two_bots(admin, base, "").replace(
        "name = \"Beta\"\n",
        "name = \"Beta\"\n[bots.beta.limits]\nrequests_per_minute = 100000\n",
    ));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["alpha", "beta"]).await;
    let beta = app.bot_token("beta").await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let prober = {
        let stop = stop.clone();
        let url = format!("http://127.0.0.1:{}/api/v1/bot", base + 1);
        tokio::spawn(async move {
            let (mut ok, mut failed) = (0u32, 0u32);
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                match client().get(&url).bearer_auth(&beta).send().await {
                    Ok(res) if res.status() == 200 => ok += 1,
                    _ => failed += 1,
                }
            }
            (ok, failed)
        })
    };
    for _ in 0..3 {
        let (status, body) = app.admin_post("/api/bots/alpha/restart").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["state"], "running");
    }
    let (_, alpha) = app.admin_get("/api/bots/alpha").await;
    assert_eq!(alpha["restarts"], 3);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let (ok, failed) = prober.await.unwrap();
    assert!(ok > 0);
    assert_eq!(
        failed,
        0,
        "beta failed {failed} of {} requests",
        ok + failed
    );
    let (_, beta_view) = app.admin_get("/api/bots/beta").await;
    assert_eq!(beta_view["restarts"], 0);
    app.stop().await;
}

/// A restart is a slower answer for the bot's clients, never a refused
/// connection: its listening socket outlives the restart, and connections
/// made meanwhile wait in its backlog for the new server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarting_bot_refuses_no_connection() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(2), free_ports(1));
    dir.write_config(&two_bots(
        admin,
        base,
        "[bots.alpha.limits]\nrequests_per_minute = 1000000\n",
    ));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["alpha", "beta"]).await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let prober = {
        let stop = stop.clone();
        let url = format!("http://127.0.0.1:{base}/healthz");
        // A new connection per request: each meets the listener as it is.
        let fresh = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        tokio::spawn(async move {
            let (mut ok, mut failed) = (0u32, Vec::new());
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                match fresh.get(&url).send().await {
                    Ok(res) if res.status() == 200 => ok += 1,
                    Ok(res) => failed.push(res.status().to_string()),
                    Err(e) => failed.push(format!("{e:?}")),
                }
            }
            (ok, failed)
        })
    };
    for _ in 0..3 {
        let (status, body) = app.admin_post("/api/bots/alpha/restart").await;
        assert_eq!((status, body["state"].as_str()), (200, Some("running")));
    }
    // The last restart is also answered by the new server.
    wait_healthy(&format!("http://127.0.0.1:{base}/healthz")).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let (ok, failed) = prober.await.unwrap();
    assert!(ok > 0);
    assert!(
        failed.is_empty(),
        "{} of {} failed: {:?}",
        failed.len(),
        ok as usize + failed.len(),
        failed.first()
    );
    // A stop still closes the port.
    let (status, _) = app.admin_post("/api/bots/alpha/stop").await;
    assert_eq!(status, 200);
    assert!(client()
        .get(format!("http://127.0.0.1:{base}/healthz"))
        .send()
        .await
        .is_err());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_and_start_one_bot() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(2), free_ports(1));
    dir.write_config(&two_bots(admin, base, ""));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["alpha", "beta"]).await;
    let (status, body) = app.admin_post("/api/bots/alpha/stop").await;
    assert_eq!((status, body["state"].as_str()), (200, Some("stopped")));
    assert!(client()
        .get(format!("http://127.0.0.1:{base}/healthz"))
        .send()
        .await
        .is_err());
    wait_healthy(&format!("http://127.0.0.1:{}/healthz", base + 1)).await;
    let (status, body) = app.admin_post("/api/bots/alpha/start").await;
    assert_eq!((status, body["state"].as_str()), (200, Some("running")));
    wait_healthy(&format!("http://127.0.0.1:{base}/healthz")).await;
    let (status, body) = app.admin_post("/api/bots/nobody/stop").await;
    assert_eq!(status, 404);
    assert!(body["error"].as_str().unwrap().contains("nobody"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_api_refuses_bot_tokens() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(2), free_ports(1));
    dir.write_config(&two_bots(admin, base, ""));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["alpha"]).await;
    let bot_token = app.bot_token("alpha").await;
    let (status, body) = get_json(&format!("{}/api/bots", app.admin_url), Some(&bot_token)).await;
    assert_eq!(status, 401);
    assert!(body["error"].is_string());
    let (status, _) = get_json(&format!("{}/api/bots", app.admin_url), None).await;
    assert_eq!(status, 401);
    // …and the admin token is worthless on a bot.
    let (status, _) = get_json(
        &format!("http://127.0.0.1:{base}/api/v1/bot"),
        Some(app.supervisor.admin_token()),
    )
    .await;
    assert_eq!(status, 401);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_port_fails_only_its_bot_and_it_recovers_when_freed() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(2), free_ports(1));
    let squatter = std::net::TcpListener::bind(("127.0.0.1", base)).unwrap();
    dir.write_config(&two_bots(admin, base, ""));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["beta"]).await;
    eventually("alpha marked failed", || async {
        app.admin_get("/api/bots/alpha").await.1["state"] == "failed"
    })
    .await;
    let (_, alpha) = app.admin_get("/api/bots/alpha").await;
    let reason = alpha["last_error"].as_str().unwrap();
    assert!(reason.contains(&format!("127.0.0.1:{base}")), "{reason}");
    wait_healthy(&format!("http://127.0.0.1:{}/healthz", base + 1)).await;

    drop(squatter);
    app.wait_running(&["alpha"]).await;
    wait_healthy(&format!("http://127.0.0.1:{base}/healthz")).await;
    app.stop().await;
}

/// More bots than start at once (a few per core), one of them on a taken
/// port: every other bot runs, and that one's failure names its address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_starting_a_few_at_a_time_fail_only_the_bad_one() {
    let n = alice::bot::start_slots() as u16 * 3 + 1;
    let dir = TestDir::new();
    let (base, admin) = (free_ports(n), free_ports(1));
    let bad = n / 2;
    let squatter = std::net::TcpListener::bind(("127.0.0.1", base + bad)).unwrap();
    let bots: String = (0..n).map(|i| format!("[bots.b{i}]\n")).collect();
    dir.write_config(&format!("{}{bots}", supervisor_toml(admin, base)));
    let app = InProcess::start(&dir).await;
    let others: Vec<String> = (0..n)
        .filter(|i| *i != bad)
        .map(|i| format!("b{i}"))
        .collect();
    app.wait_running(&others.iter().map(String::as_str).collect::<Vec<_>>())
        .await;
    let path = format!("/api/bots/b{bad}");
    eventually("the bad bot marked failed", || async {
        app.admin_get(&path).await.1["state"] == "failed"
    })
    .await;
    let reason = app.admin_get(&path).await.1["last_error"].to_string();
    assert!(
        reason.contains(&format!("127.0.0.1:{}", base + bad)),
        "{reason}"
    );
    for i in (0..n).filter(|i| *i != bad) {
        wait_healthy(&format!("http://127.0.0.1:{}/healthz", base + i)).await;
    }
    drop(squatter);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_adds_removes_restarts_and_leaves_the_rest_running() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(4), free_ports(1));
    let sup = supervisor_toml(admin, base);
    dir.write_config(&format!("{sup}[bots.keep]\n[bots.change]\n[bots.gone]\n"));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["keep", "change", "gone"]).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let keep_token = app.bot_token("keep").await;

    // A bad file changes nothing.
    dir.write_config(&format!("{sup}[bots.keep]\ntimezone = \"Mars/Olympus\"\n"));
    let (status, body) = app.admin_post("/api/reload").await;
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap().contains("timezone"),
        "{body}"
    );
    assert_eq!(
        app.admin_get("/api/bots").await.1.as_array().unwrap().len(),
        3
    );

    dir.write_config(&format!(
        "{sup}[bots.keep]\n[bots.change]\nname = \"Changed\"\n[bots.gone]\nenabled = false\n[bots.added]\n"
    ));
    let _ = dir; // same file, new contents
    let (status, report) = app.admin_post("/api/reload").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["added"], serde_json::json!(["added"]));
    assert_eq!(report["unchanged"], serde_json::json!(["keep"]));
    let mut restarted: Vec<String> = serde_json::from_value(report["restarted"].clone()).unwrap();
    restarted.sort();
    assert_eq!(restarted, ["change", "gone"]);
    app.wait_running(&["added", "change"]).await;

    let (_, keep) = app.admin_get("/api/bots/keep").await;
    assert!(
        keep["uptime_secs"].as_u64().unwrap() >= 1,
        "keep was restarted: {keep}"
    );
    assert_eq!(keep["restarts"], 0);
    assert_eq!(app.bot_token("keep").await, keep_token);
    let (_, change) = app.admin_get("/api/bots/change").await;
    assert_eq!(change["name"], "Changed");
    let (_, gone) = app.admin_get("/api/bots/gone").await;
    assert_eq!(gone["state"], "stopped");
    wait_healthy(&format!("http://127.0.0.1:{}/healthz", base + 3)).await;

    // Removing a bot from the file stops it.
    dir.write_config(&format!(
        "{sup}[bots.keep]\n[bots.change]\nname = \"Changed\"\n"
    ));
    let (status, report) = app.admin_post("/api/reload").await;
    assert_eq!(status, 200);
    let mut removed: Vec<String> = serde_json::from_value(report["removed"].clone()).unwrap();
    removed.sort();
    assert_eq!(removed, ["added", "gone"]);
    assert!(client()
        .get(format!("http://127.0.0.1:{}/healthz", base + 3))
        .send()
        .await
        .is_err());
    assert_eq!(app.admin_get("/api/bots/added").await.0, 404);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_documents_parse_and_list_every_route() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(2), free_ports(1));
    dir.write_config(&two_bots(admin, base, ""));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["alpha"]).await;
    let bot_token = app.bot_token("alpha").await;
    let bot_url = format!("http://127.0.0.1:{base}");

    // Every route each server registers, and nothing else.
    let bot_routes = [
        ("get", "/healthz"),
        ("get", "/openapi.json"),
        ("get", "/api/v1/bot"),
        ("post", "/api/v1/messages/image"),
        ("post", "/api/v1/messages/file"),
        ("get", "/api/v1/automation/tasks"),
        ("post", "/api/v1/automation/tasks"),
        ("get", "/api/v1/automation/tasks/{task_id}"),
        ("patch", "/api/v1/automation/tasks/{task_id}"),
        ("delete", "/api/v1/automation/tasks/{task_id}"),
        ("get", "/api/v1/automation/tasks/{task_id}/runs"),
        ("get", "/api/v1/goal"),
        ("post", "/api/v1/goal"),
        ("delete", "/api/v1/goal"),
        ("post", "/api/v1/goal/pause"),
        ("post", "/api/v1/goal/resume"),
        ("post", "/api/v1/goal/complete"),
        ("post", "/api/v1/goal/delay"),
        ("get", "/api/v1/goals"),
        ("get", "/api/v1/runs"),
        ("post", "/api/v1/runs"),
        ("get", "/api/v1/runs/{task_id}"),
        ("get", "/api/v1/runs/{task_id}/events"),
        ("post", "/api/v1/runs/{task_id}/cancel"),
        ("get", "/api/v1/skills"),
        ("get", "/metrics"),
        ("get", "/api/v1/probes/internal"),
        ("get", "/api/v1/tools"),
        ("post", "/api/v1/tools/invoke"),
        ("get", "/api/v1/probes/external"),
        ("post", "/mcp"),
    ];
    let admin_routes = [
        ("get", "/healthz"),
        ("get", "/openapi.json"),
        ("get", "/api/bots"),
        ("get", "/api/bots/{id}"),
        ("post", "/api/bots/{id}/start"),
        ("post", "/api/bots/{id}/stop"),
        ("post", "/api/bots/{id}/restart"),
        ("get", "/api/bots/{id}/token"),
        ("post", "/api/reload"),
        ("get", "/api/probes"),
        ("get", "/api/bots/{id}/conversations"),
        ("get", "/api/bots/{id}/conversations/{receive_id}/messages"),
        ("post", "/api/bots/{id}/conversations/{receive_id}/messages"),
        ("get", "/api/bots/{id}/inbox"),
        ("post", "/api/workspaces/{bot_id}/headless"),
        ("get", "/api/headless"),
        ("get", "/api/headless/{task_id}"),
        ("get", "/api/headless/{task_id}/events"),
        ("post", "/api/headless/{task_id}/cancel"),
        ("get", "/metrics"),
        ("get", "/"),
        ("get", "/console/assets/app.js"),
        ("get", "/console/assets/app.css"),
        ("post", "/console/login"),
        ("post", "/console/logout"),
        ("get", "/console/session"),
        ("get", "/console/api/bots/{id}/config"),
        ("get", "/console/api/bots/{id}/history"),
        (
            "get",
            "/console/api/bots/{id}/conversations/{receive_id}/messages/{message_id}/file",
        ),
        ("get", "/console/api/bots/{id}/rt/{tail}"),
        ("post", "/console/api/bots/{id}/rt/{tail}"),
        ("patch", "/console/api/bots/{id}/rt/{tail}"),
        ("delete", "/console/api/bots/{id}/rt/{tail}"),
        ("get", "/readyz"),
        ("get", "/api/bots/{id}/export"),
    ];
    for (url, token, expected) in [
        (bot_url.as_str(), bot_token.as_str(), &bot_routes[..]),
        (
            app.admin_url.as_str(),
            app.supervisor.admin_token(),
            &admin_routes[..],
        ),
    ] {
        let (status, doc) = get_json(&format!("{url}/openapi.json"), None).await;
        assert_eq!(status, 200);
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        let mut documented: Vec<(String, String)> = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, ops)| {
                ops.as_object()
                    .unwrap()
                    .keys()
                    .filter(|m| ["get", "post", "patch", "put", "delete"].contains(&m.as_str()))
                    .map(move |m| (m.clone(), path.clone()))
            })
            .collect();
        documented.sort();
        let mut wanted: Vec<(String, String)> = expected
            .iter()
            .map(|(m, p)| (m.to_string(), p.to_string()))
            .collect();
        wanted.sort();
        assert_eq!(documented, wanted, "{url}/openapi.json");

        // And each documented route is really served (never the JSON 404 of
        // an unknown route).
        for (method, path) in expected {
            let concrete = path
                .replace("{task_id}", "x_1")
                .replace("{message_id}", "m_x")
                .replace("{tail}", "api/v1/skills")
                .replace("{receive_id}", "oc_x")
                .replace("{bot_id}", "alpha")
                .replace("{id}", "alpha");
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let res = client()
                .request(method.clone(), format!("{url}{concrete}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            let body: Value = res.json().await.unwrap_or(Value::Null);
            assert_ne!(
                body["error"], "no such route",
                "{method} {path} is not served"
            );
        }
    }
    app.stop().await;
}

/// A reload that waits for a changed bot to drain never freezes the admin
/// API: listing answers while the in-flight request holds the bot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_answers_while_a_reload_drains_a_bot() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = TestDir::new();
    let (base, admin) = (free_ports(2), free_ports(1));
    let sup = supervisor_toml(admin, base);
    let bot = "[bots.slow]\nruntime_http_token = \"t\"\nruntime_api_shutdown_timeout_secs = 30\n";
    dir.write_config(&format!("{sup}{bot}[bots.other]\n"));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["slow", "other"]).await;

    // Hold the bot with a request whose body is still coming.
    let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", base))
        .await
        .unwrap();
    let body = br#"{"description": "hold on"}"#;
    let head = format!(
        "POST /api/v1/goal HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\nX-Alice-Receive-Id: oc\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(&body[..5]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    dir.write_config(&format!("{sup}{}name = \"Renamed\"\n[bots.other]\n", bot));
    let reload = {
        let url = format!("{}/api/reload", app.admin_url);
        let token = app.supervisor.admin_token().to_string();
        tokio::spawn(async move {
            client()
                .post(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !reload.is_finished(),
        "the reload waits for the in-flight request"
    );
    let quick = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    let res = quick
        .get(format!("{}/api/bots", app.admin_url))
        .bearer_auth(app.supervisor.admin_token())
        .send()
        .await
        .expect("the admin API answers during the reload");
    assert_eq!(res.status(), 200);

    conn.write_all(&body[5..]).await.unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    assert_eq!(reload.await.unwrap(), 200);
    assert_eq!(app.admin_get("/api/bots/slow").await.1["name"], "Renamed");
    app.stop().await;
}

/// Request headers must arrive within 10 s: a slow client within that is
/// served, one that never finishes them is cut off (it cannot hold a bot's
/// connection forever).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_headers_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = TestDir::new();
    let (base, admin) = (free_ports(2), free_ports(1));
    dir.write_config(&two_bots(admin, base, ""));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["alpha"]).await;
    let head = b"GET /healthz HTTP/1.1\r\nHost: x\r\n";
    let slow = tokio::spawn(async move {
        let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", base))
            .await
            .unwrap();
        conn.write_all(head).await.unwrap();
        tokio::time::sleep(Duration::from_secs(7)).await;
        conn.write_all(b"Connection: close\r\n\r\n").await.unwrap();
        let mut answer = String::new();
        conn.read_to_string(&mut answer).await.unwrap();
        answer
    });
    let mut stuck = tokio::net::TcpStream::connect(("127.0.0.1", base))
        .await
        .unwrap();
    stuck.write_all(head).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), stuck.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the server kept waiting for the headers");
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    let served = slow.await.unwrap();
    assert!(served.starts_with("HTTP/1.1 200"), "{served}");
    app.stop().await;
}

/// Every rejection carries a `code` from the table, with the table's status,
/// and the OpenAPI documents list exactly the table's codes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_body_carries_a_code_from_the_table() {
    use alice::error::Code;
    let dir = TestDir::new();
    let (base, admin) = (free_ports(2), free_ports(1));
    dir.write_config(&format!(
        "{}[bots.alpha]\n[bots.alpha.limits]\nbody_bytes = 1024\n\
         [bots.beta]\n[bots.beta.permissions]\nruntime_goal = false\n",
        supervisor_toml(admin, base)
    ));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["alpha", "beta"]).await;
    let alpha = app.bot_token("alpha").await;
    let beta = app.bot_token("beta").await;
    let bot = |port: u16, path: &str| format!("http://127.0.0.1:{port}{path}");
    let admin_token = app.supervisor.admin_token().to_string();
    let conv = [("x-alice-receive-id", "oc_codes")];

    // (request, expected code)
    let goal = |body: &'static str| {
        client()
            .post(bot(base, "/api/v1/goal"))
            .bearer_auth(&alpha)
            .header("content-type", "application/json")
            .body(body)
    };
    let cases: Vec<(reqwest::RequestBuilder, &str)> = vec![
        (
            client()
                .get(bot(base, "/no/such/route"))
                .bearer_auth(&alpha),
            "route_not_found",
        ),
        (
            client()
                .delete(bot(base, "/api/v1/bot"))
                .bearer_auth(&alpha),
            "method_not_allowed",
        ),
        (client().get(bot(base, "/api/v1/bot")), "missing_token"),
        (
            client().get(bot(base, "/api/v1/bot")).bearer_auth(&beta),
            "invalid_token",
        ),
        (goal(r#"{"description":"x"}"#), "missing_conversation"),
        (
            goal("{not json").header(conv[0].0, conv[0].1),
            "invalid_json",
        ),
        (goal("{}").header(conv[0].0, conv[0].1), "invalid_goal"),
        (
            goal(&*Box::leak(
                format!("{{\"d\":\"{}\"}}", "x".repeat(2000)).into_boxed_str(),
            ))
            .header(conv[0].0, conv[0].1),
            "body_too_large",
        ),
        (
            client()
                .post(bot(base, "/api/v1/goal/pause"))
                .bearer_auth(&alpha)
                .header(conv[0].0, conv[0].1),
            "goal_not_found",
        ),
        (
            client()
                .post(bot(base + 1, "/api/v1/goal"))
                .bearer_auth(&beta)
                .header(conv[0].0, conv[0].1)
                .json(&serde_json::json!({"description": "x"})),
            "permission_disabled",
        ),
        (
            client()
                .get(bot(base, "/api/v1/automation/tasks/task_nope"))
                .bearer_auth(&alpha),
            "task_not_found",
        ),
        (
            client()
                .post(bot(base, "/api/v1/automation/tasks"))
                .bearer_auth(&alpha)
                .json(&serde_json::json!({})),
            "invalid_task",
        ),
        (
            client()
                .post(bot(base, "/api/v1/runs"))
                .bearer_auth(&alpha)
                .json(&serde_json::json!({"prompt": ""})),
            "invalid_run",
        ),
        (
            client()
                .get(bot(base, "/api/v1/runs/headless_nope"))
                .bearer_auth(&alpha),
            "run_not_found",
        ),
        (
            client()
                .post(bot(base, "/api/v1/messages/image"))
                .bearer_auth(&alpha)
                .header(conv[0].0, conv[0].1)
                .body("x"),
            "invalid_upload",
        ),
        (
            client()
                .get(format!("{}/api/bots/nope", app.admin_url))
                .bearer_auth(&admin_token),
            "bot_not_found",
        ),
        (
            client()
                .get(format!("{}/api/bots", app.admin_url))
                .bearer_auth(&alpha),
            "invalid_token",
        ),
        (
            client()
                .get(format!("{}/api/headless/headless_nope", app.admin_url))
                .bearer_auth(&admin_token),
            "run_not_found",
        ),
    ];
    for (request, expected) in cases {
        let res = request.send().await.expect("request");
        let status = res.status();
        let body: Value = res.json().await.expect("JSON error body");
        let code = Code::ALL
            .iter()
            .find(|c| body["code"] == c.as_str())
            .unwrap_or_else(|| panic!("`code` not in the table: {body}"));
        assert_eq!(code.as_str(), expected, "{body}");
        assert_eq!(status.as_u16(), code.status().as_u16(), "{body}");
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{body}"
        );
    }

    // A second goal, then an illegal transition: 409 with their own codes.
    let (first, again) = (
        goal(r#"{"description":"x"}"#).header(conv[0].0, conv[0].1),
        goal(r#"{"description":"y"}"#).header(conv[0].0, conv[0].1),
    );
    assert_eq!(first.send().await.unwrap().status(), 201);
    let body: Value = again.send().await.unwrap().json().await.unwrap();
    assert_eq!(body["code"], "goal_exists");
    let res = client()
        .post(bot(base, "/api/v1/goal/resume"))
        .bearer_auth(&alpha)
        .header(conv[0].0, conv[0].1)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    assert_eq!(
        res.json::<Value>().await.unwrap()["code"],
        "illegal_goal_transition"
    );

    // Both documents enumerate the table's codes in the error body.
    let table: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
    for url in [
        bot(base, "/openapi.json"),
        format!("{}/openapi.json", app.admin_url),
    ] {
        let doc: Value = client()
            .get(&url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let schemas = &doc["components"]["schemas"];
        let reference = schemas["ErrorBody"]["properties"]["code"]["$ref"].as_str();
        assert_eq!(reference, Some("#/components/schemas/Code"), "{url}");
        let codes = &schemas["Code"]["enum"];
        let listed: Vec<&str> = codes
            .as_array()
            .unwrap_or_else(|| {
                panic!(
                    "{url}: no code enum in ErrorBody: {}",
                    doc["components"]["schemas"]["ErrorBody"]
                )
            })
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(listed, table, "{url}");
    }
    app.stop().await;
}

/// Headers a client could use to confuse the server: two `Authorization`
/// headers, an unknown receive id type. Both are 400 JSON, on every server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ambiguous_or_unknown_headers_are_400_json() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(2), free_ports(1));
    dir.write_config(&two_bots(admin, base, ""));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["alpha"]).await;
    let token = app.bot_token("alpha").await;
    let url = format!("http://127.0.0.1:{base}");
    let admin_token = app.supervisor.admin_token().to_string();

    for (target, good) in [
        (format!("{url}/api/v1/bot"), token.as_str()),
        (format!("{}/api/bots", app.admin_url), admin_token.as_str()),
    ] {
        for second in [good, "wrong"] {
            let res = client()
                .get(&target)
                .header("authorization", format!("Bearer {good}"))
                .header("authorization", format!("Bearer {second}"))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 400, "{target}");
            let body: Value = res.json().await.unwrap();
            assert!(
                body["error"].as_str().unwrap().contains("Authorization"),
                "{body}"
            );
        }
    }

    let res = client()
        .get(format!("{url}/api/v1/goal"))
        .bearer_auth(&token)
        .header("x-alice-receive-id-type", "bogus")
        .header("x-alice-receive-id", "oc_1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    let error = body["error"].as_str().unwrap();
    for kind in ["chat_id", "open_id", "user_id", "union_id", "email"] {
        assert!(error.contains(kind), "{error}");
    }
    for kind in ["open_id", "email"] {
        let res = client()
            .get(format!("{url}/api/v1/goal"))
            .bearer_auth(&token)
            .header("x-alice-receive-id-type", kind)
            .header("x-alice-receive-id", "ou_1")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204, "{kind}");
    }
    app.stop().await;
}

/// Concurrent restarts of one bot: each answers only once the bot it
/// restarted is `running` (and says so), or reports why it is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_restarts_answer_only_once_the_bot_runs() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(1), free_ports(1));
    dir.write_config(&format!(
        "{}[bots.b]\nruntime_api_shutdown_timeout_secs = 1\n",
        supervisor_toml(admin, base)
    ));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["b"]).await;
    let answers =
        futures_util::future::join_all((0..40).map(|_| app.admin_post("/api/bots/b/restart")))
            .await;
    for (status, body) in answers {
        match status {
            200 => assert_eq!(body["state"], "running", "{body}"),
            503 => assert!(body["error"].is_string(), "{body}"),
            other => panic!("restart answered {other}: {body}"),
        }
    }
    app.stop().await;
}

/// Every 405 says which methods the route has.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_405_lists_the_routes_methods_in_allow() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(2), free_ports(1));
    dir.write_config(&two_bots(admin, base, ""));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["alpha"]).await;
    let token = app.bot_token("alpha").await;
    let url = format!("http://127.0.0.1:{base}");
    let admin_token = app.supervisor.admin_token().to_string();
    for (method, target, token, allow) in [
        ("DELETE", format!("{url}/api/v1/bot"), token.as_str(), "GET"),
        (
            "PUT",
            format!("{url}/api/v1/goal"),
            token.as_str(),
            "GET, POST, DELETE",
        ),
        (
            "PUT",
            format!("{url}/api/v1/automation/tasks/x"),
            token.as_str(),
            "GET, PATCH, DELETE",
        ),
        (
            "GET",
            format!("{url}/api/v1/runs/x/cancel"),
            token.as_str(),
            "POST",
        ),
        (
            "DELETE",
            format!("{}/api/bots", app.admin_url),
            admin_token.as_str(),
            "GET",
        ),
    ] {
        let res = client()
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                &target,
            )
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 405, "{method} {target}");
        assert_eq!(
            res.headers().get("allow").map(|v| v.to_str().unwrap()),
            Some(allow),
            "{method} {target}"
        );
    }
    app.stop().await;
}

/// Both documents hold together as OpenAPI 3.1 (the full schema check and
/// the fuzzing are `scripts/schemathesis.sh`): unique operation ids, every
/// `$ref` resolves, every path parameter declared, every operation answers,
/// and the guard's own answers are on every operation that needs a token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_documents_are_consistent() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(2), free_ports(1));
    dir.write_config(&two_bots(admin, base, ""));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["alpha"]).await;
    for url in [format!("http://127.0.0.1:{base}"), app.admin_url.clone()] {
        let (_, doc) = get_json(&format!("{url}/openapi.json"), None).await;
        assert_eq!(doc["openapi"].as_str().map(|v| &v[..4]), Some("3.1."));
        let mut ids = std::collections::HashSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let at = format!("{url}: {method} {path}");
                let id = op["operationId"].as_str().unwrap_or_default();
                assert!(
                    !id.is_empty() && ids.insert(id.to_string()),
                    "{at}: operationId `{id}`"
                );
                let responses = op["responses"].as_object().unwrap();
                assert!(!responses.is_empty(), "{at}: no responses");
                let declared: Vec<&str> = op["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|p| p["in"] == "path")
                    .map(|p| p["name"].as_str().unwrap())
                    .collect();
                for name in path.split('{').skip(1).filter_map(|s| s.split('}').next()) {
                    assert!(declared.contains(&name), "{at}: path parameter {name}");
                }
                let open = op["security"]
                    .as_array()
                    .is_some_and(|s| s.iter().any(|r| r.as_object().unwrap().is_empty()));
                if !open {
                    for status in ["401", "429"] {
                        assert!(responses.contains_key(status), "{at}: no {status}");
                    }
                    if op.get("requestBody").is_some() {
                        assert!(responses.contains_key("413"), "{at}: no 413");
                    }
                }
            }
        }
        let mut refs = Vec::new();
        collect_refs(&doc, &mut refs);
        assert!(!refs.is_empty());
        for r in refs {
            let target = r.strip_prefix('#').and_then(|pointer| doc.pointer(pointer));
            assert!(target.is_some(), "{url}: `{r}` does not resolve");
        }
    }
    // Agent runs and automation task runs are two schemas.
    let (_, doc) = get_json(&format!("http://127.0.0.1:{base}/openapi.json"), None).await;
    let ok = |path: &str, method: &str| {
        doc["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]
            .to_string()
    };
    assert!(ok("/api/v1/runs/{task_id}", "get").contains("/AgentRun\""));
    assert!(ok("/api/v1/runs", "get").contains("/AgentRun\""));
    assert!(ok("/api/v1/automation/tasks/{task_id}/runs", "get").contains("/TaskRun\""));
    assert!(doc["components"]["schemas"].get("RunRecord").is_none());
    app.stop().await;
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v.as_str()) {
                    ("$ref", Some(r)) => out.push(r.to_string()),
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// A JSON body is an object, as the documents say: serde alone would fill a
/// struct from an array. A whole number written `1500.0` is still one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_body_must_be_an_object() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(2), free_ports(1));
    let agent = "[bots.alpha.agent]\ncommand = [\"sh\", \"-c\", \"cat >/dev/null; echo ok\"]\n";
    dir.write_config(&two_bots(admin, base, agent));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["alpha"]).await;
    let token = app.bot_token("alpha").await;
    let url = format!("http://127.0.0.1:{base}");
    let res = client()
        .post(format!("{url}/api/v1/goal"))
        .bearer_auth(&token)
        .header("x-alice-receive-id", "oc_1")
        .json(&serde_json::json!(["a goal"]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("object"), "{body}");

    let res = client()
        .post(format!("{}/api/workspaces/alpha/headless", app.admin_url))
        .bearer_auth(app.supervisor.admin_token())
        .json(&serde_json::json!({"prompt": "hi", "timeoutMs": 1500.0, "wait": true}))
        .send()
        .await
        .unwrap();
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["timeout_ms"], 1500, "{body}");
    app.stop().await;
}

/// Every `.rs` file below `src/<dir>` whose code (comments aside) mentions
/// one of `needles`.
fn mentions(dir: &str, needles: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    let mut todo = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join(dir)];
    while let Some(path) = todo.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).expect("read src") {
                todo.push(entry.expect("dir entry").path());
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("read source");
            let code: Vec<&str> = text
                .lines()
                .filter(|line| !line.trim_start().starts_with("//"))
                .collect();
            let text = code.join("\n");
            if needles.iter().any(|n| text.contains(n)) {
                let relative = path.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap();
                found.push(relative.display().to_string());
            }
        }
    }
    found.sort();
    found
}

/// No two top-level modules of `src/` depend on each other, directly or
/// through others: every `crate::<module>` a module's code names is an edge.
#[test]
fn no_module_depends_on_itself_through_others() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut modules = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(&src).expect("read src") {
        let path = entry.expect("dir entry").path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if name == "lib" || name == "main" {
            continue;
        }
        modules.insert(name, path);
    }
    let names: Vec<String> = modules.keys().cloned().collect();
    let mut edges: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (name, path) in &modules {
        let relative = path
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let needles: Vec<String> = names
            .iter()
            .filter(|n| *n != name)
            .map(|n| format!("crate::{n}"))
            .collect();
        let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
        let mut uses = Vec::new();
        for file in mentions(&relative, &needles) {
            let text = std::fs::read_to_string(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(&file),
            )
            .unwrap();
            for other in &names {
                let code = text.lines().filter(|l| !l.trim_start().starts_with("//"));
                if other != name
                    && code.clone().any(|l| {
                        l.contains(&format!("crate::{other}::"))
                            || l.contains(&format!("crate::{other};"))
                    })
                {
                    uses.push(other.clone());
                }
            }
        }
        uses.sort();
        uses.dedup();
        edges.insert(name.clone(), uses);
    }
    // Depth-first search for a path back to the start.
    fn reaches(
        from: &str,
        to: &str,
        edges: &std::collections::BTreeMap<String, Vec<String>>,
        seen: &mut Vec<String>,
    ) -> bool {
        for next in edges.get(from).into_iter().flatten() {
            if next == to {
                return true;
            }
            if !seen.contains(next) {
                seen.push(next.clone());
                if reaches(next, to, edges, seen) {
                    return true;
                }
            }
        }
        false
    }
    let cyclic: Vec<&String> = names
        .iter()
        .filter(|n| reaches(n, n, &edges, &mut Vec::new()))
        .collect();
    assert!(
        cyclic.is_empty(),
        "modules on a dependency cycle: {cyclic:?}\n{edges:#?}"
    );
}

/// The modules depend one way: the Runtime API on the bot, never back; the
/// agent knows nothing of HTTP's event streams or of the Runtime API; the
/// supervisor touches the Runtime API only where it hands its server to the
/// bots. A new cycle fails here.
#[test]
fn modules_have_no_dependency_cycles() {
    let runtime_api = ["crate::runtime_api", "runtime_api::"];
    assert_eq!(mentions("bot", &runtime_api), [""; 0], "bot -> runtime_api");
    assert_eq!(
        mentions(
            "agent",
            &["crate::runtime_api", "runtime_api::", "crate::http"]
        ),
        [""; 0],
        "agent -> runtime_api or http"
    );
    assert_eq!(
        mentions("http", &["crate::agent", "crate::bot", "crate::supervisor"]),
        [""; 0],
        "http (shared by every server) -> a service"
    );
    assert_eq!(
        mentions("supervisor", &runtime_api),
        ["src/supervisor/mod.rs"],
        "supervisor -> runtime_api (only to hand the server to the bots)"
    );
}

/// The supervisor and its handlers reach a bot only through its narrow
/// handle (token, runs, conversations, inbox, event receiver), never its
/// whole state; and a bot is whole once built (nothing filled in later).
#[test]
fn the_supervisor_reaches_bots_only_through_their_handle() {
    assert_eq!(mentions("supervisor", &["BotState"]), [""; 0]);
    assert_eq!(mentions("bot", &["OnceLock", "OnceCell"]), [""; 0]);
}
