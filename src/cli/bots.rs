//! `alice bots …`: the admin API from the command line.

use super::{fail, table, ConfigArg};
use clap::{Args, Subcommand};
use serde_json::Value;
use std::process::ExitCode;

pub const EXAMPLES: &str = "Examples:
  alice bots list
  alice bots list --json
  alice bots list --all 10.0.0.2:47331,10.0.0.3:47331
  alice bots plan --shards 3
  alice bots export alpha > alpha.tar
  alice bots import alpha.tar --as alpha2
  alice bots status alpha
  alice bots stop alpha
  alice bots start alpha
  alice bots restart alpha
  alice bots reload
  alice bots token alpha";

#[derive(Args)]
pub struct BotsArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// Print the raw JSON answer instead of a table.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    action: Action,
}

#[derive(Subcommand)]
enum Action {
    /// Every bot with its state, health, address, uptime and restarts (this
    /// supervisor's; `--all` adds the other shards' supervisors).
    List {
        /// The other supervisors' admin addresses (comma-separated
        /// `host:port` or URLs), asked with this config's admin token.
        #[arg(long, value_delimiter = ',', value_name = "ADDR,ADDR")]
        all: Vec<String>,
    },
    /// Write a bot's archive (trees, files, token, manifest) to stdout.
    Export {
        id: String,
        /// Include the agent's workspace folder.
        #[arg(long)]
        with_workspace: bool,
    },
    /// Restore an archive into this config's data folder (alice stopped).
    Import {
        file: std::path::PathBuf,
        /// Import under another id.
        #[arg(long = "as", value_name = "NEWID")]
        as_id: Option<String>,
    },
    /// Which shard runs which bot when the file is split N ways.
    Plan {
        #[arg(long, value_name = "N")]
        shards: u32,
    },
    /// One bot (or all) in detail.
    Status { id: Option<String> },
    /// Start a stopped or failed bot.
    Start { id: String },
    /// Stop one bot gracefully.
    Stop { id: String },
    /// Restart one bot; the others keep running.
    Restart { id: String },
    /// Re-read the config file: start new bots, stop removed ones, restart changed ones.
    Reload,
    /// Print a bot's Runtime API token.
    Token { id: String },
}

pub async fn run(args: BotsArgs) -> ExitCode {
    match &args.action {
        Action::Plan { shards } => return super::plan::run(&args.config, *shards, args.json),
        Action::Export { id, with_workspace } => {
            return super::archive::export(&args.config, id, *with_workspace).await
        }
        Action::Import { file, as_id } => {
            return super::archive::import(&args.config, file, as_id.as_deref()).await
        }
        _ => {}
    }
    let client = match args.config.admin_client() {
        Ok(c) => c,
        Err(code) => return code,
    };
    let result = match &args.action {
        Action::List { all } if !all.is_empty() => list_all(&client, all).await,
        Action::List { .. } | Action::Status { id: None } => client.get("/api/bots").await,
        Action::Status { id: Some(id) } => client.get(&format!("/api/bots/{id}")).await,
        Action::Start { id } => client.post(&format!("/api/bots/{id}/start"), None).await,
        Action::Stop { id } => client.post(&format!("/api/bots/{id}/stop"), None).await,
        Action::Restart { id } => client.post(&format!("/api/bots/{id}/restart"), None).await,
        Action::Reload => client.post("/api/reload", None).await,
        Action::Token { id } => client.get(&format!("/api/bots/{id}/token")).await,
        Action::Plan { .. } | Action::Export { .. } | Action::Import { .. } => {
            Err("answered above".into())
        }
    };
    let mut value = match result {
        Ok(v) => v,
        Err(e) => return fail(&e, 1),
    };
    if matches!(args.action, Action::List { .. } | Action::Status { .. }) {
        // A supervisor without the probe (older) leaves the column empty.
        if let Ok(probes) = client.get("/api/probes").await {
            add_health(&mut value, &probes);
        }
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
        return ExitCode::SUCCESS;
    }
    match &args.action {
        Action::Token { .. } => println!("{}", text(&value["token"])),
        Action::Reload => {
            for key in ["added", "removed", "restarted", "unchanged", "failed"] {
                let ids: Vec<String> = value[key]
                    .as_array()
                    .map(|a| a.iter().map(text).collect())
                    .unwrap_or_default();
                println!(
                    "{key:>9}: {}",
                    if ids.is_empty() {
                        "-".into()
                    } else {
                        ids.join(", ")
                    }
                );
            }
        }
        _ => {
            let bots = match value {
                Value::Array(items) => items,
                one => vec![one],
            };
            println!("{}", bots_table(&bots));
        }
    }
    ExitCode::SUCCESS
}

/// Adds each bot's `health` from `GET /api/probes` to the bot views.
fn add_health(bots: &mut Value, probes: &Value) {
    let health = |id: &Value| {
        probes["bots"]
            .as_array()
            .and_then(|all| all.iter().find(|p| &p["id"] == id))
            .map(|p| p["health"].clone())
            .unwrap_or(Value::Null)
    };
    match bots {
        Value::Array(items) => {
            for bot in items {
                bot["health"] = health(&bot["id"]);
            }
        }
        Value::Object(_) => bots["health"] = health(&bots["id"]),
        _ => {}
    }
}

/// This supervisor's bots, then each other supervisor's, in one list.
async fn list_all(
    client: &super::admin_client::AdminClient,
    others: &[String],
) -> Result<Value, String> {
    let mut bots = Vec::new();
    for one in std::iter::once(None).chain(others.iter().map(Some)) {
        let page = match one {
            None => client.get("/api/bots").await?,
            Some(addr) => client.at(addr).get("/api/bots").await?,
        };
        bots.extend(page.as_array().cloned().unwrap_or_default());
    }
    Ok(Value::Array(bots))
}

fn bots_table(bots: &[Value]) -> String {
    let rows = bots
        .iter()
        .map(|b| {
            vec![
                text(&b["id"]),
                text(&b["name"]),
                text(&b["state"]),
                text(&b["health"]),
                text(&b["address"]),
                b["uptime_secs"]
                    .as_u64()
                    .map(human_duration)
                    .unwrap_or_else(|| "-".into()),
                text(&b["restarts"]),
                text(&b["connector"]),
                text(&b["last_error"]),
            ]
        })
        .collect();
    table::render(
        &[
            "ID",
            "NAME",
            "STATE",
            "HEALTH",
            "ADDRESS",
            "UPTIME",
            "RESTARTS",
            "CONNECTOR",
            "LAST ERROR",
        ],
        rows,
    )
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn human_duration(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{}s", s / 60, s % 60),
        s if s < 86400 => format!("{}h{}m", s / 3600, (s % 3600) / 60),
        s => format!("{}d{}h", s / 86400, (s % 86400) / 3600),
    }
}
