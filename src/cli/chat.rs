//! `alice chat …`: talk to a bot on the local connector (the default, in
//! `talk`), or read its conversations through the admin API (`list`, `log`).

use super::admin_client::{encode, AdminClient};
use super::{fail, table, talk, ConfigArg};
use clap::{Args, Subcommand};
use serde_json::Value;
use std::process::ExitCode;

pub const EXAMPLES: &str = "Examples:
  alice chat alpha
  alice chat alpha --conversation work
  echo '/time' | alice chat alpha
  alice chat list alpha
  alice chat log alpha console
  alice chat log alpha oc_demo --limit 200 --json";

#[derive(Args)]
#[command(subcommand_negates_reqs = true)]
pub struct ChatArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// The bot to talk to.
    #[arg(required = true)]
    bot: Option<String>,
    /// The conversation (receive id) on the local connector.
    #[arg(long, default_value = "console")]
    conversation: String,
    /// After input ends, keep printing what the bot sends for this many seconds.
    #[arg(long, default_value_t = 0)]
    linger: u64,
    #[command(subcommand)]
    action: Option<Action>,
}

#[derive(Subcommand)]
enum Action {
    /// A bot's conversations on the local connector, most recent first.
    List {
        bot: String,
        /// Print the raw JSON answer instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One conversation's messages, oldest first: the last `--limit` ones.
    Log {
        bot: String,
        /// The conversation (its receive id, e.g. oc_… or console).
        receive_id: String,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Print the raw JSON answer instead of a table.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(args: ChatArgs) -> ExitCode {
    let client = match args.config.admin_client() {
        Ok(c) => c,
        Err(code) => return code,
    };
    let Some(action) = args.action else {
        let bot = args.bot.unwrap_or_default();
        let linger = std::time::Duration::from_secs(args.linger);
        let result = async {
            talk::Talk::open(client, &bot, &args.conversation)
                .await?
                .run(linger)
                .await
        }
        .await;
        return match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&e, 1),
        };
    };
    let (value, json) = match &action {
        Action::List { bot, json } => (
            client
                .get(&format!("/api/bots/{}/conversations", encode(bot)))
                .await,
            *json,
        ),
        Action::Log {
            bot,
            receive_id,
            limit,
            json,
        } => (last_messages(&client, bot, receive_id, *limit).await, *json),
    };
    let value = match value {
        Ok(v) => v,
        Err(e) => return fail(&e, 1),
    };
    let items = value.as_array().cloned().unwrap_or_default();
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
    } else if items.is_empty() {
        println!("(nothing yet)");
    } else if matches!(action, Action::List { .. }) {
        println!("{}", conversations_table(&items));
    } else {
        println!("{}", messages_table(&items));
    }
    ExitCode::SUCCESS
}

/// The last `limit` messages: one call for the total, a second for the tail.
async fn last_messages(
    client: &AdminClient,
    bot: &str,
    receive_id: &str,
    limit: usize,
) -> Result<Value, String> {
    let limit = limit.clamp(1, 200);
    let path = format!(
        "/api/bots/{}/conversations/{}/messages?limit={limit}",
        encode(bot),
        encode(receive_id)
    );
    let (first, total) = client.get_page(&path).await?;
    match total {
        Some(total) if total > limit => {
            let (tail, _) = client
                .get_page(&format!("{path}&offset={}", total - limit))
                .await?;
            Ok(tail)
        }
        _ => Ok(first),
    }
}

fn conversations_table(items: &[Value]) -> String {
    let rows = items
        .iter()
        .map(|c| {
            vec![
                text(&c["receive_id"]),
                text(&c["receive_id_type"]),
                text(&c["messages"]),
                time(&c["last_message_at"]),
            ]
        })
        .collect();
    table::render(&["CONVERSATION", "TYPE", "MESSAGES", "LAST MESSAGE"], rows)
}

fn messages_table(items: &[Value]) -> String {
    let rows = items
        .iter()
        .map(|m| {
            let from = if m["direction"] == "in" {
                "user"
            } else {
                "bot"
            };
            let content = match m["msg_type"].as_str() {
                Some("text") => text(&m["text"]),
                _ => format!(
                    "{} ({} bytes) {}",
                    text(&m["file_name"]),
                    text(&m["size"]),
                    text(&m["file_path"])
                ),
            };
            vec![
                time(&m["created_at"]),
                from.to_string(),
                text(&m["msg_type"]),
                content,
                text(&m["message_id"]),
                text(&m["reply_to"]),
            ]
        })
        .collect();
    table::render(
        &["TIME", "FROM", "TYPE", "CONTENT", "MESSAGE ID", "REPLY TO"],
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

/// RFC 3339 to `YYYY-MM-DD HH:MM:SS` (UTC).
fn time(v: &Value) -> String {
    v.as_str()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| text(v))
}
