//! Fault suites: hostile clients, graceful shutdown under load, crash
//! isolation, kill -9 under load (issue 16).

use crate::common::*;
use serde_json::Value;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn one_bot(admin: u16, base: u16, extra: &str) -> String {
    format!(
        "{}[bots.alpha]\nruntime_http_token = \"good-token\"\n{extra}\n[bots.beta]\nruntime_http_token = \"beta-token\"\n[bots.beta.limits]\nrequests_per_minute = 100000\n",
        supervisor_toml(admin, base)
    )
}

/// Writes `head`, then reads whatever comes until the server closes (or a
/// generous hang guard passes); the answer as text.
async fn answer_after(mut conn: TcpStream, head: &[u8]) -> String {
    conn.write_all(head).await.expect("write");
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), conn.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the server kept the connection open");
    String::from_utf8_lossy(&answer).into_owned()
}

async fn status_of(client: &reqwest::Client, url: &str, token: &str) -> u16 {
    client
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

/// Slow headers and slow bodies are cut by their (configured) timeouts with
/// a 408, while a prompt client on the same bot is served meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_and_slow_bodies_are_cut_by_their_timeouts() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(2), free_ports(1));
    dir.write_config(&one_bot(
        admin,
        base,
        "[bots.alpha.limits]\nheader_timeout_secs = 1\nbody_timeout_secs = 1\n",
    ));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["alpha"]).await;
    let connect = || TcpStream::connect(("127.0.0.1", base));

    let slow_head = tokio::spawn(answer_after(
        connect().await.unwrap(),
        b"GET /api/v1/bot HTTP/1.1\r\nHost: x\r\n",
    ));
    let slow_body = tokio::spawn(answer_after(
        connect().await.unwrap(),
        b"POST /api/v1/goal HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer good-token\r\nX-Alice-Session-Key: chat_id:oc_slow|scene:chat\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{\"descr",
    ));
    let url = format!("http://127.0.0.1:{base}/api/v1/bot");
    assert_eq!(status_of(&client(), &url, "good-token").await, 200);

    let head = slow_head.await.unwrap();
    assert!(
        head.is_empty() || head.starts_with("HTTP/1.1 408"),
        "{head}"
    );
    let body = slow_body.await.unwrap();
    assert!(body.starts_with("HTTP/1.1 408"), "{body}");
    let json = &body[body.find("\r\n\r\n").expect("a body") + 4..];
    let json: Value = serde_json::from_str(json).unwrap_or_else(|_| panic!("{body}"));
    assert!(json["error"].is_string(), "{body}");
    app.stop().await;
}

/// Hundreds of connections that never send a byte (and are not reaped
/// during the test: a 60 s header timeout) do not stop service for others:
/// neither on their own bot, whose `max_connections` is above them, nor on
/// another bot. (At the default 256 they would wait in the backlog until
/// the header timeout closes idle ones: `scripts/faults/idle.py` shows it.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_do_not_stop_service_for_others() {
    const IDLE: usize = 300;
    let dir = TestDir::new();
    let (base, admin) = (free_ports(2), free_ports(1));
    dir.write_config(&one_bot(
        admin,
        base,
        "[bots.alpha.limits]\nheader_timeout_secs = 60\nmax_connections = 1024\n",
    ));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["alpha", "beta"]).await;
    let mut idle = Vec::new();
    for _ in 0..IDLE {
        idle.push(TcpStream::connect(("127.0.0.1", base)).await.unwrap());
    }
    // Well below the header timeout: an answer means it was not queued
    // behind the idle connections.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let (alpha, beta) = (
        format!("http://127.0.0.1:{base}/api/v1/bot"),
        format!("http://127.0.0.1:{}/api/v1/bot", base + 1),
    );
    let (mut served, mut failed) = (0, 0);
    for _ in 0..20 {
        for (url, token) in [(&alpha, "good-token"), (&beta, "beta-token")] {
            match client.get(url).bearer_auth(token).send().await {
                Ok(res) if res.status() == 200 => served += 1,
                _ => failed += 1,
            }
        }
    }
    println!("idle connections: {IDLE}; good requests {served} served, {failed} failed");
    assert_eq!(failed, 0);
    drop(idle);
    app.stop().await;
}

