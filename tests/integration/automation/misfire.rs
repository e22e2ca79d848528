//! Due times missed while the bot was stopped: each task's `misfire`
//! policy, and the `missed` run records.

use super::support::*;
use crate::common::*;
use chrono::{Duration as Span, Utc};
use serde_json::{json, Value};
use std::time::Duration;

/// Due times that pass while the bot is stopped are settled at start by
/// each task's `misfire` policy and recorded as one `missed` run per task;
/// a running bot records none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misfire_records_missed_runs_across_a_stop_and_start() {
    let (_dir, app, api) = start("").await;
    let make = |scope: &str, schedule: Value| {
        let mut body = json!({"scope_type": "chat", "scope_id": scope, "text": scope});
        for (key, value) in schedule.as_object().unwrap() {
            body[key] = value.clone();
        }
        body
    };
    let skip = api
        .create(make("oc_skip", json!({"every_seconds": 1})))
        .await;
    let catch_up = api
        .create(make(
            "oc_catch",
            json!({"every_seconds": 1, "misfire": "catch_up"}),
        ))
        .await;
    let stale = api
        .create(make(
            "oc_stale",
            json!({"run_at": in_secs(8), "misfire": "catch_up", "catch_up_within": "1s"}),
        ))
        .await;
    let one_skip = api
        .create(make(
            "oc_once_skip",
            json!({"run_at": in_secs(8), "misfire": "skip"}),
        ))
        .await;
    let one_run = api
        .create(make("oc_once_run", json!({"run_at": in_secs(8)})))
        .await;

    let missed = |runs: &[Value]| -> Vec<Value> {
        runs.iter()
            .filter(|r| r["outcome"] == "missed")
            .cloned()
            .collect()
    };
    // Running: late ticks are no misses.
    eventually("the interval tasks ran twice", || async {
        api.task(id(&skip)).await["run_count"].as_u64() >= Some(2)
            && api.task(id(&catch_up)).await["run_count"].as_u64() >= Some(2)
    })
    .await;
    for task in [&skip, &catch_up] {
        let runs = runs(&api, task).await;
        assert!(missed(&runs).is_empty(), "a running bot missed: {runs:?}");
    }
    for task in [&stale, &one_skip, &one_run] {
        assert_eq!(
            api.task(id(task)).await["run_count"],
            0,
            "ran before the stop"
        );
    }
    let (status, body) = app.admin_post("/api/bots/alpha/stop").await;
    assert_eq!(status, 200, "{body}");
    let stopped_at = Utc::now();
    // Past the one-shots' time and several interval ticks.
    let wake = time(&one_run["run_at"]) + Span::seconds(3);
    let wait = (wake - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait.max(Duration::from_secs(3))).await;
    let (status, body) = app.admin_post("/api/bots/alpha/start").await;
    assert_eq!(status, 200, "{body}");
    app.wait_running(&["alpha"]).await;
    let started_at = Utc::now();

    // skip: every time of the outage is recorded, none run.
    let runs_skip = runs(&api, &skip).await;
    let m = missed(&runs_skip);
    assert_eq!(m.len(), 1, "{runs_skip:?}");
    assert!(m[0]["missed_count"].as_u64().unwrap() >= 3, "{m:?}");
    // The first missed time is a later one than the last run before the stop
    // (the next one, unless that run itself started late).
    let first = time(&m[0]["due_at"]);
    let last_ran = runs_skip
        .iter()
        .filter(|r| r["outcome"] == "succeeded" && time(&r["due_at"]) < stopped_at)
        .map(|r| time(&r["due_at"]))
        .max()
        .unwrap();
    assert!(first > last_ran && first < started_at, "{runs_skip:?}");
    assert!(
        m[0]["error"].as_str().unwrap().contains("not running"),
        "{m:?}"
    );
    // catch_up within the hour: the newest missed time runs at once.
    eventually("the caught-up run", || async {
        runs(&api, &catch_up).await.iter().any(|r| {
            r["outcome"] == "succeeded"
                && time(&r["due_at"]) > stopped_at
                && time(&r["due_at"]) < started_at
        })
    })
    .await;
    let runs_catch = runs(&api, &catch_up).await;
    assert_eq!(missed(&runs_catch).len(), 1, "{runs_catch:?}");
    // catch_up, the time older than its window: recorded, not run.
    let done = api.wait_status(id(&stale), "completed").await;
    assert_eq!(done["run_count"], 0);
    let runs_stale = runs(&api, &stale).await;
    assert_eq!(missed(&runs_stale).len(), 1, "{runs_stale:?}");
    assert!(app_messages(&app, "alpha", "oc_stale").await.is_empty());
    // A one-shot with `skip`: recorded, completed, never sent.
    let done = api.wait_status(id(&one_skip), "completed").await;
    assert_eq!(done["run_count"], 0);
    let runs_once = runs(&api, &one_skip).await;
    assert_eq!(runs_once.len(), 1, "{runs_once:?}");
    assert_eq!(
        (
            runs_once[0]["outcome"].as_str(),
            runs_once[0]["missed_count"].as_u64()
        ),
        (Some("missed"), Some(1))
    );
    assert!(app_messages(&app, "alpha", "oc_once_skip").await.is_empty());
    // A one-shot by default: it still runs once.
    api.wait_status(id(&one_run), "completed").await;
    assert_eq!(app_messages(&app, "alpha", "oc_once_run").await.len(), 1);
    assert!(missed(&runs(&api, &one_run).await).is_empty());
    // The interval tasks go on.
    let count = api.task(id(&skip)).await["run_count"].as_u64().unwrap();
    eventually("the interval task goes on", || async {
        api.task(id(&skip)).await["run_count"].as_u64().unwrap() > count
    })
    .await;
    assert_eq!(missed(&runs(&api, &skip).await).len(), 1);
    app.stop().await;
}
