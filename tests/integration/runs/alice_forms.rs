//! Alice's command forms (issue 11) in `alice runtime`: `automation create
//! JSON`, `patch ID JSON`, `list --status all`, `delete` printing the task;
//! `message … --image-key/--file-key/--file-name`.

use super::*;
use serde_json::json;
use std::io::Write;
use std::process::{Output, Stdio};

/// Runs `alice` with `env` (and `stdin` fed in) off the async workers.
async fn alice_with(args: &[&str], env: &[(String, String)], stdin: Option<&str>) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let env = env.to_vec();
    let stdin = stdin.map(str::to_owned);
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut cmd = alice_command(&args);
        cmd.envs(env).stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        let mut child = cmd.spawn().expect("run alice");
        if let Some(text) = stdin {
            let mut pipe = child.stdin.take().expect("stdin");
            pipe.write_all(text.as_bytes()).expect("write stdin");
        }
        child.wait_with_output().expect("alice output")
    })
    .await
    .unwrap()
}

fn ok_json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

fn one_line_error(out: &Output, code: i32) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    stderr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automation_takes_alice_task_json_as_argument_or_stdin_with_flags_overriding() {
    let h = Harness::start(&[BotSpec::new("alpha", "lines.sh")], "").await;
    let env = vec![
        ("ALICE_RUNTIME_API_BASE_URL".to_string(), h.url("alpha")),
        (
            "ALICE_RUNTIME_API_TOKEN".to_string(),
            h.token("alpha").await,
        ),
        ("ALICE_RECEIVE_ID".to_string(), "oc_forms".to_string()),
    ];
    let create = |json: &'static str| vec!["runtime", "automation", "create", json];

    // A positional object; the scope comes from the conversation.
    let task = ok_json(
        &alice_with(
            &create(r#"{"action":"send_text","text":"Stand-up!","cron":"0 9 * * 1-5"}"#),
            &env,
            None,
        )
        .await,
    );
    assert_eq!(
        (&task["action"], &task["text"], &task["cron"]),
        (
            &json!("send_text"),
            &json!("Stand-up!"),
            &json!("0 9 * * 1-5")
        )
    );
    assert_eq!(
        (&task["scope_type"], &task["scope_id"]),
        (&json!("chat"), &json!("oc_forms"))
    );
    let first = task["id"].as_str().unwrap().to_string();

    // `-` reads stdin; a flag overrides the JSON's field.
    let out = alice_with(
        &[
            "runtime",
            "automation",
            "create",
            "-",
            "--text",
            "from the flag",
        ],
        &env,
        Some(r#"{"action":"send_text","text":"from stdin","cron":"0 10 * * *"}"#),
    )
    .await;
    let task = ok_json(&out);
    assert_eq!(
        (&task["text"], &task["cron"]),
        (&json!("from the flag"), &json!("0 10 * * *"))
    );
    // No argument and a piped stdin: the JSON comes from stdin too.
    let out = alice_with(
        &["runtime", "automation", "create"],
        &env,
        Some(r#"{"action":"run_llm","prompt":"p","cron":"0 11 * * *"}"#),
    )
    .await;
    assert_eq!(ok_json(&out)["action"], "run_llm");

    // Fields the CLI does not know reach the server untouched (which names them).
    let out = alice_with(
        &create(r#"{"action":"send_text","text":"x","cron":"0 9 * * *","no_such_field":1}"#),
        &env,
        None,
    )
    .await;
    let stderr = one_line_error(&out, 1);
    assert!(
        stderr.contains("400") && stderr.contains("no_such_field"),
        "{stderr}"
    );

    // Malformed JSON: exit 2, one line naming the problem, nothing sent.
    for (bad, says) in [
        (r#"{"prompt": "#, "malformed"),
        ("[1, 2]", "must be an object, got an array"),
    ] {
        let out = alice_with(&create(bad), &env, None).await;
        let stderr = one_line_error(&out, 2);
        assert!(stderr.contains(says), "{bad}: {stderr}");
    }
    let out = alice_with(
        &["runtime", "automation", "patch", &first, "-"],
        &env,
        Some("{not json"),
    )
    .await;
    assert!(one_line_error(&out, 2).contains("on stdin is malformed"));

    // `patch ID JSON` and `update ID JSON`.
    let out = alice_with(
        &[
            "runtime",
            "automation",
            "patch",
            &first,
            r#"{"status":"paused"}"#,
        ],
        &env,
        None,
    )
    .await;
    assert_eq!(ok_json(&out)["status"], "paused");
    let out = alice_with(
        &[
            "runtime",
            "automation",
            "update",
            &first,
            r#"{"cron":"30 9 * * 1-5"}"#,
        ],
        &env,
        None,
    )
    .await;
    let task = ok_json(&out);
    assert_eq!(
        (&task["cron"], &task["status"]),
        (&json!("30 9 * * 1-5"), &json!("paused"))
    );

    // `list --status all` lists every status; `--status paused` filters.
    let all = ok_json(
        &alice_with(
            &["runtime", "automation", "list", "--status", "all"],
            &env,
            None,
        )
        .await,
    );
    assert_eq!(all.as_array().unwrap().len(), 3, "{all}");
    let paused = ok_json(
        &alice_with(
            &["runtime", "automation", "list", "--status", "paused"],
            &env,
            None,
        )
        .await,
    );
    assert_eq!(paused.as_array().unwrap().len(), 1, "{paused}");

    // `delete` prints the deleted task; it is gone afterwards.
    let deleted =
        ok_json(&alice_with(&["runtime", "automation", "delete", &first], &env, None).await);
    assert_eq!(deleted["id"], first.as_str());
    assert_eq!(deleted["cron"], "30 9 * * 1-5");
    let out = alice_with(&["runtime", "automation", "get", &first], &env, None).await;
    assert!(one_line_error(&out, 1).contains("404"));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_keys_and_file_name_through_the_cli_on_the_local_connector() {
    let h = Harness::start(&[BotSpec::new("alpha", "lines.sh")], "").await;
    let env = vec![
        ("ALICE_RUNTIME_API_BASE_URL".to_string(), h.url("alpha")),
        (
            "ALICE_RUNTIME_API_TOKEN".to_string(),
            h.token("alpha").await,
        ),
        ("ALICE_RECEIVE_ID".to_string(), "oc_keys".to_string()),
    ];
    let chart = h.dir.path().join("chart.png");
    std::fs::write(&chart, PNG).unwrap();
    let path = chart.to_str().unwrap();
    let sent =
        ok_json(&alice_with(&["runtime", "message", "image", "--path", path], &env, None).await);
    let key = sent["image_key"].as_str().expect("a key").to_string();
    let again = ok_json(
        &alice_with(
            &["runtime", "message", "image", "--image-key", &key],
            &env,
            None,
        )
        .await,
    );
    assert_eq!(again["image_key"], key.as_str());
    let out = alice_with(
        &["runtime", "message", "image", "--image-key", "img_v3_xxx"],
        &env,
        None,
    )
    .await;
    let stderr = one_line_error(&out, 1);
    assert!(
        stderr.contains("400") && stderr.contains("no such key"),
        "{stderr}"
    );

    let file = ok_json(
        &alice_with(
            &[
                "runtime",
                "message",
                "file",
                "--path",
                path,
                "--file-name",
                "Q3.png",
            ],
            &env,
            None,
        )
        .await,
    );
    let file_key = file["file_key"].as_str().expect("a file key").to_string();
    ok_json(
        &alice_with(
            &["runtime", "message", "file", "--file-key", &file_key],
            &env,
            None,
        )
        .await,
    );
    let (_, log) = h
        .app
        .admin_get("/api/bots/alpha/conversations/oc_keys/messages")
        .await;
    let names: Vec<(&str, &str)> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["msg_type"].as_str().unwrap(),
                m["file_name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("image", "chart.png"),
            ("image", "chart.png"),
            ("file", "Q3.png"),
            ("file", "Q3.png")
        ]
    );
    h.stop().await;
}

/// A 1×1 PNG header: enough for the magic-byte check.
pub(super) const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