/// A head larger than the server takes is refused, and the bot serves on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_headers_are_refused() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(2), free_ports(1));
    dir.write_config(&one_bot(admin, base, ""));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["alpha"]).await;
    let big = "a".repeat(128 * 1024);
    let head = format!("GET /api/v1/bot HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n");
    let conn = TcpStream::connect(("127.0.0.1", base)).await.unwrap();
    let answer = answer_after(conn, head.as_bytes()).await;
    assert!(
        answer.starts_with("HTTP/1.1 431") || answer.starts_with("HTTP/1.1 400"),
        "{answer}"
    );
    let url = format!("http://127.0.0.1:{base}/api/v1/bot");
    assert_eq!(status_of(&client(), &url, "good-token").await, 200);
    app.stop().await;
}

/// `requests_per_minute = N`: exactly N requests pass, the next is 429;
/// `failed_auth_per_minute = M`: exactly M failures are 401, the next 429.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limits_are_exact_at_the_boundary() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(2), free_ports(1));
    dir.write_config(&one_bot(
        admin,
        base,
        "[bots.alpha.limits]\nrequests_per_minute = 7\nfailed_auth_per_minute = 4\n",
    ));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["alpha"]).await;
    let client = client();
    let url = format!("http://127.0.0.1:{base}/api/v1/bot");
    let mut good = Vec::new();
    for _ in 0..8 {
        good.push(status_of(&client, &url, "good-token").await);
    }
    assert_eq!(good, [200, 200, 200, 200, 200, 200, 200, 429]);
    let mut bad = Vec::new();
    for _ in 0..5 {
        bad.push(status_of(&client, &url, "bad-token").await);
    }
    assert_eq!(bad, [401, 401, 401, 401, 429]);
    app.stop().await;
}

/// A flood of failed authentications from 127.0.0.2 (Linux routes all of
/// 127/8 to lo) is throttled for that address only: a good token, from
/// there or elsewhere, is served, and another address still gets its 401s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_auth_flood_from_one_address_spares_the_others() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(2), free_ports(1));
    dir.write_config(&one_bot(admin, base, ""));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["alpha"]).await;
    let flooder = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let url = format!("http://127.0.0.1:{base}/api/v1/bot");
    let mut throttled = 0;
    for _ in 0..200 {
        if status_of(&flooder, &url, "guess").await == 429 {
            throttled += 1;
        }
    }
    println!("failed-auth flood: 200 guesses from 127.0.0.2, {throttled} throttled");
    assert!(throttled >= 150, "{throttled}");
    let other = client();
    assert_eq!(status_of(&other, &url, "good-token").await, 200);
    assert_eq!(status_of(&other, &url, "guess").await, 401);
    assert_eq!(status_of(&flooder, &url, "good-token").await, 200);
    app.stop().await;
}

/// Starts the real binary on `config` with `env` added; waits for `ports`.
async fn serve_with(
    config: &std::path::Path,
    env: &[(&str, &str)],
    ports: &[u16],
) -> std::process::Child {
    let log = std::fs::File::create(config.with_file_name("serve.log")).expect("log file");
    let child = alice_command(&["serve", "--config", config.to_str().unwrap()])
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn alice serve");
    for port in ports {
        wait_healthy(&format!("http://127.0.0.1:{port}/healthz")).await;
    }
    child
}

const SLOW: usize = 50;

/// `SLOW` connections each with its head and half its body sent: a goal
/// for its own conversation. The rest of each body is `rest`.
async fn slow_goals(base: u16) -> Vec<(TcpStream, &'static [u8])> {
    let body: &'static [u8] = br#"{"description": "finish what you started"}"#;
    let (first, rest) = body.split_at(body.len() / 2);
    let mut conns = Vec::new();
    for i in 0..SLOW {
        let mut conn = TcpStream::connect(("127.0.0.1", base)).await.unwrap();
        let head = format!(
            "POST /api/v1/goal HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer good-token\r\nX-Alice-Session-Key: chat_id:oc_slow{i}|scene:chat\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        conn.write_all(head.as_bytes()).await.unwrap();
        conn.write_all(first).await.unwrap();
        conns.push((conn, rest));
    }
    conns
}

fn shutdown_config(dir: &TestDir, admin: u16, base: u16, timeout: u64) -> std::path::PathBuf {
    dir.write_config(&format!(
        "{}[bots.alpha]\nruntime_http_token = \"good-token\"\nruntime_api_shutdown_timeout_secs = {timeout}\n",
        supervisor_toml(admin, base)
    ))
}

/// SIGTERM with 50 slow requests in flight: all of them finish (201) inside
/// the bot's shutdown timeout, and alice exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_fifty_in_flight_requests_finish() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(1), free_ports(1));
    let path = shutdown_config(&dir, admin, base, 20);
    let mut child = serve_with(&path, &[], &[base]).await;
    let conns = slow_goals(base).await;
    // Let the server read every head before the signal.
    tokio::time::sleep(Duration::from_millis(500)).await;
    send_signal(&child, libc::SIGTERM);
    eventually("new connections refused", || async {
        TcpStream::connect(("127.0.0.1", base)).await.is_err()
    })
    .await;
    let mut finished = 0;
    for (mut conn, rest) in conns {
        let answer = answer_after_rest(&mut conn, rest).await;
        if answer.starts_with("HTTP/1.1 201") {
            finished += 1;
        }
    }
    println!("graceful shutdown: {finished} of {SLOW} in-flight requests finished");
    assert_eq!(finished, SLOW);
    assert_eq!(wait_exit(&mut child, 20).code(), Some(0));
}

