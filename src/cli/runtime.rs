//! `alice runtime …`: what skills call. Reads the `ALICE_*` environment,
//! sends the conversation as `X-Alice-*` headers, prints the JSON answer.

use super::fail;
use super::runtime_client::RuntimeClient;
use super::runtime_goal::{self, Goal};
use clap::{Args, Subcommand};
use reqwest::multipart::{Form, Part};
use reqwest::Method;
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::process::ExitCode;

pub const EXAMPLES: &str = "Inside an agent run (the bot sets ALICE_*):
  alice runtime message image chart.png --caption \"Today\"
  alice runtime message file report.pdf --filename \"Q3 report.pdf\"
  alice runtime automation create --action send_text --text \"Stand-up!\" --cron \"0 9 * * 1-5\"
  alice runtime automation list --status active
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

#[derive(Subcommand)]
enum Message {
    /// Upload and send an image.
    Image {
        /// The image file.
        file: Option<PathBuf>,
        /// The file, as an option.
        #[arg(long = "path", conflicts_with = "file")]
        path: Option<PathBuf>,
        /// Text sent with it.
        #[arg(long)]
        caption: Option<String>,
    },
    /// Upload and send a file.
    File {
        /// The file.
        file: Option<PathBuf>,
        /// The file, as an option.
        #[arg(long = "path", conflicts_with = "file")]
        path: Option<PathBuf>,
        /// The name shown in the chat (default: the file's own name).
        #[arg(long)]
        filename: Option<String>,
        /// Text sent with it.
        #[arg(long)]
        caption: Option<String>,
    },
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

#[derive(Subcommand)]
enum Automation {
    /// List tasks.
    List {
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
    Update {
        id: String,
        /// `active`, `paused`, `completed` or `cancelled`.
        #[arg(long)]
        status: Option<String>,
        #[command(flatten)]
        fields: TaskFields,
    },
    /// Delete a task.
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
        Err(e) => fail(&e, 1),
    }
}

async fn execute(args: RuntimeArgs) -> Result<Option<Value>, String> {
    let client = RuntimeClient::from_env()?;
    let req = match args.what {
        What::Bot => client.request(Method::GET, "/api/v1/bot"),
        What::Message(message) => message_request(&client, message).await?,
        What::Automation(task) => automation_request(&client, task)?,
        What::Goal(goal) => runtime_goal::request(&client, goal)?,
    };
    client.send(req).await
}

async fn message_request(
    client: &RuntimeClient,
    message: Message,
) -> Result<reqwest::RequestBuilder, String> {
    let (kind, file, path, filename, caption) = match message {
        Message::Image {
            file,
            path,
            caption,
        } => ("image", file, path, None, caption),
        Message::File {
            file,
            path,
            filename,
            caption,
        } => ("file", file, path, filename, caption),
    };
    let path = file.or(path).ok_or_else(|| {
        format!("which {kind}? give its path (alice runtime message {kind} PATH)")
    })?;
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.is_empty() {
        return Err(format!("{} is empty", path.display()));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| kind.to_string());
    let part = Part::bytes(bytes)
        .file_name(name.clone())
        .mime_str(mime_of(&name))
        .map_err(|e| e.to_string())?;
    let mut form = Form::new().part(kind, part);
    if let Some(filename) = filename {
        form = form.text("filename", filename);
    }
    if let Some(caption) = caption {
        form = form.text("caption", caption);
    }
    let route = format!("/api/v1/messages/{kind}");
    Ok(client.request(Method::POST, &route).multipart(form))
}

fn mime_of(name: &str) -> &'static str {
    let ext = name.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "bmp" => "image/bmp",
        "pdf" => "application/pdf",
        "txt" | "md" => "text/plain",
        _ => "application/octet-stream",
    }
}

fn automation_request(
    client: &RuntimeClient,
    task: Automation,
) -> Result<reqwest::RequestBuilder, String> {
    const TASKS: &str = "/api/v1/automation/tasks";
    Ok(match task {
        Automation::List {
            status,
            limit,
            offset,
        } => {
            let mut query: Vec<(&str, String)> = Vec::new();
            query.extend(status.map(|s| ("status", s)));
            query.extend(limit.map(|l| ("limit", l.to_string())));
            query.extend(offset.map(|o| ("offset", o.to_string())));
            client.request(Method::GET, TASKS).query(&query)
        }
        Automation::Get { id } => client.request(Method::GET, &format!("{TASKS}/{id}")),
        Automation::Delete { id } => client.request(Method::DELETE, &format!("{TASKS}/{id}")),
        Automation::Create {
            scope_type,
            scope_id,
            fields,
        } => {
            let scope = client.scope();
            // The task goes where the conversation's messages go: a chat id
            // (p2p chats have one too) is a `chat` task, an open id a `user` one.
            let scope_type = scope_type.unwrap_or_else(|| {
                let user = scope.receive_id_type() == crate::scope::ReceiveIdType::OpenId;
                if user { "user" } else { "chat" }.to_string()
            });
            let mut body = fields.into_body()?;
            body.insert("scope_type".into(), scope_type.into());
            if let Some(id) = scope_id.or_else(|| scope.receive_id.clone()) {
                body.insert("scope_id".into(), id.into());
            }
            client.request(Method::POST, TASKS).json(&body)
        }
        Automation::Update { id, status, fields } => {
            let mut body = fields.into_body()?;
            if let Some(status) = status {
                body.insert("status".into(), status.into());
            }
            if body.is_empty() {
                return Err("nothing to update: give --status, --cron, --run-at, --text, --prompt or --json".into());
            }
            client
                .request(Method::PATCH, &format!("{TASKS}/{id}"))
                .json(&body)
        }
    })
}

impl TaskFields {
    fn into_body(self) -> Result<Map<String, Value>, String> {
        let mut body = match self.json {
            Some(text) => match serde_json::from_str(&text) {
                Ok(Value::Object(map)) => map,
                _ => return Err("--json must be a JSON object".into()),
            },
            None => Map::new(),
        };
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
        Ok(body)
    }
}
