//! The admin web console's backend over HTTP: login and its cookie, logout,
//! CSRF on state-changing requests, the failed-login throttle, and no token
//! in anything the browser receives.

use crate::common::{client, free_ports, supervisor_toml, InProcess, TestDir};
use serde_json::{json, Value};

fn two_bots(admin: u16, base: u16) -> String {
    format!(
        "{}[bots.alpha]\nname = \"Alpha\"\n[bots.beta]\nname = \"Beta\"\n",
        supervisor_toml(admin, base)
    )
}

async fn start() -> (TestDir, InProcess) {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(2), free_ports(1));
    dir.write_config(&two_bots(admin, base));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["alpha", "beta"]).await;
    (dir, app)
}

/// A logged-in console session: the cookie pair and the CSRF token.
struct Session {
    cookie: String,
    csrf: String,
    set_cookie: String,
}

async fn login(
    app: &InProcess,
    token: &str,
    forwarded_https: bool,
) -> Result<Session, (u16, Value)> {
    let mut req = client()
        .post(format!("{}/console/login", app.admin_url))
        .json(&json!({ "token": token }));
    if forwarded_https {
        req = req.header("X-Forwarded-Proto", "https");
    }
    let res = req.send().await.expect("login");
    let status = res.status().as_u16();
    let set_cookie = res
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_string());
    let body: Value = res.json().await.unwrap_or(Value::Null);
    match (status, set_cookie) {
        (200, Some(set_cookie)) => Ok(Session {
            cookie: set_cookie.split(';').next().unwrap().to_string(),
            csrf: body["csrf_token"].as_str().unwrap().to_string(),
            set_cookie,
        }),
        _ => Err((status, body)),
    }
}

