//! The built-in tools ("toolsets"): the Runtime API's own operations over
//! the bot's services, with the JSON Schema of their arguments.

use super::{Caller, Services};
use crate::automation::{Access, Creator, ListFilter};
use crate::error::{Code, ErrorCode};
use crate::goal::Transition;
use crate::messages::{self, Form, FormPart};
use base64::Engine;
use serde_json::{json, Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    SendImage,
    SendFile,
    AutomationCreate,
    AutomationList,
    AutomationGet,
    AutomationUpdate,
    AutomationDelete,
    GoalGet,
    GoalCreate,
    GoalDelay,
    GoalComplete,
}

/// The `permissions.*` switch a built-in needs, as the Runtime API route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    Nothing,
    Message,
    Automation,
    Goal,
}

impl Builtin {
    pub const ALL: [Builtin; 11] = [
        Builtin::SendImage,
        Builtin::SendFile,
        Builtin::AutomationCreate,
        Builtin::AutomationList,
        Builtin::AutomationGet,
        Builtin::AutomationUpdate,
        Builtin::AutomationDelete,
        Builtin::GoalGet,
        Builtin::GoalCreate,
        Builtin::GoalDelay,
        Builtin::GoalComplete,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Builtin::SendImage => "message.send_image",
            Builtin::SendFile => "message.send_file",
            Builtin::AutomationCreate => "automation.create",
            Builtin::AutomationList => "automation.list",
            Builtin::AutomationGet => "automation.get",
            Builtin::AutomationUpdate => "automation.update",
            Builtin::AutomationDelete => "automation.delete",
            Builtin::GoalGet => "goal.get",
            Builtin::GoalCreate => "goal.create",
            Builtin::GoalDelay => "goal.delay",
            Builtin::GoalComplete => "goal.complete",
        }
    }

    pub fn needs(self) -> Needs {
        match self {
            Builtin::SendImage | Builtin::SendFile => Needs::Message,
            Builtin::AutomationCreate | Builtin::AutomationUpdate | Builtin::AutomationDelete => {
                Needs::Automation
            }
            Builtin::GoalCreate | Builtin::GoalDelay | Builtin::GoalComplete => Needs::Goal,
            Builtin::AutomationList | Builtin::AutomationGet | Builtin::GoalGet => Needs::Nothing,
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Builtin::SendImage => "Send an image (base64) to the conversation, with an optional caption.",
            Builtin::SendFile => "Send a file (base64) to the conversation, with an optional caption.",
            Builtin::AutomationCreate => "Create a scheduled task: send_text, run_llm or run_workflow, on a cron, every N seconds or once at run_at.",
            Builtin::AutomationList => "List the bot's scheduled tasks (a run's token: its own conversation's).",
            Builtin::AutomationGet => "Get one scheduled task.",
            Builtin::AutomationUpdate => "Update a task (JSON merge patch of status, cron, run_at, text, prompt, workflow).",
            Builtin::AutomationDelete => "Delete a task and its run history.",
            Builtin::GoalGet => "The conversation's goal, or null.",
            Builtin::GoalCreate => "Set a goal for the conversation (fails while an unfinished one exists).",
            Builtin::GoalDelay => "End a goal iteration: say when the next one should start, and why.",
            Builtin::GoalComplete => "Mark the conversation's goal completed.",
        }
    }

    pub fn parameters(self) -> Value {
        let upload = |part: &str, what: &str| {
            json!({"type": "object", "required": [part],
                "properties": {
                    part: {"type": "string", "contentEncoding": "base64", "description": what},
                    "filename": {"type": "string", "description": "Display name"},
                    "caption": {"type": "string", "description": "Sent after it as a text message"}},
                "additionalProperties": false})
        };
        let task_id = json!({"type": "object", "required": ["task_id"],
            "properties": {"task_id": {"type": "string"}}, "additionalProperties": false});
        let none = json!({"type": "object", "properties": {}, "additionalProperties": false});
        let text = |d: &str| json!({"type": "string", "description": d});
        match self {
            Builtin::SendImage => upload(
                "image_base64",
                "The image (PNG, JPEG, GIF, WebP, BMP, TIFF, ICO), base64",
            ),
            Builtin::SendFile => upload("file_base64", "The file's bytes, base64"),
            Builtin::AutomationCreate => json!({"type": "object",
                "properties": {
                    "scope_type": {"type": "string", "enum": ["chat", "user"],
                        "description": "Without scope_type and scope_id: the caller's conversation"},
                    "scope_id": text("chat_id (oc_…) or open_id (ou_…)"),
                    "action": {"type": "string", "enum": ["send_text", "run_llm", "run_workflow"],
                        "description": "Default: the one whose payload alone is given"},
                    "text": text("send_text: the message ({{now}}, {{date}}, {{time}}, {{unix}} filled in)"),
                    "prompt": text("run_llm: the prompt; run_workflow: the skill's input"),
                    "workflow": text("run_workflow: the skill's name"),
                    "cron": text("5-field cron or @daily etc., in the bot's timezone"),
                    "run_at": {"type": "string", "format": "date-time"},
                    "every_seconds": {"type": "integer", "minimum": 1},
                    "status": {"type": "string", "enum": ["active", "paused"]},
                    "title": {"type": "string", "maxLength": 200},
                    "max_runs": {"type": ["integer", "null"], "minimum": 0},
                    "misfire": {"type": "string", "enum": ["skip", "run_once", "catch_up"]},
                    "catch_up_within": text("How old a missed time may be for catch_up")}}),
            Builtin::AutomationList => json!({"type": "object", "properties": {
                    "limit": {"type": "integer", "minimum": 1},
                    "offset": {"type": "integer", "minimum": 0},
                    "status": {"type": "string", "enum": ["active", "paused", "completed", "cancelled", "all"]}},
                "additionalProperties": false}),
            Builtin::AutomationGet | Builtin::AutomationDelete => task_id,
            Builtin::AutomationUpdate => json!({"type": "object", "required": ["task_id"],
                "properties": {
                    "task_id": {"type": "string"},
                    "status": {"type": "string", "enum": ["active", "paused", "cancelled"]},
                    "cron": {"type": ["string", "null"]},
                    "run_at": {"type": ["string", "null"]},
                    "every_seconds": {"type": ["integer", "null"]},
                    "text": {"type": ["string", "null"]},
                    "prompt": {"type": ["string", "null"]},
                    "workflow": {"type": ["string", "null"]},
                    "title": {"type": ["string", "null"]},
                    "max_runs": {"type": ["integer", "null"]},
                    "misfire": {"type": ["string", "null"]},
                    "catch_up_within": {"type": ["string", "null"]}}}),
            Builtin::GoalGet | Builtin::GoalComplete => none,
            Builtin::GoalCreate => json!({"type": "object", "required": ["description"],
                "properties": {"description": {"type": "string", "minLength": 1, "maxLength": 4000},
                    "deadline_in": {"type": "string", "description": "e.g. \"48h\", \"90m\", \"1h30m\" (default 48h)"}},
                "additionalProperties": false}),
            Builtin::GoalDelay => json!({"type": "object", "required": ["duration", "reason"],
                "properties": {"duration": {"type": "string", "description": "\"0s\" (go on at once) or 1m to 12h, e.g. \"12m\""},
                    "reason": {"type": "string", "minLength": 1, "maxLength": 500}},
                "additionalProperties": false}),
        }
    }

    /// Runs the operation; `Err` is the message of an `ok: false` answer.
    pub async fn run(
        self,
        services: &Services,
        args: Map<String, Value>,
        caller: &Caller,
    ) -> Result<Value, String> {
        let access = Access {
            scope: caller.limit.clone(),
        };
        let automation = &services.automation;
        match self {
            Builtin::SendImage | Builtin::SendFile => {
                let (part, form) = upload(self, &args)?;
                let to = messages::destination(&caller.scope).map_err(said)?;
                let messenger = services.messenger.as_ref();
                let sent = match part {
                    "image" => messages::send_image(messenger, &to, form).await,
                    _ => messages::send_file(messenger, &to, form).await,
                };
                to_value(sent.map_err(said)?)
            }
            Builtin::AutomationCreate => {
                let creator = Creator {
                    actor_user_id: caller.scope.actor_user_id.clone(),
                    actor_open_id: caller.scope.actor_open_id.clone(),
                };
                to_value(
                    automation
                        .create(Value::Object(args), creator, &caller.scope, &access)
                        .await
                        .map_err(said)?,
                )
            }
            Builtin::AutomationList => {
                let filter = ListFilter {
                    limit: number(&args, "limit")?,
                    offset: number(&args, "offset")?.unwrap_or(0),
                    status: args
                        .get("status")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                };
                let (tasks, total) = automation.list(filter, &access).await.map_err(said)?;
                Ok(json!({"tasks": tasks, "total": total}))
            }
            Builtin::AutomationGet => {
                to_value(automation.get(&task_id(&args)?, &access).map_err(said)?)
            }
            Builtin::AutomationUpdate => {
                let mut patch = args;
                let id = task_id(&patch)?;
                patch.remove("task_id");
                to_value(
                    automation
                        .update(&id, Value::Object(patch), &access)
                        .await
                        .map_err(said)?,
                )
            }
            Builtin::AutomationDelete => {
                let id = task_id(&args)?;
                automation.delete(&id, &access).await.map_err(said)?;
                Ok(json!({"deleted": true, "task_id": id}))
            }
            Builtin::GoalGet => to_value(services.goals.get(&session(caller)?).map_err(said)?),
            Builtin::GoalCreate => {
                let description = args
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let deadline_in = args.get("deadline_in").and_then(Value::as_str);
                let goal = services
                    .goals
                    .create(&caller.scope, &session(caller)?, description, deadline_in)
                    .await;
                to_value(goal.map_err(said)?)
            }
            Builtin::GoalDelay => {
                let text = |key: &str| args.get(key).and_then(Value::as_str).unwrap_or_default();
                let goal = services
                    .goals
                    .delay(&session(caller)?, text("duration"), text("reason"))
                    .await;
                to_value(goal.map_err(said)?)
            }
            Builtin::GoalComplete => {
                let goal = services
                    .goals
                    .transition(&session(caller)?, Transition::Complete)
                    .await;
                to_value(goal.map_err(said)?)
            }
        }
    }
}

