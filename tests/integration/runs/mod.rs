//! Goals, agent runs (the headless webhook), events, skills and the
//! `alice runtime` / `alice run` CLI, driven over HTTP on loopback with real
//! agent scripts from `tests/agents/`.

mod alice_forms;
mod contract;
mod dropin;
mod events;
mod goal_engine;
mod goals;
mod lifecycle;
mod modes;
mod skills;

use crate::common::*;
use serde_json::Value;
use std::path::PathBuf;

/// The absolute path of a test agent script.
pub fn agent(name: &str) -> String {
    format!("{}/tests/agents/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// One bot: id, agent script, extra bot keys, extra `[agent]` keys.
pub struct BotSpec<'a> {
    pub id: &'a str,
    pub agent: &'a str,
    pub extra: &'a str,
    pub agent_extra: &'a str,
}

impl<'a> BotSpec<'a> {
    pub fn new(id: &'a str, agent: &'a str) -> Self {
        Self {
            id,
            agent,
            extra: "",
            agent_extra: "",
        }
    }
}

/// A supervisor in this process with some bots, all running.
pub struct Harness {
    pub dir: TestDir,
    pub app: InProcess,
    pub base: u16,
    pub ids: Vec<String>,
}

impl Harness {
    pub async fn start(bots: &[BotSpec<'_>], supervisor_extra: &str) -> Self {
        let dir = TestDir::new();
        let base = free_ports(bots.len() as u16);
        let admin = free_ports(1);
        let mut text = format!("{}{supervisor_extra}\n", supervisor_toml(admin, base));
        for bot in bots {
            text.push_str(&format!(
                "[bots.{id}]\n{extra}\n[bots.{id}.agent]\ncommand = [\"sh\", \"{script}\"]\n{agent_extra}\n",
                id = bot.id,
                extra = bot.extra,
                script = agent(bot.agent),
                agent_extra = bot.agent_extra,
            ));
        }
        dir.write_config(&text);
        let app = InProcess::start(&dir).await;
        let ids: Vec<String> = bots.iter().map(|b| b.id.to_string()).collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        app.wait_running(&refs).await;
        Self {
            dir,
            app,
            base,
            ids,
        }
    }

    /// The Runtime API base URL of bot `id`.
    pub fn url(&self, id: &str) -> String {
        let index = self.ids.iter().position(|i| i == id).expect("known bot");
        format!("http://127.0.0.1:{}", self.base + index as u16)
    }

    pub fn workspace(&self, id: &str) -> PathBuf {
        self.dir.path().join("data").join(id).join("workspace")
    }

    /// Lets every gate agent of bot `id` finish.
    pub fn open_gate(&self, id: &str) {
        std::fs::write(self.workspace(id).join("go"), "").expect("write go");
    }

    pub async fn token(&self, id: &str) -> String {
        self.app.bot_token(id).await
    }

    /// `POST /api/workspaces/{bot}/headless`.
    pub async fn headless(&self, bot: &str, body: Value) -> (u16, Value) {
        self.admin_send(
            reqwest::Method::POST,
            &format!("/api/workspaces/{bot}/headless"),
            Some(body),
        )
        .await
    }

    pub async fn admin_send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = client()
            .request(method, format!("{}{path}", self.app.admin_url))
            .bearer_auth(self.app.supervisor.admin_token());
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.expect("admin request");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// Polls the run record until it is no longer running.
    pub async fn finished(&self, task: &str) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let (status, body) = self.app.admin_get(&format!("/api/headless/{task}")).await;
            assert_eq!(status, 200, "{body}");
            if body["status"] != "running" {
                return body;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "run {task} never finished"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Waits until the gate agent of run `task` left its token.
    pub async fn run_token(&self, bot: &str, task: &str) -> String {
        let file = self.workspace(bot).join(format!("token-{task}"));
        eventually("the agent wrote its token", || async { file.exists() }).await;
        let mut token = String::new();
        eventually("the token file is complete", || {
            token = std::fs::read_to_string(&file).unwrap_or_default();
            let done = token.ends_with('\n');
            async move { done }
        })
        .await;
        token.trim().to_string()
    }

    pub async fn stop(self) {
        self.app.stop().await;
    }
}

/// A request to a bot with a token and optional scope headers.
pub async fn bot_call(
    method: reqwest::Method,
    url: &str,
    token: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = client().request(method, url).bearer_auth(token);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.expect("bot request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}
