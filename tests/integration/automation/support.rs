//! Helpers of the automation tests: configs, a bot's API, the local
//! connector's messages, `alice serve` as a child.

use crate::common::*;
use chrono::{DateTime, Duration as Span, Utc};
use serde_json::Value;
use std::path::Path;

pub const TASKS: &str = "/api/v1/automation/tasks";
pub const AGENT: &str = r#"command = ["sh", "-c", 'p=$(cat); printf "answer to %s for %s:%s" "$p" "$ALICE_RECEIVE_ID_TYPE" "$ALICE_RECEIVE_ID"']"#;

/// A `[bots.<id>]` table with `extra` keys (and sub-tables) and no rate
/// limit to speak of.
pub fn bot_toml(id: &str, extra: &str) -> String {
    format!("[bots.{id}]\n{extra}\n[bots.{id}.limits]\nrequests_per_minute = 1000000\n")
}

pub fn config(admin: u16, base: u16, bots: &[(&str, &str)]) -> String {
    let mut text = supervisor_toml(admin, base);
    for (id, extra) in bots {
        text.push_str(&bot_toml(id, extra));
    }
    text
}

/// RFC 3339, `secs` from now.
pub fn in_secs(secs: i64) -> String {
    (Utc::now() + Span::seconds(secs)).to_rfc3339()
}

pub fn time(v: &Value) -> DateTime<Utc> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .unwrap_or_else(|| panic!("not an RFC 3339 time: {v}"))
        .with_timezone(&Utc)
}

/// A bot's Runtime API with its token.
pub struct Api {
    pub url: String,
    pub token: String,
}

impl Api {
    pub async fn of(app: &InProcess, id: &str, port: u16) -> Self {
        Self {
            url: format!("http://127.0.0.1:{port}"),
            token: app.bot_token(id).await,
        }
    }

    pub async fn send(
        &self,
        req: reqwest::RequestBuilder,
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let res = req.bearer_auth(&self.token).send().await.expect("request");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::Null),
            headers,
        )
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let (s, v, _) = self.send(client().get(format!("{}{path}", self.url))).await;
        (s, v)
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let (s, v, _) = self
            .send(client().post(format!("{}{path}", self.url)).json(body))
            .await;
        (s, v)
    }

    pub async fn patch(&self, path: &str, body: &Value) -> (u16, Value) {
        let (s, v, _) = self
            .send(client().patch(format!("{}{path}", self.url)).json(body))
            .await;
        (s, v)
    }

    pub async fn delete(&self, path: &str) -> u16 {
        self.send(client().delete(format!("{}{path}", self.url)))
            .await
            .0
    }

    /// Creates a task, expecting 201.
    pub async fn create(&self, body: Value) -> Value {
        let (status, task) = self.post(TASKS, &body).await;
        assert_eq!(status, 201, "{body} → {task}");
        task
    }

    pub async fn task(&self, id: &str) -> Value {
        let (status, task) = self.get(&format!("{TASKS}/{id}")).await;
        assert_eq!(status, 200, "{task}");
        task
    }

    /// The ids of one page, and `X-Total-Count`.
    pub async fn page(&self, query: &str) -> (Vec<String>, usize) {
        let (status, body, headers) = self
            .send(client().get(format!("{}{TASKS}{query}", self.url)))
            .await;
        assert_eq!(status, 200, "{query}: {body}");
        let total = headers["x-total-count"].to_str().unwrap().parse().unwrap();
        let ids = body
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_string())
            .collect();
        (ids, total)
    }

    /// Polls until the task has the status.
    pub async fn wait_status(&self, id: &str, status: &str) -> Value {
        eventually(&format!("{id} {status}"), || async {
            self.task(id).await["status"] == status
        })
        .await;
        self.task(id).await
    }
}

/// The local connector's messages in one conversation, via the admin API.
pub async fn messages(
    admin_url: &str,
    admin_token: &str,
    bot: &str,
    receive_id: &str,
) -> Vec<Value> {
    let res = client()
        .get(format!(
            "{admin_url}/api/bots/{bot}/conversations/{receive_id}/messages"
        ))
        .bearer_auth(admin_token)
        .send()
        .await
        .expect("admin request");
    assert_eq!(res.status(), 200);
    res.json::<Vec<Value>>().await.unwrap()
}

pub async fn app_messages(app: &InProcess, bot: &str, receive_id: &str) -> Vec<Value> {
    messages(
        &app.admin_url,
        app.supervisor.admin_token(),
        bot,
        receive_id,
    )
    .await
}

/// `alice serve` as a child with fixed tokens, so a restart keeps them.
pub struct Served {
    child: std::process::Child,
    pub api: Api,
    admin_url: String,
}

pub const ADMIN_TOKEN: &str = "admin-secret";

pub fn served_config(admin: u16, base: u16) -> String {
    let sup = supervisor_toml(admin, base).replace(
        "base_port",
        &format!("admin_token = \"{ADMIN_TOKEN}\"\nbase_port"),
    );
    format!(
        "{sup}{}",
        bot_toml("alpha", "runtime_http_token = \"alpha-secret\"")
    )
}

impl Served {
    pub async fn start(config: &Path, admin: u16, base: u16) -> Self {
        let child = spawn_serve(config, &[]);
        let url = format!("http://127.0.0.1:{base}");
        wait_healthy(&format!("{url}/healthz")).await;
        Self {
            child,
            api: Api {
                url,
                token: "alpha-secret".into(),
            },
            admin_url: format!("http://127.0.0.1:{admin}"),
        }
    }

    pub fn kill_9(mut self) {
        send_signal(&self.child, libc::SIGKILL);
        wait_exit(&mut self.child, 10);
    }

    pub async fn messages(&self, receive_id: &str) -> Vec<Value> {
        messages(&self.admin_url, ADMIN_TOKEN, "alpha", receive_id).await
    }
}

/// A bot whose tasks may repeat every second.
pub fn fast_bot(extra: &str) -> String {
    format!("{extra}\n[bots.alpha.automation]\nmin_every_seconds = 1\n")
}

pub async fn start(extra: &str) -> (TestDir, InProcess, Api) {
    start_with(&fast_bot(extra)).await
}

/// A bot with the default floor of `every_seconds`.
pub async fn start_with(bot: &str) -> (TestDir, InProcess, Api) {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(1), free_ports(1));
    dir.write_config(&config(admin, base, &[("alpha", bot)]));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["alpha"]).await;
    let api = Api::of(&app, "alpha", base).await;
    (dir, app, api)
}

pub fn id(task: &Value) -> &str {
    task["id"].as_str().unwrap()
}

pub async fn runs(api: &Api, task: &Value) -> Vec<Value> {
    let (status, runs) = api.get(&format!("{TASKS}/{}/runs", id(task))).await;
    assert_eq!(status, 200, "{runs}");
    runs.as_array().unwrap().clone()
}
