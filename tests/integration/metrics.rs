//! `GET /metrics`: each bot's series (bot token) and the supervisor's
//! aggregate (admin token, every bot's series labelled `bot`), read from
//! the Prometheus text by line prefix.

use crate::common::*;
use serde_json::{json, Value};

fn agent(name: &str) -> String {
    format!("{}/tests/agents/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// One bot per id, each with the `lines.sh` agent and extra bot keys.
fn bots_toml(admin: u16, base: u16, bots: &[(&str, &str)]) -> String {
    let mut text = supervisor_toml(admin, base);
    for (id, extra) in bots {
        text.push_str(&format!(
            "[bots.{id}]\n{extra}\n[bots.{id}.agent]\ncommand = [\"sh\", \"{}\"]\n",
            agent("lines.sh")
        ));
    }
    text
}

/// The value of the first sample of `name` whose labels contain every one
/// of `labels` (`key="value"`), if any.
fn sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .find(|line| labels.iter().all(|l| line.contains(l)))
        .and_then(|line| line.rsplit(' ').next()?.parse().ok())
}

async fn scrape(url: &str, token: Option<&str>) -> (u16, String) {
    let mut req = client().get(format!("{url}/metrics"));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let res = req.send().await.expect("scrape");
    let status = res.status().as_u16();
    (status, res.text().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bot_metrics_need_its_token_and_count_requests_by_route_template_and_runs() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(1), free_ports(1));
    dir.write_config(&bots_toml(admin, base, &[("alpha", "")]));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["alpha"]).await;
    let token = app.bot_token("alpha").await;
    let url = format!("http://127.0.0.1:{base}");

    let (status, body) = scrape(&url, None).await;
    assert_eq!(status, 401, "{body}");
    assert!(serde_json::from_str::<Value>(&body).unwrap()["error"].is_string());
    assert_eq!(scrape(&url, Some("guess")).await.0, 401);

    // A real agent run, then its record by id.
    let res = client()
        .post(format!("{url}/api/v1/runs"))
        .bearer_auth(&token)
        .json(&json!({"prompt": "hello", "wait": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let run: Value = res.json().await.unwrap();
    assert_eq!(run["status"], "succeeded", "{run}");
    let run_id = run["taskId"].as_str().expect("taskId").to_string();
    let res = client()
        .get(format!("{url}/api/v1/runs/{run_id}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = client()
        .get(format!("{url}/no/such/route"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);

    let (status, text) = scrape(&url, Some(&token)).await;
    assert_eq!(status, 200, "{text}");
    let requests = "alice_http_requests_total";
    assert_eq!(
        sample(
            &text,
            requests,
            &[
                "route=\"/api/v1/runs/{task_id}\"",
                "method=\"GET\"",
                "status=\"200\"",
                "bot=\"alpha\""
            ]
        ),
        Some(1.0),
        "{text}"
    );
    assert!(!text.contains(&run_id), "a raw id in a label: {text}");
    assert!(
        sample(&text, requests, &["route=\"unmatched\"", "status=\"404\""]).is_some(),
        "{text}"
    );
    assert!(
        sample(&text, requests, &["route=\"/metrics\"", "status=\"401\""]).is_some(),
        "{text}"
    );
    assert!(
        sample(
            &text,
            "alice_http_request_duration_seconds_count",
            &["route=\"/api/v1/runs\"", "method=\"POST\""]
        )
        .is_some(),
        "{text}"
    );
    assert_eq!(
        sample(&text, "alice_auth_failed_total", &["bot=\"alpha\""]),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "alice_agent_runs_total",
            &["origin=\"runtime\"", "outcome=\"succeeded\""]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "alice_agent_run_duration_seconds_count", &[]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(sample(&text, "alice_connector_up", &[]), Some(1.0));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_firing_and_a_message_move_tasks_fired_lateness_and_messages() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(1), free_ports(1));
    dir.write_config(&bots_toml(admin, base, &[("alpha", "")]));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["alpha"]).await;
    let token = app.bot_token("alpha").await;
    let url = format!("http://127.0.0.1:{base}");
    let run_at = (chrono::Utc::now() + chrono::Duration::seconds(1)).to_rfc3339();
    let res = client()
        .post(format!("{url}/api/v1/automation/tasks"))
        .bearer_auth(&token)
        .json(&json!({"scope_type": "chat", "scope_id": "oc_metrics", "action": "send_text", "text": "tick", "run_at": run_at}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        201,
        "{}",
        res.text().await.unwrap_or_default()
    );

    let fired = ["action=\"send_text\"", "outcome=\"succeeded\""];
    eventually("the task's run counted", || async {
        sample(
            &scrape(&url, Some(&token)).await.1,
            "alice_tasks_fired_total",
            &fired,
        ) == Some(1.0)
    })
    .await;
    let (_, text) = scrape(&url, Some(&token)).await;
    assert_eq!(
        sample(&text, "alice_task_lateness_seconds_count", &[]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "alice_outbound_messages_total",
            &["connector=\"local\"", "outcome=\"ok\""]
        ),
        Some(1.0),
        "{text}"
    );

    // A user's message, through the local connector, into the pipeline.
    let res = client()
        .post(format!(
            "{}/api/bots/alpha/conversations/oc_metrics/messages",
            app.admin_url
        ))
        .bearer_auth(app.supervisor.admin_token())
        .json(&json!({"text": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let (_, text) = scrape(&url, Some(&token)).await;
    assert_eq!(
        sample(
            &text,
            "alice_inbound_messages_total",
            &["connector=\"local\"", "outcome=\"queued\""]
        ),
        Some(1.0),
        "{text}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_supervisor_aggregates_bots_counts_rate_limits_and_tells_which_bots_are_up() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(2), free_ports(1));
    dir.write_config(&bots_toml(
        admin,
        base,
        &[
            ("alpha", "[bots.alpha.limits]\nrequests_per_minute = 3\n"),
            ("beta", ""),
        ],
    ));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["alpha", "beta"]).await;
    let alpha = app.bot_token("alpha").await;
    let beta = app.bot_token("beta").await;

    assert_eq!(scrape(&app.admin_url, None).await.0, 401);
    assert_eq!(scrape(&app.admin_url, Some(&beta)).await.0, 401);

    // alpha's fourth request in the minute is refused.
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let res = client()
            .get(format!("http://127.0.0.1:{base}/api/v1/bot"))
            .bearer_auth(&alpha)
            .send()
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 429]);
    let res = client()
        .get(format!("http://127.0.0.1:{}/api/v1/bot", base + 1))
        .bearer_auth(&beta)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let (status, text) = scrape(&app.admin_url, Some(app.supervisor.admin_token())).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        sample(&text, "alice_rate_limited_total", &["bot=\"alpha\""]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "alice_rate_limited_total", &["bot=\"beta\""]),
        Some(0.0),
        "{text}"
    );
    for bot in ["alpha", "beta"] {
        assert_eq!(
            sample(
                &text,
                "alice_http_requests_total",
                &[
                    "route=\"/api/v1/bot\"",
                    "status=\"200\"",
                    &format!("bot=\"{bot}\"")
                ]
            ),
            Some(if bot == "alpha" { 3.0 } else { 1.0 }),
            "{text}"
        );
        assert_eq!(
            sample(&text, "alice_bot_up", &[&format!("bot=\"{bot}\"")]),
            Some(1.0)
        );
    }
    // One header per family, whatever the number of bots.
    assert_eq!(
        text.matches("# TYPE alice_http_requests_total ").count(),
        1,
        "{text}"
    );
    assert!(sample(&text, "alice_store_flushes_total", &[]).unwrap_or(0.0) >= 1.0);
    assert!(sample(&text, "alice_store_flush_duration_seconds_count", &[]).is_some());
    assert_eq!(
        sample(&text, "alice_bot_restarts_total", &["bot=\"alpha\""]),
        Some(0.0),
        "{text}"
    );

    let (status, _) = app.admin_post("/api/bots/beta/stop").await;
    assert_eq!(status, 200);
    let (_, text) = scrape(&app.admin_url, Some(app.supervisor.admin_token())).await;
    assert_eq!(sample(&text, "alice_bot_up", &["bot=\"beta\""]), Some(0.0));
    assert_eq!(sample(&text, "alice_bot_up", &["bot=\"alpha\""]), Some(1.0));
    assert!(
        sample(&text, "alice_http_requests_total", &["bot=\"beta\""]).is_none(),
        "a stopped bot's series are gone: {text}"
    );
    let (status, _) = app.admin_post("/api/bots/alpha/restart").await;
    assert_eq!(status, 200);
    let (_, text) = scrape(&app.admin_url, Some(app.supervisor.admin_token())).await;
    assert_eq!(
        sample(&text, "alice_bot_restarts_total", &["bot=\"alpha\""]),
        Some(1.0),
        "{text}"
    );
    app.stop().await;
}

/// A Feishu bot's connector counts as up while its long connection is
/// open; the local bot beside it always does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connector_up_follows_the_feishu_long_connection() {
    use crate::common::feishu_harness::{setup, wait_connections};
    let s = setup("long_connection", "").await;
    wait_connections(&s.fake, 1).await;
    let up = ["bot=\"fs\""];
    eventually("the Feishu connector up", || async {
        sample(&s.supervisor.metrics().await, "alice_connector_up", &up) == Some(1.0)
    })
    .await;
    let text = s.supervisor.metrics().await;
    assert_eq!(
        sample(&text, "alice_connector_up", &["bot=\"plain\""]),
        Some(1.0),
        "{text}"
    );
    s.supervisor.stop_bot("fs").await.unwrap();
    s.supervisor.shutdown().await;
}

/// A run's token is limited to its conversation: the bot's metrics are for
/// its main token only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_token_is_refused_with_403() {
    use crate::runs::{BotSpec, Harness};
    let h = Harness::start(&[BotSpec::new("alpha", "gate.sh")], "").await;
    let (status, accepted) = h.headless("alpha", json!({"prompt": "wait"})).await;
    assert_eq!(status, 202);
    let task = accepted["taskId"].as_str().unwrap();
    let run_token = h.run_token("alpha", task).await;
    let url = format!("http://127.0.0.1:{}", h.base);
    let (status, body) = scrape(&url, Some(&run_token)).await;
    assert_eq!(status, 403, "{body}");
    assert!(serde_json::from_str::<Value>(&body).unwrap()["error"].is_string());
    h.open_gate("alpha");
    h.finished(task).await;
    h.stop().await;
}

/// The benchmarks' no-flush switch (`scripts/bench/run.py`): with
/// `ALICE_BENCH_SKIP_FLUSH` set to its deliberate value a create is
/// answered without a flush, and the log says durability is off; any other
/// value keeps every write flushed before it is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bench_no_flush_switch_takes_only_its_exact_value() {
    const ADMIN: &str = "bench-admin-0123456789abcdef";
    const TOKEN: &str = "bench-token-0123456789abcdef";
    for (value, skipped) in [("writes-may-be-lost", true), ("1", false)] {
        let dir = TestDir::new();
        let (base, admin) = (free_ports(1), free_ports(1));
        let path = dir.write_config(&format!(
            "[supervisor]\ndata_dir = \"data\"\nadmin_addr = \"127.0.0.1:{admin}\"\nbase_port = {base}\nadmin_token = \"{ADMIN}\"\n\n[bots.alpha]\nruntime_http_token = \"{TOKEN}\"\n"
        ));
        let log = std::fs::File::create(dir.path().join("serve.log")).expect("log file");
        let mut child = alice_command(&["serve", "--config", path.to_str().unwrap()])
            .env("ALICE_BENCH_SKIP_FLUSH", value)
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn alice serve");
        let bot = format!("http://127.0.0.1:{base}");
        wait_healthy(&format!("{bot}/healthz")).await;
        let res = client()
            .post(format!("{bot}/api/v1/automation/tasks"))
            .bearer_auth(TOKEN)
            .header("X-Alice-Receive-Id", "oc_bench")
            .json(&json!({"text": "hi", "cron": "0 9 * * *"}))
            .send()
            .await
            .expect("create");
        assert_eq!(res.status(), 201, "{value}");
        let (status, text) = scrape(&format!("http://127.0.0.1:{admin}"), Some(ADMIN)).await;
        assert_eq!(status, 200, "{text}");
        let flushes = sample(&text, "alice_store_flushes_total", &[]).unwrap_or(0.0);
        send_signal(&child, libc::SIGTERM);
        assert_eq!(wait_exit(&mut child, 30).code(), Some(0));
        let log = std::fs::read_to_string(dir.path().join("serve.log")).unwrap();
        let warned = log.contains("ALICE_BENCH_SKIP_FLUSH is set");
        if skipped {
            assert_eq!(flushes, 0.0, "{value}: {text}");
            assert!(warned, "{value}: {log}");
        } else {
            assert!(flushes >= 1.0, "{value}: {text}");
            assert!(!warned, "{value}: {log}");
        }
    }
}
