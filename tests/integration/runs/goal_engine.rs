//! The goal engine: iterations as recorded agent runs driven by a test agent
//! that plays an LLM (`tests/agents/goal_agent.sh`, told what to do by a
//! `plan` file in the workspace), delays, back-off, the runaway guard, the
//! deadline, one thing at a time per conversation, and restarts.

use super::*;
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

/// Local conversations as their messages carry them (a p2p chat's session
/// is its user's).
const CHAT_A: &[(&str, &str)] = &[
    ("X-Alice-Receive-Id", "oc_a"),
    ("X-Alice-Session-Key", "open_id:ou_local_oc_a|scene:chat"),
];
const CHAT_B: &[(&str, &str)] = &[
    ("X-Alice-Receive-Id", "oc_b"),
    ("X-Alice-Session-Key", "open_id:ou_local_oc_b|scene:chat"),
];

/// A bot with the goal agent and `[bots.<id>.goal]` keys.
fn goal_bot<'a>(id: &'a str, goal_keys: &'a str) -> BotSpec<'a> {
    let mut spec = BotSpec::new(id, "goal_agent.sh");
    spec.extra = goal_keys;
    spec
}

/// Short limits, so that tests wait seconds, not minutes.
const FAST: &str = "[bots.alpha.goal]\nmin_delay = \"1s\"\nmin_deadline = \"1s\"\n";

struct Goals<'a> {
    h: &'a Harness,
    bot: &'a str,
    token: String,
    conversation: &'a [(&'a str, &'a str)],
}

impl<'a> Goals<'a> {
    async fn new(h: &'a Harness, bot: &'a str, conversation: &'a [(&'a str, &'a str)]) -> Self {
        Self {
            token: h.token(bot).await,
            h,
            bot,
            conversation,
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}/api/v1/{path}", self.h.url(self.bot));
        bot_call(method, &url, &self.token, self.conversation, body).await
    }

    fn plan(&self, lines: &[&str]) {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(self.h.workspace(self.bot).join("plan"), text).expect("write plan");
    }

