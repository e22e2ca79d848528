//! One bots.toml split over several supervisors (`--shard I/N`, `--only`),
//! and the per-bot lock that keeps two supervisors off one bot.

use crate::common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Stdio};

const ADMIN_TOKEN: &str = "shared-admin-token-for-every-shard";

/// A file with `n` bots named bot0…bot(n-1) and one admin token for all.
fn shared_file(dir: &TestDir, admin: u16, base: u16, n: usize) -> std::path::PathBuf {
    let mut text = supervisor_toml(admin, base).replace(
        "[supervisor]\n",
        &format!("[supervisor]\nadmin_token = \"{ADMIN_TOKEN}\"\n"),
    );
    for i in 0..n {
        text.push_str(&format!("[bots.bot{i}]\n"));
    }
    dir.write_config(&text)
}

/// `alice serve` on the shared file with its own data folder and admin
/// address (as each host of a deployment would have).
fn spawn_host(
    config: &Path,
    data: &Path,
    admin: u16,
    env: &[(&str, &str)],
    args: &[&str],
) -> Child {
    let log = std::fs::File::create(data.with_extension("log")).expect("log file");
    let mut all = vec!["serve", "--config", config.to_str().unwrap()];
    all.extend_from_slice(args);
    let mut cmd = alice_command(&all);
    cmd.env("ALICE_SUPERVISOR__DATA_DIR", data)
        .env("ALICE_SUPERVISOR__ADMIN_ADDR", format!("127.0.0.1:{admin}"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn alice serve")
}

async fn admin_get(admin: u16, path: &str) -> (u16, Value) {
    let res = client()
        .get(format!("http://127.0.0.1:{admin}{path}"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("admin request");
    (
        res.status().as_u16(),
        res.json().await.unwrap_or(Value::Null),
    )
}

async fn running_ids(admin: u16) -> BTreeSet<String> {
    let (status, body) = admin_get(admin, "/api/bots").await;
    assert_eq!(status, 200, "{body}");
    body.as_array()
        .expect("a list")
        .iter()
        .map(|b| b["id"].as_str().expect("id").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_shards_run_every_bot_exactly_once_on_its_file_port() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(10), free_ports(1));
    let admin_b = free_ports(1);
    let path = shared_file(&dir, admin, base, 10);
    // One by the flag, one by the environment (as Kubernetes would set it).
    let mut a = spawn_host(
        &path,
        &dir.path().join("data-a"),
        admin,
        &[],
        &["--shard", "0/2"],
    );
    let mut b = spawn_host(
        &path,
        &dir.path().join("data-b"),
        admin_b,
        &[("ALICE_SUPERVISOR__SHARD", "1/2")],
        &[],
    );
    wait_healthy(&format!("http://127.0.0.1:{admin}/healthz")).await;
    wait_healthy(&format!("http://127.0.0.1:{admin_b}/healthz")).await;

    let (on_a, on_b) = (running_ids(admin).await, running_ids(admin_b).await);
    assert!(on_a.is_disjoint(&on_b), "{on_a:?} / {on_b:?}");
    assert_eq!(on_a.len() + on_b.len(), 10, "{on_a:?} / {on_b:?}");
    assert!(!on_a.is_empty() && !on_b.is_empty(), "{on_a:?} / {on_b:?}");
    // Every bot listens on base_port + its place in the file.
    for i in 0..10u16 {
        wait_healthy(&format!("http://127.0.0.1:{}/healthz", base + i)).await;
    }

    // The plan, from the file alone, says what ran where.
    let config = path.to_str().unwrap();
    let out = alice_command(&[
        "bots", "--config", config, "plan", "--shards", "2", "--json",
    ])
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: Value = serde_json::from_slice(&out.stdout).expect("--json is JSON");
    for (i, placed) in plan.as_array().unwrap().iter().enumerate() {
        let id = placed["id"].as_str().unwrap();
        let expected = if on_a.contains(id) { "0/2" } else { "1/2" };
        assert_eq!(placed["shard"], expected, "{placed}");
        assert_eq!(placed["address"], format!("127.0.0.1:{}", base + i as u16));
    }
    let out = alice_command(&["bots", "--config", config, "plan", "--shards", "2"])
        .output()
        .unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("SHARD") && table.contains("bot9"), "{table}");

    // A's admin API refuses B's bot, naming the owner.
    let theirs = on_b.iter().next().unwrap();
    let (status, body) = admin_get(admin, &format!("/api/bots/{theirs}")).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["code"], "bot_on_other_shard", "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("shard 1/2"),
        "{body}"
    );
    let (status, body) = admin_get(admin, "/api/bots/nobody").await;
    assert_eq!(
        (status, &body["code"]),
        (404, &Value::from("bot_not_found"))
    );

    // `bots list` shows its own; `--all` adds the other supervisor's.
    let list = |extra: &[&str]| {
        let mut args = vec!["bots", "--config", config, "--json", "list"];
        args.extend_from_slice(extra);
        let out = alice_command(&args)
            .env("ALICE_SUPERVISOR__ADMIN_ADDR", format!("127.0.0.1:{admin}"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bots: Value = serde_json::from_slice(&out.stdout).unwrap();
        bots.as_array().unwrap().len()
    };
    assert_eq!(list(&[]), on_a.len());
    let other = format!("127.0.0.1:{admin_b}");
    assert_eq!(list(&["--all", &other]), 10);

    for child in [&mut a, &mut b] {
        terminate(child);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_runs_exactly_the_named_bots_and_refuses_unknown_ones() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(3), free_ports(1));
    let path = shared_file(&dir, admin, base, 3);
    let mut one = spawn_host(
        &path,
        &dir.path().join("data"),
        admin,
        &[],
        &["--only", "bot0,bot2"],
    );
    wait_healthy(&format!("http://127.0.0.1:{admin}/healthz")).await;
    let ids: Vec<String> = running_ids(admin).await.into_iter().collect();
    assert_eq!(ids, ["bot0", "bot2"]);
    wait_healthy(&format!("http://127.0.0.1:{}/healthz", base + 2)).await;
    let (status, body) = admin_get(admin, "/api/bots/bot1").await;
    assert_eq!(
        (status, &body["code"]),
        (404, &Value::from("bot_on_other_shard"))
    );
    terminate(&mut one);

    let out = alice_command(&[
        "serve",
        "--config",
        path.to_str().unwrap(),
        "--only",
        "bot7",
    ])
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("supervisor.only") && stderr.contains("bot7"),
        "{stderr}"
    );
}

/// A second supervisor whose data folder shares a bot's folder with a
/// running one (a misconfigured shared volume) refuses that bot with a clear
/// reason, and runs the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_supervisor_on_a_locked_bot_folder_refuses_that_bot() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(2), free_ports(1));
    let (base_b, admin_b) = (free_ports(2), free_ports(1));
    let path = shared_file(&dir, admin, base, 2);
    let (data_a, data_b) = (dir.path().join("data-a"), dir.path().join("data-b"));
    let mut a = spawn_host(&path, &data_a, admin, &[], &[]);
    wait_healthy(&format!("http://127.0.0.1:{base}/healthz")).await;
    std::fs::create_dir_all(&data_b).unwrap();
    std::os::unix::fs::symlink(data_a.join("bot0"), data_b.join("bot0")).unwrap();
    // Other ports, so the lock (not a taken port) is what stops bot0.
    let port = base_b.to_string();
    let mut b = spawn_host(
        &path,
        &data_b,
        admin_b,
        &[("ALICE_SUPERVISOR__BASE_PORT", &port)],
        &[],
    );
    wait_healthy(&format!("http://127.0.0.1:{}/healthz", base_b + 1)).await;
    eventually("bot0 failed on the second supervisor", || async {
        admin_get(admin_b, "/api/bots/bot0").await.1["state"] == "failed"
    })
    .await;
    let (_, bot0) = admin_get(admin_b, "/api/bots/bot0").await;
    let reason = bot0["last_error"].as_str().unwrap_or_default();
    assert!(reason.contains("in use by another alice"), "{bot0}");
    // The first one still runs it.
    let (_, bot0) = admin_get(admin, "/api/bots/bot0").await;
    assert_eq!(bot0["state"], "running", "{bot0}");

    for child in [&mut a, &mut b] {
        terminate(child);
    }
}

/// `/readyz` (open, like `/healthz`) is ready only once every bot this
/// supervisor runs has started; a failed bot keeps it not ready.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_waits_for_every_bot_of_this_supervisor() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(2), free_ports(1));
    // bot1's port is taken: it fails and keeps failing.
    let _taken = std::net::TcpListener::bind(("127.0.0.1", base + 1)).unwrap();
    let path = shared_file(&dir, admin, base, 2);
    let mut one = spawn_host(&path, &dir.path().join("data"), admin, &[], &[]);
    wait_healthy(&format!("http://127.0.0.1:{base}/healthz")).await;
    let url = format!("http://127.0.0.1:{admin}/readyz");
    eventually("bot1 failed", || async {
        admin_get(admin, "/api/bots/bot1").await.1["state"] == "failed"
    })
    .await;
    let res = client().get(&url).send().await.unwrap();
    assert_eq!(res.status(), 503);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["waiting"], serde_json::json!(["bot1"]), "{body}");
    // Stopped on purpose: no longer awaited.
    let res = client()
        .post(format!("http://127.0.0.1:{admin}/api/bots/bot1/stop"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = client().get(&url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    terminate(&mut one);
}

fn deploy_file(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scripts/deploy")
            .join(name),
    )
    .unwrap_or_else(|e| panic!("scripts/deploy/{name}: {e}"))
}

/// The largest shutdown timeout of a bots.toml (what stop timeouts must exceed).
fn largest_shutdown_timeout(bots_toml: &str) -> u64 {
    let dir = TestDir::new();
    let path = dir.write_config(bots_toml);
    let config = alice::config::load_for_client(&path).expect("the example bots.toml is valid");
    config
        .bots
        .iter()
        .map(|b| b.runtime_api_shutdown_timeout_secs)
        .max()
        .unwrap_or(0)
}

#[test]
fn the_kubernetes_manifests_have_what_a_sharded_deployment_needs() {
    let text = deploy_file("kubernetes.yaml");
    let docs: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).expect("valid YAML"))
        .collect();
    let of_kind = |kind: &str| {
        docs.iter()
            .find(|d| d["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind}"))
    };
    let (set, service, bots) = (
        of_kind("StatefulSet"),
        of_kind("Service"),
        of_kind("ConfigMap"),
    );
    let s = |v: &serde_yaml::Value| v.as_str().unwrap_or_default().to_string();

    // A headless Service that the StatefulSet names.
    assert_eq!(s(&service["spec"]["clusterIP"]), "None");
    assert_eq!(set["spec"]["serviceName"], service["metadata"]["name"]);

    // One pod per shard: `--shard $(ORDINAL)/N` with N = replicas, ORDINAL
    // from the pod's index.
    let replicas = set["spec"]["replicas"].as_u64().expect("replicas");
    let pod = &set["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let args: Vec<String> = container["args"]
        .as_sequence()
        .expect("args")
        .iter()
        .map(s)
        .collect();
    let at = args.iter().position(|a| a == "--shard").expect("--shard");
    assert_eq!(args[at + 1], format!("$(ORDINAL)/{replicas}"));
    let env = container["env"].as_sequence().expect("env");
    let var = |name: &str| {
        env.iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("no env {name}"))
    };
    assert_eq!(
        s(&var("ORDINAL")["valueFrom"]["fieldRef"]["fieldPath"]),
        "metadata.labels['apps.kubernetes.io/pod-index']"
    );
    // The admin token from a Secret.
    assert!(var("ALICE_SUPERVISOR__ADMIN_TOKEN")["valueFrom"]["secretKeyRef"]["name"].is_string());

    // A volume claim per pod, mounted where bots.toml puts data_dir.
    let claim = s(&set["spec"]["volumeClaimTemplates"][0]["metadata"]["name"]);
    let mount = container["volumeMounts"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|m| s(&m["name"]) == claim)
        .expect("the claim is mounted");
    let bots_toml = s(&bots["data"]["bots.toml"]);
    let data_dir = format!("data_dir = \"{}\"", s(&mount["mountPath"]));
    assert!(bots_toml.contains(&data_dir), "{bots_toml}");

    // Probes on the admin API; a grace period above every bot's drain.
    assert_eq!(
        s(&container["livenessProbe"]["httpGet"]["path"]),
        "/healthz"
    );
    assert_eq!(
        s(&container["readinessProbe"]["httpGet"]["path"]),
        "/readyz"
    );
    let grace = pod["terminationGracePeriodSeconds"]
        .as_u64()
        .expect("grace");
    assert!(grace > largest_shutdown_timeout(&bots_toml), "{grace}");
}

