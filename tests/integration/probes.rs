//! `GET /api/v1/probes/internal`: a bot's state, true to what it is doing,
//! for its main token only, with no secret in it.

use crate::common::*;
use crate::runs::{BotSpec, Harness};
use serde_json::{json, Value};

async fn probe(url: &str, token: Option<&str>) -> (u16, String) {
    let mut req = client().get(format!("{url}/api/v1/probes/internal"));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let res = req.send().await.expect("probe");
    let status = res.status().as_u16();
    (status, res.text().await.unwrap_or_default())
}

/// The probe as JSON, checking that the bot's token is nowhere in it.
async fn probe_json(url: &str, token: &str) -> Value {
    let (status, body) = probe(url, Some(token)).await;
    assert_eq!(status, 200, "{body}");
    assert!(!body.contains(token), "the bot token leaked: {body}");
    serde_json::from_str(&body).expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_internal_probe_shows_the_bot_its_tasks_runs_and_inbox() {
    let h = Harness::start(&[BotSpec::new("alpha", "gate.sh")], "").await;
    let url = h.url("alpha");
    let token = h.token("alpha").await;

    let (status, body) = probe(&url, None).await;
    assert_eq!(status, 401, "{body}");
    assert!(serde_json::from_str::<Value>(&body).unwrap()["error"].is_string());

    let p = probe_json(&url, &token).await;
    assert_eq!(p["version"], env!("CARGO_PKG_VERSION"));
    assert!(chrono::DateTime::parse_from_rfc3339(p["timestamp"].as_str().unwrap()).is_ok());
    assert!(p["uptime_seconds"].is_u64(), "{p}");
    assert_eq!(p["bot"]["id"], "alpha");
    assert_eq!(p["bot"]["name"], "alpha");
    assert_eq!(p["bot"]["address"], url.trim_start_matches("http://"));
    assert_eq!(p["bot"]["connector"], "local");
    assert_eq!(p["bot"]["timezone"], "UTC", "{p}");
    assert_eq!(p["connector"]["kind"], "local");
    // The embedded connector is usable as long as the bot runs.
    assert_eq!(p["connector"]["state"], "connected", "{p}");
    assert!(p["connector"]["connected_since"].is_string(), "{p}");
    assert!(p["connector"]["last_event_at"].is_null(), "{p}");
    assert!(p["connector"]["last_error"].is_null(), "{p}");
    // The probe itself is in flight while it is answered.
    assert!(p["http"]["in_flight"].as_i64().unwrap() >= 1, "{p}");
    assert!(p["scheduler"]["last_error"].is_null(), "{p}");
    assert!(p["agent"]["last_exit"].is_null(), "{p}");
    // The meta tree holds the generated token at least.
    assert!(p["store"]["size_bytes"].as_u64().unwrap() > 0, "{p}");
    assert_eq!(p["limits"]["list_max"], 200);
    assert_eq!(p["permissions"]["runtime_message"], true);
    // The 401 above was counted; this request is not yet.
    assert!(p["http"]["requests_total"].as_u64().unwrap() >= 1, "{p}");
    assert_eq!(p["http"]["auth_failed_total"], 1, "{p}");
    assert_eq!(p["http"]["rate_limited_total"], 0, "{p}");
    assert_eq!(p["scheduler"]["active_tasks"], 0, "{p}");
    assert!(p["scheduler"]["next_due_at"].is_null(), "{p}");
    assert_eq!(p["scheduler"]["runs_in_flight"], 0);
    // The program's name, never its arguments (here the script's path).
    assert_eq!(p["agent"]["command"], "sh", "{p}");
    assert!(!p.to_string().contains("gate.sh"), "{p}");
    assert_eq!(p["agent"]["runs_in_flight"], 0);
    assert_eq!(p["agent"]["capacity"], 4);
    assert_eq!(p["inbox"]["pending"], 0);
    assert!(p["inbox"]["oldest_age_seconds"].is_null());
    let trees: Vec<&str> = p["store"]["trees"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(trees.contains(&"meta") && trees.contains(&"inbox"), "{p}");
    let skills: Vec<&str> = p["skills"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(p["skills"]["count"], skills.len());
    assert!(skills.contains(&"alice-message"), "{p}");
    let message = &p["skills"]["items"][skills.iter().position(|s| *s == "alice-message").unwrap()];
    assert_eq!(message["loaded"], true, "{p}");
    assert_eq!(message["calls"], 0, "{p}");

    // One active task: counted, and its due time is the next one.
    let due = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let res = client()
        .post(format!("{url}/api/v1/automation/tasks"))
        .bearer_auth(&token)
        .json(
            &json!({"scope_type": "chat", "scope_id": "oc_1", "action": "run_llm",
            "prompt": "later", "run_at": due}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let p = probe_json(&url, &token).await;
    assert_eq!(p["scheduler"]["active_tasks"], 1, "{p}");
    let next = p["scheduler"]["next_due_at"].as_str().expect("next_due_at");
    let next = chrono::DateTime::parse_from_rfc3339(next).unwrap();
    let due = chrono::DateTime::parse_from_rfc3339(&due).unwrap();
    assert!((next - due).num_seconds().abs() <= 1, "{next} vs {due}");

    // A run held open by the gate agent; its token is refused.
    let (status, accepted) = h.headless("alpha", json!({"prompt": "wait"})).await;
    assert_eq!(status, 202);
    let task = accepted["taskId"].as_str().unwrap().to_string();
    let run_token = h.run_token("alpha", &task).await;
    let (status, body) = probe(&url, Some(&run_token)).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["code"],
        "outside_scope"
    );
    let p = probe_json(&url, &token).await;
    assert_eq!(p["agent"]["runs_in_flight"], 1, "{p}");
    assert!(!p.to_string().contains(&run_token), "{p}");

    // A local message waits in the inbox while its answer is held too.
    let (status, sent) = h
        .admin_send(
            reqwest::Method::POST,
            "/api/bots/alpha/conversations/oc_probe/messages",
            Some(json!({"text": "hello"})),
        )
        .await;
    assert_eq!(status, 202, "{sent}");
    let p = probe_json(&url, &token).await;
    assert_eq!(p["inbox"]["pending"], 1, "{p}");
    assert!(p["inbox"]["oldest_age_seconds"].is_i64(), "{p}");

    h.open_gate("alpha");
    h.finished(&task).await;
    eventually("the inbox is empty and no run is left", || {
        let (url, token) = (url.clone(), token.clone());
        async move {
            let p = probe_json(&url, &token).await;
            p["inbox"]["pending"] == 0 && p["agent"]["runs_in_flight"] == 0
        }
    })
    .await;
    // The last finished run is one of the two (the headless one or the chat's).
    let p = probe_json(&url, &token).await;
    let last = &p["agent"]["last_exit"];
    assert_eq!(last["status"], "succeeded", "{p}");
    assert_eq!(last["exit_code"], 0, "{p}");
    assert!(
        last["run_id"].is_string() && last["finished_at"].is_string(),
        "{p}"
    );
    h.stop().await;
}

fn write_skill(skills: &std::path::Path, name: &str, manifest: &str, script: &str) {
    use std::os::unix::fs::PermissionsExt;
    let folder = skills.join(name);
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("SKILL.md"), manifest).unwrap();
    let run = folder.join("run.sh");
    std::fs::write(&run, script).unwrap();
    std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_internal_probe_counts_skill_calls_and_keeps_the_last_task_error() {
    let h = Harness::start(&[BotSpec::new("alpha", "gate.sh")], "").await;
    let (url, token) = (h.url("alpha"), h.token("alpha").await);
    let skills = h.workspace("alpha").join("skills");
    write_skill(
        &skills,
        "report",
        "---\nname: report\n---\n",
        "#!/bin/sh\necho done\n",
    );
    write_skill(
        &skills,
        "broken",
        "---\nname: broken\n---\n",
        "#!/bin/sh\necho 'disk full' >&2\nexit 3\n",
    );
    // Declares an entry script that is not there: listed, not loaded.
    write_skill(
        &skills,
        "halfway",
        "---\nname: halfway\nentry: missing.sh\n---\n",
        "",
    );

    let due = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    let mut ids = Vec::new();
    for workflow in ["report", "broken"] {
        let res = client()
            .post(format!("{url}/api/v1/automation/tasks"))
            .bearer_auth(&token)
            .json(
                &json!({"scope_type": "chat", "scope_id": "oc_1", "action": "run_workflow",
                "workflow": workflow, "run_at": due}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        ids.push(
            res.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let skill = |p: &Value, name: &str| {
        p["skills"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .cloned()
            .unwrap_or(Value::Null)
    };
    eventually("both workflows ran", || {
        let (url, token) = (url.clone(), token.clone());
        async move {
            let p = probe_json(&url, &token).await;
            skill(&p, "report")["success"] == 1 && skill(&p, "broken")["failure"] == 1
        }
    })
    .await;
    let p = probe_json(&url, &token).await;
    let report = skill(&p, "report");
    assert_eq!(
        (report["calls"].as_u64(), report["failure"].as_u64()),
        (Some(1), Some(0)),
        "{p}"
    );
    assert_eq!(report["loaded"], true, "{p}");
    let broken = skill(&p, "broken");
    assert_eq!(
        (broken["calls"].as_u64(), broken["success"].as_u64()),
        (Some(1), Some(0)),
        "{p}"
    );
    assert_eq!(skill(&p, "halfway")["loaded"], false, "{p}");
    assert_eq!(skill(&p, "halfway")["calls"], 0, "{p}");
    eventually("the failure is recorded", || {
        let (url, token) = (url.clone(), token.clone());
        async move { !probe_json(&url, &token).await["scheduler"]["last_error"].is_null() }
    })
    .await;
    let p = probe_json(&url, &token).await;
    let last = &p["scheduler"]["last_error"];
    assert_eq!(last["task_id"], ids[1].as_str(), "{p}");
    assert!(last["error"].as_str().unwrap().contains("disk full"), "{p}");
    assert!(last["at"].is_string(), "{p}");
    h.stop().await;
}

async fn external(url: &str, token: &str) -> Value {
    let res = client()
        .get(format!("{url}/api/v1/probes/external"))
        .bearer_auth(token)
        .send()
        .await
        .expect("external probe");
    assert_eq!(res.status(), 200);
    let body = res.text().await.unwrap();
    for secret in [token, crate::common::fake_feishu_ws::APP_SECRET] {
        assert!(!body.contains(secret), "a secret leaked: {body}");
    }
    serde_json::from_str(&body).expect("JSON")
}

/// The results named `name`.
fn results<'a>(p: &'a Value, name: &str) -> Vec<&'a Value> {
    p["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|r| r["name"] == name)
        .collect()
}

fn feishu_bot(base_url: &str) -> String {
    use crate::common::fake_feishu_ws::{APP_ID, APP_SECRET};
    format!("[bots.{{id}}.connector]\nkind = \"feishu\"\napp_id = \"{APP_ID}\"\napp_secret = \"{APP_SECRET}\"\nbase_url = \"{base_url}\"\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_external_probe_checks_feishu_the_agent_and_the_hosts_it_calls() {
    let fake = crate::common::fake_feishu_ws::FakeFeishu::start().await;
    let dead = format!("http://127.0.0.1:{}", free_ports(1));
    let up = feishu_bot(&fake.base_url).replace("{id}", "up");
    let down = feishu_bot(&dead).replace("{id}", "down");
    let mut specs = [
        BotSpec::new("up", "gate.sh"),
        BotSpec::new("down", "gate.sh"),
        BotSpec::new("plain", "gate.sh"),
    ];
    specs[0].extra = &up;
    specs[1].extra = &down;
    let h = Harness::start(&specs, "").await;

    // Up: every check answers, once the connection's first ping is answered.
    let (url, token) = (h.url("up"), h.token("up").await);
    eventually("the long connection is up", || {
        let (url, token) = (url.clone(), token.clone());
        async move { probe_json(&url, &token).await["connector"]["state"] == "connected" }
    })
    .await;
    let p = external(&url, &token).await;
    assert_eq!(p["ok"], true, "{p}");
    assert!(p["timestamp"].is_string(), "{p}");
    let tok = results(&p, "feishu_token")[0];
    assert_eq!(tok["status"], "ok", "{p}");
    assert_eq!(tok["http_status"], 200, "{p}");
    // Scheme and host only: never a path or query.
    assert_eq!(tok["url"], fake.base_url.as_str(), "{p}");
    assert!(tok["latency_ms"].is_u64(), "{p}");
    assert_eq!(
        results(&p, "feishu_long_connection")[0]["status"],
        "ok",
        "{p}"
    );
    let agent = results(&p, "agent_command")[0];
    assert_eq!(agent["status"], "ok", "{p}");
    let hosts = results(&p, "callback_host");
    assert_eq!(hosts.len(), 1, "{p}");
    assert_eq!(hosts[0]["status"], "ok", "{p}");
    assert_eq!(hosts[0]["url"], fake.base_url.as_str(), "{p}");

    // Down: errors, each with its reason.
    let p = external(&h.url("down"), &h.token("down").await).await;
    assert_eq!(p["ok"], false, "{p}");
    for name in ["feishu_token", "feishu_long_connection", "callback_host"] {
        let r = results(&p, name)[0];
        assert_eq!(r["status"], "error", "{name}: {p}");
        assert!(
            r["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{name}: {p}"
        );
        assert_eq!(r["url"], dead.as_str(), "{name}: {p}");
    }
    assert!(
        results(&p, "feishu_token")[0]["http_status"].is_null(),
        "{p}"
    );
    assert_eq!(results(&p, "agent_command")[0]["status"], "ok", "{p}");

    // Local: nothing to reach but the agent.
    let p = external(&h.url("plain"), &h.token("plain").await).await;
    assert_eq!(p["ok"], true, "{p}");
    for name in ["feishu_token", "feishu_long_connection"] {
        let r = results(&p, name)[0];
        assert_eq!(r["status"], "skipped", "{name}: {p}");
        assert!(
            r["reason"].as_str().is_some_and(|e| e.contains("local")),
            "{p}"
        );
    }
    assert!(results(&p, "callback_host").is_empty(), "{p}");

    // No token: 401.
    let res = client()
        .get(format!("{}/api/v1/probes/external", h.url("plain")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_supervisor_probe_has_a_line_per_bot_and_its_own() {
    let h = Harness::start(&[BotSpec::new("alpha", "gate.sh")], "").await;
    let bot_token = h.token("alpha").await;
    let (status, p) = h
        .admin_send(reqwest::Method::GET, "/api/probes", None)
        .await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["ok"], true, "{p}");
    assert!(p["timestamp"].is_string(), "{p}");
    assert_eq!(p["supervisor"]["version"], env!("CARGO_PKG_VERSION"), "{p}");
    assert_eq!(p["supervisor"]["bots"], 1, "{p}");
    assert_eq!(p["supervisor"]["running"], 1, "{p}");
    let alpha = &p["bots"][0];
    assert_eq!(alpha["id"], "alpha", "{p}");
    assert_eq!(alpha["state"], "running", "{p}");
    assert_eq!(alpha["health"], "ok", "{p}");
    assert_eq!(alpha["connector"], "local", "{p}");
    assert_eq!(alpha["connector_state"], "connected", "{p}");
    assert_eq!(alpha["inbox_pending"], 0, "{p}");
    assert!(alpha["last_error"].is_null(), "{p}");

    // A message held by the gate agent is pending; a stopped bot says so.
    let (status, _) = h
        .admin_send(
            reqwest::Method::POST,
            "/api/bots/alpha/conversations/oc_1/messages",
            Some(json!({"text": "hello"})),
        )
        .await;
    assert_eq!(status, 202);
    let (_, p) = h
        .admin_send(reqwest::Method::GET, "/api/probes", None)
        .await;
    assert_eq!(p["bots"][0]["inbox_pending"], 1, "{p}");
    h.open_gate("alpha");
    let (status, _) = h
        .admin_send(reqwest::Method::POST, "/api/bots/alpha/stop", None)
        .await;
    assert_eq!(status, 200);
    let (_, p) = h
        .admin_send(reqwest::Method::GET, "/api/probes", None)
        .await;
    assert_eq!(p["bots"][0]["health"], "stopped", "{p}");
    assert!(p["bots"][0]["connector_state"].is_null(), "{p}");
    assert_eq!(p["supervisor"]["running"], 0, "{p}");

    // The admin token only.
    let res = client()
        .get(format!("{}/api/probes", h.app.admin_url))
        .bearer_auth(&bot_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    h.stop().await;
}
