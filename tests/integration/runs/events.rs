//! Run events: JSON after a sequence number, Server-Sent Events with `id:`,
//! resumption from `Last-Event-ID`, and live streaming.

use super::*;
use serde_json::json;

/// (id, event name, data) of every frame in an event-stream body.
fn frames(body: &str) -> Vec<(u64, String, Value)> {
    body.split("\n\n")
        .filter_map(|frame| {
            let field = |name: &str| {
                frame
                    .lines()
                    .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
            };
            let id = field("id:")?.parse().ok()?;
            let data = serde_json::from_str(&field("data:")?).ok()?;
            Some((id, field("event:")?, data))
        })
        .collect()
}

async fn stream(url: &str, token: &str, last_event_id: Option<u64>) -> reqwest::Response {
    let mut req = client()
        .get(url)
        .bearer_auth(token)
        .header("Accept", "text/event-stream");
    if let Some(id) = last_event_id {
        req = req.header("Last-Event-ID", id.to_string());
    }
    let res = req.send().await.expect("event stream");
    assert_eq!(res.status(), 200);
    let kind = res.headers()["content-type"].to_str().unwrap().to_string();
    assert!(kind.starts_with("text/event-stream"), "{kind}");
    res
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_after_a_sequence_number_and_over_sse_with_resumption() {
    let h = Harness::start(&[BotSpec::new("alpha", "lines.sh")], "").await;
    let (_, run) = h
        .headless("alpha", json!({"prompt": "hi", "wait": true}))
        .await;
    let task = run["taskId"].as_str().unwrap();
    let events = format!("/api/headless/{task}/events");

    let (status, page) = h.app.admin_get(&events).await;
    assert_eq!(status, 200);
    assert_eq!(page["last_seq"], 5);
    let names: Vec<&str> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["started", "stdout", "stdout", "stdout", "finished"]);
    let seqs: Vec<u64> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5]);
    assert_eq!(page["events"][1]["data"]["line"], "one");
    assert_eq!(page["events"][4]["data"]["status"], "succeeded");
    assert_eq!(page["events"][4]["data"]["exit_code"], 0);

    let (_, page) = h.app.admin_get(&format!("{events}?after=2")).await;
    let seqs: Vec<u64> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!((seqs, page["last_seq"].as_u64()), (vec![3, 4, 5], Some(5)));
    let (_, page) = h.app.admin_get(&format!("{events}?after=5")).await;
    assert_eq!(page["events"], json!([]));

    // SSE: the whole run, then the stream ends by itself.
    let admin = h.app.supervisor.admin_token().to_string();
    let url = format!("{}{events}", h.app.admin_url);
    let body = stream(&url, &admin, None).await.text().await.unwrap();
    let got = frames(&body);
    let ids: Vec<u64> = got.iter().map(|f| f.0).collect();
    assert_eq!(ids, [1, 2, 3, 4, 5], "{body}");
    assert_eq!(got[2].1, "stdout");
    assert_eq!(got[2].2["data"]["line"], "two");
    assert_eq!(got[4].1, "finished");

    // Resumption: Last-Event-ID wins over `after`.
    let body = stream(&format!("{url}?after=1"), &admin, Some(3))
        .await
        .text()
        .await
        .unwrap();
    let ids: Vec<u64> = frames(&body).iter().map(|f| f.0).collect();
    assert_eq!(ids, [4, 5], "{body}");
    let body = stream(&format!("{url}?after=4"), &admin, None)
        .await
        .text()
        .await
        .unwrap();
    let ids: Vec<u64> = frames(&body).iter().map(|f| f.0).collect();
    assert_eq!(ids, [5]);

    // The same on the bot, with its token.
    let token = h.token("alpha").await;
    let bot_url = format!("{}/api/v1/runs/{task}/events", h.url("alpha"));
    let body = stream(&bot_url, &token, Some(4))
        .await
        .text()
        .await
        .unwrap();
    let ids: Vec<u64> = frames(&body).iter().map(|f| f.0).collect();
    assert_eq!(ids, [5]);
    let (status, page) = bot_call(
        reqwest::Method::GET,
        &format!("{bot_url}?after=3"),
        &token,
        &[],
        None,
    )
    .await;
    assert_eq!((status, page["events"].as_array().unwrap().len()), (200, 2));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_streams_a_live_run_as_it_happens() {
    let h = Harness::start(&[BotSpec::new("alpha", "gate.sh")], "").await;
    let (status, accepted) = h.headless("alpha", json!({"prompt": "live"})).await;
    assert_eq!(status, 202);
    let task = accepted["taskId"].as_str().unwrap();
    let url = format!("{}/api/headless/{task}/events", h.app.admin_url);
    let mut res = stream(&url, h.app.supervisor.admin_token(), None).await;

    // The agent waits for us: "ready" can only have come from a live stream.
    let mut body = String::new();
    while !body.contains("ready: live") {
        let chunk = res
            .chunk()
            .await
            .unwrap()
            .expect("the stream stays open while the run lives");
        body.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(!body.contains("finished"), "{body}");
    h.open_gate("alpha");
    while let Some(chunk) = res.chunk().await.unwrap() {
        body.push_str(&String::from_utf8_lossy(&chunk));
    }
    let got = frames(&body);
    let names: Vec<&str> = got.iter().map(|f| f.1.as_str()).collect();
    assert_eq!(names, ["started", "stdout", "stdout", "finished"], "{body}");
    let ids: Vec<u64> = got.iter().map(|f| f.0).collect();
    assert_eq!(ids, [1, 2, 3, 4]);
    assert_eq!(got[2].2["data"]["line"], "done");
    assert_eq!(got[3].2["data"]["status"], "succeeded");
    h.stop().await;
}
