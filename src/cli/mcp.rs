//! `alice mcp`: the bot's MCP server on stdin/stdout, for clients that only
//! start stdio servers. One JSON-RPC message per line in, each POSTed to
//! the bot's `/mcp` with the run's token and conversation
//! (`ALICE_RUNTIME_API_*`, `ALICE_*`); every JSON-RPC message of the answer
//! (JSON, or an SSE stream) goes out as one line. Logs go to stderr.

use super::runtime_client::RuntimeClient;
use reqwest::Method;
use serde_json::{json, Value};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, Mutex};

/// The longest tool call the bot allows (`tools.timeout_secs` ≤ 1800), with
/// a margin.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(31 * 60);

pub async fn run() -> ExitCode {
    let client = match RuntimeClient::from_env_with_timeout(REQUEST_TIMEOUT) {
        Ok(c) => Arc::new(c),
        Err(e) => return super::fail(&e, 1),
    };
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<String>();
    // One writer: lines of concurrent answers never interleave.
    let writer = tokio::spawn(async move {
        let mut stdout = tokio::io::stdout();
        while let Some(line) = out_rx.recv().await {
            if stdout
                .write_all(format!("{line}\n").as_bytes())
                .await
                .is_err()
                || stdout.flush().await.is_err()
            {
                break;
            }
        }
    });
    // The version an `initialize` settled on, for the header of the
    // requests after it (the `2026-07-28` ones name theirs in `_meta`).
    let negotiated = Arc::new(Mutex::new(None::<String>));
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut calls = tokio::task::JoinSet::new();
    while let Ok(Some(line)) = lines.next_line().await {
        if line.trim().is_empty() {
            continue;
        }
        let message: Value = match serde_json::from_str(&line) {
            Ok(m) => m,
            Err(e) => {
                let _ = out_tx.send(rpc_error(
                    &Value::Null,
                    -32700,
                    &format!("parse error: {e}"),
                ));
                continue;
            }
        };
        let is_initialize = message["method"] == "initialize";
        let (client, out, negotiated) = (client.clone(), out_tx.clone(), negotiated.clone());
        let forward = async move {
            for answer in forward(&client, &message, &negotiated).await {
                let _ = out.send(answer);
            }
        };
        // An `initialize` is answered before anything after it is sent.
        if is_initialize {
            forward.await;
        } else {
            calls.spawn(forward);
        }
    }
    // Stdin closed: the client is done; let answers under way finish.
    while calls.join_next().await.is_some() {}
    drop(out_tx);
    let _ = writer.await;
    ExitCode::SUCCESS
}

/// POSTs one message and returns the JSON-RPC messages to print.
async fn forward(
    client: &RuntimeClient,
    message: &Value,
    negotiated: &Mutex<Option<String>>,
) -> Vec<String> {
    let id = message.get("id").cloned();
    let method = message["method"].as_str().unwrap_or_default();
    let mut req = client
        .request(Method::POST, "/mcp")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    let meta_version = message["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"]
        .as_str()
        .map(str::to_owned);
    let version = match meta_version {
        Some(v) => Some(v),
        None => negotiated.lock().await.clone(),
    };
    if let Some(version) = &version {
        req = req.header("mcp-protocol-version", version);
    }
    if !method.is_empty() {
        req = req.header("mcp-method", method);
    }
    let name = &message["params"];
    if let Some(name) = name["name"].as_str().or(name["uri"].as_str()) {
        if matches!(method, "tools/call" | "resources/read" | "prompts/get") {
            req = req.header("mcp-name", name);
        }
    }
    let res = match req.body(message.to_string()).send().await {
        Ok(res) => res,
        Err(e) => return reply_error(id, &format!("cannot reach the bot: {e}")),
    };
    let status = res.status();
    let is_sse = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    let text = res.text().await.unwrap_or_default();
    let answers: Vec<Value> = if is_sse {
        sse_messages(&text)
    } else {
        serde_json::from_str::<Value>(&text)
            .ok()
            .into_iter()
            .collect()
    };
    let rpc: Vec<Value> = answers
        .into_iter()
        .filter(|a| a.get("jsonrpc").is_some())
        .collect();
    if rpc.is_empty() {
        if status.is_success() {
            // A notification accepted (202): nothing to answer.
            return Vec::new();
        }
        // Refused before MCP (401, 403, 404): the server's reason.
        let reason = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|b| b["error"].as_str().map(str::to_owned))
            .unwrap_or_else(|| text.trim().chars().take(200).collect());
        return reply_error(id, &format!("{} {reason}", status.as_u16()));
    }
    if method == "initialize" {
        if let Some(v) = rpc
            .iter()
            .find_map(|a| a["result"]["protocolVersion"].as_str())
        {
            *negotiated.lock().await = Some(v.to_string());
        }
    }
    rpc.iter().map(Value::to_string).collect()
}

/// The JSON-RPC messages of an SSE body (`data:` lines, events split by a
/// blank line).
fn sse_messages(body: &str) -> Vec<Value> {
    body.replace("\r\n", "\n")
        .split("\n\n")
        .filter_map(|event| {
            let data: Vec<&str> = event
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(|l| l.strip_prefix(' ').unwrap_or(l))
                .collect();
            serde_json::from_str(&data.join("\n")).ok()
        })
        .collect()
}

/// An error answer to a request; a notification gets none.
fn reply_error(id: Option<Value>, message: &str) -> Vec<String> {
    eprintln!("alice mcp: {message}");
    match id {
        Some(id) => vec![rpc_error(&id, -32603, message)],
        None => Vec::new(),
    }
}

fn rpc_error(id: &Value, code: i64, message: &str) -> String {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}).to_string()
}
