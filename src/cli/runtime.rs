//! `alice runtime …`: what skills call. Reads the `ALICE_*` environment,
//! sends the conversation as `X-Alice-*` headers, prints the JSON answer.

use super::fail;
use super::runtime_client::RuntimeClient;
use super::runtime_goal::{self, Goal};
use super::runtime_message::{self, Message};
use super::task_json::{self, Malformed};
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Map, Value};
use std::process::ExitCode;

pub const EXAMPLES: &str = "Inside an agent run (the bot sets ALICE_*):
  alice runtime message image chart.png --caption \"Today\"
  alice runtime message file report.pdf --filename \"Q3 report.pdf\"
  alice runtime automation create --action send_text --text \"Stand-up!\" --cron \"0 9 * * 1-5\"
  alice runtime automation list --status active
  alice runtime automation create '{\"prompt\":\"Summarise the news\",\"cron\":\"0 9 * * *\"}'
  alice runtime automation patch task_0123456789abcdef '{\"status\":\"paused\"}'
  alice runtime goal create \"Ship the release notes\"
  alice runtime goal complete
  alice runtime goal delay 12m \"waiting for CI on PR #225\"";

#[derive(Args)]
pub struct RuntimeArgs {
    #[command(subcommand)]
    what: What,
}

#[derive(Subcommand)]
enum What {
    /// Send an image or a file to the current conversation.
    #[command(subcommand)]
    Message(Message),
    /// Automation tasks (reminders, scheduled prompts and workflows).
    #[command(subcommand)]
    Automation(Automation),
    /// The goal of the current conversation.
    #[command(subcommand)]
    Goal(Goal),
    /// Which bot the environment reaches.
    Bot,
}

#[derive(Args)]
struct TaskFields {
    /// `send_text`, `run_llm` or `run_workflow`.
    #[arg(long)]
    action: Option<String>,
    #[arg(long)]
    text: Option<String>,
    #[arg(long)]
    prompt: Option<String>,
    /// A workflow skill's name (for `run_workflow`).
    #[arg(long)]
    workflow: Option<String>,
    /// A 5-field crontab in the bot's timezone.
    #[arg(long)]
    cron: Option<String>,
    /// An RFC 3339 time for a one-shot task.
    #[arg(long = "run-at")]
    run_at: Option<String>,
    /// Fields as a JSON object (merged under the flags).
    #[arg(long)]
    json: Option<String>,
}

impl TaskFields {
    fn is_empty(&self) -> bool {
        [
            &self.action,
            &self.text,
            &self.prompt,
            &self.workflow,
            &self.cron,
            &self.run_at,
            &self.json,
        ]
        .iter()
        .all(|f| f.is_none())
    }
}

#[derive(Subcommand)]
enum Automation {
    /// List tasks.
    List {
        /// `active`, `paused`, `completed`, `cancelled` or `all` (the default).
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        limit: Option<usize>,
        #[arg(long)]
        offset: Option<usize>,
    },
    /// Show one task.
    Get { id: String },
    /// Create a task (for the current conversation unless --scope-id).
    Create {
        /// The task as a JSON object (`-`: read it from stdin); flags override its fields.
        task: Option<String>,
        /// `chat` or `user` (default: from the conversation).
        #[arg(long = "scope-type")]
        scope_type: Option<String>,
        /// Default: ALICE_RECEIVE_ID.
        #[arg(long = "scope-id")]
        scope_id: Option<String>,
        #[command(flatten)]
        fields: TaskFields,
    },
    /// Change a task (JSON merge-patch of the given fields).
    #[command(alias = "patch")]
    Update {
        id: String,
        /// The patch as a JSON object (`-`: read it from stdin); flags override its fields.
        patch: Option<String>,
        /// `active`, `paused`, `completed` or `cancelled`.
        #[arg(long)]
        status: Option<String>,
        #[command(flatten)]
        fields: TaskFields,
    },
    /// Delete a task (prints it as it was).
    Delete { id: String },
}

pub async fn run(args: RuntimeArgs) -> ExitCode {
    match execute(args).await {
        Ok(Some(value)) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&value).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Ok(None) => ExitCode::SUCCESS,
        Err(Failure { message, code }) => fail(&message, code),
    }
}

