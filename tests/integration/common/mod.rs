//! Shared test helpers: temporary config folders, free loopback ports, the
//! real `alice` binary as a child process, and an in-process supervisor.
#![allow(dead_code)]

pub mod fake_feishu;
pub mod fake_feishu_ws;
pub mod fake_onebot;
pub mod fake_telegram;
pub mod feishu_harness;

use alice::supervisor::{AdminServer, Supervisor};
use serde_json::Value;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

/// Hands out blocks of consecutive free ports; blocks never overlap within
/// one test binary, and the start differs between binaries.
pub fn free_ports(n: u16) -> u16 {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let _ = NEXT.compare_exchange(
        0,
        // Below Linux's ephemeral range (32768+), where outgoing connections
        // take their local ports.
        20000 + (std::process::id() % 110) as u16 * 100,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    loop {
        let base = NEXT.fetch_add(n + 1, Ordering::SeqCst);
        if (0..n).all(|i| TcpListener::bind(("127.0.0.1", base + i)).is_ok()) {
            return base;
        }
    }
}

pub struct TestDir {
    pub dir: tempfile::TempDir,
}

impl TestDir {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("bots.toml")
    }

    pub fn write_config(&self, text: &str) -> PathBuf {
        let path = self.config_path();
        std::fs::write(&path, text).expect("write config");
        path
    }

    pub fn load(&self) -> alice::config::Config {
        alice::config::load(&self.config_path()).expect("valid test config")
    }
}

/// A `[supervisor]` table on the given ports.
pub fn supervisor_toml(admin_port: u16, base_port: u16) -> String {
    format!(
        "[supervisor]\ndata_dir = \"data\"\nadmin_addr = \"127.0.0.1:{admin_port}\"\nbase_port = {base_port}\n\n"
    )
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// A GET's JSON body (no token).
pub async fn get_json(url: &str) -> Value {
    client()
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Polls `url` until it answers 200 or the deadline passes.
pub async fn wait_healthy(url: &str) {
    let client = client();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(res) = client.get(url).send().await {
            if res.status() == 200 {
                return;
            }
        }
        assert!(Instant::now() < deadline, "{url} never became healthy");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls until `check` holds or the deadline passes.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The supervisor and its admin API in this process.
pub struct InProcess {
    pub supervisor: Supervisor,
    pub admin: Option<AdminServer>,
    pub admin_url: String,
}

impl InProcess {
    pub async fn start(dir: &TestDir) -> Self {
        let config = dir.load();
        let addr = config.supervisor.admin_addr;
        let bin = std::path::PathBuf::from(env!("CARGO_BIN_EXE_alice"));
        let supervisor = Supervisor::start_with_bin(config, bin)
            .await
            .expect("supervisor starts");
        let admin =
            AdminServer::start(supervisor.clone(), addr, 10_000, 30).expect("admin API starts");
        let admin_url = format!("http://{}", admin.addr());
        Self {
            supervisor,
            admin: Some(admin),
            admin_url,
        }
    }

    pub async fn admin_get(&self, path: &str) -> (u16, Value) {
        let res = client()
            .get(format!("{}{path}", self.admin_url))
            .bearer_auth(self.supervisor.admin_token())
            .send()
            .await
            .expect("admin request");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub async fn admin_post(&self, path: &str) -> (u16, Value) {
        let res = client()
            .post(format!("{}{path}", self.admin_url))
            .bearer_auth(self.supervisor.admin_token())
            .send()
            .await
            .expect("admin request");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// The main token of a running bot, through the admin API.
    /// Says `body` (`{"text": …}`) in a local bot's conversation through the
    /// admin API; the new message's id.
    pub async fn say(&self, bot: &str, conversation: &str, body: Value) -> String {
        let res = client()
            .post(format!(
                "{}/api/bots/{bot}/conversations/{conversation}/messages",
                self.admin_url
            ))
            .bearer_auth(self.supervisor.admin_token())
            .json(&body)
            .send()
            .await
            .expect("say");
        assert_eq!(res.status(), 202);
        res.json::<Value>().await.expect("JSON")["message_id"]
            .as_str()
            .expect("message_id")
            .to_string()
    }

    pub async fn bot_token(&self, id: &str) -> String {
        let (status, body) = self.admin_get(&format!("/api/bots/{id}/token")).await;
        assert_eq!(status, 200, "token of {id}: {body}");
        body["token"].as_str().expect("token").to_string()
    }

    /// Waits until every enabled bot runs.
    pub async fn wait_running(&self, ids: &[&str]) {
        for id in ids {
            let path = format!("/api/bots/{id}");
            eventually(&format!("bot {id} running"), || async {
                self.admin_get(&path).await.1["state"] == "running"
            })
            .await;
        }
    }

    pub async fn stop(mut self) {
        if let Some(admin) = self.admin.take() {
            admin.stop().await;
        }
        self.supervisor.shutdown().await;
    }
}

/// `alice` as a child process, with no ALICE_* variables from the caller.
pub fn alice_command(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_alice"));
    cmd.args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("ALICE_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// Starts `alice serve --config <path>` with stderr captured to a file.
pub fn spawn_serve(config: &Path, extra: &[&str]) -> Child {
    let log = std::fs::File::create(config.with_file_name("serve.log")).expect("log file");
    let mut args = vec!["serve", "--config", config.to_str().expect("utf-8 path")];
    args.extend_from_slice(extra);
    alice_command(&args)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn alice serve")
}

/// The shipped `bots.toml` on test ports and a temporary data folder:
/// `alice serve` started on it (stderr in `dir/serve.log`), and the
/// `ALICE_*` overrides a CLI client of it needs too.
pub struct Shipped {
    pub config: PathBuf,
    pub env: [(&'static str, String); 3],
    pub serve: Child,
}

impl Shipped {
    pub fn start(dir: &TestDir, admin: u16, base: u16) -> Self {
        let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bots.toml");
        let env = [
            (
                "ALICE_SUPERVISOR__DATA_DIR",
                dir.path().join("data").display().to_string(),
            ),
            ("ALICE_SUPERVISOR__ADMIN_ADDR", format!("127.0.0.1:{admin}")),
            ("ALICE_SUPERVISOR__BASE_PORT", base.to_string()),
        ];
        let log = std::fs::File::create(dir.path().join("serve.log")).expect("log file");
        let serve = alice_command(&["serve", "--config", config.to_str().expect("utf-8 path")])
            .envs(env.clone())
            .stderr(log)
            .spawn()
            .expect("spawn alice serve");
        Self { config, env, serve }
    }
}

/// `alice chat <args…>` with `input` on its stdin; its output once it exits.
pub async fn run_chat(args: &[&str], env: &[(&str, String)], input: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut argv = vec!["chat"];
    argv.extend_from_slice(args);
    let mut chat = alice_command(&argv)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn alice chat");
    chat.stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write to alice chat");
    tokio::task::spawn_blocking(move || chat.wait_with_output())
        .await
        .expect("join")
        .expect("alice chat output")
}

pub fn send_signal(child: &Child, signal: i32) {
    let rc = unsafe { libc::kill(child.id() as i32, signal) };
    assert_eq!(rc, 0, "kill failed");
}

/// SIGTERM, then the clean exit (0) within 20 s.
pub fn terminate(child: &mut Child) {
    send_signal(child, libc::SIGTERM);
    assert_eq!(wait_exit(child, 20).code(), Some(0));
}

/// Waits for the child to exit, killing it after `secs`.
pub fn wait_exit(child: &mut Child, secs: u64) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("alice did not exit within {secs} s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
