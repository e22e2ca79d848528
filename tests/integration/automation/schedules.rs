//! Richer schedules: `every_seconds`, `max_runs`, `title`, cron macros,
//! templates in prompts and texts, `status=all`, and the action and scope a
//! body may leave out. Missed runs are in `automation/misfire.rs`.

use super::support::*;
use crate::common::*;
use chrono::{DateTime, Duration as Span, Timelike, Utc};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_seconds_fires_repeatedly_with_fresh_templates() {
    let (_dir, app, api) = start("").await;
    // No `action`: a body with only `text` is a send_text task.
    let task = api
        .create(
            json!({"scope_type": "chat", "scope_id": "oc_every", "text": "tick {{unix}} {{other}}",
            "every_seconds": 1, "title": "Ticker"}),
        )
        .await;
    assert_eq!(
        (
            task["action"].as_str(),
            task["every_seconds"].as_u64(),
            task["cron"].is_null(),
            task["run_at"].is_null()
        ),
        (Some("send_text"), Some(1), true, true)
    );
    assert_eq!(task["title"], "Ticker");
    assert_eq!(task["misfire"], "skip");
    assert_eq!(task["max_runs"], 0);
    let next = time(&task["next_run_at"]);
    assert_eq!(next, time(&task["created_at"]) + Span::seconds(1));

    eventually("three ticks", || async {
        app_messages(&app, "alpha", "oc_every").await.len() >= 3
    })
    .await;
    let sent = app_messages(&app, "alpha", "oc_every").await;
    let texts: Vec<&str> = sent.iter().map(|m| m["text"].as_str().unwrap()).collect();
    for text in &texts {
        assert!(
            text.starts_with("tick ") && text.ends_with(" {{other}}"),
            "{text}"
        );
        assert!(!text.contains("{{unix}}"), "{text}");
    }
    // Expanded at each run: the first and the last tick differ (a third
    // run starts a due time later than the second's, which came after the
    // first run started: more than a second apart).
    assert_ne!(texts.first(), texts.last(), "{texts:?}");
    let now = api.task(id(&task)).await;
    assert_eq!(now["status"], "active");
    assert!(now["run_count"].as_u64().unwrap() >= 3, "{now}");
    // The list shows the title.
    let (_, list) = api.get(TASKS).await;
    assert_eq!(list[0]["title"], "Ticker");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_runs_completes_the_task() {
    let (_dir, app, api) = start("").await;
    let task = api
        .create(
            json!({"scope_type": "chat", "scope_id": "oc_max", "action": "send_text",
            "text": "once more", "every_seconds": 1, "max_runs": 2}),
        )
        .await;
    assert_eq!(task["max_runs"], 2);
    let done = api.wait_status(id(&task), "completed").await;
    assert_eq!(done["run_count"], 2);
    assert_eq!(done["next_run_at"], Value::Null);
    assert_eq!(app_messages(&app, "alpha", "oc_max").await.len(), 2);
    // A due time met while the previous run still went (a loaded machine:
    // one run a second) is recorded `skipped`, and is not a run.
    let outcomes: Vec<Value> = runs(&api, &task)
        .await
        .iter()
        .map(|r| r["outcome"].clone())
        .filter(|outcome| *outcome != json!("skipped"))
        .collect();
    assert_eq!(outcomes, [json!("succeeded"), json!("succeeded")]);

    // Lowering `max_runs` to the runs already made completes a task at once.
    let other = api
        .create(
            json!({"scope_type": "chat", "scope_id": "oc_max2", "text": "x", "cron": "0 9 * * *"}),
        )
        .await;
    let (status, patched) = api
        .patch(
            &format!("{TASKS}/{}", id(&other)),
            &json!({"max_runs": 5, "title": "Five"}),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(
        (patched["max_runs"].as_u64(), patched["title"].as_str()),
        (Some(5), Some("Five"))
    );
    app.stop().await;
}

/// The agent (a real subprocess) receives the prompt with `{{now}}`,
/// `{{date}}`, `{{time}}` and `{{unix}}` filled in, in the bot's timezone;
/// an unknown placeholder stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_are_expanded_in_what_the_agent_receives() {
    let extra = format!("timezone = \"Asia/Shanghai\"\n[bots.alpha.agent]\n{AGENT}");
    let (_dir, app, api) = start_with(&extra).await;
    // No `action`: a body with only `prompt` is a run_llm task.
    let task = api
        .create(json!({"scope_type": "chat", "scope_id": "oc_tpl",
            "prompt": "now={{now}} date={{date}} time={{ time }} unix={{unix}} keep={{name}}",
            "run_at": in_secs(1)}))
        .await;
    assert_eq!(task["action"], "run_llm");
    assert_eq!(task["misfire"], "run_once");
    api.wait_status(id(&task), "completed").await;
    let sent = app_messages(&app, "alpha", "oc_tpl").await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let text = sent[0]["text"].as_str().unwrap();
    // What the agent read on stdin, echoed back.
    let field = |name: &str| {
        text.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
            .to_string()
    };
    let unix: i64 = field("unix").parse().expect("unix seconds");
    let local = DateTime::from_timestamp(unix, 0)
        .unwrap()
        .with_timezone(&chrono_tz::Asia::Shanghai);
    assert_eq!(field("now"), local.to_rfc3339());
    assert!(field("now").ends_with("+08:00"), "{text}");
    assert_eq!(field("date"), local.format("%Y-%m-%d").to_string());
    assert_eq!(field("time"), local.format("%H:%M").to_string());
    assert_eq!(field("keep"), "{{name}}");
    // The task keeps the prompt as written.
    assert!(api.task(id(&task)).await["prompt"]
        .as_str()
        .unwrap()
        .contains("{{now}}"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cron_takes_macros_and_refuses_unknown_ones() {
    let (_dir, app, api) = start_with("").await;
    let daily = api
        .create(json!({"scope_type": "chat", "scope_id": "oc_1", "text": "hi", "cron": "@daily"}))
        .await;
    assert_eq!(daily["cron"], "@daily");
    let next = time(&daily["next_run_at"]);
    assert_eq!((next.hour(), next.minute(), next.second()), (0, 0, 0));
    assert!(next > Utc::now() && next <= Utc::now() + Span::days(1));
    let (status, hourly) = api
        .patch(
            &format!("{TASKS}/{}", id(&daily)),
            &json!({"cron": "@hourly"}),
        )
        .await;
    assert_eq!(status, 200, "{hourly}");
    assert_eq!(time(&hourly["next_run_at"]).minute(), 0);
    for bad in ["@fortnightly", "@", "@daily 9"] {
        let (status, answer) = api
            .post(
                TASKS,
                &json!({"scope_type": "chat", "scope_id": "oc_1", "text": "hi", "cron": bad}),
            )
            .await;
        assert_eq!(status, 400, "{bad}: {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains("cron"),
            "{answer}"
        );
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_all_lists_every_status() {
    let (_dir, app, api) = start_with("").await;
    let make =
        || json!({"scope_type": "chat", "scope_id": "oc_1", "text": "hi", "cron": "0 9 * * *"});
    let (a, b, c) = (
        api.create(make()).await,
        api.create(make()).await,
        api.create(make()).await,
    );
    for (task, status) in [(&b, "paused"), (&c, "cancelled")] {
        let path = format!("{TASKS}/{}", id(task));
        assert_eq!(api.patch(&path, &json!({"status": status})).await.0, 200);
    }
    let all = [id(&a), id(&b), id(&c)].map(str::to_string).to_vec();
    assert_eq!(api.page("?status=all").await, (all.clone(), 3));
    assert_eq!(api.page("").await, (all, 3));
    assert_eq!(
        api.page("?status=active").await,
        (vec![id(&a).to_string()], 1)
    );
    let (status, answer) = api.get(&format!("{TASKS}?status=everything")).await;
    assert_eq!(status, 400);
    assert!(
        answer["error"].as_str().unwrap().contains("all"),
        "{answer}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_fields_are_validated_with_field_named_400s() {
    // The default floor of `every_seconds` (60) applies.
    let (_dir, app, api) = start_with("").await;

    let ok =
        || json!({"scope_type": "chat", "scope_id": "oc_1", "text": "hi", "every_seconds": 60});
    let with = |key: &str, value: Value| {
        let mut body = ok();
        body[key] = value;
        body
    };
    let long = "x".repeat(201);
    let cases = [
        (with("every_seconds", json!(59)), "every_seconds"),
        (with("every_seconds", json!(0)), "every_seconds"),
        (with("every_seconds", json!(-60)), "every_seconds"),
        (with("every_seconds", json!(90.5)), "every_seconds"),
        (with("every_seconds", json!("60")), "every_seconds"),
        (with("cron", json!("0 9 * * *")), "every_seconds"),
        (with("run_at", json!(in_secs(60))), "every_seconds"),
        (with("max_runs", json!(-1)), "max_runs"),
        (with("max_runs", json!("3")), "max_runs"),
        (with("title", json!(long)), "title"),
        (with("title", json!(7)), "title"),
        (with("misfire", json!("later")), "misfire"),
        (with("catch_up_within", json!("2h")), "catch_up_within"),
        (
            json!({"scope_type": "chat", "scope_id": "oc_1", "text": "hi", "every_seconds": 60,
                "misfire": "catch_up", "catch_up_within": "soon"}),
            "catch_up_within",
        ),
        (
            json!({"scope_type": "chat", "scope_id": "oc_1", "text": "hi", "prompt": "p", "every_seconds": 60}),
            "action",
        ),
        (
            json!({"scope_type": "chat", "scope_id": "oc_1", "every_seconds": 60}),
            "action",
        ),
    ];
    for (body, field) in cases {
        let (status, answer) = api.post(TASKS, &body).await;
        assert_eq!(status, 400, "{body} → {answer}");
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(
            error.contains(field),
            "{body}: `{error}` does not name {field}"
        );
        assert_eq!(answer["code"], "invalid_task", "{answer}");
    }
    // At the limits: accepted.
    let edge = api
        .create(json!({"scope_type": "chat", "scope_id": "oc_1", "text": "hi", "every_seconds": 60,
            "max_runs": null, "title": "t".repeat(200), "misfire": "catch_up", "catch_up_within": "90m"}))
        .await;
    assert_eq!(
        (
            edge["max_runs"].as_u64(),
            edge["misfire"].as_str(),
            edge["catch_up_within"].as_str()
        ),
        (Some(0), Some("catch_up"), Some("90m"))
    );
    let defaulted = api
        .create(
            json!({"scope_type": "chat", "scope_id": "oc_1", "text": "hi", "every_seconds": 60,
            "misfire": "catch_up"}),
        )
        .await;
    assert_eq!(defaulted["catch_up_within"], "1h");

    let path = format!("{TASKS}/{}", id(&edge));
    let patches = [
        (json!({"every_seconds": 30}), "every_seconds"),
        (json!({"cron": "0 9 * * *"}), "every_seconds"),
        (json!({"max_runs": -1}), "max_runs"),
        (json!({"title": "y".repeat(201)}), "title"),
        (json!({"misfire": "never"}), "misfire"),
        (
            json!({"misfire": "skip", "catch_up_within": "1h"}),
            "catch_up_within",
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
    // Switching to a one-shot: a default policy follows the schedule; an
    // explicit one stays.
    let (status, switched) = api
        .patch(
            &path,
            &json!({"every_seconds": null, "run_at": in_secs(3600), "title": null}),
        )
        .await;
    assert_eq!(status, 200, "{switched}");
    assert_eq!(
        (switched["misfire"].as_str(), switched["title"].is_null()),
        (Some("catch_up"), true)
    );
    let plain = api.create(ok()).await;
    let (_, switched) = api
        .patch(
            &format!("{TASKS}/{}", id(&plain)),
            &json!({"every_seconds": null, "run_at": in_secs(3600)}),
        )
        .await;
    assert_eq!(switched["misfire"], "run_once");

    // The OpenAPI document shows the new fields.
    let (_, doc) = api.get("/openapi.json").await;
    let schemas = &doc["components"]["schemas"];
    for field in [
        "every_seconds",
        "max_runs",
        "title",
        "misfire",
        "catch_up_within",
    ] {
        for schema in ["Task", "NewTaskBody", "TaskPatch"] {
            assert!(
                schemas[schema]["properties"].get(field).is_some(),
                "{schema}.{field} missing"
            );
        }
    }
    assert!(schemas["TaskRun"]["properties"]
        .get("missed_count")
        .is_some());
    app.stop().await;
}

/// Without `scope_type`/`scope_id` a task goes to the caller's
/// conversation: a run token's own, or the one the headers name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scope_defaults_to_the_callers_conversation() {
    use crate::runs::{bot_call, BotSpec, Harness};
    use reqwest::Method;
    let h = Harness::start(&[BotSpec::new("alpha", "gate.sh")], "").await;
    let url = format!("{}{TASKS}", h.url("alpha"));
    let (status, started) = h
        .headless(
            "alpha",
            json!({"prompt": "hold", "scope": {"receive_id_type": "open_id", "receive_id": "ou_mine"}}),
        )
        .await;
    assert_eq!(status, 202, "{started}");
    let run = started["taskId"].as_str().unwrap().to_string();
    let token = h.run_token("alpha", &run).await;
    let body = json!({"prompt": "Summarise the news at {{date}}", "every_seconds": 3600});
    let (status, task) = bot_call(Method::POST, &url, &token, &[], Some(body.clone())).await;
    assert_eq!(status, 201, "{task}");
    assert_eq!(
        (
            task["action"].as_str(),
            task["scope_type"].as_str(),
            task["scope_id"].as_str()
        ),
        (Some("run_llm"), Some("user"), Some("ou_mine"))
    );
    // The main token with conversation headers.
    let main = h.token("alpha").await;
    let headers = [("X-Alice-Receive-Id", "oc_team")];
    let (status, task) = bot_call(Method::POST, &url, &main, &headers, Some(body.clone())).await;
    assert_eq!(status, 201, "{task}");
    assert_eq!(
        (task["scope_type"].as_str(), task["scope_id"].as_str()),
        (Some("chat"), Some("oc_team"))
    );
    // Neither: the scope is required.
    let (status, answer) = bot_call(Method::POST, &url, &main, &[], Some(body)).await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("scope_type"),
        "{answer}"
    );
    h.open_gate("alpha");
    h.finished(&run).await;
    h.stop().await;
}
