//! HTTP throughput of `alice serve` builds, compared in one run: each build
//! serves one bot; `GET /healthz` and an authenticated `GET /api/v1/bot` are
//! loaded by C keep-alive connections for S seconds, the builds taking turns
//! over R rounds (turns even out the noise of a shared machine). Prints the
//! median requests/s per build and endpoint, and each build's ratio to the
//! first one.
//!
//!   bench_http [--secs S] [--conns C] [--rounds R] NAME=ALICE_BINARY…
//!
//! Run through `scripts/bench/http_metrics.sh`, which builds the binaries.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TOKEN: &str = "bench-token-0123456789abcdef";

struct Options {
    secs: u64,
    conns: usize,
    rounds: usize,
    builds: Vec<(String, PathBuf)>,
}

fn options() -> Options {
    let mut o = Options {
        secs: 5,
        conns: 32,
        rounds: 3,
        builds: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = || args.next().and_then(|v| v.parse().ok()).expect("a number");
        match arg.as_str() {
            "--secs" => o.secs = number(),
            "--conns" => o.conns = number() as usize,
            "--rounds" => o.rounds = number() as usize,
            build => {
                let (name, bin) = build.split_once('=').expect("NAME=BINARY");
                o.builds.push((name.to_string(), bin.into()));
            }
        }
    }
    assert!(
        !o.builds.is_empty(),
        "usage: bench_http [--secs S] [--conns C] [--rounds R] NAME=BIN…"
    );
    o
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `alice serve` with one local bot whose limits do not get in the way.
fn serve(bin: &PathBuf, dir: &std::path::Path) -> (Child, u16) {
    let (admin, base) = (free_port(), free_port());
    let config = dir.join("bots.toml");
    std::fs::write(
        &config,
        format!(
            "[supervisor]\ndata_dir = \"data\"\nadmin_addr = \"127.0.0.1:{admin}\"\nbase_port = {base}\n\n\
             [bots.bench]\nruntime_http_token = \"{TOKEN}\"\n[bots.bench.limits]\n\
             requests_per_minute = 100000000\nmax_connections = 4096\n"
        ),
    )
    .unwrap();
    let child = Command::new(bin)
        .args(["serve", "--config", config.to_str().unwrap()])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start alice");
    (child, base)
}

async fn wait_up(client: &reqwest::Client, url: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if client
            .get(url)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{url} never answered");
}

/// Requests/s answered 200 by `url` over `secs`, with `conns` connections.
async fn load(url: &str, token: Option<&str>, conns: usize, secs: u64) -> f64 {
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let end = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let (ok, failed) = (ok.clone(), failed.clone());
        let (url, token) = (url.to_string(), token.map(str::to_string));
        // One client per connection: its own keep-alive socket.
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .build()
            .unwrap();
        tasks.push(tokio::spawn(async move {
            while Instant::now() < end {
                let mut req = client.get(&url);
                if let Some(token) = &token {
                    req = req.bearer_auth(token);
                }
                match req.send().await {
                    Ok(res) if res.status().is_success() => {
                        let _ = res.bytes().await;
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    let started = Instant::now();
    for t in tasks {
        let _ = t.await;
    }
    let failed = failed.load(Ordering::Relaxed);
    assert_eq!(failed, 0, "{failed} requests to {url} failed");
    ok.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let o = options();
    let probe = reqwest::Client::new();
    let endpoints = [
        ("healthz", "/healthz", None),
        ("auth GET /api/v1/bot", "/api/v1/bot", Some(TOKEN)),
    ];
    // results[build][endpoint] = requests/s per round.
    let mut results = vec![vec![Vec::new(); endpoints.len()]; o.builds.len()];
    for round in 0..o.rounds {
        for (b, (name, bin)) in o.builds.iter().enumerate() {
            let dir = tempfile::tempdir().unwrap();
            let (mut child, port) = serve(bin, dir.path());
            let base = format!("http://127.0.0.1:{port}");
            wait_up(&probe, &format!("{base}/healthz")).await;
            for (e, (label, path, token)) in endpoints.iter().enumerate() {
                let url = format!("{base}{path}");
                // A short warm-up opens the connections.
                load(&url, *token, o.conns, 1).await;
                let rps = load(&url, *token, o.conns, o.secs).await;
                eprintln!("round {} {name:>8} {label:<22} {rps:>9.0} req/s", round + 1);
                results[b][e].push(rps);
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
    println!(
        "\nmedian of {} rounds, {} connections, {} s each:",
        o.rounds, o.conns, o.secs
    );
    for (e, (label, _, _)) in endpoints.iter().enumerate() {
        let first = median(results[0][e].clone());
        for (b, (name, _)) in o.builds.iter().enumerate() {
            let m = median(results[b][e].clone());
            println!(
                "  {label:<22} {name:>8} {m:>9.0} req/s  ({:.2}x {})",
                m / first,
                o.builds[0].0
            );
        }
    }
}
