//! The tool API (`/api/v1/tools`, seed 004): listing under `expose`,
//! allowlist and denylist; invoking built-ins, skill tools and the agent;
//! timeouts; run-token scoping; callbacks and their URL guard.

mod callbacks;
mod invoke;

use crate::runs::{bot_call, BotSpec, Harness};
use reqwest::Method;
use serde_json::Value;

/// A 1×1 PNG, base64.
pub const PNG: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC";

/// `[bots.<id>.tools]` with tools on and `keys`.
pub fn tools_toml(id: &str, keys: &str) -> String {
    format!("[bots.{id}.tools]\ninvoke_enabled = true\n{keys}\n")
}

/// One bot `alpha` running `agent`, with tools on and `keys`.
pub async fn tools_bot(keys: &str, agent: &str) -> Harness {
    let extra = tools_toml("alpha", keys);
    let spec = BotSpec {
        extra: &extra,
        ..BotSpec::new("alpha", agent)
    };
    Harness::start(&[spec], "").await
}

/// A skill declared as a tool in bot `id`'s skills folder: `script` is its
/// `run.sh`.
pub fn tool_skill(h: &Harness, id: &str, name: &str, script: &str) {
    let dir = h.workspace(id).join("skills").join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("SKILL.md"),
        format!(
            "---\nname: {name}\ndescription: a test tool\ntool: true\nparameters:\n  {{\"type\": \"object\",\n   \"properties\": {{\"word\": {{\"type\": \"string\"}}}}}}\n---\nA test tool.\n"
        ),
    )
    .unwrap();
    std::fs::write(dir.join("run.sh"), script).unwrap();
}

/// Echoes its arguments and scope as JSON; leaves them in `echo-*.txt`.
pub const ECHO: &str = "#!/bin/sh\ncat > echo-args.txt\nenv | grep '^ALICE_' | sort > echo-env.txt\nprintf '{\"args\": %s, \"receive_id\": \"%s\"}\\n' \"$(cat echo-args.txt)\" \"$ALICE_RECEIVE_ID\"\n";

pub async fn names(url: &str, token: &str) -> Vec<String> {
    let (status, body) = bot_call(
        Method::GET,
        &format!("{url}/api/v1/tools"),
        token,
        &[],
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let tools = body["tools"].as_array().expect("tools");
    assert_eq!(body["count"], tools.len());
    assert!(tools.iter().all(|t| t["type"] == "function"
        && t["function"]["description"].is_string()
        && t["function"]["parameters"]["type"] == "object"));
    let mut names: Vec<String> = tools
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

pub async fn invoke(url: &str, token: &str, body: Value) -> (u16, Value) {
    bot_call(
        Method::POST,
        &format!("{url}/api/v1/tools/invoke"),
        token,
        &[],
        Some(body),
    )
    .await
}

pub const BUILTINS: [&str; 11] = [
    "automation.create",
    "automation.delete",
    "automation.get",
    "automation.list",
    "automation.update",
    "goal.complete",
    "goal.create",
    "goal.delay",
    "goal.get",
    "message.send_file",
    "message.send_image",
];