async fn answer_after_rest(conn: &mut TcpStream, rest: &[u8]) -> String {
    conn.write_all(rest).await.expect("write");
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), conn.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the server kept the connection open");
    String::from_utf8_lossy(&answer).into_owned()
}

/// SIGTERM with 50 requests that never finish: past the shutdown timeout
/// they are cut, and alice still exits 0 within the timeout + 1 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_cuts_requests_past_the_shutdown_timeout_and_exits_0() {
    const TIMEOUT: u64 = 2;
    let dir = TestDir::new();
    let (base, admin) = (free_ports(1), free_ports(1));
    let path = shutdown_config(&dir, admin, base, TIMEOUT);
    let mut child = serve_with(&path, &[], &[base]).await;
    let conns = slow_goals(base).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    send_signal(&child, libc::SIGTERM);
    // The issue's bound, used as the hang guard.
    assert_eq!(wait_exit(&mut child, TIMEOUT + 1).code(), Some(0));
    let mut cut = 0;
    for (mut conn, _) in conns {
        let mut answer = Vec::new();
        let read =
            tokio::time::timeout(Duration::from_secs(30), conn.read_to_end(&mut answer)).await;
        if !matches!(read, Ok(Ok(_))) || !answer.starts_with(b"HTTP/1.1 201") {
            cut += 1;
        }
    }
    println!("shutdown past its timeout: {cut} of {SLOW} requests cut, exit 0");
    assert_eq!(cut, SLOW);
}

/// Bot beta (on `port`) asked again and again until `stop`: how many
/// requests it served and how many failed.
fn beta_load(
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> tokio::task::JoinHandle<(usize, usize)> {
    let url = format!("http://127.0.0.1:{port}/api/v1/bot");
    tokio::spawn(async move {
        let client = client();
        let (mut served, mut failed) = (0, 0);
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            match client.get(&url).bearer_auth("beta-token").send().await {
                Ok(res) if res.status() == 200 => served += 1,
                _ => failed += 1,
            }
        }
        (served, failed)
    })
}

/// A handler that panics (the debug-build test hook) costs only its
/// request: a 500 JSON `internal`; the bot serves on, and the other bot
/// answers every request meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_costs_only_its_request() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(2), free_ports(1));
    let path = dir.write_config(&one_bot(
        admin,
        base,
        "[bots.alpha.limits]\nrequests_per_minute = 10000\n",
    ));
    let mut child = serve_with(&path, &[("ALICE_TEST_PANIC_ROUTE", "1")], &[base, base + 1]).await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let beta = beta_load(base + 1, stop.clone());
    let client = client();
    let mut internal = 0;
    for _ in 0..20 {
        let res = client
            .get(format!("http://127.0.0.1:{base}/__test/panic"))
            .bearer_auth("good-token")
            .send()
            .await
            .expect("an answer, not a dropped connection");
        assert_eq!(res.status(), 500);
        let body: Value = res.json().await.unwrap();
        if body["code"] == "internal" && body["error"].is_string() {
            internal += 1;
        }
    }
    let url = format!("http://127.0.0.1:{base}/api/v1/bot");
    assert_eq!(status_of(&client, &url, "good-token").await, 200);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (served, failed) = beta.await.unwrap();
    println!("crash isolation: 20 panics -> {internal} JSON 500s; other bot {served} served, {failed} failed");
    assert_eq!(internal, 20);
    assert_eq!(failed, 0);
    terminate(&mut child);
}

