//! Tasks firing: the local connector sees them on the right scope, once;
//! agents and workflow skills; timezones.

use super::support::*;
use crate::common::*;
use chrono::{Duration as Span, Timelike, Utc};
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_at_task_fires_once_on_the_right_scope_and_completes() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(1), free_ports(1));
    dir.write_config(&config(admin, base, &[("alpha", "")]));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["alpha"]).await;
    let api = Api::of(&app, "alpha", base).await;

    let chat = api
        .create(json!({"scope_type": "chat", "scope_id": "oc_fire", "action": "send_text", "text": "to the chat", "run_at": in_secs(2)}))
        .await;
    let user = api
        .create(json!({"scope_type": "user", "scope_id": "ou_fire", "action": "send_text", "text": "to the user", "run_at": in_secs(2)}))
        .await;
    let chat_id = chat["id"].as_str().unwrap();
    let done = api.wait_status(chat_id, "completed").await;
    let user_done = api
        .wait_status(user["id"].as_str().unwrap(), "completed")
        .await;

    let sent = app_messages(&app, "alpha", "oc_fire").await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["receive_id_type"], "chat_id");
    assert_eq!(sent[0]["text"], "to the chat");
    assert_eq!(sent[0]["direction"], "out");
    let sent_user = app_messages(&app, "alpha", "ou_fire").await;
    assert_eq!(sent_user.len(), 1, "{sent_user:?}");
    assert_eq!(sent_user[0]["receive_id_type"], "open_id");
    assert_eq!(sent_user[0]["text"], "to the user");

    for task in [&done, &user_done] {
        assert_eq!(task["run_count"], 1);
        assert_eq!(task["last_error"], Value::Null);
        assert_eq!(task["next_run_at"], Value::Null);
        assert!(time(&task["last_run_at"]) >= time(&task["run_at"]));
    }
    let (status, runs) = api.get(&format!("{TASKS}/{chat_id}/runs")).await;
    assert_eq!(status, 200);
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["outcome"], "succeeded");
    assert_eq!(runs[0]["message_id"], sent[0]["message_id"]);
    assert_eq!(time(&runs[0]["due_at"]), time(&chat["run_at"]));
    assert!(runs[0]["finished_at"].is_string());

    // Completed is final.
    let (status, answer) = api
        .patch(&format!("{TASKS}/{chat_id}"), &json!({"status": "active"}))
        .await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("status"));

    // Once: a later task fires, and the first still sent one message.
    let later = api
        .create(json!({"scope_type": "chat", "scope_id": "oc_later", "action": "send_text", "text": "later", "run_at": in_secs(1)}))
        .await;
    api.wait_status(later["id"].as_str().unwrap(), "completed")
        .await;
    assert_eq!(app_messages(&app, "alpha", "oc_fire").await.len(), 1);
    assert_eq!(api.task(chat_id).await["run_count"], 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_paused_and_deleted_tasks_do_not_fire_and_a_restart_resumes() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(1), free_ports(1));
    dir.write_config(&config(admin, base, &[("alpha", "")]));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["alpha"]).await;
    let api = Api::of(&app, "alpha", base).await;

    let make = |scope: &str| json!({"scope_type": "chat", "scope_id": scope, "action": "send_text", "text": scope, "run_at": in_secs(2)});
    let cancelled = api.create(make("oc_cancelled")).await;
    let deleted = api.create(make("oc_deleted")).await;
    let paused = api.create(make("oc_paused")).await;
    let moved = api.create(make("oc_moved")).await;
    let control = api.create(make("oc_control")).await;
    let path = |t: &Value| format!("{TASKS}/{}", t["id"].as_str().unwrap());
    assert_eq!(
        api.patch(&path(&cancelled), &json!({"status": "cancelled"}))
            .await
            .0,
        200
    );
    assert_eq!(api.delete(&path(&deleted)).await, 204);
    assert_eq!(
        api.patch(&path(&paused), &json!({"status": "paused"}))
            .await
            .0,
        200
    );
    assert_eq!(
        api.patch(&path(&moved), &json!({"run_at": in_secs(3600)}))
            .await
            .0,
        200
    );
    // A restart of the bot in between: the schedule survives it.
    let (status, body) = app.admin_post("/api/bots/alpha/restart").await;
    assert_eq!(status, 200, "{body}");

    let control_id = control["id"].as_str().unwrap();
    api.wait_status(control_id, "completed").await;
    assert_eq!(app_messages(&app, "alpha", "oc_control").await.len(), 1);
    // The others were due at the same second as the control task.
    for scope in ["oc_cancelled", "oc_deleted", "oc_paused", "oc_moved"] {
        assert!(
            app_messages(&app, "alpha", scope).await.is_empty(),
            "{scope} fired"
        );
    }
    assert_eq!(
        api.task(cancelled["id"].as_str().unwrap()).await["status"],
        "cancelled"
    );
    let paused_now = api.task(paused["id"].as_str().unwrap()).await;
    assert_eq!(
        (
            paused_now["status"].as_str(),
            paused_now["run_count"].as_u64()
        ),
        (Some("paused"), Some(0))
    );
    let moved_now = api.task(moved["id"].as_str().unwrap()).await;
    assert_eq!(
        (
            moved_now["status"].as_str(),
            moved_now["run_count"].as_u64()
        ),
        (Some("active"), Some(0))
    );

    // Resuming a paused one-shot whose time passed runs it once.
    assert_eq!(
        api.patch(&path(&paused), &json!({"status": "active"}))
            .await
            .0,
        200
    );
    api.wait_status(paused["id"].as_str().unwrap(), "completed")
        .await;
    assert_eq!(app_messages(&app, "alpha", "oc_paused").await.len(), 1);
    app.stop().await;
}