async fn send(
    app: &InProcess,
    method: reqwest::Method,
    path: &str,
    session: &Session,
    csrf: bool,
) -> (u16, String) {
    let mut req = client()
        .request(method, format!("{}{path}", app.admin_url))
        .header("Cookie", &session.cookie);
    if csrf {
        req = req.header("X-CSRF-Token", &session.csrf);
    }
    let res = req.send().await.expect("request");
    (res.status().as_u16(), res.text().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_login_gives_a_strict_httponly_cookie_and_logout_ends_it() {
    let (_dir, app) = start().await;
    let token = app.supervisor.admin_token().to_string();

    let (status, body) = login(&app, "wrong-token", false).await.err().unwrap();
    assert_eq!(status, 401);
    assert_eq!(body["code"], "invalid_token");

    let session = login(&app, &token, false).await.unwrap();
    let attrs = session.set_cookie.to_lowercase();
    assert!(attrs.contains("httponly"), "{attrs}");
    assert!(attrs.contains("samesite=strict"), "{attrs}");
    assert!(attrs.contains("max-age="), "expiring: {attrs}");
    assert!(!attrs.contains("secure"), "plain HTTP: {attrs}");
    let behind_tls = login(&app, &token, true).await.unwrap();
    assert!(behind_tls.set_cookie.to_lowercase().contains("secure"));

    let (status, body) = send(&app, reqwest::Method::GET, "/api/bots", &session, false).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = send(
        &app,
        reqwest::Method::GET,
        "/console/session",
        &session,
        false,
    )
    .await;
    assert_eq!(status, 200);

    // Logout is state-changing: without the CSRF token it is refused.
    let (status, body) = send(
        &app,
        reqwest::Method::POST,
        "/console/logout",
        &session,
        false,
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let (status, _) = send(
        &app,
        reqwest::Method::POST,
        "/console/logout",
        &session,
        true,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = send(&app, reqwest::Method::GET, "/api/bots", &session, false).await;
    assert_eq!(status, 401, "the session is gone");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_state_changes_need_the_csrf_token_and_bot_tokens_stay_out() {
    let (_dir, app) = start().await;
    let session = login(&app, app.supervisor.admin_token(), false)
        .await
        .unwrap();

    let (status, body) = send(
        &app,
        reqwest::Method::POST,
        "/api/bots/alpha/restart",
        &session,
        false,
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("csrf_rejected"), "{body}");
    assert_eq!(app.admin_get("/api/bots/alpha").await.1["restarts"], 0);
    let (status, body) = send(
        &app,
        reqwest::Method::POST,
        "/api/bots/alpha/restart",
        &session,
        true,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.admin_get("/api/bots/alpha").await.1["restarts"], 1);

    // A session never reads a bot's token, nor reaches runs (scoped tokens).
    let (status, body) = send(
        &app,
        reqwest::Method::GET,
        "/api/bots/beta/token",
        &session,
        false,
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("console_forbidden"), "{body}");
    let (status, _) = send(
        &app,
        reqwest::Method::GET,
        "/console/api/bots/beta/rt/api/v1/runs",
        &session,
        false,
    )
    .await;
    assert_eq!(status, 403);

    // The console reaches the bot's tasks with the bot's token, server side.
    let (status, body) = send(
        &app,
        reqwest::Method::GET,
        "/console/api/bots/beta/rt/api/v1/automation/tasks",
        &session,
        false,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, config) = send(
        &app,
        reqwest::Method::GET,
        "/console/api/bots/beta/config",
        &session,
        false,
    )
    .await;
    assert_eq!(status, 200, "{config}");
    assert!(config.contains("beta"), "{config}");

    // Nothing the browser can receive holds a token.
    let bot_tokens = [app.bot_token("alpha").await, app.bot_token("beta").await];
    for path in [
        "/",
        "/console/assets/app.js",
        "/console/assets/app.css",
        "/api/bots",
        "/api/bots/beta",
        "/console/api/bots/beta/config",
        "/console/api/bots/beta/rt/api/v1/bot",
    ] {
        let (status, body) = send(&app, reqwest::Method::GET, path, &session, false).await;
        assert_eq!(status, 200, "{path}: {body}");
        for token in bot_tokens
            .iter()
            .map(String::as_str)
            .chain([app.supervisor.admin_token()])
        {
            assert!(!body.contains(token), "{path} holds a token");
        }
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_eleventh_failed_login_in_a_minute_is_throttled() {
    let (_dir, app) = start().await;
    for attempt in 1..=10 {
        let (status, _) = login(&app, "guess", false).await.err().unwrap();
        assert_eq!(status, 401, "attempt {attempt}");
    }
    let (status, body) = login(&app, "guess", false).await.err().unwrap();
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["code"], "auth_throttled");
    // While throttled, even the right token is not compared.
    let (status, _) = login(&app, app.supervisor.admin_token(), false)
        .await
        .err()
        .unwrap();
    assert_eq!(status, 429);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_reads_a_bots_conversation_history() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(1), free_ports(1));
    let agent =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/example-agent.sh");
    dir.write_config(&format!(
        "{}[bots.alpha]\n[bots.alpha.agent]\ncommand = [\"sh\", \"{}\"]\n",
        supervisor_toml(admin, base),
        agent.display()
    ));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["alpha"]).await;
    let res = client()
        .post(format!(
            "{}/api/bots/alpha/conversations/oc_hist/messages",
            app.admin_url
        ))
        .bearer_auth(app.supervisor.admin_token())
        .json(&json!({ "text": "hello" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let session = login(&app, app.supervisor.admin_token(), false)
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let body = loop {
        let (status, body) = send(
            &app,
            reqwest::Method::GET,
            "/console/api/bots/alpha/history",
            &session,
            false,
        )
        .await;
        if status == 200 && body.contains("You said: hello") {
            break body;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no exchange in the history: {status} {body}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let history: Value = serde_json::from_str(&body).unwrap();
    let turns = &history[0]["turns"];
    assert_eq!(turns[0]["role"], "user");
    assert_eq!(turns[0]["text"], "hello");
    assert_eq!(turns[1]["role"], "assistant");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_reaches_a_bot_on_a_unix_socket_only() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(1), free_ports(1));
    dir.write_config(&format!(
        "{}[bots.alpha]\nruntime_http_addr = \"off\"\nruntime_http_socket = \"alpha.sock\"\n",
        supervisor_toml(admin, base)
    ));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["alpha"]).await;
    let session = login(&app, app.supervisor.admin_token(), false)
        .await
        .unwrap();
    let (status, body) = send(
        &app,
        reqwest::Method::GET,
        "/console/api/bots/alpha/rt/api/v1/bot",
        &session,
        false,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("alpha"), "{body}");
    app.stop().await;
}

/// A bot's page lists a conversation's goals, past ones too, through the
/// pass-through (`/api/v1/goals`), never with the bot's token in the browser.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_lists_a_conversations_past_goals() {
    let (_dir, app) = start().await;
    let (status, bot) = app.admin_get("/api/bots/alpha/token").await;
    assert_eq!(status, 200, "{bot}");
    let (base, token) = (
        bot["base_url"].as_str().unwrap(),
        bot["token"].as_str().unwrap(),
    );
    let conversation = [
        ("X-Alice-Receive-Id", "oc_goals"),
        ("X-Alice-Receive-Id-Type", "chat_id"),
    ];
    let goal = |method: reqwest::Method, path: &str, body: Option<Value>| {
        let mut req = client()
            .request(method, format!("{base}{path}"))
            .bearer_auth(token);
        for (k, v) in conversation {
            req = req.header(k, v);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        async move { req.send().await.expect("goal request").status().as_u16() }
    };
    let first = json!({"description": "First"});
    assert_eq!(
        goal(reqwest::Method::POST, "/api/v1/goal", Some(first)).await,
        201
    );
    assert_eq!(
        goal(reqwest::Method::POST, "/api/v1/goal/complete", None).await,
        200
    );
    let second = json!({"description": "Second"});
    assert_eq!(
        goal(reqwest::Method::POST, "/api/v1/goal", Some(second)).await,
        201
    );

    let session = login(&app, app.supervisor.admin_token(), false)
        .await
        .unwrap();
    let mut req = client()
        .get(format!(
            "{}/console/api/bots/alpha/rt/api/v1/goals?limit=50",
            app.admin_url
        ))
        .header("Cookie", &session.cookie);
    for (k, v) in conversation {
        req = req.header(k, v);
    }
    let res = req.send().await.expect("goals through the console");
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(!text.contains(token), "no bot token in the answer");
    let goals: Value = serde_json::from_str(&text).unwrap();
    let seen: Vec<(&str, &str)> = goals
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["description"].as_str().unwrap(),
                g["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [("Second", "in_progress"), ("First", "completed")],
        "{goals}"
    );
    app.stop().await;
}
