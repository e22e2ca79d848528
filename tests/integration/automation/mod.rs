//! Automation tasks over HTTP: CRUD, validation, paging, permissions and
//! isolation here; firing in `automation/firing.rs`; crashes and restarts in
//! `automation/restarts.rs`.

mod firing;
mod misfire;
mod restarts;
mod schedules;
mod support;

use crate::common::*;
use chrono::{Duration as Span, Timelike, Utc};
use serde_json::{json, Value};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crud_with_every_field() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(1), free_ports(1));
    dir.write_config(&config(admin, base, &[("alpha", "")]));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["alpha"]).await;
    let api = Api::of(&app, "alpha", base).await;

    let before = Utc::now();
    let (status, task, _) = api
        .send(
            client()
                .post(format!("{}{TASKS}", api.url))
                .header("X-Alice-Actor-User-Id", "u_1")
                .header("X-Alice-Actor-Open-Id", "ou_1")
                .json(
                    &json!({"scope_type": "chat", "scope_id": "oc_team", "action": "send_text",
                    "text": "stand-up", "cron": "30 9 * * 1-5"}),
                ),
        )
        .await;
    assert_eq!(status, 201, "{task}");
    let id = task["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("task_") && id.len() > 10, "{id}");
    assert_eq!(task["scope_type"], "chat");
    assert_eq!(task["scope_id"], "oc_team");
    assert_eq!(task["action"], "send_text");
    assert_eq!(task["text"], "stand-up");
    assert_eq!(task["prompt"], Value::Null);
    assert_eq!(task["workflow"], Value::Null);
    assert_eq!(task["cron"], "30 9 * * 1-5");
    assert_eq!(task["run_at"], Value::Null);
    assert_eq!(task["status"], "active");
    assert!(time(&task["created_at"]) >= before - Span::seconds(1));
    assert_eq!(task["updated_at"], task["created_at"]);
    let next = time(&task["next_run_at"]);
    assert!(
        next > before && (next.minute(), next.hour()) == (30, 9),
        "{next}"
    );
    assert_eq!(task["last_run_at"], Value::Null);
    assert_eq!(task["run_count"], 0);
    assert_eq!(task["last_error"], Value::Null);
    assert_eq!(
        task["created_by"],
        json!({"actor_user_id": "u_1", "actor_open_id": "ou_1"})
    );
    assert_eq!(api.task(&id).await, task);
    assert_eq!(
        api.get(&format!("{TASKS}/{id}/runs")).await,
        (200, json!([]))
    );

    // A one-shot task with every action field; no actor headers → no creator.
    let at = in_secs(3600);
    let one = api
        .create(
            json!({"scope_type": "user", "scope_id": "ou_bob", "action": "run_workflow",
            "workflow": "weekly-report", "prompt": "unused", "run_at": at, "status": "paused"}),
        )
        .await;
    assert_eq!(
        (one["status"].as_str(), &one["next_run_at"]),
        (Some("paused"), &Value::Null)
    );
    assert_eq!(time(&one["run_at"]), time(&json!(at)));
    assert_eq!(one["created_by"], Value::Null);

    // JSON merge patch, also under its own media type.
    let (status, patched, _) = api
        .send(
            client()
                .patch(format!("{}{TASKS}/{id}", api.url))
                .header("content-type", "application/merge-patch+json")
                .body(r#"{"text": "retro", "status": "paused"}"#),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(
        (patched["text"].as_str(), patched["status"].as_str()),
        (Some("retro"), Some("paused"))
    );
    assert_eq!(patched["next_run_at"], Value::Null);
    assert!(time(&patched["updated_at"]) >= time(&task["updated_at"]));
    assert_eq!(patched["created_at"], task["created_at"]);
    // Switch to one-shot: `null` removes the cron.
    let (status, patched) = api
        .patch(
            &format!("{TASKS}/{id}"),
            &json!({"cron": null, "run_at": at, "status": "active"}),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["cron"], Value::Null);
    assert_eq!(time(&patched["next_run_at"]), time(&json!(at)));
    assert_eq!(api.task(&id).await, patched);

    assert_eq!(api.delete(&format!("{TASKS}/{id}")).await, 204);
    assert_eq!(api.get(&format!("{TASKS}/{id}")).await.0, 404);
    assert_eq!(api.get(&format!("{TASKS}/{id}/runs")).await.0, 404);
    assert_eq!(api.delete(&format!("{TASKS}/{id}")).await, 404);
    let (status, body) = api
        .patch(&format!("{TASKS}/{id}"), &json!({"text": "x"}))
        .await;
    assert_eq!(status, 404);
    assert!(body["error"].as_str().unwrap().contains(&id), "{body}");

    let (_, doc) = api.get("/openapi.json").await;
    for (path, method) in [
        (TASKS, "get"),
        (TASKS, "post"),
        ("/api/v1/automation/tasks/{task_id}", "get"),
        ("/api/v1/automation/tasks/{task_id}", "patch"),
        ("/api/v1/automation/tasks/{task_id}", "delete"),
        ("/api/v1/automation/tasks/{task_id}/runs", "get"),
    ] {
        assert!(doc["paths"][path].get(method).is_some(), "{method} {path}");
    }
    app.stop().await;
}

/// A task is one action with its own payload and one schedule: a patch
/// changes that payload or switches between `cron` and `run_at`; another
/// action's field is accepted and ignored (nothing could ever read it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patch_changes_the_payload_and_switches_the_schedule() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(1), free_ports(1));
    dir.write_config(&config(admin, base, &[("alpha", "")]));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["alpha"]).await;
    let api = Api::of(&app, "alpha", base).await;

    let task = api
        .create(
            json!({"scope_type": "chat", "scope_id": "oc_1", "action": "run_llm",
            "prompt": "sum up", "text": "stray", "run_at": in_secs(3600)}),
        )
        .await;
    assert_eq!(
        (task["prompt"].as_str(), &task["text"], &task["workflow"]),
        (Some("sum up"), &Value::Null, &Value::Null)
    );
    let path = format!("{TASKS}/{}", task["id"].as_str().unwrap());

    let (status, patched) = api
        .patch(
            &path,
            &json!({"prompt": "sum up the week", "workflow": "report"}),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(
        (patched["prompt"].as_str(), &patched["workflow"]),
        (Some("sum up the week"), &Value::Null)
    );
    assert_eq!(patched["action"], "run_llm");

    let (status, patched) = api
        .patch(&path, &json!({"run_at": null, "cron": "0 9 * * *"}))
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(
        (patched["cron"].as_str(), &patched["run_at"]),
        (Some("0 9 * * *"), &Value::Null)
    );
    assert!(time(&patched["next_run_at"]) > Utc::now());
    assert_eq!(patched["prompt"], "sum up the week");
    assert_eq!(api.task(task["id"].as_str().unwrap()).await, patched);

    let (status, answer) = api.patch(&path, &json!({"prompt": "  "})).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"]
        .as_str()
        .unwrap()
        .contains("`prompt` is required"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_validation_case_is_a_400_naming_the_field() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(1), free_ports(1));
    dir.write_config(&config(admin, base, &[("alpha", "")]));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["alpha"]).await;
    let api = Api::of(&app, "alpha", base).await;

    let ok = || json!({"scope_type": "chat", "scope_id": "oc_1", "action": "send_text", "text": "hi", "cron": "0 9 * * *"});
    let with = |key: &str, value: Value| {
        let mut body = ok();
        if value.is_null() {
            body.as_object_mut().unwrap().remove(key);
        } else {
            body[key] = value;
        }
        body
    };
    let cases = [
        (with("scope_type", Value::Null), "scope_type"),
        (with("scope_type", json!("group")), "scope_type"),
        (with("scope_id", Value::Null), "scope_id"),
        (with("scope_id", json!("")), "scope_id"),
        (with("scope_id", json!(42)), "scope_id"),
        (
            json!({"scope_type": "chat", "scope_id": "oc_1", "text": "hi", "prompt": "p", "cron": "0 9 * * *"}),
            "action",
        ),
        (with("action", json!("send_email")), "action"),
        (with("text", Value::Null), "text"),
        (with("text", json!("  ")), "text"),
        (
            json!({"scope_type": "chat", "scope_id": "oc_1", "action": "run_llm", "cron": "0 9 * * *"}),
            "prompt",
        ),
        (
            json!({"scope_type": "chat", "scope_id": "oc_1", "action": "run_workflow", "cron": "0 9 * * *"}),
            "workflow",
        ),
        (
            json!({"scope_type": "chat", "scope_id": "oc_1", "action": "run_workflow", "workflow": "../../bin", "cron": "0 9 * * *"}),
            "workflow",
        ),
        (
            json!({"scope_type": "chat", "scope_id": "oc_1", "action": "run_workflow", "workflow": ".hidden", "cron": "0 9 * * *"}),
            "workflow",
        ),
        (with("cron", Value::Null), "run_at"),
        (with("run_at", json!(in_secs(60))), "run_at"),
        (with("cron", json!("61 9 * * *")), "cron"),
        (with("cron", json!("0 9 31 2 *")), "cron"),
        (with("cron", json!("not a cron")), "cron"),
        (with("cron", json!("0 0 9 * * *")), "cron"),
        (with("cron", json!("0 0 9 * * * 2030")), "cron"),
        (
            json!({"scope_type": "chat", "scope_id": "oc_1", "action": "send_text", "text": "x", "run_at": "tomorrow 9am"}),
            "run_at",
        ),
        (
            json!({"scope_type": "chat", "scope_id": "oc_1", "action": "send_text", "text": "x", "run_at": "2020-01-01T00:00:00Z"}),
            "run_at",
        ),
        (with("status", json!("completed")), "status"),
        (with("colour", json!("blue")), "colour"),
        (json!(["not", "an", "object"]), "object"),
    ];
    for (body, field) in cases {
        let (status, answer) = api.post(TASKS, &body).await;
        assert_eq!(status, 400, "{body} → {answer}");
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(
            error.contains(field),
            "{body}: `{error}` does not name {field}"
        );
    }
    let (status, answer, _) = api
        .send(
            client()
                .post(format!("{}{TASKS}", api.url))
                .header("content-type", "application/json")
                .body("{\"scope_type\": "),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        answer["error"].as_str().unwrap().contains("JSON"),
        "{answer}"
    );

    // Patches.
    let task = api.create(ok()).await;
    let path = format!("{TASKS}/{}", task["id"].as_str().unwrap());
    let patches = [
        (json!({"scope_id": "oc_2"}), "scope_id"),
        (json!({"colour": "blue"}), "colour"),
        (json!({"run_at": in_secs(60)}), "run_at"),
        (json!({"cron": null}), "run_at"),
        (json!({"cron": "61 9 * * *"}), "cron"),
        (json!({"text": null}), "text"),
        (json!({"status": "completed"}), "status"),
        (json!({"status": "sleeping"}), "status"),
        (json!({"status": null}), "status"),
        (
            json!({"cron": null, "run_at": "2020-01-01T00:00:00Z"}),
            "run_at",
        ),
    ];
    for (patch, field) in patches {
        let (status, answer) = api.patch(&path, &patch).await;
        assert_eq!(status, 400, "{patch} → {answer}");
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(
            error.contains(field),
            "{patch}: `{error}` does not name {field}"
        );
    }
    // Nothing of the refused patches stuck.
    assert_eq!(api.task(task["id"].as_str().unwrap()).await, task);
    // Anything → cancelled; cancelled stays.
    assert_eq!(
        api.patch(&path, &json!({"status": "cancelled"})).await.0,
        200
    );
    for to in ["active", "paused"] {
        let (status, answer) = api.patch(&path, &json!({"status": to})).await;
        assert_eq!(status, 400, "cancelled → {to}: {answer}");
        assert!(answer["error"].as_str().unwrap().contains("status"));
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_status_filter_and_the_200_cap() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(1), free_ports(1));
    dir.write_config(&config(admin, base, &[("alpha", "")]));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["alpha"]).await;
    let api = Api::of(&app, "alpha", base).await;

    // 210 tasks in batches of 10 (concurrent within a batch).
    let mut created = Vec::new();
    for batch in 0..21 {
        let calls = (0..10).map(|i| {
            let body = json!({"scope_type": "chat", "scope_id": "oc_1", "action": "send_text",
                "text": format!("task {}", batch * 10 + i), "cron": "0 9 * * *"});
            let api = &api;
            async move { api.post(TASKS, &body).await }
        });
        let mut batch = Vec::new();
        for (status, task) in futures_util::future::join_all(calls).await {
            assert_eq!(status, 201, "{task}");
            batch.push(task["id"].as_str().unwrap().to_string());
        }
        batch.sort();
        created.push(batch);
    }

    let (first, total) = api.page("").await;
    assert_eq!((first.len(), total), (50, 210), "default limit 50");
    let (capped, total) = api.page("?limit=1000").await;
    assert_eq!((capped.len(), total), (200, 210), "limit clamped to 200");

    let mut seen = Vec::new();
    for offset in (0..210).step_by(70) {
        let (ids, _) = api.page(&format!("?limit=70&offset={offset}")).await;
        assert_eq!(ids.len(), 70);
        seen.extend(ids);
    }
    let (past_end, _) = api.page("?limit=10&offset=210").await;
    assert!(past_end.is_empty());
    let unique: std::collections::HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), 210, "pages overlap");
    // Creation order: batch by batch.
    for (b, batch) in created.iter().enumerate() {
        let mut listed = seen[b * 10..b * 10 + 10].to_vec();
        listed.sort();
        assert_eq!(&listed, batch, "batch {b} out of order");
    }
    // Stable creation order: the same list twice, and the first page first.
    assert_eq!(seen[..50], first[..]);
    assert_eq!(api.page("?limit=200").await.0, seen[..200]);

    for id in &seen[..5] {
        assert_eq!(
            api.patch(&format!("{TASKS}/{id}"), &json!({"status": "paused"}))
                .await
                .0,
            200
        );
    }
    for id in &seen[5..8] {
        assert_eq!(
            api.patch(&format!("{TASKS}/{id}"), &json!({"status": "cancelled"}))
                .await
                .0,
            200
        );
    }
    assert_eq!(api.page("?status=paused").await, (seen[..5].to_vec(), 5));
    assert_eq!(
        api.page("?status=cancelled").await,
        (seen[5..8].to_vec(), 3)
    );
    assert_eq!(api.page("?status=completed").await, (vec![], 0));
    let (active, total) = api.page("?status=active&limit=2&offset=1").await;
    assert_eq!((active, total), (seen[9..11].to_vec(), 202));

    for query in ["?limit=ten", "?offset=-1", "?status=sleeping", "?limit=-5"] {
        let (status, body) = api.get(&format!("{TASKS}{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body["error"].is_string());
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permission_off_gives_403_and_bots_never_see_each_others_tasks() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(2), free_ports(1));
    dir.write_config(&config(
        admin,
        base,
        &[
            ("alpha", ""),
            (
                "beta",
                "[bots.beta.permissions]\nruntime_automation = false\n",
            ),
        ],
    ));
    let app = InProcess::start(&dir).await;
    app.wait_running(&["alpha", "beta"]).await;
    let alpha = Api::of(&app, "alpha", base).await;
    let beta = Api::of(&app, "beta", base + 1).await;

    let body = json!({"scope_type": "chat", "scope_id": "oc_1", "action": "send_text", "text": "hi", "cron": "0 9 * * *"});
    let task = alpha.create(body.clone()).await;
    let id = task["id"].as_str().unwrap();

    let (status, answer) = beta.post(TASKS, &body).await;
    assert_eq!(status, 403, "{answer}");
    assert!(answer["error"]
        .as_str()
        .unwrap()
        .contains("runtime_automation"));
    // Alpha's task does not exist for beta: 404 wins over 403 only where
    // reading is allowed; writes are refused first.
    assert_eq!(
        beta.patch(&format!("{TASKS}/{id}"), &json!({"text": "x"}))
            .await
            .0,
        403
    );
    assert_eq!(beta.delete(&format!("{TASKS}/{id}")).await, 403);
    // Reading stays allowed, and shows nothing of alpha's.
    assert_eq!(beta.page("").await, (vec![], 0));
    assert_eq!(beta.get(&format!("{TASKS}/{id}")).await.0, 404);
    assert_eq!(beta.get(&format!("{TASKS}/{id}/runs")).await.0, 404);
    assert_eq!(alpha.page("").await, (vec![id.to_string()], 1));
    // Alpha's token is no good on beta either.
    let res = client()
        .get(format!("{}{TASKS}", beta.url))
        .bearer_auth(&alpha.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    app.stop().await;
}
