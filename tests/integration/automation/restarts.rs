//! The real binary killed with SIGKILL and started again.

use super::support::*;
use crate::common::*;
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_survive_kill_9_and_a_missed_one_shot_fires_once_after_restart() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(1), free_ports(1));
    let path = dir.write_config(&served_config(admin, base));

    let serve = Served::start(&path, admin, base).await;
    let missed = serve
        .api
        .create(json!({"scope_type": "chat", "scope_id": "oc_missed", "action": "send_text", "text": "late but once", "run_at": in_secs(2)}))
        .await;
    let cron = serve
        .api
        .create(json!({"scope_type": "user", "scope_id": "ou_cron", "action": "send_text", "text": "daily", "cron": "17 9 * * *"}))
        .await;
    serve.kill_9();
    // Let the one-shot's time pass while alice is down.
    tokio::time::sleep(Duration::from_millis(2500)).await;

    let serve = Served::start(&path, admin, base).await;
    let missed_id = missed["id"].as_str().unwrap();
    let done = serve.api.wait_status(missed_id, "completed").await;
    assert_eq!(done["run_count"], 1);
    assert_eq!(serve.messages("oc_missed").await.len(), 1);
    let cron_now = serve.api.task(cron["id"].as_str().unwrap()).await;
    assert_eq!(cron_now["cron"], "17 9 * * *");
    assert_eq!(cron_now["status"], "active");
    assert_eq!(cron_now["next_run_at"], cron["next_run_at"]);
    assert!(
        cron["next_run_at"].as_str().unwrap().ends_with(":17:00Z"),
        "{cron}"
    );
    serve.kill_9();

    // Another crash and restart: the taken due time never runs again.
    let serve = Served::start(&path, admin, base).await;
    let barrier = serve
        .api
        .create(json!({"scope_type": "chat", "scope_id": "oc_barrier", "action": "send_text", "text": "b", "run_at": in_secs(1)}))
        .await;
    serve
        .api
        .wait_status(barrier["id"].as_str().unwrap(), "completed")
        .await;
    assert_eq!(serve.messages("oc_missed").await.len(), 1);
    assert_eq!(serve.api.task(missed_id).await["run_count"], 1);
    let (_, runs) = serve.api.get(&format!("{TASKS}/{missed_id}/runs")).await;
    assert_eq!(runs.as_array().unwrap().len(), 1, "{runs}");
    serve.kill_9();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_tasks_created_then_kill_9_are_all_there_after_restart() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(1), free_ports(1));
    let path = dir.write_config(&served_config(admin, base));
    let serve = Served::start(&path, admin, base).await;
    let calls = (0..50).map(|i| {
        let body = json!({"scope_type": "chat", "scope_id": format!("oc_{i}"),
            "action": "send_text", "text": format!("n{i}"), "cron": "0 9 * * *"});
        let api = &serve.api;
        async move { api.post(TASKS, &body).await }
    });
    let mut ids = Vec::new();
    for (status, task) in futures_util::future::join_all(calls).await {
        assert_eq!(status, 201, "{task}");
        ids.push(task["id"].as_str().unwrap().to_string());
    }
    // The moment after the last answer.
    serve.kill_9();

    let serve = Served::start(&path, admin, base).await;
    let (mut listed, total) = serve.api.page("?limit=200").await;
    assert_eq!(total, 50);
    listed.sort();
    ids.sort();
    assert_eq!(listed, ids);
    serve.kill_9();
}
