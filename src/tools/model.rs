//! What the registry deals in: a tool and how it is listed, who calls it,
//! and how an invocation ended (in the seed's answer shapes).

use super::Builtin;
use crate::scope::Scope;
use serde::Serialize;
use serde_json::{json, Map, Value};
use utoipa::ToSchema;

/// What a tool runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Builtin(Builtin),
    /// The skill of the tool's name, arguments as JSON on stdin.
    Skill,
    /// The bot's agent, asked the `prompt` argument.
    Agent,
}

/// The seed's three kinds, which `expose` chooses from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// A plain name: a skill.
    Tool,
    /// A dotted name: a built-in operation.
    Toolset,
    Agent,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    pub name: String,
    pub description: String,
    /// A JSON Schema object.
    pub parameters: Value,
    pub kind: Kind,
}

impl Tool {
    pub fn category(&self) -> Category {
        match self.kind {
            Kind::Builtin(_) => Category::Toolset,
            Kind::Skill => Category::Tool,
            Kind::Agent => Category::Agent,
        }
    }

    /// The shallow part of the schema, checked before anything runs: the
    /// `required` arguments are there, and no others when
    /// `additionalProperties` is `false`. The rest is the tool's to judge.
    pub fn check_args(&self, args: &Map<String, Value>) -> Result<(), String> {
        let schema = &self.parameters;
        let required = schema["required"].as_array().into_iter().flatten();
        if let Some(missing) = required
            .filter_map(Value::as_str)
            .find(|key| !args.contains_key(*key))
        {
            return Err(format!("`args.{missing}` is required by `{}`", self.name));
        }
        if schema["additionalProperties"] == Value::Bool(false) {
            let known = schema["properties"].as_object();
            if let Some(extra) = args
                .keys()
                .find(|k| known.is_none_or(|p| !p.contains_key(*k)))
            {
                return Err(format!("`{}` takes no argument `{extra}`", self.name));
            }
        }
        Ok(())
    }

    /// The tool as OpenAI function calling lists it.
    pub fn entry(&self) -> ToolEntry {
        ToolEntry {
            kind: "function",
            function: FunctionSpec {
                name: self.name.clone(),
                description: self.description.clone(),
                parameters: self.parameters.clone(),
            },
        }
    }
}

/// One listed tool (OpenAI function-calling format).
#[derive(Debug, Serialize, ToSchema)]
pub struct ToolEntry {
    #[serde(rename = "type")]
    #[schema(example = "function")]
    pub kind: &'static str,
    pub function: FunctionSpec,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FunctionSpec {
    #[schema(example = "automation.create")]
    pub name: String,
    pub description: String,
    /// The arguments' JSON Schema (`"type": "object"`).
    #[schema(value_type = Object)]
    pub parameters: Value,
}

/// Who invokes: the conversation the tool acts on (the token's own for a
/// run's token) and what the token is limited to (`None`: the main token).
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub scope: Scope,
    pub limit: Option<Scope>,
}

/// A tool found and its arguments checked, ready to run.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub request_id: String,
    pub tool: Tool,
    pub(super) args: Map<String, Value>,
}

/// How one invocation ended.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub request_id: String,
    pub tool_name: String,
    pub result: Result<Value, String>,
    pub duration_ms: f64,
}

impl Invocation {
    pub fn ok(&self) -> bool {
        self.result.is_ok()
    }

    /// The synchronous answer: `result` on success, `error` on failure.
    pub fn answer(&self) -> Value {
        let mut body = json!({"ok": self.ok(), "request_id": self.request_id,
            "tool_name": self.tool_name, "duration_ms": self.duration_ms});
        match &self.result {
            Ok(result) => body["result"] = result.clone(),
            Err(error) => body["error"] = json!(error),
        }
        body
    }

    /// What a callback receives: every field, `null` where it has none.
    pub fn callback_body(&self) -> Value {
        json!({"request_id": self.request_id, "tool_name": self.tool_name, "ok": self.ok(),
            "result": self.result.as_ref().ok(), "duration_ms": self.duration_ms,
            "error": self.result.as_ref().err()})
    }
}
