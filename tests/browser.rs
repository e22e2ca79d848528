//! The admin console in a real browser: headless Chromium driven through
//! WebDriver (chromedriver) against a live supervisor on loopback.
//!
//! Ignored by `cargo test` (each test starts a browser: tens of seconds, and
//! Chromium is not on every machine); `.ci/run` installs Chromium with
//! `scripts/install-browser.sh` and runs `cargo test --test browser --
//! --ignored`. Without chromedriver each test says so and passes.
//! `ALICE_SCREENSHOTS=docs` writes the README's screenshots.

#[path = "integration/common/mod.rs"]
mod common;

use common::{client, free_ports, supervisor_toml, InProcess, TestDir};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(name))
        .find(|p| p.is_file())
}

/// chromedriver, killed when the test ends (Chromium follows it).
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Console {
    app: InProcess,
    browser: Client,
    url: String,
    _driver: Driver,
    _profile: tempfile::TempDir,
    _dir: TestDir,
}

impl Console {
    /// Two bots (`alpha`, `beta`) on the example agent and a browser; `None`
    /// (with the reason printed) where chromedriver is not installed.
    async fn start(test: &str) -> Option<Self> {
        let (Some(driver), Some(chromium)) = (on_path("chromedriver"), on_path("chromium")) else {
            eprintln!(
                "SKIPPED {test}: chromedriver or chromium not found; \
                 install them with scripts/install-browser.sh (Debian: apt-get install chromium chromium-driver)"
            );
            return None;
        };
        let dir = TestDir::new();
        let (base, admin) = (free_ports(2), free_ports(1));
        let agent = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/example-agent.sh");
        let agent = format!("command = [\"sh\", \"{}\"]", agent.display());
        dir.write_config(&format!(
            "{}[bots.alpha]\nname = \"Alpha\"\n[bots.alpha.agent]\n{agent}\n\
             [bots.beta]\nname = \"Beta\"\n[bots.beta.agent]\n{agent}\n",
            supervisor_toml(admin, base)
        ));
        let app = InProcess::start(&dir).await;
        app.wait_running(&["alpha", "beta"]).await;

        let port = free_ports(1);
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let driver = Driver(child);
        common::wait_healthy(&format!("http://127.0.0.1:{port}/status")).await;
        let profile = tempfile::tempdir().expect("profile dir");
        // The flags this machine's closed network needs (no background
        // connections to Google), and root needs (no sandbox).
        let caps = json!({
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=900,640",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        let http = hyper_util::client::legacy::connect::HttpConnector::new();
        let browser = ClientBuilder::new(http)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a Chromium session");
        let url = app.admin_url.clone();
        Some(Self {
            app,
            browser,
            url,
            _driver: driver,
            _profile: profile,
            _dir: dir,
        })
    }

    async fn finish(self) {
        let _ = self.browser.clone().close().await;
        self.app.stop().await;
    }

    async fn open(&self, hash: &str) {
        self.browser
            .goto(&format!("{}/{hash}", self.url))
            .await
            .expect("navigate");
    }

    async fn js(&self, script: &str) -> Value {
        self.browser.execute(script, vec![]).await.expect(script)
    }

    /// Polls `expr` (a JS expression) in the page until it is truthy.
    async fn until(&self, what: &str, expr: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            let value = self
                .browser
                .execute(&format!("return ({expr});"), vec![])
                .await
                .unwrap_or(Value::Null);
            if !matches!(value, Value::Null | Value::Bool(false))
                && value != json!("")
                && value != json!(0)
            {
                return value;
            }
            let error = self
                .js("return document.getElementById('error').textContent")
                .await;
            assert!(
                Instant::now() < deadline,
                "timed out waiting for: {what} (page error: {error})"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn click(&self, css: &str) {
        self.browser
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    async fn type_into(&self, css: &str, text: &str) {
        let field = self
            .browser
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("type");
    }

    async fn login(&self) {
        self.open("").await;
        self.until(
            "the login form",
            "document.querySelector('#token') && !document.querySelector('#login-view').hidden",
        )
        .await;
        self.type_into("#token", self.app.supervisor.admin_token())
            .await;
        self.click("#login-button").await;
        self.until(
            "the bots table",
            "document.querySelector('tr[data-bot=\"alpha\"]')",
        )
        .await;
    }

    async fn cell(&self, bot: &str, class: &str) -> String {
        self.js(&format!(
            "return document.querySelector('tr[data-bot=\"{bot}\"] .{class}').textContent"
        ))
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    async fn uptime(&self, bot: &str) -> Option<u64> {
        self.js(&format!(
            "return document.querySelector('tr[data-bot=\"{bot}\"] .uptime').dataset.secs"
        ))
        .await
        .as_str()
        .and_then(|s| s.parse().ok())
    }

    async fn screenshot(&self, name: &str) {
        let Ok(dir) = std::env::var("ALICE_SCREENSHOTS") else {
            return;
        };
        let png = self.browser.screenshot().await.expect("screenshot");
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(dir);
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        std::fs::write(dir.join(name), png).expect("write screenshot");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts Chromium; run: cargo test --test browser -- --ignored"]
async fn a_wrong_token_is_refused_then_the_bots_table_shows_both_bots_running() {
    let Some(c) = Console::start("wrong token, login, bots table").await else {
        return;
    };
    c.open("").await;
    c.until(
        "the login form",
        "!document.querySelector('#login-view').hidden",
    )
    .await;
    c.type_into("#token", "not-the-token").await;
    c.click("#login-button").await;
    let error = c
        .until(
            "the refusal",
            "document.querySelector('#error').textContent",
        )
        .await;
    assert_eq!(error, "Wrong admin token.");
    assert_eq!(
        c.js("return document.querySelector('#nav').hidden").await,
        true,
        "still logged out"
    );

    c.login().await;
    c.until(
        "both bots running",
        "document.querySelector('tr[data-bot=\"alpha\"] .state').textContent === 'running' && \
         document.querySelector('tr[data-bot=\"beta\"] .state').textContent === 'running'",
    )
    .await;
    assert_eq!(c.cell("alpha", "connector").await, "local");
    // Health is the supervisor's probe (`GET /api/probes`).
    c.until(
        "both bots healthy",
        "document.querySelector('tr[data-bot=\"alpha\"] .health').textContent === 'ok' && \
         document.querySelector('tr[data-bot=\"beta\"] .health').textContent === 'ok'",
    )
    .await;
    c.screenshot("console-bots.png").await;

    // On a phone-sized screen the page does not run off sideways: the
    // table scrolls inside its own box, the buttons stay reachable.
    c.browser.set_window_size(390, 844).await.expect("resize");
    for page in ["#/bots", "#/chat/alpha", "#/bot/alpha", "#/start"] {
        c.open(page).await;
        c.until(
            &format!("{page} fits 390 px"),
            "document.querySelector('#view').childElementCount > 0 && \
             document.documentElement.scrollWidth <= window.innerWidth + 1",
        )
        .await;
    }
    c.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts Chromium; run: cargo test --test browser -- --ignored"]
async fn restart_resets_one_bots_uptime_and_counts_it_the_other_is_untouched() {
    let Some(c) = Console::start("restart from the bots page").await else {
        return;
    };
    c.login().await;
    // Both bots have been up a while, so a reset is visible.
    c.until(
        "uptimes of at least 2 s",
        "Number(document.querySelector('tr[data-bot=\"alpha\"] .uptime').dataset.secs) >= 2 && \
         Number(document.querySelector('tr[data-bot=\"beta\"] .uptime').dataset.secs) >= 2",
    )
    .await;
    let alpha_before = c.uptime("alpha").await.expect("alpha uptime");
    let beta_before = c.uptime("beta").await.expect("beta uptime");
    assert_eq!(c.cell("alpha", "restarts").await, "0");
    c.click("tr[data-bot=\"alpha\"] button[data-action=\"restart\"]")
        .await;
    c.until(
        "alpha restarted once",
        "document.querySelector('tr[data-bot=\"alpha\"] .restarts').textContent === '1'",
    )
    .await;
    c.until(
        "the restart's result shown",
        "document.querySelector('tr[data-bot=\"alpha\"] [data-result]').textContent.includes('running')",
    )
    .await;
    let alpha_after = c.uptime("alpha").await.expect("alpha runs again");
    assert!(
        alpha_after < alpha_before,
        "alpha's uptime reset: {alpha_before} then {alpha_after}"
    );
    assert_eq!(c.cell("beta", "restarts").await, "0");
    let beta_after = c.uptime("beta").await.expect("beta uptime");
    assert!(beta_after >= beta_before, "beta's uptime went on");
    c.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts Chromium; run: cargo test --test browser -- --ignored"]
async fn a_task_created_from_the_form_is_listed_served_and_paused() {
    let Some(c) = Console::start("tasks from the bot page").await else {
        return;
    };
    c.login().await;
    c.open("#/bot/alpha").await;
    c.until("the task form", "document.querySelector('#new-task')")
        .await;
    c.type_into("#new-task [name=title]", "console task").await;
    c.type_into("#new-task [name=scope_id]", "oc_console").await;
    c.type_into("#new-task [name=body]", "Stand-up in five minutes")
        .await;
    c.click("#create-task").await;
    let row = "tr[data-title=\"console task\"]";
    c.until(
        "the task in the list",
        &format!("document.querySelector('{row}')"),
    )
    .await;

    let token = c.app.bot_token("alpha").await;
    let bot = c.app.admin_get("/api/bots/alpha").await.1;
    let tasks_url = format!(
        "http://{}/api/v1/automation/tasks",
        bot["address"].as_str().unwrap()
    );
    let tasks: Value = client()
        .get(&tasks_url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let task = tasks
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["title"] == "console task")
        .expect("the task over the API")
        .clone();
    assert_eq!(task["status"], "active");
    assert_eq!(task["every_seconds"], 3600);

    c.click(&format!("{row} button[data-action=\"paused\"]"))
        .await;
    c.until(
        "the task paused in the list",
        &format!("document.querySelector('{row} .task-status').textContent === 'paused'"),
    )
    .await;
    let id = task["id"].as_str().unwrap();
    let now: Value = client()
        .get(format!("{tasks_url}/{id}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(now["status"], "paused");
    c.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts Chromium; run: cargo test --test browser -- --ignored"]
async fn the_chat_echoes_hello_and_renders_an_image() {
    let Some(c) = Console::start("chat with the example bot").await else {
        return;
    };
    c.login().await;
    c.open("#/chat/alpha").await;
    c.until("the chat", "document.querySelector('#chat-input')")
        .await;
    c.type_into("#chat-input", "hello").await;
    c.click("#chat-send").await;
    c.until(
        "the echo",
        "[...document.querySelectorAll('.msg.out .text')].some(m => m.textContent.includes('You said: hello'))",
    )
    .await;
    c.type_into("#chat-input", "/image").await;
    c.click("#chat-send").await;
    c.until(
        "the picture rendered",
        "[...document.querySelectorAll('.msg.out img.chat-image')].some(i => i.complete && i.naturalWidth > 0)",
    )
    .await;
    c.screenshot("console-chat.png").await;
    c.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts Chromium; run: cargo test --test browser -- --ignored"]
async fn a_run_started_from_the_form_streams_its_output() {
    let Some(c) = Console::start("start a run").await else {
        return;
    };
    c.login().await;
    c.open("#/start").await;
    c.until("the run form", "document.querySelector('#run-prompt')")
        .await;
    c.type_into("#run-prompt", "stream me").await;
    c.click("#start-run-button").await;
    c.until(
        "the output over SSE",
        "document.querySelector('#run-output') && document.querySelector('#run-output').textContent.includes('You said: stream me')",
    )
    .await;
    c.until(
        "the run's end",
        "document.querySelector('#run-status').textContent.startsWith('succeeded')",
    )
    .await;
    c.open("#/runs").await;
    c.until("the run listed", "document.querySelector('#runs-body tr')")
        .await;
    c.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts Chromium; run: cargo test --test browser -- --ignored"]
async fn csrf_is_required_the_cookie_is_httponly_and_no_token_reaches_the_browser() {
    let Some(c) = Console::start("CSRF, cookie, tokens").await else {
        return;
    };
    c.login().await;
    c.js("performance.setResourceTimingBufferSize(100000); return true")
        .await;

    // The cookie is HttpOnly: the page's script cannot read it.
    let cookies = c.browser.get_all_cookies().await.expect("cookies");
    let session = cookies
        .iter()
        .find(|k| k.name() == "alice_session")
        .expect("the session cookie");
    assert_eq!(session.http_only(), Some(true));
    assert_eq!(
        session.same_site().map(|s| s.to_string()).as_deref(),
        Some("Strict")
    );
    assert_eq!(
        c.js("return document.cookie.includes('alice_session')")
            .await,
        false
    );

    // A POST without the CSRF token is refused, even from the page itself.
    let status = c
        .js("return fetch('/api/bots/beta/stop', {method: 'POST', credentials: 'same-origin'}).then(r => r.status)")
        .await;
    assert_eq!(status, 403);
    // A cross-site form (another origin) carries no cookie at all.
    let form = format!(
        "data:text/html,<form method=post action='{}/api/bots/beta/stop'></form>\
         <script>document.forms[0].submit()</script>",
        c.url
    );
    c.browser.goto(&form).await.expect("cross-site page");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        c.app.admin_get("/api/bots/beta").await.1["state"],
        "running",
        "beta was not stopped"
    );

    // Visit every page, then fetch again all the browser received.
    c.open("").await;
    c.until(
        "the bots table",
        "document.querySelector('tr[data-bot=\"alpha\"]')",
    )
    .await;
    c.js("performance.setResourceTimingBufferSize(100000); return true")
        .await;
    for page in ["#/bot/alpha", "#/chat/alpha", "#/runs", "#/start", "#/bots"] {
        c.open(page).await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    let received = c
        .js("const urls = [location.href.split('#')[0], ...performance.getEntriesByType('resource').map(e => e.name)];\
             return Promise.all([...new Set(urls)].filter(u => !u.endsWith('/events'))\
               .map(u => fetch(u, {credentials: 'same-origin'}).then(r => r.text())))\
               .then(ts => document.documentElement.outerHTML + ts.join('\\n'));")
        .await;
    let received = received.as_str().expect("text");
    assert!(received.contains("Alpha"), "the pages were fetched");
    for id in ["alpha", "beta"] {
        let token = c.app.bot_token(id).await;
        assert!(
            !received.contains(&token),
            "{id}'s token reached the browser"
        );
    }
    assert!(!received.contains(c.app.supervisor.admin_token()));
    c.finish().await;
}
