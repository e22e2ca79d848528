//! Durable task creation under load, against sled's own insert+flush floor.
//!
//! Run through `scripts/bench_automation.sh`. In one run, on one disk:
//! 1. raw sled: one writer inserting a task-sized value and flushing, in a
//!    loop — what "flush per request" costs without group commit;
//! 2. the same writes through alice's group commit from N concurrent writers
//!    (default 64), no HTTP: what the storage layer alone allows;
//! 3. `alice serve` (the release binary): N clients creating tasks over
//!    HTTP, each 201 sent only after its flush.
//!
//! Usage: bench_automation ALICE_BIN [--secs S] [--clients N] [--dir PATH]
//!        [--status active|paused] [--workers N]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Args {
    bin: PathBuf,
    secs: u64,
    clients: usize,
    dir: Option<PathBuf>,
    /// `paused` tasks are stored but never armed: the scheduler's share.
    status: String,
    /// The bot's actix workers (`bots.<id>.workers`, default 1).
    workers: usize,
}

fn args() -> Args {
    let mut it = std::env::args().skip(1);
    let mut args = Args {
        bin: PathBuf::new(),
        secs: 10,
        clients: 64,
        dir: None,
        status: "active".into(),
        workers: 1,
    };
    while let Some(arg) = it.next() {
        let mut value = || it.next().expect("a value after the flag");
        match arg.as_str() {
            "--secs" => args.secs = value().parse().expect("--secs N"),
            "--clients" => args.clients = value().parse().expect("--clients N"),
            "--dir" => args.dir = Some(value().into()),
            "--status" => args.status = value(),
            "--workers" => args.workers = value().parse().expect("--workers N"),
            bin => args.bin = bin.into(),
        }
    }
    assert!(
        !args.bin.as_os_str().is_empty(),
        "usage: bench_automation ALICE_BIN [--secs S] [--clients N] [--dir PATH]"
    );
    args
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Sequential insert + flush for `secs`: writes per second.
fn raw_sled(dir: &Path, secs: u64) -> f64 {
    let db = sled::Config::new()
        .path(dir.join("raw"))
        .flush_every_ms(None)
        .open()
        .expect("open sled");
    let value = vec![b'x'; 420]; // about one task's JSON
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(secs) {
        db.insert(format!("task_{n:016x}"), value.as_slice())
            .expect("insert");
        db.flush().expect("flush");
        n += 1;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// `writers` tasks each inserting and awaiting the group commit, for `secs`.
async fn group_commit(dir: &Path, writers: usize, secs: u64) -> f64 {
    let store = alice::store::Store::open(&dir.join("group")).expect("open the store");
    let bot = store.bot("bench");
    let tree = bot.tree::<String>(alice::store::Tree::Tasks).expect("tree");
    let value = "x".repeat(420);
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let end = start + Duration::from_secs(secs);
    let workers: Vec<_> = (0..writers)
        .map(|w| {
            let (bot, tree, value, done) = (bot.clone(), tree.clone(), value.clone(), done.clone());
            tokio::spawn(async move {
                let mut n = 0u64;
                while Instant::now() < end {
                    tree.insert(&format!("{w:02}-{n:016x}"), &value)
                        .expect("insert");
                    bot.durable().await.expect("flush");
                    done.fetch_add(1, Ordering::Relaxed);
                    n += 1;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.expect("writer task");
    }
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

fn serve(bin: &Path, dir: &Path, port: u16, workers: usize) -> Child {
    let config = dir.join("bots.toml");
    std::fs::write(
        &config,
        format!(
            "[supervisor]\ndata_dir = \"data\"\nadmin_addr = \"127.0.0.1:{}\"\n\n\
             [bots.bench]\nruntime_http_addr = \"127.0.0.1:{port}\"\nruntime_http_token = \"bench\"\n\
             workers = {workers}\n\
             [bots.bench.limits]\nrequests_per_minute = 100000000\n",
            free_port()
        ),
    )
    .expect("write the config");
    Command::new(bin)
        .args(["serve", "--config"])
        .arg(&config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start alice serve")
}

async fn creates(url: String, clients: usize, secs: u64, status: &str) -> (f64, u64) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .expect("client");
    let deadline = Instant::now() + Duration::from_secs(20);
    while client.get(format!("{url}/healthz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "alice did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let body = serde_json::json!({"scope_type": "chat", "scope_id": "oc_bench",
        "action": "send_text", "text": "good morning, team", "cron": "0 9 * * *",
        "status": status});
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let end = start + Duration::from_secs(secs);
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let (client, url, body) = (client.clone(), url.clone(), body.clone());
            let (done, failed) = (done.clone(), failed.clone());
            tokio::spawn(async move {
                while Instant::now() < end {
                    let res = client
                        .post(format!("{url}/api/v1/automation/tasks"))
                        .bearer_auth("bench")
                        .json(&body)
                        .send()
                        .await;
                    match res {
                        Ok(r) if r.status() == 201 => done.fetch_add(1, Ordering::Relaxed),
                        _ => failed.fetch_add(1, Ordering::Relaxed),
                    };
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.expect("client task");
    }
    let rate = done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64();
    (rate, failed.load(Ordering::Relaxed))
}

fn main() {
    let args = args();
    let temp = tempfile::tempdir_in(args.dir.clone().unwrap_or_else(std::env::temp_dir))
        .expect("a scratch folder");
    println!(
        "scratch folder: {} ({} s per phase)",
        temp.path().display(),
        args.secs
    );

    let raw = raw_sled(temp.path(), args.secs);
    println!("raw sled insert+flush, 1 writer:      {raw:>10.0} writes/s");

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let grouped = runtime.block_on(group_commit(temp.path(), args.clients, args.secs));
    println!(
        "group commit, {} writers, no HTTP:     {grouped:>10.0} writes/s",
        args.clients
    );

    let port = free_port();
    let mut child = serve(&args.bin, temp.path(), port, args.workers);
    let (rate, failed) = runtime.block_on(creates(
        format!("http://127.0.0.1:{port}"),
        args.clients,
        args.secs,
        &args.status,
    ));
    let _ = child.kill();
    let _ = child.wait();
    println!(
        "durable creates, {} clients over HTTP: {rate:>10.0} creates/s ({failed} failed, {} tasks)",
        args.clients, args.status
    );
    println!(
        "ratio to raw: group commit {:.1}x, HTTP creates {:.1}x",
        grouped / raw,
        rate / raw
    );
}