#[test]
fn the_systemd_unit_has_what_a_host_needs() {
    let text = deploy_file("alice.service");
    let value = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("alice.service lacks {key}="))
            .trim()
            .to_string()
    };
    assert!(["simple", "notify"].contains(&value("Type").as_str()));
    assert!(value("ExecReload").contains("-HUP $MAINPID"));
    assert_eq!(value("KillSignal"), "SIGTERM");
    assert!(value("TimeoutStopSec").parse::<u64>().unwrap() > 5);
    assert!(!value("User").is_empty() && value("User") != "root");
    assert_eq!(value("StateDirectory"), "alice");
    assert_eq!(value("ProtectSystem"), "strict");
    assert_eq!(value("NoNewPrivileges"), "yes");
    assert!(value("ExecStart").contains(" serve "));

    // systemd's own check, where systemd is installed (with a binary that
    // exists here in place of /usr/local/bin/alice).
    let Ok(out) = std::process::Command::new("systemd-analyze")
        .arg("--version")
        .output()
    else {
        return;
    };
    if !out.status.success() {
        return;
    }
    let dir = TestDir::new();
    let unit = dir.path().join("alice.service");
    std::fs::write(
        &unit,
        text.replace("/usr/local/bin/alice", env!("CARGO_BIN_EXE_alice")),
    )
    .unwrap();
    let out = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const BOT_TOKEN: &str = "alpha-custom-token-that-moves";