    fn log(&self) -> Vec<String> {
        std::fs::read_to_string(self.h.workspace(self.bot).join("log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn prompt(&self, n: u32) -> String {
        std::fs::read_to_string(self.h.workspace(self.bot).join(format!("prompt-{n}.txt")))
            .unwrap_or_default()
    }

    /// The `goals` part of the bot's internal probe.
    async fn probe(&self) -> Value {
        let url = format!("{}/api/v1/probes/internal", self.h.url(self.bot));
        let (status, probe) = bot_call(Method::GET, &url, &self.token, &[], None).await;
        assert_eq!(status, 200, "{probe}");
        probe["goals"].clone()
    }

    async fn create(&self, body: Value) -> Value {
        let (status, goal) = self.call(Method::POST, "goal", Some(body)).await;
        assert_eq!(status, 201, "{goal}");
        goal
    }

    /// The conversation's newest goal, finished or not.
    async fn newest(&self) -> Value {
        let (status, list) = self.call(Method::GET, "goals?limit=1", None).await;
        assert_eq!(status, 200, "{list}");
        list[0].clone()
    }

    /// Polls the newest goal until `check` holds.
    async fn wait(&self, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let goal = self.newest().await;
            if check(&goal) {
                return goal;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {what}: {goal:#}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until `n` iterations have ended and none runs.
    async fn wait_iterations(&self, n: u64) -> Value {
        self.wait(&format!("{n} iterations"), |g| {
            g["iterations"] == n && g["in_flight"].is_null()
        })
        .await
    }

    /// The bot's messages to the conversation, in order.
    async fn sent(&self) -> Vec<String> {
        let (status, body) = self
            .h
            .app
            .admin_get(&format!(
                "/api/bots/{}/conversations/{}/messages?limit=200",
                self.bot, self.conversation[0].1
            ))
            .await;
        assert_eq!(status, 200, "{body}");
        body.as_array()
            .unwrap()
            .iter()
            .filter(|m| m["direction"] == "out")
            .map(|m| m["text"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// The bot's runs with origin `goal`, oldest first.
    async fn goal_runs(&self) -> Vec<Value> {
        let (status, runs) = self.call(Method::GET, "runs?limit=200", None).await;
        assert_eq!(status, 200, "{runs}");
        let mut runs: Vec<Value> = runs
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["origin"] == "goal")
            .cloned()
            .collect();
        // Run ids are time-ordered.
        runs.sort_by_key(|r| r["taskId"].as_str().unwrap_or_default().to_string());
        runs
    }
}

fn at(goal: &Value, field: &str) -> chrono::DateTime<chrono::Utc> {
    goal[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} in {goal}"))
        .parse()
        .unwrap()
}

/// Seconds from `from` to `to` of a goal.
fn gap(goal: &Value, from: &str, to: &str) -> i64 {
    (at(goal, to) - at(goal, from)).num_seconds()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_goal_iterates_until_the_agent_completes_it() {
    let h = Harness::start(&[goal_bot("alpha", "")], "").await;
    let g = Goals::new(&h, "alpha", CHAT_A).await;
    g.plan(&[
        "delay 0s step one",
        "delay 0s step two",
        "delay 0s step three",
        "complete",
    ]);
    let goal = g
        .create(json!({"description": "Write the report", "deadline_in": "2h"}))
        .await;
    assert_eq!(gap(&goal, "created_at", "deadline_at"), 7200, "{goal}");
    assert_eq!(goal["iterations"], 0);

    // The agent completes the goal during its last iteration, which then
    // records its end.
    let done = g
        .wait("completed", |g| {
            g["status"] == "completed" && g["in_flight"].is_null()
        })
        .await;
    assert_eq!(done["iterations"], 4, "{done}");
    let log = g.log();
    let starts: Vec<&String> = log.iter().filter(|l| l.contains(" start")).collect();
    assert_eq!(starts.len(), 4, "{log:?}");
    for (i, line) in starts.iter().enumerate() {
        assert!(
            line.starts_with(&format!("iteration {} start", i + 1)),
            "{log:?}"
        );
    }
    assert!(!log.contains(&"overlap".to_string()), "{log:?}");
    eventually("four answers", || async { g.sent().await.len() >= 4 }).await;
    assert_eq!(
        g.sent().await,
        ["progress 1", "progress 2", "progress 3", "progress 4"]
    );
    let first = g.prompt(1);
    for needle in [
        "Objective: Write the report",
        "Deadline:",
        "iteration 1]",
        "goal delay",
        "or 1m to 12h",
    ] {
        assert!(first.contains(needle), "{needle}: {first}");
    }
    assert!(
        g.prompt(3).contains("Last declared delay: 0s (step two)"),
        "{}",
        g.prompt(3)
    );

    // Each iteration is a recorded run with origin `goal`, in the goal.
    let runs = g.goal_runs().await;
    assert_eq!(runs.len(), 4, "{runs:?}");
    assert_eq!(done["last_run_id"], runs[3]["taskId"]);
    assert!(runs.iter().all(|r| r["goal_id"] == done["id"]));

    // A finished goal is history: GET answers 204, the list has it.
    let (status, _) = g.call(Method::GET, "goal", None).await;
    assert_eq!(status, 204);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_delay_is_waited_and_bad_ones_are_refused() {
    let h = Harness::start(
        &[goal_bot("alpha", FAST), BotSpec::new("beta", "lines.sh")],
        "",
    )
    .await;
    let g = Goals::new(&h, "alpha", CHAT_A).await;
    g.plan(&["delay 2s waiting for CI", "complete"]);
    g.create(json!({"description": "Ship"})).await;
    g.wait("completed", |g| g["status"] == "completed").await;
    let runs = g.goal_runs().await;
    assert_eq!(runs.len(), 2, "{runs:?}");
    let waited = at(&runs[1], "started_at") - at(&runs[0], "finished_at");
    assert!(waited.num_milliseconds() >= 2000, "waited {waited}");

    // Under the default limits (bot beta): 0s or 1m … 12h, with a reason.
    let b = Goals::new(&h, "beta", CHAT_A).await;
    let (status, body) = b
        .call(
            Method::POST,
            "goal/delay",
            Some(json!({"duration": "5m", "reason": "x"})),
        )
        .await;
    assert_eq!(status, 404, "no goal: {body}");
    b.create(json!({"description": "Ship", "deadline_in": "1h30m"}))
        .await;
    for bad in [
        json!({"duration": "13h", "reason": "too long"}),
        json!({"duration": "30s", "reason": "too short"}),
        json!({"duration": "5m", "reason": "  "}),
        json!({"duration": "5m", "reason": "x".repeat(501)}),
        json!({"duration": "soon", "reason": "x"}),
        json!({"reason": "x"}),
    ] {
        let (status, body) = b.call(Method::POST, "goal/delay", Some(bad.clone())).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body["error"].is_string(), "{body}");
    }
    for good in ["0s", "1m", "12h", "1h30m"] {
        let (status, body) = b
            .call(
                Method::POST,
                "goal/delay",
                Some(json!({"duration": good, "reason": "fine"})),
            )
            .await;
        assert_eq!(status, 200, "{good}: {body}");
        assert_eq!(body["last_delay"]["duration"], good);
    }
    for bad in ["30d1s", "30s", "soon", ""] {
        let (status, body) = b
            .call(
                Method::POST,
                "goal",
                Some(json!({"description": "d", "deadline_in": bad})),
            )
            .await;
        assert!(status == 400 || status == 409, "{bad}: {body}");
    }
    let (status, _) = b.call(Method::POST, "goal/pause", None).await;
    assert_eq!(status, 200);
    let (status, body) = b
        .call(
            Method::POST,
            "goal/delay",
            Some(json!({"duration": "5m", "reason": "x"})),
        )
        .await;
    assert_eq!(status, 409, "paused: {body}");
    let (status, _) = b.call(Method::DELETE, "goal", None).await;
    assert_eq!(status, 204);
    let (status, body) = b
        .call(
            Method::POST,
            "goal",
            Some(json!({"description": "d", "deadline_in": "31d"})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("deadline_in"),
        "{body}"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_iteration_waits_the_default_delay_and_a_failing_one_backs_off() {
    let h = Harness::start(&[goal_bot("alpha", "")], "").await;
    let g = Goals::new(&h, "alpha", CHAT_A).await;
    g.plan(&["none", "fail", "fail"]);
    g.create(json!({"description": "Tidy up"})).await;

    let goal = g.wait_iterations(1).await;
    assert_eq!(goal["last_outcome"], "succeeded", "{goal}");
    assert!(
        goal["status_reason"].as_str().unwrap().contains("default"),
        "{goal}"
    );
    assert!(
        gap(&goal, "last_iteration_at", "next_run_at") >= 15 * 60 - 1,
        "{goal}"
    );

    // Resuming makes the next iteration due at once; it fails and backs off.
    let mut backoffs = Vec::new();
    for n in [2, 3] {
        for path in ["goal/pause", "goal/resume"] {
            let (status, body) = g.call(Method::POST, path, None).await;
            assert_eq!(status, 200, "{path}: {body}");
        }
        let goal = g.wait_iterations(n).await;
        assert_eq!(goal["last_outcome"], "failed", "{goal}");
        assert!(
            goal["last_error"].as_str().unwrap().contains("code 3"),
            "{goal}"
        );
        assert!(
            goal["status_reason"].as_str().unwrap().contains("failed"),
            "{goal}"
        );
        assert_eq!(goal["status"], "in_progress");
        backoffs.push(gap(&goal, "updated_at", "next_run_at"));
    }
    assert!((59..=60).contains(&backoffs[0]), "{backoffs:?}");
    assert!((119..=120).contains(&backoffs[1]), "{backoffs:?}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_during_an_iteration_is_answered_after_it() {
    let h = Harness::start(&[goal_bot("alpha", "")], "").await;
    let g = Goals::new(&h, "alpha", CHAT_A).await;
    g.plan(&["block delay 1h waiting for the user"]);
    g.create(json!({"description": "Plan the trip"})).await;
    let blocked = h.workspace("alpha").join("blocked");
    eventually("the iteration is running", || async { blocked.exists() }).await;

    let (status, body) = h
        .admin_send(
            Method::POST,
            "/api/bots/alpha/conversations/oc_a/messages",
            Some(json!({"text": "hello"})),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    // Rendezvous: while the iteration holds the conversation, the message
    // must not start (a run of it would log `chat start`).
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !g.log().iter().any(|l| l.starts_with("chat")),
            "{:?}",
            g.log()
        );
    }
    std::fs::write(h.workspace("alpha").join("release"), "").unwrap();
    eventually("both answers", || async { g.sent().await.len() >= 2 }).await;
    assert_eq!(g.sent().await, ["progress 1", "chat: hello"]);
    let log = g.log();
    assert_eq!(
        log,
        [
            "iteration 1 start block delay 1h waiting for the user",
            "iteration 1 end",
            "chat start hello",
            "chat end hello"
        ],
        "{log:?}"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_fast_zero_delays_trip_the_runaway_guard() {
    let h = Harness::start(&[goal_bot("alpha", "")], "").await;
    let g = Goals::new(&h, "alpha", CHAT_A).await;
    g.plan(&["delay 0s go"; 8]);
    g.create(json!({"description": "Loop"})).await;
    let goal = g.wait_iterations(5).await;
    assert!(
        goal["status_reason"].as_str().unwrap().contains("runaway"),
        "{goal}"
    );
    assert!(
        gap(&goal, "updated_at", "next_run_at") >= 30 * 60 - 1,
        "{goal}"
    );
    assert_eq!(goal["status"], "in_progress");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_iterations_pauses_the_goal() {
    let h = Harness::start(
        &[goal_bot("alpha", "[bots.alpha.goal]\nmax_iterations = 2\n")],
        "",
    )
    .await;
    let g = Goals::new(&h, "alpha", CHAT_A).await;
    g.plan(&["delay 0s go"; 4]);
    g.create(json!({"description": "Loop"})).await;
    let goal = g.wait("paused", |g| g["status"] == "paused").await;
    assert_eq!(goal["iterations"], 2, "{goal}");
    assert!(
        goal["status_reason"]
            .as_str()
            .unwrap()
            .contains("max_iterations"),
        "{goal}"
    );
    assert!(goal["next_run_at"].is_null());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deadline_brings_one_wrap_up_iteration_then_timeout() {
    let h = Harness::start(&[goal_bot("alpha", FAST)], "").await;
    let g = Goals::new(&h, "alpha", CHAT_A).await;
    g.plan(&["delay 1s working"; 40]);
    g.create(json!({"description": "Race the clock", "deadline_in": "3s"}))
        .await;
    let goal = g.wait("timeout", |g| g["status"] == "timeout").await;
    let n = goal["iterations"].as_u64().unwrap() as u32;
    assert!(n >= 2, "{goal}");
    let wrap_ups: Vec<u32> = (1..=n)
        .filter(|i| g.prompt(*i).contains("Time is up"))
        .collect();
    assert_eq!(wrap_ups, [n], "only the last iteration wraps up");
    assert!(
        goal["status_reason"].as_str().unwrap().contains("deadline"),
        "{goal}"
    );
    assert!(goal["next_run_at"].is_null());
    let (status, _) = g.call(Method::GET, "goal", None).await;
    assert_eq!(status, 204);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_resume_complete_and_delete_stop_and_start_iterations() {
    let h = Harness::start(&[goal_bot("alpha", "")], "").await;
    let g = Goals::new(&h, "alpha", CHAT_A).await;
    g.plan(&["delay 1h a", "delay 1h b", "delay 1h c", "delay 1h d"]);
    let first = g.create(json!({"description": "One"})).await;
    g.wait_iterations(1).await;
    let (_, paused) = g.call(Method::POST, "goal/pause", None).await;
    assert_eq!(paused["status"], "paused");
    assert!(paused["next_run_at"].is_null(), "{paused}");
    let probe = g.probe().await;
    assert_eq!(
        (
            &probe["paused"],
            &probe["in_progress"],
            &probe["next_iteration_at"]
        ),
        (&json!(1), &json!(0), &Value::Null),
        "{probe}"
    );
    let (_, resumed) = g.call(Method::POST, "goal/resume", None).await;
    assert_eq!(resumed["status"], "in_progress");
    let goal = g.wait_iterations(2).await;
    assert!(
        gap(&goal, "last_iteration_at", "next_run_at") >= 3599,
        "{goal}"
    );
    // The internal probe sees the goal and when it iterates next.
    let probe = g.probe().await;
    assert_eq!(
        (&probe["in_progress"], &probe["paused"]),
        (&json!(1), &json!(0)),
        "{probe}"
    );
    let at = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    assert_eq!(
        at(&probe["next_iteration_at"]),
        at(&goal["next_run_at"]),
        "{probe}"
    );

    let (status, _) = g.call(Method::POST, "goal/complete", None).await;
    assert_eq!(status, 200);
    let (status, _) = g.call(Method::GET, "goal", None).await;
    assert_eq!(status, 204);
    let second = g.create(json!({"description": "Two"})).await;
    g.wait_iterations(1).await;
    let res = client()
        .get(format!("{}/api/v1/goals", h.url("alpha")))
        .bearer_auth(&g.token)
        .header(CHAT_A[0].0, CHAT_A[0].1)
        .header(CHAT_A[1].0, CHAT_A[1].1)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-total-count"], "2");
    let list: Value = res.json().await.unwrap();
    assert_eq!(list[0]["id"], second["id"], "newest first");
    assert_eq!(list[1]["id"], first["id"]);
    assert_eq!(list[1]["status"], "completed");
    let (_, completed) = g.call(Method::GET, "goals?status=completed", None).await;
    assert_eq!(completed.as_array().unwrap().len(), 1);
    let (status, _) = g.call(Method::GET, "goals?status=bogus", None).await;
    assert_eq!(status, 400);

    let (status, _) = g.call(Method::DELETE, "goal", None).await;
    assert_eq!(status, 204);
    let (_, list) = g.call(Method::GET, "goals", None).await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(g.goal_runs().await.len(), 3);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_bots_and_two_conversations_never_see_each_others_goals() {
    let h = Harness::start(&[goal_bot("alpha", ""), goal_bot("beta", "")], "").await;
    let a = Goals::new(&h, "alpha", CHAT_A).await;
    let b = Goals::new(&h, "alpha", CHAT_B).await;
    let other_bot = Goals::new(&h, "beta", CHAT_A).await;
    a.plan(&["delay 1h a", "delay 1h b"]);
    other_bot.plan(&["delay 1h c"]);
    let goal_a = a.create(json!({"description": "A"})).await;
    let goal_b = b.create(json!({"description": "B"})).await;
    let goal_c = other_bot.create(json!({"description": "C"})).await;
    for (who, goal) in [(&a, &goal_a), (&b, &goal_b), (&other_bot, &goal_c)] {
        let done = who.wait_iterations(1).await;
        assert_eq!(done["id"], goal["id"]);
        let runs = who.goal_runs().await;
        assert!(runs.iter().any(|r| r["taskId"] == done["last_run_id"]));
    }
    assert_eq!(a.sent().await.len(), 1);
    assert_eq!(b.sent().await.len(), 1);
    assert_eq!(other_bot.sent().await, ["progress 1"]);
    // Each prompt names its own objective only.
    let prompts: Vec<String> = (1..=1).map(|n| other_bot.prompt(n)).collect();
    assert!(prompts[0].contains("Objective: C"), "{prompts:?}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_iteration_cut_by_a_restart_is_interrupted_and_runs_again_once() {
    let h = Harness::start(&[goal_bot("alpha", "")], "").await;
    let g = Goals::new(&h, "alpha", CHAT_A).await;
    g.plan(&["block delay 1h first", "block delay 1h second"]);
    g.create(json!({"description": "Survive"})).await;
    let blocked = h.workspace("alpha").join("blocked");
    eventually("the iteration is running", || async { blocked.exists() }).await;
    let first = g.newest().await["in_flight"]["run_id"].clone();
    std::fs::remove_file(&blocked).unwrap();

    let (status, body) = h.app.admin_post("/api/bots/alpha/restart").await;
    assert_eq!(status, 200, "{body}");
    eventually("the goal runs again", || async { blocked.exists() }).await;
    let g = Goals::new(&h, "alpha", CHAT_A).await;
    let goal = g.newest().await;
    assert_eq!(goal["last_outcome"], "interrupted", "{goal}");
    assert_eq!(goal["last_run_id"], first, "{goal}");
    assert!(
        goal["status_reason"]
            .as_str()
            .unwrap()
            .contains("interrupted"),
        "{goal}"
    );
    std::fs::write(h.workspace("alpha").join("release"), "").unwrap();
    let goal = g.wait_iterations(2).await;
    assert_eq!(goal["last_outcome"], "succeeded", "{goal}");
    let runs = g.goal_runs().await;
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!(runs[0]["taskId"], first);
    assert_eq!(runs[0]["status"], "cancelled", "{}", runs[0]);
    let starts = g.log().iter().filter(|l| l.contains(" start ")).count();
    assert_eq!(starts, 2, "{:?}", g.log());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_kill_9_an_interrupted_iteration_is_recorded_and_runs_again_once() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(1), free_ports(1));
    let config = dir.write_config(&format!(
        "{}[bots.alpha]\nruntime_http_token = \"alpha-secret\"\n[bots.alpha.agent]\ncommand = [\"sh\", \"{}\"]\n",
        supervisor_toml(admin, base),
        agent("goal_agent.sh")
    ));
    let url = format!("http://127.0.0.1:{base}");
    let workspace = dir.path().join("data/alpha/workspace");
    let call = |method: Method, path: &str, body: Option<Value>| {
        let url = format!("{url}/api/v1/{path}");
        async move { bot_call(method, &url, "alpha-secret", CHAT_A, body).await }
    };

    let mut serve = spawn_serve(&config, &[]);
    wait_healthy(&format!("{url}/healthz")).await;
    std::fs::write(workspace.join("plan"), "block delay 1h first\n").unwrap();
    let (status, body) = call(
        Method::POST,
        "goal",
        Some(json!({"description": "Survive"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let blocked = workspace.join("blocked");
    eventually("the iteration is running", || async { blocked.exists() }).await;
    let (_, goal) = call(Method::GET, "goal", None).await;
    let first = goal["in_flight"]["run_id"].clone();
    assert!(first.is_string(), "{goal}");

    send_signal(&serve, libc::SIGKILL);
    wait_exit(&mut serve, 10);
    // The orphaned agent goes too (alice was not there to kill it).
    let pid: i32 = std::fs::read_to_string(&blocked)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    unsafe { libc::kill(pid, libc::SIGKILL) };
    std::fs::remove_file(&blocked).unwrap();
    std::fs::write(workspace.join("plan"), "block delay 1h second\n").unwrap();

    let mut serve = spawn_serve(&config, &[]);
    wait_healthy(&format!("{url}/healthz")).await;
    eventually("the goal runs again", || async { blocked.exists() }).await;
    let (_, goal) = call(Method::GET, "goal", None).await;
    assert_eq!(goal["last_outcome"], "interrupted", "{goal}");
    assert_eq!(goal["last_run_id"], first, "{goal}");
    assert_eq!(goal["in_flight"]["iteration"], 2, "{goal}");
    let (_, run) = call(
        Method::GET,
        &format!("runs/{}", first.as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(run["origin"], "goal", "{run}");

    std::fs::write(workspace.join("release"), "").unwrap();
    eventually("the second iteration ends", || async {
        let (_, goal) = call(Method::GET, "goal", None).await;
        goal["iterations"] == 2 && goal["in_flight"].is_null()
    })
    .await;
    let log = std::fs::read_to_string(workspace.join("log")).unwrap();
    assert_eq!(log.matches(" start ").count(), 2, "{log}");
    send_signal(&serve, libc::SIGTERM);
    wait_exit(&mut serve, 20);
}

/// Alice's skill lines for goals, run as her agents run them, and a bot
/// whose engine is off (`goal.enabled = false`) keeps goals as notes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alices_goal_script_lines_work_unchanged() {
    let h = Harness::start(
        &[goal_bot("alpha", "[bots.alpha.goal]\nenabled = false\n")],
        "",
    )
    .await;
    let g = Goals::new(&h, "alpha", CHAT_A).await;
    let script = h
        .workspace("alpha")
        .join("skills/alice-goal/scripts/alice-goal.sh");
    let run = |args: &[&str]| {
        let out = std::process::Command::new("sh")
            .arg(&script)
            .args(args)
            .env("ALICE_RUNTIME_BIN", env!("CARGO_BIN_EXE_alice"))
            .env("ALICE_RUNTIME_API_BASE_URL", h.url("alpha"))
            .env("ALICE_RUNTIME_API_TOKEN", &g.token)
            .env("ALICE_RECEIVE_ID", CHAT_A[0].1)
            .env("ALICE_SESSION_KEY", CHAT_A[1].1)
            .output()
            .expect("run alice-goal.sh");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "create",
        r#"{"objective":"Add unit tests to the project","deadline_in":"48h"}"#,
    ]);
    let goal = g.newest().await;
    assert_eq!(
        goal["description"], "Add unit tests to the project",
        "{goal}"
    );
    assert_eq!(gap(&goal, "created_at", "deadline_at"), 48 * 3600);
    run(&["delay", "12m", "waiting for CI on PR #225"]);
    let goal = g.newest().await;
    assert_eq!(goal["last_delay"]["duration"], "12m", "{goal}");
    assert_eq!(goal["last_delay"]["reason"], "waiting for CI on PR #225");
    assert!(
        gap(&goal, "updated_at", "next_run_at") >= 12 * 60 - 1,
        "{goal}"
    );
    assert_eq!(goal["iterations"], 0, "the engine is off");
    run(&["clear"]);
    let (status, _) = g.call(Method::GET, "goal", None).await;
    assert_eq!(status, 204);
    h.stop().await;
}

/// The shipped example: `/goal …` in `alice chat` sets a goal, and the
/// bot's iterations arrive on their own until it completes the goal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_bot_pursues_a_goal_in_alice_chat() {
    let dir = TestDir::new();
    let (base, admin) = (free_ports(2), free_ports(1));
    let Shipped {
        config,
        env,
        mut serve,
    } = Shipped::start(&dir, admin, base);
    wait_healthy(&format!("http://127.0.0.1:{base}/healthz")).await;
    let out = run_chat(
        &[
            "--config",
            config.to_str().unwrap(),
            "alpha",
            "--linger",
            "14",
        ],
        &env,
        b"/goal write a haiku\n",
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "alpha> Goal set: write a haiku. I will work on it on my own and report back.",
            "alpha> Round 1: working on \"write a haiku\" (1 of 3).",
            "alpha> Round 2: working on \"write a haiku\" (2 of 3).",
            "alpha> Round 3: \"write a haiku\" is done. Goal complete.",
        ],
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    terminate(&mut serve);
}

/// `permissions.runtime_goal = false` stops the engine: a goal due again
/// after a restart (its iteration was cut) stays unrun.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_off_runtime_goal_stops_the_engine() {
    let h = Harness::start(&[goal_bot("alpha", "")], "").await;
    let g = Goals::new(&h, "alpha", CHAT_A).await;
    g.plan(&["block delay 1h first", "delay 1h second"]);
    g.create(json!({"description": "Hold"})).await;
    let blocked = h.workspace("alpha").join("blocked");
    eventually("the iteration is running", || async { blocked.exists() }).await;

    let config = h.dir.config_path();
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("[bots.alpha.permissions]\nruntime_goal = false\n");
    std::fs::write(&config, text).unwrap();
    let (status, body) = h.app.admin_post("/api/reload").await;
    assert_eq!(status, 200, "{body}");
    h.app.wait_running(&["alpha"]).await;
    let g = Goals::new(&h, "alpha", CHAT_A).await;
    let goal = g
        .wait("the cut iteration recorded", |g| {
            g["last_outcome"] == "interrupted"
        })
        .await;
    assert!(goal["next_run_at"].is_string(), "due again: {goal}");
    // Due, yet not run while the permission is off.
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let starts = g.log().iter().filter(|l| l.contains(" start ")).count();
        assert_eq!(starts, 1, "{:?}", g.log());
    }
    assert_eq!(g.newest().await["iterations"], 1);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_due_iteration_waits_while_a_reply_is_being_made() {
    let h = Harness::start(&[goal_bot("alpha", "")], "").await;
    let g = Goals::new(&h, "alpha", CHAT_A).await;
    g.plan(&["delay 1h done"]);
    let (status, body) = h
        .admin_send(
            Method::POST,
            "/api/bots/alpha/conversations/oc_a/messages",
            Some(json!({"text": "hold"})),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let holding = h.workspace("alpha").join("holding");
    eventually("the reply is being made", || async { holding.exists() }).await;
    g.create(json!({"description": "Wait your turn"})).await;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !g.log().iter().any(|l| l.starts_with("iteration")),
            "{:?}",
            g.log()
        );
    }
    std::fs::write(h.workspace("alpha").join("release"), "").unwrap();
    g.wait_iterations(1).await;
    assert_eq!(
        g.log(),
        [
            "chat start hold",
            "chat end hold",
            "iteration 1 start delay 1h done",
            "iteration 1 end"
        ]
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_iteration_past_its_timeout_is_stopped_and_backs_off() {
    let h = Harness::start(
        &[goal_bot(
            "alpha",
            "[bots.alpha.goal]\niteration_timeout = \"1s\"\n",
        )],
        "",
    )
    .await;
    let g = Goals::new(&h, "alpha", CHAT_A).await;
    g.plan(&["block delay 0s never"]);
    g.create(json!({"description": "Too slow"})).await;
    let goal = g.wait_iterations(1).await;
    assert_eq!(goal["last_outcome"], "timeout", "{goal}");
    assert!(
        goal["last_error"].as_str().unwrap().contains("watchdog"),
        "{goal}"
    );
    assert_eq!(gap(&goal, "updated_at", "next_run_at"), 60, "{goal}");
    let runs = g.goal_runs().await;
    assert_eq!(runs[0]["status"], "timeout", "{}", runs[0]);
    h.stop().await;
}