/// Why a command failed: its one line and its exit code.
struct Failure {
    message: String,
    code: u8,
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Self { message, code: 1 }
    }
}

impl From<Malformed> for Failure {
    fn from(Malformed(message): Malformed) -> Self {
        Self {
            message,
            code: task_json::EXIT_USAGE,
        }
    }
}

async fn execute(args: RuntimeArgs) -> Result<Option<Value>, Failure> {
    let client = RuntimeClient::from_env()?;
    let req = match args.what {
        What::Bot => client.request(Method::GET, "/api/v1/bot"),
        What::Message(message) => runtime_message::request(&client, message).await?,
        // The answer is the task as it was: Alice prints what it deleted.
        What::Automation(Automation::Delete { id }) => {
            let path = format!("{TASKS}/{id}");
            let task = client.send(client.request(Method::GET, &path)).await?;
            client.send(client.request(Method::DELETE, &path)).await?;
            return Ok(task);
        }
        What::Automation(task) => automation_request(&client, task)?,
        What::Goal(goal) => runtime_goal::request(&client, goal)?,
    };
    Ok(client.send(req).await?)
}

const TASKS: &str = "/api/v1/automation/tasks";

fn automation_request(
    client: &RuntimeClient,
    task: Automation,
) -> Result<reqwest::RequestBuilder, Failure> {
    Ok(match task {
        Automation::List {
            status,
            limit,
            offset,
        } => {
            let mut query: Vec<(&str, String)> = Vec::new();
            // No status filter is every status.
            query.extend(status.filter(|s| s != "all").map(|s| ("status", s)));
            query.extend(limit.map(|l| ("limit", l.to_string())));
            query.extend(offset.map(|o| ("offset", o.to_string())));
            client.request(Method::GET, TASKS).query(&query)
        }
        Automation::Get { id } => client.request(Method::GET, &format!("{TASKS}/{id}")),
        Automation::Delete { id } => client.request(Method::DELETE, &format!("{TASKS}/{id}")),
        Automation::Create {
            task,
            scope_type,
            scope_id,
            fields,
        } => {
            let flags_given = !fields.is_empty() || scope_type.is_some() || scope_id.is_some();
            let mut body = task_json::read(task.as_deref(), flags_given)?;
            fields.merge_into(&mut body)?;
            let scope = client.scope();
            // The task goes where the conversation's messages go: a chat id
            // (p2p chats have one too) is a `chat` task, an open id a `user` one.
            // A flag wins over the JSON, which wins over the conversation.
            let default_type = || {
                let user = scope.receive_id_type() == crate::scope::ReceiveIdType::OpenId;
                if user { "user" } else { "chat" }.to_string()
            };
            if let Some(kind) = scope_type {
                body.insert("scope_type".into(), kind.into());
            }
            body.entry("scope_type")
                .or_insert_with(|| default_type().into());
            if let Some(id) = scope_id {
                body.insert("scope_id".into(), id.into());
            }
            if let Some(id) = &scope.receive_id {
                body.entry("scope_id").or_insert_with(|| id.clone().into());
            }
            client.request(Method::POST, TASKS).json(&body)
        }
        Automation::Update {
            id,
            patch,
            status,
            fields,
        } => {
            let flags_given = !fields.is_empty() || status.is_some();
            let mut body = task_json::read(patch.as_deref(), flags_given)?;
            fields.merge_into(&mut body)?;
            if let Some(status) = status {
                body.insert("status".into(), status.into());
            }
            if body.is_empty() {
                return Err(String::from("nothing to update: give a JSON patch or --status, --cron, --run-at, --text, --prompt").into());
            }
            client
                .request(Method::PATCH, &format!("{TASKS}/{id}"))
                .json(&body)
        }
    })
}

impl TaskFields {
    /// `--json`'s fields, then the flags, over `body`.
    fn merge_into(self, body: &mut Map<String, Value>) -> Result<(), Malformed> {
        if let Some(text) = self.json {
            body.extend(task_json::parse(&text, "--json")?);
        }
        for (key, value) in [
            ("action", self.action),
            ("text", self.text),
            ("prompt", self.prompt),
            ("workflow", self.workflow),
            ("cron", self.cron),
            ("run_at", self.run_at),
        ] {
            if let Some(value) = value {
                body.insert(key.into(), value.into());
            }
        }
        Ok(())
    }
}