fn alpha_file(dir: &TestDir, admin: u16, base: u16) -> std::path::PathBuf {
    dir.write_config(&format!(
        "{}[bots.alpha]\nruntime_http_token = \"{BOT_TOKEN}\"\n[bots.alpha.agent]\ncommand = [\"sh\", \"-c\", \"cat >/dev/null; echo fine\"]\n[bots.alpha.automation]\nmin_every_seconds = 1\n",
        supervisor_toml(admin, base)
    ))
}

async fn bot_call(
    base: u16,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = client()
        .request(method, format!("http://127.0.0.1:{base}{path}"))
        .bearer_auth(BOT_TOKEN)
        .header("x-alice-receive-id", "oc_goal");
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    (
        res.status().as_u16(),
        res.json().await.unwrap_or(Value::Null),
    )
}

fn run_cli(config: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["bots", "--config", config.to_str().unwrap()];
    all.extend_from_slice(args);
    alice_command(&all).output().unwrap()
}

/// The archive with `change` applied to its members (path, bytes).
fn rewrite(archive: &[u8], change: impl Fn(&str, &mut Vec<u8>)) -> Vec<u8> {
    let mut out = tar::Builder::new(Vec::new());
    for entry in tar::Archive::new(archive).entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
        change(&path, &mut bytes);
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o600);
        header.set_cksum();
        out.append_data(&mut header, &path, &bytes[..]).unwrap();
    }
    out.into_inner().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_moves_with_its_tasks_goal_history_and_token() {
    use reqwest::Method;
    let (from, to) = (TestDir::new(), TestDir::new());
    let (base, admin) = (free_ports(1), free_ports(1));
    let (base_b, admin_b) = (free_ports(1), free_ports(1));
    let from_file = alpha_file(&from, admin, base);
    let to_file = alpha_file(&to, admin_b, base_b);

    let mut a = spawn_serve(&from_file, &[]);
    wait_healthy(&format!("http://127.0.0.1:{base}/healthz")).await;
    let (status, task) = bot_call(
        base,
        Method::POST,
        "/api/v1/automation/tasks",
        Some(serde_json::json!({"scope_type": "chat", "scope_id": "oc_tick", "text": "tick", "every_seconds": 1})),
    )
    .await;
    assert_eq!(status, 201, "{task}");
    let task_path = format!("/api/v1/automation/tasks/{}", task["id"].as_str().unwrap());
    let (status, goal) = bot_call(
        base,
        Method::POST,
        "/api/v1/goal",
        Some(serde_json::json!({"description": "ship the move"})),
    )
    .await;
    assert_eq!(status, 201, "{goal}");
    let res = client()
        .post(format!(
            "http://127.0.0.1:{admin}/api/bots/alpha/conversations/oc_chat/messages"
        ))
        .bearer_auth(
            std::fs::read_to_string(from.path().join("data/admin.token"))
                .unwrap()
                .trim(),
        )
        .json(&serde_json::json!({"text": "remember me"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    eventually("the task fired", || async {
        bot_call(base, Method::GET, &task_path, None).await.1["run_count"].as_u64() >= Some(1)
    })
    .await;

    // While alice runs, the supervisor makes the archive (and the bot runs on).
    let out = run_cli(&from_file, &["export", "alpha"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let live = out.stdout;
    wait_healthy(&format!("http://127.0.0.1:{base}/healthz")).await;
    terminate(&mut a);
    // Stopped: the CLI reads the data folder itself.
    let out = run_cli(&from_file, &["export", "alpha"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let archive = out.stdout;
    let members = tar::Archive::new(&archive[..]).entries().unwrap().count();
    assert!(members > 3 && !live.is_empty(), "{members} members");

    // Damaged, newer or duplicate archives are refused, nothing written.
    let tar_path = to.path().join("alpha.tar");
    let import = |bytes: &[u8], extra: &[&str]| {
        std::fs::write(&tar_path, bytes).unwrap();
        let mut args = vec!["import", tar_path.to_str().unwrap()];
        args.extend_from_slice(extra);
        run_cli(&to_file, &args)
    };
    let damaged = rewrite(&archive, |path, bytes| {
        if path == "trees/tasks.jsonl" {
            bytes.extend_from_slice(b"{}\n");
        }
    });
    let out = import(&damaged, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("checksum of trees/tasks.jsonl"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let newer = rewrite(&archive, |path, bytes| {
        if path == "manifest.json" {
            let mut m: Value = serde_json::from_slice(bytes).unwrap();
            m["format"] = 99.into();
            *bytes = serde_json::to_vec(&m).unwrap();
        }
    });
    let out = import(&newer, &[]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("format 99"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = import(b"not a tar at all", &[]);
    assert_eq!(out.status.code(), Some(1));

    let out = import(&live, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = import(&archive, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already exists"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Under another id it goes in (and the file needs its table).
    let out = import(&archive, &["--as", "alpha2"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("add [bots.alpha2]"));

    // Started on the other data folder: same token, task, goal, history.
    let mut b = spawn_serve(&to_file, &[]);
    wait_healthy(&format!("http://127.0.0.1:{base_b}/healthz")).await;
    let (status, moved) = bot_call(base_b, Method::GET, &task_path, None).await;
    assert_eq!(status, 200, "{moved}");
    let fired = moved["run_count"].as_u64().unwrap();
    eventually("the task fires on the new host", || async {
        bot_call(base_b, Method::GET, &task_path, None).await.1["run_count"].as_u64() > Some(fired)
    })
    .await;
    let (status, goal) = bot_call(base_b, Method::GET, "/api/v1/goal", None).await;
    assert_eq!(
        (status, &goal["description"]),
        (200, &Value::from("ship the move")),
        "{goal}"
    );
    let res = client()
        .get(format!(
            "http://127.0.0.1:{admin_b}/api/bots/alpha/conversations/oc_chat/messages"
        ))
        .bearer_auth(
            std::fs::read_to_string(to.path().join("data/admin.token"))
                .unwrap()
                .trim(),
        )
        .send()
        .await
        .unwrap();
    let history: Value = res.json().await.unwrap();
    assert!(history.to_string().contains("remember me"), "{history}");
    terminate(&mut b);
}
