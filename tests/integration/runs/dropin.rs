//! The drop-in test of issue 11: Alice's own skill lines, run unchanged
//! against a live bot.

use super::alice_forms::PNG;
use super::*;
use crate::common::fake_feishu::FakeFeishu;
use serde_json::json;
use std::process::Stdio;

/// Alice's skill lines (issue 11), run as an Alice user's agent runs them:
/// the scripts copied into a skills folder of Alice's layout, each line
/// through `sh -c` from the skill's folder, with the environment a live
/// Feishu bot injected into its agent run. The effects are checked over HTTP
/// (the bot's API and the fake Feishu).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alice_skill_lines_run_unchanged_against_a_live_bot() {
    let fake = FakeFeishu::start();
    let connector = fake.connector_toml("fs", "");
    let mut spec = BotSpec::new("fs", "lend_env.sh");
    spec.extra = &connector;
    let h = Harness::start(&[spec], "").await;
    let scope = json!({"receive_id_type": "chat_id", "receive_id": "oc_dropin"});
    let (status, started) = h
        .headless("fs", json!({"prompt": "lend", "scope": scope}))
        .await;
    assert_eq!(status, 202, "{started}");
    let run = started["taskId"].as_str().unwrap().to_string();
    let env = lent_env(&h.workspace("fs").join(format!("env-{run}"))).await;
    assert!(env.iter().any(|(k, _)| k == "ALICE_RUNTIME_BIN"), "{env:?}");

    // An Alice skills folder: <skills>/<skill>/scripts/<script>.sh.
    let alice_skills = h.dir.path().join("alice-skills");
    for (skill, script) in [
        ("alice-message", "alice-message.sh"),
        ("alice-scheduler", "alice-scheduler.sh"),
    ] {
        let rel = format!("{skill}/scripts/{script}");
        std::fs::create_dir_all(alice_skills.join(skill).join("scripts")).unwrap();
        std::fs::copy(
            h.workspace("fs").join("skills").join(&rel),
            alice_skills.join(&rel),
        )
        .unwrap();
    }
    let message = alice_skills.join("alice-message");
    let scheduler = alice_skills.join("alice-scheduler");
    let chart = h.dir.path().join("chart.png");
    std::fs::write(&chart, PNG).unwrap();
    std::fs::write(message.join("report.pdf"), b"%PDF-1.7 Q3").unwrap();
    let bot = h.url("fs");
    let token = h.token("fs").await;

    // --- alice-message.sh ---
    // (`/tmp/chart.png` in the issue: the same form, a path of this test.)
    let line = format!("scripts/alice-message.sh image --path {}", chart.display());
    let sent = line_json(&message, &env, &line).await;
    let uploads = fake.calls_to("/open-apis/im/v1/images");
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].form["image"].bytes, PNG);
    let last = fake.message_calls().pop().unwrap();
    assert_eq!(last.json["receive_id"], "oc_dropin");
    assert_eq!(last.json["msg_type"], "image");
    assert_eq!(last.content(), json!({"image_key": sent["image_key"]}));

    let sent = line_json(
        &message,
        &env,
        "scripts/alice-message.sh image --image-key img_v3_xxx",
    )
    .await;
    assert_eq!(sent["image_key"], "img_v3_xxx");
    assert_eq!(
        fake.calls_to("/open-apis/im/v1/images").len(),
        1,
        "no upload"
    );
    let last = fake.message_calls().pop().unwrap();
    assert_eq!(last.json["receive_id"], "oc_dropin");
    assert_eq!(last.content(), json!({"image_key": "img_v3_xxx"}));

    let sent = line_json(
        &message,
        &env,
        r#"scripts/alice-message.sh file --path report.pdf --file-name "Q3.pdf""#,
    )
    .await;
    let uploads = fake.calls_to("/open-apis/im/v1/files");
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].form["file_name"].text(), "Q3.pdf");
    assert_eq!(uploads[0].form["file"].bytes, b"%PDF-1.7 Q3");
    let last = fake.message_calls().pop().unwrap();
    assert_eq!(last.json["msg_type"], "file");
    assert_eq!(last.content(), json!({"file_key": sent["file_key"]}));

    line_json(
        &message,
        &env,
        "scripts/alice-message.sh file --file-key file_v3_xxx",
    )
    .await;
    assert_eq!(
        fake.calls_to("/open-apis/im/v1/files").len(),
        1,
        "no upload"
    );
    let last = fake.message_calls().pop().unwrap();
    assert_eq!(last.json["receive_id"], "oc_dropin");
    assert_eq!(last.content(), json!({"file_key": "file_v3_xxx"}));

    // --- alice-scheduler.sh ---
    let listed = line_json(&scheduler, &env, "scripts/alice-scheduler.sh list").await;
    assert_eq!(listed, json!([]));

    let created = line_json(
        &scheduler,
        &env,
        r#"scripts/alice-scheduler.sh create '{"prompt":"Summarise the news at {{date}}","every_seconds":3600}'"#,
    )
    .await;
    let every = created["id"].as_str().unwrap().to_string();
    let task = task_over_http(&bot, &token, &every).await;
    assert_eq!(task["action"], "run_llm");
    assert_eq!(task["prompt"], "Summarise the news at {{date}}");
    assert_eq!(
        (&task["scope_type"], &task["scope_id"]),
        (&json!("chat"), &json!("oc_dropin"))
    );
    assert_eq!(task["every_seconds"], 3600);
    assert_eq!(task["cron"], Value::Null);

    let created = line_json(
        &scheduler,
        &env,
        r#"scripts/alice-scheduler.sh create '{"prompt":"...","cron":"0 9 * * *","max_runs":5,"title":"Morning"}'"#,
    )
    .await;
    let morning = created["id"].as_str().unwrap().to_string();
    let task = task_over_http(&bot, &token, &morning).await;
    assert_eq!(
        (&task["action"], &task["prompt"], &task["cron"]),
        (&json!("run_llm"), &json!("..."), &json!("0 9 * * *"))
    );
    assert_eq!(task["scope_id"], "oc_dropin");
    assert_eq!(task["max_runs"], 5);
    assert_eq!(task["title"], "Morning");

    let listed = line_json(&scheduler, &env, "scripts/alice-scheduler.sh list").await;
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [every.as_str(), morning.as_str()]);

    let got = line_json(
        &scheduler,
        &env,
        &format!("scripts/alice-scheduler.sh get {morning}"),
    )
    .await;
    assert_eq!(got["id"], morning.as_str());

    line_json(
        &scheduler,
        &env,
        &format!(r#"scripts/alice-scheduler.sh patch {morning} '{{"status":"paused"}}'"#),
    )
    .await;
    assert_eq!(
        task_over_http(&bot, &token, &morning).await["status"],
        "paused"
    );

    for id in [&morning, &every] {
        let deleted = line_json(
            &scheduler,
            &env,
            &format!("scripts/alice-scheduler.sh delete {id}"),
        )
        .await;
        assert_eq!(deleted["id"], id.as_str());
        let (status, _) = bot_call(
            reqwest::Method::GET,
            &format!("{bot}/api/v1/automation/tasks/{id}"),
            &token,
            &[],
            None,
        )
        .await;
        assert_eq!(status, 404, "deleted");
    }

    h.open_gate("fs");
    assert_eq!(h.finished(&run).await["status"], "succeeded");
    fake.stop().await;
    h.stop().await;
}

