//! `alice run BOT "prompt"`: an agent run through the supervisor's headless
//! route, its stdout streamed live from the run's events.

use super::admin_client::AdminClient;
use super::{fail, ConfigArg};
use clap::Args;
use serde_json::{json, Value};
use std::process::ExitCode;

pub const EXAMPLES: &str = "Examples:
  alice run alpha \"Summarise the notes in notes/ and send me the summary\"
  alice run alpha \"Run the checks\" --timeout-ms 600000
  alice run alpha \"Run the checks\" --wait      # no streaming: print the finished record";

#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// The bot (workspace) id.
    bot: String,
    /// A standalone instruction (at most 16 000 characters).
    prompt: String,
    /// Wait for the end and print the finished record as JSON instead of
    /// streaming the output.
    #[arg(long)]
    wait: bool,
    /// Watchdog in milliseconds (default 300000, at most 1800000).
    #[arg(long = "timeout-ms")]
    timeout_ms: Option<u64>,
    /// The agent to use (default: the bot's).
    #[arg(long)]
    agent: Option<String>,
}

/// Reconnections of the event stream before giving up.
const RECONNECTS: usize = 5;

pub async fn run(args: RunArgs) -> ExitCode {
    let client = match args.config.admin_client() {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mut body = json!({"prompt": args.prompt, "wait": args.wait});
    if let Some(ms) = args.timeout_ms {
        body["timeoutMs"] = ms.into();
    }
    if let Some(agent) = &args.agent {
        body["agent"] = agent.clone().into();
    }
    let path = format!("/api/workspaces/{}/headless", args.bot);
    let answer = match client.post(&path, Some(body)).await {
        Ok(v) => v,
        Err(e) => return fail(&e, 1),
    };
    if args.wait {
        println!(
            "{}",
            serde_json::to_string_pretty(&answer).unwrap_or_default()
        );
        return outcome(&answer);
    }
    let run_id = answer["taskId"].as_str().unwrap_or_default().to_string();
    eprintln!("alice: run {run_id} started on {}", args.bot);
    match follow(&client, &run_id).await {
        Ok(finished) => outcome(&finished),
        Err(e) => fail(&e, 1),
    }
}

/// Exit 0 when the run succeeded, else one line with its status and error.
fn outcome(record: &Value) -> ExitCode {
    if record["status"] == "succeeded" {
        return ExitCode::SUCCESS;
    }
    let error = record["error"].as_str().unwrap_or("no reason given");
    fail(
        &format!(
            "run {} {}: {error}",
            record["taskId"].as_str().unwrap_or_default(),
            record["status"].as_str().unwrap_or("ended")
        ),
        1,
    )
}

/// Prints stdout lines as they come; returns the finished event's data
/// (with the run id). Reconnects with `Last-Event-ID` if the stream breaks.
async fn follow(client: &AdminClient, run_id: &str) -> Result<Value, String> {
    let mut last = 0u64;
    let mut failures = 0;
    loop {
        match stream_once(client, run_id, &mut last).await {
            Ok(Some(mut finished)) => {
                finished["taskId"] = run_id.into();
                return Ok(finished);
            }
            Ok(None) => {}
            Err(e) if failures >= RECONNECTS => return Err(e),
            Err(_) => {}
        }
        failures += 1;
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

async fn stream_once(
    client: &AdminClient,
    run_id: &str,
    last: &mut u64,
) -> Result<Option<Value>, String> {
    let mut res = client
        .request(
            reqwest::Method::GET,
            &format!("/api/headless/{run_id}/events"),
        )
        .header("Accept", "text/event-stream")
        .header("Last-Event-ID", last.to_string())
        .send()
        .await
        .map_err(|e| format!("cannot follow run {run_id}: {e}"))?;
    if !res.status().is_success() {
        return Err(format!("cannot follow run {run_id}: {}", res.status()));
    }
    let mut buffer = String::new();
    while let Some(chunk) = res
        .chunk()
        .await
        .map_err(|e| format!("the event stream broke: {e}"))?
    {
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            if let Some(event) = parse_frame(&frame) {
                *last = event["seq"].as_u64().unwrap_or(*last);
                match event["event"].as_str() {
                    Some("stdout") => println!("{}", event["data"]["line"].as_str().unwrap_or("")),
                    Some("finished") => return Ok(Some(event["data"].clone())),
                    _ => {}
                }
            }
        }
    }
    Ok(None)
}

/// The JSON `data:` of one Server-Sent Events frame.
fn parse_frame(frame: &str) -> Option<Value> {
    let data: Vec<&str> = frame
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(str::trim_start)
        .collect();
    if data.is_empty() {
        return None;
    }
    serde_json::from_str(&data.join("\n")).ok()
}
