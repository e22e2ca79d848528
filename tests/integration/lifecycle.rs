//! The real `alice` binary: bad configs, signals, restarts, CLI output, logs.

use crate::common::*;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;

fn serve_exit(config_text: &str) -> (Option<i32>, String) {
    let dir = TestDir::new();
    let path = dir.write_config(config_text);
    let out = alice_command(&["serve", "--config", path.to_str().unwrap()])
        .output()
        .expect("run alice");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn each_bad_config_is_one_clear_line_and_exit_2() {
    let cases = [
        ("[bots.alpha\nname = 1", "TOML syntax"),
        ("[bots.alpha]\nworkers = \"many\"", "bots.alpha.workers"),
        ("[bots.alpha.connector]\nkind = \"irc\"", "bots.alpha.connector.kind"),
        ("[bots.\"Alpha Bot\"]\n", "bots.Alpha Bot"),
        (
            "[bots.a]\nruntime_http_addr = \"127.0.0.1:7400\"\n[bots.b]\nruntime_http_addr = \"127.0.0.1:7400\"",
            "bots.b.runtime_http_addr",
        ),
        ("[bots.a]\nruntime_http_addr = \"0.0.0.0:7400\"", "bots.a.runtime_http_addr"),
        ("[bots.a]\ntimezone = \"Mars/Olympus\"", "bots.a.timezone"),
        ("[bots.a]\nruntime_http_tokn = \"x\"", "runtime_http_tokn"),
        ("[supervisor]\nadmin_addr = \"not an address\"", "supervisor.admin_addr"),
        ("[supervisor]\nevents_addr = \"0.0.0.0:8443\"", "supervisor.events_addr"),
        (
            "[supervisor]\nadmin_addr = \"127.0.0.1:7500\"\nevents_addr = \"127.0.0.1:7500\"",
            "supervisor.events_addr",
        ),
        ("[bots.a.connector]\nkind = \"feishu\"", "bots.a.connector.app_id"),
        // The TCP port off needs a socket; `off` is the only word taken.
        ("[bots.a]\nruntime_http_addr = \"off\"", "bots.a.runtime_http_addr"),
        ("[bots.a]\nruntime_http_addr = \"of\"", "bots.a.runtime_http_addr"),
        (
            "[bots.a]\nruntime_http_socket = \"/tmp/a.sock\"\n[bots.b]\nruntime_http_socket = \"/tmp/a.sock\"",
            "bots.b.runtime_http_socket",
        ),
        (
            "[bots.a]\nruntime_http_socket = \"/tmp/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock\"",
            "bots.a.runtime_http_socket",
        ),
    ];
    for (text, key) in cases {
        let (code, stderr) = serve_exit(text);
        assert_eq!(code, Some(2), "config {text:?} gave {stderr}");
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "one line for {text:?}: {stderr}");
        assert!(lines[0].contains("bots.toml"), "names the file: {stderr}");
        assert!(lines[0].contains(key), "names `{key}`: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // Non-loopback is fine once allowed.
    let (code, stderr) = serve_exit(
        "[supervisor]\nadmin_addr = \"127.0.0.1:1\"\n[bots.a]\nruntime_http_addr = \"0.0.0.0:1\"\nallow_non_loopback = true\ntimezone = \"Mars\"",
    );
    assert_eq!(code, Some(2));
    assert!(stderr.contains("bots.a.timezone"), "{stderr}");
}

/// The zone is parsed once, by the loader: a known name is a `Tz`, an
/// unknown one the same readable error as ever.
#[test]
fn the_timezone_is_parsed_once_by_the_loader() {
    let dir = TestDir::new();
    dir.write_config("[bots.a]\ntimezone = \"Asia/Shanghai\"\n[bots.b]\n");
    let config = dir.load();
    assert_eq!(config.bot("a").unwrap().timezone, chrono_tz::Asia::Shanghai);
    assert_eq!(config.bot("b").unwrap().timezone, chrono_tz::UTC);

    let (code, stderr) = serve_exit("[bots.a]\ntimezone = \"Mars/Olympus\"");
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains(
            "key `bots.a.timezone`: unknown timezone `Mars/Olympus` (use an IANA name such as Europe/Berlin)"
        ),
        "{stderr}"
    );
}

#[test]
fn a_missing_config_file_is_a_clear_error() {
    let out = alice_command(&["serve", "--config", "/nonexistent/bots.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/nonexistent/bots.toml"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_tokens_survive_a_restart_and_the_admin_token_is_private() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(2), free_ports(1));
    let path = dir.write_config(&format!(
        "{}[bots.alpha]\n[bots.beta]\n",
        supervisor_toml(admin, base)
    ));
    let config = path.to_str().unwrap();
    let mut tokens = Vec::new();
    for round in 0..2 {
        let mut child = spawn_serve(&path, &[]);
        wait_healthy(&format!("http://127.0.0.1:{base}/healthz")).await;
        wait_healthy(&format!("http://127.0.0.1:{admin}/healthz")).await;
        let out = alice_command(&["bots", "--config", config, "token", "alpha"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "round {round}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
        assert_eq!(token.len(), 43, "32 bytes, URL-safe base64: {token}");
        let res = client()
            .get(format!("http://127.0.0.1:{base}/api/v1/bot"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        tokens.push(token);
        terminate(&mut child);
    }
    assert_eq!(tokens[0], tokens[1]);
    let mode = std::fs::metadata(dir.path().join("data/admin.token"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let log = std::fs::read_to_string(dir.path().join("serve.log")).unwrap();
    assert!(!log.contains(&tokens[0]), "a token reached the log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_prints_tables_json_and_clear_failures() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(2), free_ports(1));
    let path = dir.write_config(&format!(
        "{}[bots.alpha]\nname = \"Alpha\"\n[bots.beta]\nenabled = false\n",
        supervisor_toml(admin, base)
    ));
    let config = path.to_str().unwrap();
    let mut child = spawn_serve(&path, &["--log-format", "json"]);
    wait_healthy(&format!("http://127.0.0.1:{base}/healthz")).await;
    wait_healthy(&format!("http://127.0.0.1:{admin}/healthz")).await;

    let run = |args: &[&str]| {
        let mut all = vec!["bots", "--config", config];
        all.extend_from_slice(args);
        alice_command(&all).output().unwrap()
    };
    let out = run(&["list"]);
    assert!(out.status.success());
    let table = String::from_utf8(out.stdout).unwrap();
    let row = |id: &str| -> Vec<String> {
        let line = table
            .lines()
            .find(|l| l.contains(&format!(" {id} ")))
            .unwrap_or("");
        line.split_whitespace().map(str::to_string).collect()
    };
    // │ ID NAME STATE HEALTH …
    assert_eq!(row("alpha")[4], "ok", "alpha is healthy:\n{table}");
    assert_eq!(row("beta")[4], "stopped", "{table}");
    for needle in [
        "ID",
        "STATE",
        "HEALTH",
        "alpha",
        "running",
        "beta",
        "stopped",
        &format!("127.0.0.1:{base}"),
    ] {
        assert!(table.contains(needle), "table lacks {needle}:\n{table}");
    }
    let out = run(&["list", "--json"]);
    let json: Value = serde_json::from_slice(&out.stdout).expect("--json is JSON");
    assert_eq!(json[0]["id"], "alpha");
    assert_eq!(json[1]["state"], "stopped");
    assert_eq!(json[0]["health"], "ok", "{json}");
    assert_eq!(json[1]["health"], "stopped", "{json}");

    let out = run(&["status", "nobody"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no bot `nobody`"), "{stderr}");

    let out = run(&["start", "beta"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_healthy(&format!("http://127.0.0.1:{}/healthz", base + 1)).await;
    let out = run(&["reload"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("unchanged"));

    send_signal(&child, libc::SIGINT);
    assert_eq!(wait_exit(&mut child, 20).code(), Some(0));

    // The supervisor is gone: one clear line, non-zero.
    let out = run(&["list"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot reach the supervisor"), "{stderr}");

    // JSON logs: one object per line, a request line with bot and status.
    let log = std::fs::read_to_string(dir.path().join("serve.log")).unwrap();
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    assert!(lines.iter().any(|l| l["message"] == "request"
        && l["bot"] == "supervisor"
        && l["status"] == 200
        && l["request_id"].is_string()
        && l["route"] == "/api/bots"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_config() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(2), free_ports(1));
    let sup = supervisor_toml(admin, base);
    let path = dir.write_config(&format!("{sup}[bots.alpha]\n"));
    let mut child = spawn_serve(&path, &[]);
    wait_healthy(&format!("http://127.0.0.1:{base}/healthz")).await;
    dir.write_config(&format!("{sup}[bots.alpha]\n[bots.beta]\n"));
    send_signal(&child, libc::SIGHUP);
    wait_healthy(&format!("http://127.0.0.1:{}/healthz", base + 1)).await;
    terminate(&mut child);
}

/// SIGTERM while a request is in flight: new connections are refused, the
/// request still finishes (201), and alice exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_an_in_flight_request_finish_and_exits_0() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = TestDir::new();
    let (base, admin) = (free_ports(1), free_ports(1));
    let path = dir.write_config(&format!(
        "{}[bots.alpha]\nruntime_http_token = \"slow-test-token\"\nruntime_api_shutdown_timeout_secs = 10\n",
        supervisor_toml(admin, base)
    ));
    let mut child = spawn_serve(&path, &[]);
    wait_healthy(&format!("http://127.0.0.1:{base}/healthz")).await;

    // A slow client: headers and half the body now, the rest after SIGTERM.
    let body = br#"{"description": "finish what you started"}"#;
    let (first, rest) = body.split_at(body.len() / 2);
    let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", base))
        .await
        .unwrap();
    let head = format!(
        "POST /api/v1/goal HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer slow-test-token\r\nX-Alice-Session-Key: chat_id:oc_slow|scene:chat\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(first).await.unwrap();
    conn.flush().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    send_signal(&child, libc::SIGTERM);
    eventually("new connections refused", || async {
        client()
            .get(format!("http://127.0.0.1:{base}/healthz"))
            .send()
            .await
            .is_err()
    })
    .await;
    assert!(
        child.try_wait().unwrap().is_none(),
        "alice exited with a request in flight"
    );

    conn.write_all(rest).await.unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    assert!(answer.contains("finish what you started"), "{answer}");
    assert_eq!(wait_exit(&mut child, 20).code(), Some(0));
}

/// Tokens from the file and from `ALICE_*` environment overrides (`__`
/// between keys) are the ones the bots accept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_tokens_and_environment_overrides() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(2), free_ports(1));
    let path = dir.write_config(&format!(
        "{}[bots.alpha]\nruntime_http_token = \"from-file\"\n[bots.beta]\n",
        supervisor_toml(admin, base)
    ));
    let mut child = alice_command(&["serve", "--config", path.to_str().unwrap()])
        .env("ALICE_BOTS__BETA__RUNTIME_HTTP_TOKEN", "from-env")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Bots start independently: wait for each.
    wait_healthy(&format!("http://127.0.0.1:{base}/healthz")).await;
    wait_healthy(&format!("http://127.0.0.1:{}/healthz", base + 1)).await;
    for (port, token) in [(base, "from-file"), (base + 1, "from-env")] {
        let res = client()
            .get(format!("http://127.0.0.1:{port}/api/v1/bot"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{token}");
    }
    terminate(&mut child);
}

/// A second alice on the same data folder fails at once with one clear
/// line; the first keeps running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_alice_on_the_same_data_dir_is_refused_clearly() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(1), free_ports(1));
    let path = dir.write_config(&format!("{}[bots.alpha]\n", supervisor_toml(admin, base)));
    let mut first = spawn_serve(&path, &[]);
    wait_healthy(&format!("http://127.0.0.1:{base}/healthz")).await;
    let out = alice_command(&["serve", "--config", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("alice:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains("in use by another alice process"),
        "{stderr}"
    );
    wait_healthy(&format!("http://127.0.0.1:{base}/healthz")).await;
    terminate(&mut first);
}

/// A data folder written by a newer alice is refused at start with one
/// clear line, and left untouched; an older one (no version) is brought up
/// to date and keeps its data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_storage_schema_is_a_clear_startup_error() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(1), free_ports(1));
    let path = dir.write_config(&format!("{}[bots.alpha]\n", supervisor_toml(admin, base)));
    let db_path = dir.path().join("data/db");
    let set_version = |version: Option<&str>| {
        let db = sled::open(&db_path).expect("open the test db");
        match version {
            Some(v) => db.insert("alice:schema_version", v.as_bytes()).map(|_| ()),
            None => db.remove("alice:schema_version").map(|_| ()),
        }
        .expect("write");
        // A pre-registry bot kept its skill bookkeeping in `meta`.
        db.open_tree("alpha/meta")
            .unwrap()
            .insert("bundled:/x/SKILL.md", "\"old\"")
            .unwrap();
        db.flush().expect("flush");
    };

    set_version(Some("99"));
    let out = alice_command(&["serve", "--config", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("alice:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains("newer alice") && errors[0].contains("schema 99"),
        "{stderr}"
    );
    let db = sled::open(&db_path).unwrap();
    assert_eq!(db.get("alice:schema_version").unwrap().unwrap(), b"99"[..]);
    drop(db);

    // No version: migrated, then served.
    set_version(None);
    let mut child = spawn_serve(&path, &[]);
    wait_healthy(&format!("http://127.0.0.1:{base}/healthz")).await;
    terminate(&mut child);
    let db = sled::open(&db_path).unwrap();
    let version = db.get("alice:schema_version").unwrap().unwrap();
    assert_eq!(version, alice::store::SCHEMA_VERSION.to_string().as_bytes());
    let meta = db.open_tree("alpha/meta").unwrap();
    assert!(meta.get("bundled:/x/SKILL.md").unwrap().is_none());
    assert!(meta.get("runtime_http_token").unwrap().is_some());
    let files = db.open_tree("alpha/skill_files").unwrap();
    assert_eq!(
        files.get("bundled:/x/SKILL.md").unwrap().unwrap(),
        b"\"old\""[..]
    );
}

/// Kills the `alice` child if the test fails before it exits.
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// SIGTERM with runs in flight (one from the admin API, one from the bot's
/// own route): alice records them `cancelled` "the bot stopped" before it
/// exits, so the next start finds them final (not `failed` by recovery).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_records_runs_in_flight_as_cancelled_by_the_stop() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(1), free_ports(1));
    let path = dir.write_config(&format!(
        "{}admin_token = \"admin-sigterm\"\n[bots.b]\nruntime_http_token = \"bot-sigterm\"\n[bots.b.agent]\ncommand = [\"sh\", \"-c\", \"sleep 30; echo ok\"]\n",
        supervisor_toml(admin, base)
    ));
    let post = |url: String, token: &'static str| async move {
        let res = client()
            .post(url)
            .bearer_auth(token)
            .json(&serde_json::json!({"prompt": "hold"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 202);
        let body: Value = res.json().await.unwrap();
        body["taskId"].as_str().unwrap().to_string()
    };
    let admin_url = format!("http://127.0.0.1:{admin}");
    let mut child = Reaped(spawn_serve(&path, &[]));
    wait_healthy(&format!("http://127.0.0.1:{base}/healthz")).await;
    wait_healthy(&format!("{admin_url}/healthz")).await;
    let tasks = [
        post(
            format!("{admin_url}/api/workspaces/b/headless"),
            "admin-sigterm",
        )
        .await,
        post(
            format!("http://127.0.0.1:{base}/api/v1/runs"),
            "bot-sigterm",
        )
        .await,
    ];
    send_signal(&child.0, libc::SIGTERM);
    assert_eq!(wait_exit(&mut child.0, 30).code(), Some(0));

    let mut child = Reaped(spawn_serve(&path, &[]));
    wait_healthy(&format!("{admin_url}/healthz")).await;
    for task in &tasks {
        let run: Value = client()
            .get(format!("{admin_url}/api/headless/{task}"))
            .bearer_auth("admin-sigterm")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(run["status"], "cancelled", "{run}");
        assert_eq!(run["error"], "the bot stopped", "{run}");
    }
    send_signal(&child.0, libc::SIGTERM);
    assert_eq!(wait_exit(&mut child.0, 30).code(), Some(0));
}

/// Every folder and file alice creates in its data folder is private (0700
/// and 0600): the bot tokens are in the sled files. An existing data folder
/// that is wider gets a warning at start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_folder_and_everything_in_it_is_private() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(1), free_ports(1));
    let path = dir.write_config(&format!(
        "{}[bots.alpha]\nruntime_http_token = \"modes-token\"\n",
        supervisor_toml(admin, base)
    ));
    let mut child = spawn_serve(&path, &[]);
    wait_healthy(&format!("http://127.0.0.1:{base}/healthz")).await;
    // An upload: the local connector keeps it under data/alpha/files.
    let boundary = "modes-boundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nsecret report\r\n--{boundary}--\r\n"
    );
    let res = client()
        .post(format!("http://127.0.0.1:{base}/api/v1/messages/file"))
        .bearer_auth("modes-token")
        .header("x-alice-receive-id", "oc_modes")
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    terminate(&mut child);

    let data = dir.path().join("data");
    let mut seen = (0, 0);
    let mut stack = vec![data.clone()];
    while let Some(path) = stack.pop() {
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let mode = meta.permissions().mode() & 0o777;
        assert_eq!(mode & 0o077, 0, "{} is {mode:o}", path.display());
        if meta.is_dir() {
            seen.0 += 1;
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else {
            seen.1 += 1;
        }
    }
    assert!(seen.0 >= 4 && seen.1 >= 4, "walked {seen:?}");
    let files = std::fs::read_dir(data.join("alpha/files")).unwrap().count();
    assert_eq!(files, 1, "the upload is stored");

    // A data folder someone widened: alice warns at start.
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut child = spawn_serve(&path, &[]);
    wait_healthy(&format!("http://127.0.0.1:{base}/healthz")).await;
    terminate(&mut child);
    let log = std::fs::read_to_string(dir.path().join("serve.log")).unwrap();
    assert!(log.contains("WARN") && log.contains("0755"), "{log}");
}

/// `alice bots …` reads only what it needs: a Feishu secret that only the
/// server's environment holds is not required.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_does_not_need_secrets_it_does_not_use() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(1), free_ports(1));
    let path = dir.write_config(&format!(
        "{}[bots.fs]\n[bots.fs.connector]\nkind = \"feishu\"\napp_id = \"cli_test\"\nbase_url = \"http://127.0.0.1:9\"\nevents = \"webhook\"\n",
        supervisor_toml(admin, base)
    ));
    let config = path.to_str().unwrap();
    let log = std::fs::File::create(dir.path().join("serve.log")).unwrap();
    let mut child = alice_command(&["serve", "--config", config])
        .env(
            "ALICE_BOTS__FS__CONNECTOR__APP_SECRET",
            "only-the-server-knows",
        )
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    wait_healthy(&format!("http://127.0.0.1:{base}/healthz")).await;
    for args in [&["bots", "list"][..], &["bots", "status", "fs"]] {
        let mut all = args.to_vec();
        all.extend(["--config", config]);
        let out = alice_command(&all).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("fs"));
    }
    terminate(&mut child);
}

/// `alice serve … 2>&1 | head -3`: once the reader is gone, log writes fail;
/// requests must still be answered, on the bots and on the admin API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_log_pipe_never_takes_a_request_down() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(1), free_ports(1));
    let path = dir.write_config(&format!(
        "[supervisor]\ndata_dir = \"data\"\nadmin_addr = \"127.0.0.1:{admin}\"\nbase_port = {base}\nadmin_token = \"pipe-admin\"\n[bots.alpha]\nruntime_http_token = \"pipe-token\"\n"
    ));
    let mut child = alice_command(&["serve", "--config", path.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_healthy(&format!("http://127.0.0.1:{base}/healthz")).await;
    wait_healthy(&format!("http://127.0.0.1:{admin}/healthz")).await;
    // The reader exits.
    drop(child.stdout.take());
    drop(child.stderr.take());
    for round in 0..5 {
        for (url, token) in [
            (format!("http://127.0.0.1:{base}/api/v1/bot"), "pipe-token"),
            (format!("http://127.0.0.1:{admin}/api/bots"), "pipe-admin"),
        ] {
            let res = client().get(&url).bearer_auth(token).send().await;
            let status = res.map(|r| r.status().as_u16());
            assert_eq!(status.ok(), Some(200), "round {round}: {url}");
        }
    }
    terminate(&mut child);
}

/// Writes a request's head and part of its body, then stalls or trickles;
/// returns what the server answered.
async fn stalled_request(port: u16, head: &str, first: &[u8], trickle: bool) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(first).await.unwrap();
    let (mut read, mut write) = conn.into_split();
    let feeder = tokio::spawn(async move {
        if trickle {
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                if write.write_all(b" ").await.is_err() {
                    break;
                }
            }
        }
        // Keep the writing half open: dropping it would end the body.
        std::future::pending::<()>().await;
        drop(write);
    });
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        read.read_to_end(&mut answer),
    )
    .await;
    feeder.abort();
    assert!(read.is_ok(), "no answer within 20 s");
    String::from_utf8_lossy(&answer).into_owned()
}

/// A body that stalls or trickles past `limits.body_timeout_secs` gets 408
/// with a JSON error, on JSON routes and on multipart uploads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_or_trickling_body_gets_408_json() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(1), free_ports(1));
    let path = dir.write_config(&format!(
        "{}[bots.alpha]\nruntime_http_token = \"stall-token\"\n[bots.alpha.limits]\nbody_timeout_secs = 1\n",
        supervisor_toml(admin, base)
    ));
    let mut child = spawn_serve(&path, &[]);
    wait_healthy(&format!("http://127.0.0.1:{base}/healthz")).await;
    let json_head = "POST /api/v1/goal HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer stall-token\r\nX-Alice-Session-Key: chat_id:oc_s|scene:chat\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n";
    let upload_head = "POST /api/v1/messages/file HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer stall-token\r\nX-Alice-Receive-Id: oc_s\r\nContent-Type: multipart/form-data; boundary=b0\r\nContent-Length: 100000\r\n\r\n";
    let part =
        b"--b0\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nabc";
    for (head, first, trickle) in [
        (json_head, &b"{\"description\": "[..], false),
        (json_head, &b"{\"description\": "[..], true),
        (upload_head, &part[..], false),
        (upload_head, &part[..], true),
    ] {
        let answer = stalled_request(base, head, first, trickle).await;
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        let body = answer.split("\r\n\r\n").nth(1).unwrap_or("");
        let json: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("{answer}"));
        assert!(
            json["error"].as_str().is_some_and(|e| e.contains("1 s")),
            "{json}"
        );
        assert_eq!(json["code"], "request_timeout", "{json}");
    }
    // A body that arrives in time is still served.
    let res = client()
        .post(format!("http://127.0.0.1:{base}/api/v1/goal"))
        .bearer_auth("stall-token")
        .header("x-alice-session-key", "chat_id:oc_s|scene:chat")
        .json(&serde_json::json!({"description": "in time"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    terminate(&mut child);
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS")
}

/// Hundreds of connections holding a partial body with a valid token: once
/// they are closed, the server's memory comes back to where it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_comes_back_after_a_flood_of_stalled_bodies() {
    use tokio::io::AsyncWriteExt;
    let dir = TestDir::new();
    let (base, admin) = (free_ports(1), free_ports(1));
    let path = dir.write_config(&format!(
        "{}[bots.alpha]\nruntime_http_token = \"flood-token\"\n",
        supervisor_toml(admin, base)
    ));
    let mut child = spawn_serve(&path, &[]);
    wait_healthy(&format!("http://127.0.0.1:{base}/healthz")).await;
    let url = format!("http://127.0.0.1:{base}/api/v1/bot");
    for _ in 0..20 {
        let res = client().get(&url).bearer_auth("flood-token").send().await;
        assert_eq!(res.unwrap().status(), 200);
    }
    let head = "POST /api/v1/goal HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer flood-token\r\nX-Alice-Session-Key: chat_id:oc_f|scene:chat\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n";
    let chunk = vec![b' '; 60 * 1024];
    let flood = |n: usize| {
        let chunk = chunk.clone();
        async move {
            let mut conns = Vec::new();
            for _ in 0..n {
                let Ok(mut conn) = tokio::net::TcpStream::connect(("127.0.0.1", base)).await else {
                    continue;
                };
                let _ = conn.write_all(head.as_bytes()).await;
                let _ = tokio::time::timeout(
                    std::time::Duration::from_millis(50),
                    conn.write_all(&chunk),
                )
                .await;
                conns.push(conn);
            }
            conns
        }
    };
    // The start is the steady state: every code path of a stalled body has
    // run once (lazy statics, first allocations of each thread).
    drop(flood(10).await);
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let start = rss_kib(child.id());

    let conns = flood(400).await;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let peak = rss_kib(child.id());
    drop(conns);

    // Give the server a few seconds to notice the closed connections.
    let mut now = rss_kib(child.id());
    for _ in 0..50 {
        if now <= start + start / 5 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        now = rss_kib(child.id());
    }
    assert!(
        now <= start + start / 5,
        "RSS {start} KiB at start, {peak} KiB during the flood, {now} KiB after"
    );
    eprintln!("RSS {start} KiB at start, {peak} KiB during the flood, {now} KiB after");
    // Still serving.
    let res = client().get(&url).bearer_auth("flood-token").send().await;
    assert_eq!(res.unwrap().status(), 200);
    terminate(&mut child);
}

/// The default log holds alice's own INFO lines (bot started, stopped) and
/// nothing below `warn` from its dependencies (tokio-cron-scheduler used to
/// log "Uninited" and "Job creator created" twice per bot).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dependencies_stay_quiet_in_the_default_log() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(2), free_ports(1));
    let path = dir.write_config(&format!(
        "{}[bots.alpha]\n[bots.beta]\n",
        supervisor_toml(admin, base)
    ));
    let log = std::fs::File::create(dir.path().join("quiet.log")).unwrap();
    let mut child = alice_command(&[
        "serve",
        "--config",
        path.to_str().unwrap(),
        "--log-format",
        "json",
    ])
    .env_remove("RUST_LOG")
    .stdout(std::process::Stdio::null())
    .stderr(log)
    .spawn()
    .unwrap();
    for port in [base, base + 1] {
        wait_healthy(&format!("http://127.0.0.1:{port}/healthz")).await;
    }
    terminate(&mut child);
    let text = std::fs::read_to_string(dir.path().join("quiet.log")).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let quiet_enough = |l: &&Value| matches!(l["level"].as_str(), Some("WARN" | "ERROR"));
    let chatter: Vec<&Value> = lines
        .iter()
        .filter(|l| !l["target"].as_str().is_some_and(|t| t.starts_with("alice")))
        .filter(|l| !quiet_enough(l))
        .collect();
    assert!(
        chatter.is_empty(),
        "dependency lines below warn: {chatter:?}"
    );
    let started = lines
        .iter()
        .filter(|l| l["message"] == "bot started")
        .count();
    assert_eq!(started, 2, "{text}");
}

/// `runtime_http_socket` with `runtime_http_addr = "off"`: the bot listens
/// on a socket file only its owner may open (0600), replaces a stale one at
/// start and removes its own at stop; `alice runtime` reaches it through
/// `ALICE_RUNTIME_API_BASE_URL=unix://…`, which is what its agents get.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_on_a_unix_socket_serves_alice_runtime_and_only_its_owner() {
    use std::os::unix::fs::FileTypeExt;
    let dir = TestDir::new();
    let (admin, base) = (free_ports(1), free_ports(1));
    let socket = dir.path().join("alpha.sock");
    // What a killed previous run leaves behind.
    drop(std::os::unix::net::UnixListener::bind(&socket).expect("stale socket"));
    dir.write_config(&format!(
        "{}[bots.alpha]\nruntime_http_addr = \"off\"\nruntime_http_socket = \"alpha.sock\"\n[bots.alpha.agent]\ncommand = [\"sh\", \"{}/tests/agents/skill_image.sh\"]\n",
        supervisor_toml(admin, base),
        env!("CARGO_MANIFEST_DIR")
    ));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["alpha"]).await;

    let meta = std::fs::metadata(&socket).expect("the socket file");
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600, "its owner only");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", base)).is_err(),
        "no TCP port"
    );
    let url = format!("unix://{}", socket.display());
    let (status, token) = app.admin_get("/api/bots/alpha/token").await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["base_url"], url.as_str(), "what agents are given");
    let (status, bots) = app.admin_get("/api/bots/alpha").await;
    assert_eq!(status, 200);
    assert_eq!(bots["address"], format!("unix:{}", socket.display()));

    let runtime = |token: String| {
        let url = url.clone();
        tokio::task::spawn_blocking(move || {
            alice_command(&["runtime", "bot"])
                .env("ALICE_RUNTIME_API_BASE_URL", url)
                .env("ALICE_RUNTIME_API_TOKEN", token)
                .output()
                .expect("run alice")
        })
    };
    let out = runtime(app.bot_token("alpha").await).await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["id"], "alpha");
    let out = runtime("wrong".into()).await.unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("401"));

    // An agent's skill reaches the bot through the socket it was given.
    let res = client()
        .post(format!("{}/api/workspaces/alpha/headless", app.admin_url))
        .bearer_auth(app.supervisor.admin_token())
        .json(&serde_json::json!({"prompt": "send", "wait": true,
            "scope": {"receive_id": "oc_sock"}}))
        .send()
        .await
        .expect("headless run");
    let run: Value = res.json().await.unwrap();
    assert_eq!(run["status"], "succeeded", "{run}");
    let (_, messages) = app
        .admin_get("/api/bots/alpha/conversations/oc_sock/messages")
        .await;
    assert_eq!(messages.as_array().map(Vec::len), Some(4), "{messages}");

    let (status, _) = app.admin_post("/api/bots/alpha/stop").await;
    assert_eq!(status, 200);
    assert!(!socket.exists(), "removed at stop");
    let (status, _) = app.admin_post("/api/bots/alpha/start").await;
    assert_eq!(status, 200);
    app.wait_running(&["alpha"]).await;
    assert!(socket.exists());
    app.stop().await;
    assert!(!socket.exists(), "removed at shutdown");
}

/// Every span a JSON log line was written in, by name.
fn spans_named<'a>(line: &'a Value, name: &str) -> Vec<&'a Value> {
    line["spans"]
        .as_array()
        .map(|s| s.iter().filter(|s| s["name"] == name).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_the_log_even_at_trace_level() {
    use crate::common::fake_feishu_ws::{self as fake, FakeFeishu};
    use alice::connector::feishu_events::webhook;
    use serde_json::json;
    const BOT_TOKEN: &str = "bot-token-4c1d9e7a2b";
    const ENCRYPT_KEY: &str = "encrypt-key-8f2e6a1c";
    const VERIFICATION: &str = "verification-3b7d5e9f";
    let feishu = FakeFeishu::start().await;
    let dir = TestDir::new();
    let (base, admin, events) = (free_ports(3), free_ports(1), free_ports(1));
    let gate = format!("{}/tests/agents/gate.sh", env!("CARGO_MANIFEST_DIR"));
    let feishu_keys = format!(
        "kind = \"feishu\"\napp_id = \"{}\"\napp_secret = \"{}\"\nbase_url = \"{}\"\nencrypt_key = \"{ENCRYPT_KEY}\"\nverification_token = \"{VERIFICATION}\"\n",
        fake::APP_ID,
        fake::APP_SECRET,
        feishu.base_url
    );
    let path = dir.write_config(&format!(
        "{}\nevents_addr = \"127.0.0.1:{events}\"\n\n[bots.alpha]\nruntime_http_token = \"{BOT_TOKEN}\"\n[bots.alpha.agent]\ncommand = [\"sh\", \"{gate}\"]\n\n[bots.fs.connector]\n{feishu_keys}\n[bots.hook.connector]\n{feishu_keys}events = \"webhook\"\n",
        supervisor_toml(admin, base).trim_end()
    ));
    let log = std::fs::File::create(dir.path().join("trace.log")).unwrap();
    let mut child = alice_command(&[
        "serve",
        "--config",
        path.to_str().unwrap(),
        "--log-format",
        "json",
    ])
    .env("RUST_LOG", "trace")
    .stdout(std::process::Stdio::null())
    .stderr(log)
    .spawn()
    .unwrap();
    for port in [base, base + 1, base + 2, admin, events] {
        wait_healthy(&format!("http://127.0.0.1:{port}/healthz")).await;
    }
    let admin_token = std::fs::read_to_string(dir.path().join("data/admin.token"))
        .unwrap()
        .trim()
        .to_string();
    let (bot, adm) = (
        format!("http://127.0.0.1:{base}"),
        format!("http://127.0.0.1:{admin}"),
    );
    let http = client();
    let call = |method: reqwest::Method, url: String, token: &str, body: Option<Value>| {
        let mut req = http
            .request(method, url)
            .bearer_auth(token)
            .header("X-Alice-Receive-Id-Type", "chat_id")
            .header("X-Alice-Receive-Id", "oc_1");
        if let Some(body) = body {
            req = req.json(&body);
        }
        async move {
            let res = req.send().await.expect("request");
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    use reqwest::Method as M;

    // A failed authentication on each server.
    assert_eq!(
        call(M::GET, format!("{bot}/api/v1/bot"), "wrong", None)
            .await
            .0,
        401
    );
    assert_eq!(
        call(M::GET, format!("{adm}/api/bots"), "wrong", None)
            .await
            .0,
        401
    );
    // A task that fires during the session.
    let soon = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    let (status, fired) = call(
        M::POST,
        format!("{bot}/api/v1/automation/tasks"),
        BOT_TOKEN,
        Some(json!({"scope_type": "chat", "scope_id": "oc_1", "action": "send_text", "text": "tick", "run_at": soon})),
    )
    .await;
    assert_eq!(status, 201, "{fired}");
    let fired = fired["id"].as_str().unwrap().to_string();
    // The bot's routes.
    for path in [
        "/api/v1/bot",
        "/api/v1/skills",
        "/api/v1/goal",
        "/api/v1/runs",
        "/metrics",
        "/api/v1/probes/internal",
        "/api/v1/probes/external",
        "/openapi.json",
    ] {
        call(M::GET, format!("{bot}{path}"), BOT_TOKEN, None).await;
    }
    let due = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let (status, task) = call(
        M::POST,
        format!("{bot}/api/v1/automation/tasks"),
        BOT_TOKEN,
        Some(json!({"scope_type": "chat", "scope_id": "oc_1", "action": "send_text", "text": "hi", "run_at": due})),
    )
    .await;
    assert_eq!(status, 201, "{task}");
    let task = format!(
        "{bot}/api/v1/automation/tasks/{}",
        task["id"].as_str().unwrap()
    );
    call(
        M::GET,
        format!("{bot}/api/v1/automation/tasks"),
        BOT_TOKEN,
        None,
    )
    .await;
    call(
        M::PATCH,
        task.clone(),
        BOT_TOKEN,
        Some(json!({"text": "hello"})),
    )
    .await;
    call(M::GET, format!("{task}/runs"), BOT_TOKEN, None).await;
    call(M::DELETE, task, BOT_TOKEN, None).await;
    let (status, _) = call(
        M::POST,
        format!("{bot}/api/v1/goal"),
        BOT_TOKEN,
        Some(json!({"objective": "ship it"})),
    )
    .await;
    assert!(status < 500, "{status}");
    // The admin routes, and a run whose token the agent uses.
    for path in [
        "/api/bots",
        "/api/bots/alpha",
        "/api/bots/alpha/token",
        "/api/probes",
        "/metrics",
        "/api/headless",
        "/api/bots/alpha/conversations",
        "/api/bots/alpha/inbox",
    ] {
        call(M::GET, format!("{adm}{path}"), &admin_token, None).await;
    }
    let (status, run) = call(
        M::POST,
        format!("{adm}/api/workspaces/alpha/headless"),
        &admin_token,
        Some(json!({"prompt": "wait"})),
    )
    .await;
    assert_eq!(status, 202, "{run}");
    let run_id = run["taskId"].as_str().unwrap().to_string();
    let workspace = dir.path().join("data/alpha/workspace");
    let token_file = workspace.join(format!("token-{run_id}"));
    eventually("the agent wrote its token", || async {
        std::fs::read_to_string(&token_file).is_ok_and(|t| t.ends_with('\n'))
    })
    .await;
    let run_token = std::fs::read_to_string(&token_file)
        .unwrap()
        .trim()
        .to_string();
    call(M::GET, format!("{bot}/api/v1/runs"), &run_token, None).await;
    call(
        M::GET,
        format!("{bot}/api/v1/probes/internal"),
        &run_token,
        None,
    )
    .await;
    std::fs::write(workspace.join("go"), "").unwrap();
    eventually("the run finished", || async {
        let (_, r) = call(
            M::GET,
            format!("{adm}/api/headless/{run_id}"),
            &admin_token,
            None,
        )
        .await;
        r["status"] != "running"
    })
    .await;
    let (status, _) = call(
        M::POST,
        format!("{adm}/api/bots/alpha/conversations/oc_1/messages"),
        &admin_token,
        Some(json!({"text": "hello"})),
    )
    .await;
    assert_eq!(status, 202);
    // Feishu events by both transports, then a reload and a restart.
    eventually("the long connection is open", || async {
        feishu.connections() >= 1
    })
    .await;
    let mut event = fake::message_event("om_trace", "oc_2", "hi", false);
    event["header"]["token"] = json!(VERIFICATION);
    let event = event.to_string();
    feishu.send(fake::event_frame("f1", event.as_bytes()));
    let body =
        json!({"encrypt": webhook::encrypt(event.as_bytes(), ENCRYPT_KEY, [3; 16])}).to_string();
    let ts = chrono::Utc::now().timestamp().to_string();
    let res = http
        .post(format!("http://127.0.0.1:{events}/webhooks/feishu/hook"))
        .header("content-type", "application/json")
        .header(webhook::TIMESTAMP_HEADER, &ts)
        .header(webhook::NONCE_HEADER, "n1")
        .header(
            webhook::SIGNATURE_HEADER,
            webhook::signature(&ts, "n1", ENCRYPT_KEY, body.as_bytes()),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    eventually("the task fired", || async {
        let url = format!("{bot}/api/v1/automation/tasks/{fired}");
        call(M::GET, url, BOT_TOKEN, None).await.1["status"] == "completed"
    })
    .await;
    call(M::POST, format!("{adm}/api/reload"), &admin_token, None).await;
    call(
        M::POST,
        format!("{adm}/api/bots/alpha/restart"),
        &admin_token,
        None,
    )
    .await;

    send_signal(&child, libc::SIGTERM);
    assert_eq!(wait_exit(&mut child, 30).code(), Some(0));
    let text = std::fs::read_to_string(dir.path().join("trace.log")).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(lines.iter().any(|l| l["level"] == "TRACE"), "trace is on");
    for (what, secret) in [
        ("bot token", BOT_TOKEN),
        ("admin token", admin_token.as_str()),
        ("run token", run_token.as_str()),
        ("Feishu app secret", fake::APP_SECRET),
        ("encrypt key", ENCRYPT_KEY),
        ("verification token", VERIFICATION),
    ] {
        let leaks: Vec<&str> = text
            .lines()
            .filter(|l| l.contains(secret))
            .take(3)
            .collect();
        assert!(leaks.is_empty(), "the {what} is in the log: {leaks:#?}");
    }

    // Spans: a request line knows its request id, bot, route template and
    // status; the run's lines their run, origin and bot; the Feishu lines
    // their app; a message's lines the message.
    assert!(
        lines
            .iter()
            .any(|l| spans_named(l, "request").iter().any(|s| {
                s["bot"] == "alpha"
                    && s["route"] == "/api/v1/automation/tasks/{task_id}"
                    && s["status"] == 200
                    && s["request_id"].is_string()
            })),
        "no request span with its route template"
    );
    assert!(lines.iter().any(|l| l["message"] == "agent run finished"
        && spans_named(l, "agent_run")
            .iter()
            .any(|s| s["run_id"] == run_id.as_str()
                && s["origin"] == "headless"
                && s["bot"] == "alpha")));
    assert!(lines.iter().any(|l| spans_named(l, "feishu")
        .iter()
        .any(|s| s["app_id"] == fake::APP_ID && s["bot"] == "fs")));
    assert!(lines.iter().any(|l| spans_named(l, "task_run")
        .iter()
        .any(|s| s["task_id"] == fired.as_str() && s["bot"] == "alpha")));
    assert!(lines.iter().any(|l| spans_named(l, "inbound_message")
        .iter()
        .any(|s| s["bot"] == "alpha")));
}
