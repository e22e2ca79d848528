//! Bundled skills in the workspace, `GET /api/v1/skills`, the real skill
//! flow, and the `alice runtime` / `alice run` commands.

use super::*;
use serde_json::json;
use std::os::unix::fs::PermissionsExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundled_skills_are_installed_listed_and_user_edits_survive_restarts() {
    let h = Harness::start(&[BotSpec::new("alpha", "lines.sh")], "").await;
    let ws = h.workspace("alpha");
    for root in ["skills", ".claude/skills"] {
        for file in [
            "alice-message/SKILL.md",
            "alice-message/scripts/send_image.sh",
            "alice-message/scripts/send_file.sh",
            "alice-automation/SKILL.md",
            "alice-automation/scripts/tasks.sh",
            "alice-goal/SKILL.md",
            "alice-goal/scripts/goal.sh",
            // Alice's names, for agents prompted with Alice's SKILL.md.
            "alice-message/scripts/alice-message.sh",
            "alice-scheduler/SKILL.md",
            "alice-scheduler/scripts/alice-scheduler.sh",
        ] {
            let path = ws.join(root).join(file);
            let meta = std::fs::metadata(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
            if file.ends_with(".sh") {
                assert!(
                    meta.permissions().mode() & 0o100 != 0,
                    "{path:?} executable"
                );
                let text = std::fs::read_to_string(&path).unwrap();
                assert!(text.contains("\"$ALICE_RUNTIME_BIN\" runtime"), "{path:?}");
            }
        }
    }
    let (status, skills) = bot_call(
        reqwest::Method::GET,
        &format!("{}/api/v1/skills", h.url("alpha")),
        &h.token("alpha").await,
        &[],
        None,
    )
    .await;
    assert_eq!(status, 200);
    let names: Vec<&str> = skills
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "alice-automation",
            "alice-goal",
            "alice-message",
            "alice-scheduler"
        ]
    );
    assert!(skills
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["bundled"] == true && s["description"].as_str().is_some_and(|d| d.len() > 20)));

    // The user edits one file and deletes another; a restart keeps the edit
    // and restores the deleted one.
    let edited = ws.join("skills/alice-goal/SKILL.md");
    std::fs::write(&edited, "---\nname: alice-goal\ndescription: mine\n---\n").unwrap();
    let deleted = ws.join(".claude/skills/alice-message/scripts/send_file.sh");
    std::fs::remove_file(&deleted).unwrap();
    let (status, _) = h.app.admin_post("/api/bots/alpha/restart").await;
    assert_eq!(status, 200);
    assert!(std::fs::read_to_string(&edited)
        .unwrap()
        .contains("description: mine"));
    assert!(deleted.is_file(), "restored");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_sends_an_image_with_the_bundled_skill_and_it_arrives() {
    let h = Harness::start(&[BotSpec::new("alpha", "skill_image.sh")], "").await;
    let scope = json!({"receive_id_type": "chat_id", "receive_id": "oc_pics"});
    let (status, run) = h
        .headless(
            "alpha",
            json!({"prompt": "send a picture", "wait": true, "scope": scope}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(run["status"], "succeeded", "{run}");
    assert!(
        run["output"].as_str().unwrap().contains("message_id"),
        "{run}"
    );
    let (status, messages) = h
        .app
        .admin_get("/api/bots/alpha/conversations/oc_pics/messages")
        .await;
    assert_eq!(status, 200);
    let images: Vec<&Value> = messages
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["msg_type"] == "image")
        .collect();
    assert_eq!(images.len(), 1, "{messages}");
    assert_eq!(images[0]["file_name"], "pic.png");
    assert_eq!(images[0]["direction"], "out");
    let files: Vec<&Value> = messages
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["msg_type"] == "file")
        .collect();
    assert_eq!(files.len(), 1, "{messages}");
    assert_eq!(files[0]["file_name"], "Q3 report.txt");
    h.stop().await;
}

/// Runs `alice` off the async workers (the in-process servers need them).
async fn alice(args: Vec<String>, env: Vec<(String, String)>) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        alice_command(&args).envs(env).output().expect("run alice")
    })
    .await
    .unwrap()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runtime_cli_prints_json_and_fails_in_one_line() {
    let h = Harness::start(&[BotSpec::new("alpha", "lines.sh")], "").await;
    let out = alice(strings(&["runtime", "goal", "get"]), vec![]).await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("ALICE_RUNTIME_API_BASE_URL"), "{stderr}");

    let env = vec![
        ("ALICE_RUNTIME_API_BASE_URL".to_string(), h.url("alpha")),
        (
            "ALICE_RUNTIME_API_TOKEN".to_string(),
            h.token("alpha").await,
        ),
        ("ALICE_RECEIVE_ID".to_string(), "oc_cli".to_string()),
    ];
    let out = alice(
        strings(&["runtime", "goal", "create", "Write", "the", "docs"]),
        env.clone(),
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let goal: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (goal["description"].as_str(), goal["status"].as_str()),
        (Some("Write the docs"), Some("in_progress"))
    );

    let out = alice(
        strings(&["runtime", "goal", "create", "again"]),
        env.clone(),
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("409") && stderr.contains("unfinished goal"),
        "{stderr}"
    );

    for step in ["pause", "complete", "delete"] {
        let out = alice(strings(&["runtime", "goal", step]), env.clone()).await;
        assert!(
            out.status.success(),
            "{step}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = alice(strings(&["runtime", "goal", "get"]), env.clone()).await;
    assert!(
        out.status.success() && out.stdout.is_empty(),
        "no goal prints nothing"
    );

    let out = alice(
        strings(&["runtime", "message", "image", "/no/such.png"]),
        env.clone(),
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("/no/such.png") && stderr.trim().lines().count() == 1,
        "{stderr}"
    );

    // A hand-set receive id type the bot never gives: the server answers it,
    // as before (lists only compare the headers with the token).
    let mut odd = env.clone();
    odd.push(("ALICE_RECEIVE_ID_TYPE".to_string(), "bogus".to_string()));
    let out = alice(strings(&["runtime", "goal", "get"]), odd.clone()).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("400") && stderr.contains("X-Alice-Receive-Id-Type must be one of"),
        "{stderr}"
    );
    let out = alice(strings(&["runtime", "automation", "list"]), odd).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = alice(strings(&["runtime", "bot"]), env).await;
    let me: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(me["id"], "alpha");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alice_run_streams_the_output_or_waits_for_the_record() {
    let bots = [
        BotSpec::new("alpha", "lines.sh"),
        BotSpec::new("beta", "grandchild.sh"),
    ];
    let h = Harness::start(&bots, "").await;
    let config = h.dir.config_path().display().to_string();
    let out = alice(
        strings(&["run", "--config", &config, "alpha", "hello"]),
        vec![],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "one\ntwo\nthree\n");

    let out = alice(
        strings(&["run", "--config", &config, "alpha", "hello", "--wait"]),
        vec![],
    )
    .await;
    assert!(out.status.success());
    let record: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(record["status"], "succeeded");

    let args = strings(&[
        "run",
        "--config",
        &config,
        "beta",
        "x",
        "--timeout-ms",
        "300",
    ]);
    let out = alice(args, vec![]).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.lines().last().unwrap().contains("timeout"),
        "{stderr}"
    );

    let out = alice(
        strings(&["run", "--config", &config, "nobody", "x"]),
        vec![],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("404"));
    h.stop().await;
}