/// An error's message for the caller; internal details stay in the log.
fn said<E: ErrorCode>(err: E) -> String {
    if err.code() == Code::Internal {
        tracing::error!(error = %err, "a tool failed inside alice");
        return "internal error".into();
    }
    err.to_string()
}

fn to_value(value: impl serde::Serialize) -> Result<Value, String> {
    serde_json::to_value(value).map_err(|e| e.to_string())
}

fn task_id(args: &Map<String, Value>) -> Result<String, String> {
    args.get("task_id")
        .and_then(Value::as_str)
        .filter(|id| !id.trim().is_empty())
        .map(str::to_owned)
        .ok_or_else(|| "`task_id` is required".to_string())
}

fn number(args: &Map<String, Value>, key: &str) -> Result<Option<usize>, String> {
    match args.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .map(|n| Some(n as usize))
            .ok_or_else(|| format!("`{key}` must be a non-negative integer")),
    }
}

/// Goals belong to a conversation: its session key, given or derived.
fn session(caller: &Caller) -> Result<String, String> {
    caller.scope.session_key().ok_or_else(|| {
        "goals belong to a conversation: give `context.session_key` or `context.receive_id`".into()
    })
}

/// The form `messages` checks, built from the arguments: the decoded
/// upload, its display name and the caption.
fn upload(tool: Builtin, args: &Map<String, Value>) -> Result<(&'static str, Form), String> {
    let (part, field) = match tool {
        Builtin::SendImage => ("image", "image_base64"),
        _ => ("file", "file_base64"),
    };
    let text = |key: &str| -> Result<Option<String>, String> {
        match args.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("`{key}` must be a string")),
        }
    };
    let encoded = text(field)?.ok_or_else(|| format!("`{field}` is required"))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| format!("`{field}` is not base64"))?;
    let filename = text("filename")?;
    let mut form = Form::default();
    form.push(FormPart {
        name: part.into(),
        filename: filename.clone(),
        bytes,
    });
    if let Some(caption) = text("caption")? {
        form.push(FormPart {
            name: "caption".into(),
            filename: None,
            bytes: caption.into_bytes(),
        });
    }
    if tool == Builtin::SendFile {
        if let Some(name) = filename {
            form.push(FormPart {
                name: "filename".into(),
                filename: None,
                bytes: name.into_bytes(),
            });
        }
    }
    Ok((part, form))
}