/// The `ALICE_*` variables the agent wrote, once the file is complete.
async fn lent_env(file: &std::path::Path) -> Vec<(String, String)> {
    eventually("the agent lent its environment", || async { file.exists() }).await;
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Runs one skill line as an agent's shell would, from `dir` with `env`;
/// it must succeed and print JSON.
async fn line_json(dir: &std::path::Path, env: &[(String, String)], line: &str) -> Value {
    let (dir, env, line) = (dir.to_path_buf(), env.to_vec(), line.to_string());
    let out = tokio::task::spawn_blocking(move || {
        let mut cmd = std::process::Command::new("sh");
        cmd.arg("-c").arg(&line).current_dir(&dir);
        for (key, _) in std::env::vars() {
            if key.starts_with("ALICE_") {
                cmd.env_remove(key);
            }
        }
        (
            line,
            cmd.envs(env).stdin(Stdio::null()).output().expect("sh"),
        )
    })
    .await
    .unwrap();
    let (line, out) = out;
    assert!(
        out.status.success(),
        "{line}: exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{line}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
}

async fn task_over_http(bot: &str, token: &str, id: &str) -> Value {
    let (status, task) = bot_call(
        reqwest::Method::GET,
        &format!("{bot}/api/v1/automation/tasks/{id}"),
        token,
        &[],
        None,
    )
    .await;
    assert_eq!(status, 200, "{task}");
    task
}