/// A skill folder: `SKILL.md` and its default entry `run.sh`.
fn write_skill(skills: &Path, name: &str, script: &str) {
    let folder = skills.join(name);
    std::fs::create_dir_all(&folder).unwrap();
    let manifest = format!("---\nname: {name}\ndescription: test workflow\n---\n");
    std::fs::write(folder.join("SKILL.md"), manifest).unwrap();
    let run = folder.join("run.sh");
    std::fs::write(&run, script).unwrap();
    std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_llm_and_run_workflow_deliver_and_failures_are_recorded() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(1), free_ports(1));
    let agent = format!("[bots.alpha.agent]\n{AGENT}\n");
    dir.write_config(&config(admin, base, &[("alpha", &agent)]));
    let skills = dir.path().join("data/alpha/workspace/skills");
    write_skill(
        &skills,
        "report",
        "#!/bin/sh\necho \"report for $ALICE_RECEIVE_ID_TYPE:$ALICE_RECEIVE_ID by $ALICE_ACTOR_OPEN_ID via $ALICE_RUNTIME_API_BASE_URL\"\n",
    );
    write_skill(&skills, "quiet", "#!/bin/sh\nexit 0\n");
    write_skill(
        &skills,
        "broken",
        "#!/bin/sh\necho 'disk full' >&2\nexit 3\n",
    );
    let app = InProcess::start(&dir).await;
    app.wait_running(&["alpha"]).await;
    let api = Api::of(&app, "alpha", base).await;

    let llm = api
        .create(json!({"scope_type": "user", "scope_id": "ou_llm", "action": "run_llm", "prompt": "summarise", "run_at": in_secs(2)}))
        .await;
    let (status, report, _) = api
        .send(
            client()
                .post(format!("{}{TASKS}", api.url))
                .header("X-Alice-Actor-Open-Id", "ou_boss")
                .json(&json!({"scope_type": "chat", "scope_id": "oc_flow", "action": "run_workflow", "workflow": "report", "run_at": in_secs(2)})),
        )
        .await;
    assert_eq!(status, 201, "{report}");
    let quiet = api
        .create(json!({"scope_type": "chat", "scope_id": "oc_quiet", "action": "run_workflow", "workflow": "quiet", "run_at": in_secs(2)}))
        .await;
    let broken = api
        .create(json!({"scope_type": "chat", "scope_id": "oc_broken", "action": "run_workflow", "workflow": "broken", "run_at": in_secs(2)}))
        .await;
    let missing = api
        .create(json!({"scope_type": "chat", "scope_id": "oc_missing", "action": "run_workflow", "workflow": "nowhere", "run_at": in_secs(2)}))
        .await;

    let done = api
        .wait_status(llm["id"].as_str().unwrap(), "completed")
        .await;
    assert_eq!(done["last_error"], Value::Null);
    let sent = app_messages(&app, "alpha", "ou_llm").await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["text"], "answer to summarise for open_id:ou_llm");
    assert_eq!(sent[0]["receive_id_type"], "open_id");

    api.wait_status(report["id"].as_str().unwrap(), "completed")
        .await;
    let sent = app_messages(&app, "alpha", "oc_flow").await;
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0]["text"],
        format!("report for chat_id:oc_flow by ou_boss via http://127.0.0.1:{base}")
    );

    let quiet_done = api
        .wait_status(quiet["id"].as_str().unwrap(), "completed")
        .await;
    assert_eq!(quiet_done["last_error"], Value::Null);
    assert!(app_messages(&app, "alpha", "oc_quiet").await.is_empty());

    for (task, needle) in [(&broken, "disk full"), (&missing, "nowhere")] {
        let id = task["id"].as_str().unwrap();
        let failed = api.wait_status(id, "completed").await;
        let error = failed["last_error"].as_str().unwrap_or_default();
        assert!(error.contains(needle), "{error}");
        assert_eq!(failed["run_count"], 1);
        let (_, runs) = api.get(&format!("{TASKS}/{id}/runs")).await;
        assert_eq!(runs[0]["outcome"], "failed");
        assert!(runs[0]["error"].as_str().unwrap().contains(needle));
    }
    // The scheduler lives on after failures.
    let after = api
        .create(json!({"scope_type": "chat", "scope_id": "oc_after", "action": "send_text", "text": "still here", "run_at": in_secs(1)}))
        .await;
    api.wait_status(after["id"].as_str().unwrap(), "completed")
        .await;
    assert_eq!(app_messages(&app, "alpha", "oc_after").await.len(), 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cron_next_run_at_honours_the_timezone() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(3), free_ports(1));
    dir.write_config(&config(
        admin,
        base,
        &[
            ("utc", ""),
            ("shanghai", "timezone = \"Asia/Shanghai\""),
            ("kolkata", "timezone = \"Asia/Kolkata\""),
        ],
    ));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["utc", "shanghai", "kolkata"]).await;
    let body = json!({"scope_type": "chat", "scope_id": "oc_1", "action": "send_text", "text": "gm", "cron": "0 9 * * *"});
    // 09:00 local is 09:00, 01:00 and 03:30 UTC.
    // …and 18:15 local is 18:15, 10:15 and 12:45 UTC.
    let zones = [
        ("utc", 9, 0, (18, 15)),
        ("shanghai", 1, 0, (10, 15)),
        ("kolkata", 3, 30, (12, 45)),
    ];
    for (i, (bot, hour, minute, resumed_at)) in zones.into_iter().enumerate() {
        let api = Api::of(&app, bot, base + i as u16).await;
        let now = Utc::now();
        let task = api.create(body.clone()).await;
        let next = time(&task["next_run_at"]);
        assert_eq!(
            (next.hour(), next.minute(), next.second()),
            (hour, minute, 0),
            "{bot}: {next}"
        );
        assert!(next > now && next <= now + Span::hours(24), "{bot}: {next}");
        // Paused has no next run; resuming computes it again.
        let path = format!("{TASKS}/{}", task["id"].as_str().unwrap());
        assert_eq!(
            api.patch(&path, &json!({"status": "paused"})).await.1["next_run_at"],
            Value::Null
        );
        let (_, resumed) = api
            .patch(&path, &json!({"status": "active", "cron": "15 18 * * *"}))
            .await;
        let next = time(&resumed["next_run_at"]);
        assert_eq!((next.hour(), next.minute()), resumed_at, "{bot}: {next}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_run_delays_nothing_and_a_restart_interrupts_it_once() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(1), free_ports(1));
    let extra = "runtime_api_shutdown_timeout_secs = 1\n[bots.alpha.agent]\ncommand = [\"sh\", \"-c\", \"sleep 60; echo late\"]\n";
    dir.write_config(&config(admin, base, &[("alpha", extra)]));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["alpha"]).await;
    let api = Api::of(&app, "alpha", base).await;

    let slow = api
        .create(json!({"scope_type": "chat", "scope_id": "oc_slow", "action": "run_llm", "prompt": "think", "run_at": in_secs(2)}))
        .await;
    let fast = api
        .create(json!({"scope_type": "chat", "scope_id": "oc_fast", "action": "send_text", "text": "quick", "run_at": in_secs(2)}))
        .await;
    let slow_id = slow["id"].as_str().unwrap();
    let runs_path = format!("{TASKS}/{slow_id}/runs");
    eventually("the slow run started", || async {
        api.get(&runs_path).await.1[0]["outcome"] == "running"
    })
    .await;
    api.wait_status(fast["id"].as_str().unwrap(), "completed")
        .await;
    assert_eq!(app_messages(&app, "alpha", "oc_fast").await.len(), 1);
    // Still going while the other task came and went.
    assert_eq!(api.get(&runs_path).await.1[0]["outcome"], "running");
    let running = api.task(slow_id).await;
    assert_eq!(
        (running["status"].as_str(), running["run_count"].as_u64()),
        (Some("active"), Some(1))
    );

    // A restart interrupts it after the bot's shutdown timeout; the due time
    // is not run again.
    let (status, body) = app.admin_post("/api/bots/alpha/restart").await;
    assert_eq!(status, 200, "{body}");
    let after = api.task(slow_id).await;
    assert_eq!(after["status"], "completed");
    assert!(
        after["last_error"]
            .as_str()
            .unwrap()
            .contains("interrupted"),
        "{after}"
    );
    let (_, runs) = api.get(&runs_path).await;
    assert_eq!(runs.as_array().unwrap().len(), 1, "{runs}");
    assert_eq!(runs[0]["outcome"], "interrupted");
    let barrier = api
        .create(json!({"scope_type": "chat", "scope_id": "oc_barrier", "action": "send_text", "text": "b", "run_at": in_secs(1)}))
        .await;
    api.wait_status(barrier["id"].as_str().unwrap(), "completed")
        .await;
    assert_eq!(api.task(slow_id).await["run_count"], 1);
    assert!(app_messages(&app, "alpha", "oc_slow").await.is_empty());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_runs_token_reaches_only_its_own_conversations_tasks() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(1), free_ports(1));
    let script = dir.path().join("agent.sh");
    std::fs::write(
        &script,
        r#"alice="$ALICE_RUNTIME_BIN"
n=$("$alice" runtime automation list | grep -o '"id"' | wc -l | tr -d ' ')
if "$alice" runtime automation create --action send_text --text x --cron "0 9 * * *" --scope-id oc_other >/dev/null 2>&1; then o=allowed; else o=refused; fi
if "$alice" runtime automation create --action send_text --text mine --cron "0 9 * * *" >/dev/null 2>&1; then m=created; else m=failed; fi
echo "sees $n, other $o, own $m"
"#,
    )
    .unwrap();
    let agent = format!(
        "[bots.alpha.agent]\ncommand = [\"sh\", \"{}\"]\n",
        script.display()
    );
    dir.write_config(&config(admin, base, &[("alpha", &agent)]));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["alpha"]).await;
    let api = Api::of(&app, "alpha", base).await;

    let cron = |scope: &str| json!({"scope_type": "chat", "scope_id": scope, "action": "send_text", "text": "t", "cron": "0 9 * * *"});
    api.create(cron("oc_mine")).await;
    api.create(cron("oc_other")).await;
    let run = api
        .create(json!({"scope_type": "chat", "scope_id": "oc_mine", "action": "run_llm", "prompt": "look around", "run_at": in_secs(2)}))
        .await;
    let done = api
        .wait_status(run["id"].as_str().unwrap(), "completed")
        .await;
    assert_eq!(done["last_error"], Value::Null, "{done}");
    let sent = app_messages(&app, "alpha", "oc_mine").await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["text"], "sees 2, other refused, own created");
    let (_, total) = api.page("").await;
    assert_eq!(total, 4);
    app.stop().await;
}