/// A bot whose server dies (the debug-build hook ends it, not through the
/// supervisor) is relaunched with back-off, counted as a restart, while the
/// other bot answers every request meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_whose_server_dies_is_relaunched_while_the_other_serves_on() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(2), free_ports(1));
    let path = dir.write_config(&one_bot(admin, base, ""));
    let mut child = serve_with(&path, &[("ALICE_TEST_PANIC_ROUTE", "1")], &[base, base + 1]).await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let beta = beta_load(base + 1, stop.clone());
    let client = client();
    let res = client
        .post(format!("http://127.0.0.1:{base}/__test/die"))
        .bearer_auth("good-token")
        .send()
        .await
        .expect("the hook answers before the server ends");
    assert_eq!(res.status(), 202);
    let token = std::fs::read_to_string(dir.path().join("data/admin.token"))
        .map(|t| t.trim().to_string())
        .unwrap_or_default();
    let status_url = format!("http://127.0.0.1:{admin}/api/bots/alpha");
    eventually("alpha relaunched after its server died", || async {
        let Ok(res) = client.get(&status_url).bearer_auth(&token).send().await else {
            return false;
        };
        let body: Value = res.json().await.unwrap_or_default();
        body["restarts"].as_u64() == Some(1) && body["state"] == "running"
    })
    .await;
    let url = format!("http://127.0.0.1:{base}/api/v1/bot");
    assert_eq!(status_of(&client, &url, "good-token").await, 200);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (served, failed) = beta.await.unwrap();
    println!(
        "crash isolation: alpha's server died and came back; beta {served} served, {failed} failed"
    );
    assert!(served > 0);
    assert_eq!(failed, 0);
    terminate(&mut child);
}

/// The short kill -9 suite (`scripts/faults/run` runs 20 cycles): 3 cycles
/// of writers against the real binary killed -9 at a random moment; after
/// each restart every acknowledged write is there exactly as acknowledged.
/// The writer and checker are `scripts/faults/kill9.py` (python3, standard
/// library only), shared with the script.
#[test]
fn kill_9_under_load_loses_no_acknowledged_write() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/faults/kill9.py");
    let out = std::process::Command::new("python3")
        .args([
            script,
            "--bin",
            env!("CARGO_BIN_EXE_alice"),
            "--cycles",
            "3",
        ])
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.matches("cycle ").count(), 3, "{stdout}");
}

/// A log reader that stops reading (a full stderr pipe) costs log lines,
/// never requests: every request is answered while nobody reads, and once
/// the reader is back the lines lost are counted in the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_log_reader_stalls_no_request() {
    use std::io::Read;
    let dir = TestDir::new();
    let (base, admin) = (free_ports(2), free_ports(1));
    let path = dir.write_config(&one_bot(admin, base, ""));
    // stderr is a pipe nobody reads: it fills after ~64 KiB of lines.
    let mut child = alice_command(&["serve", "--config", path.to_str().unwrap()])
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn alice serve");
    let url = format!("http://127.0.0.1:{}/api/v1/bot", base + 1);
    wait_healthy(&format!("http://127.0.0.1:{}/healthz", base + 1)).await;
    let client = client();
    // Each request logs a line of ~250 bytes: 8 000 of them are many times
    // what the pipe holds, and more than alice buffers (512 KiB).
    let answered = tokio::time::timeout(Duration::from_secs(120), async {
        let mut clients = tokio::task::JoinSet::new();
        for _ in 0..16 {
            let (client, url) = (client.clone(), url.clone());
            clients.spawn(async move {
                for _ in 0..500 {
                    assert_eq!(status_of(&client, &url, "beta-token").await, 200);
                }
            });
        }
        while let Some(done) = clients.join_next().await {
            done.expect("a client failed");
        }
    })
    .await;
    // Read what the pipe holds from now on, on a thread of its own.
    let mut stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut buf = [0u8; 64 * 1024];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buf[..n]);
            let _ = tx.send(String::from_utf8_lossy(&all).into_owned());
        }
    });
    assert!(answered.is_ok(), "requests stalled behind a full stderr");
    // The reader is back: the next line says how many were lost.
    let mut log = String::new();
    for _ in 0..100 {
        status_of(&client, &url, "beta-token").await;
        while let Ok(text) = rx.try_recv() {
            log = text;
        }
        if log.contains("log lines could not be written and were dropped") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    send_signal(&child, libc::SIGTERM);
    assert_eq!(wait_exit(&mut child, 30).code(), Some(0));
    assert!(
        log.contains("log lines could not be written and were dropped"),
        "no count of the lost lines in: {}",
        &log[log.len().saturating_sub(2000)..]
    );
}
