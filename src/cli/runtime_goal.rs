//! `alice runtime goal …`: the conversation's goal, in our forms and in
//! Alice's (`create '{"objective":…,"deadline_in":…}'`, `clear`, `delay`).

use super::runtime_client::RuntimeClient;
use clap::Subcommand;
use reqwest::{Method, RequestBuilder};
use serde_json::{json, Map, Value};

#[derive(Subcommand)]
pub enum Goal {
    /// Print the unfinished goal (nothing when there is none).
    Get,
    /// The conversation's goals, newest first (finished ones too).
    List {
        /// in_progress, paused, completed or timeout.
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Set a new goal: its text, or a JSON object with `objective` (or
    /// `description`) and `deadline_in`.
    Create {
        #[arg(required = true, num_args = 1..)]
        description: Vec<String>,
        /// How long until the deadline ("48h", "90m", "1h30m"; default 48h).
        #[arg(long)]
        deadline_in: Option<String>,
    },
    /// End an iteration: wait DURATION ("0s", or 1m to 12h) before the next.
    Delay {
        duration: String,
        /// What the goal waits for.
        #[arg(required = true, num_args = 1..)]
        reason: Vec<String>,
    },
    Pause,
    Resume,
    Complete,
    Delete,
    /// The same as `delete`.
    Clear,
}

pub fn request(client: &RuntimeClient, goal: Goal) -> Result<RequestBuilder, String> {
    Ok(match goal {
        Goal::Get => client.request(Method::GET, "/api/v1/goal"),
        Goal::List { status, limit } => {
            let mut query = Vec::new();
            if let Some(status) = status {
                query.push(("status", status));
            }
            if let Some(limit) = limit {
                query.push(("limit", limit.to_string()));
            }
            client.request(Method::GET, "/api/v1/goals").query(&query)
        }
        Goal::Create {
            description,
            deadline_in,
        } => {
            let mut body = create_body(&description.join(" "))?;
            if let Some(deadline_in) = deadline_in {
                body.insert("deadline_in".into(), Value::String(deadline_in));
            }
            client
                .request(Method::POST, "/api/v1/goal")
                .json(&Value::Object(body))
        }
        Goal::Delay { duration, reason } => client
            .request(Method::POST, "/api/v1/goal/delay")
            .json(&json!({"duration": duration, "reason": reason.join(" ")})),
        Goal::Pause => client.request(Method::POST, "/api/v1/goal/pause"),
        Goal::Resume => client.request(Method::POST, "/api/v1/goal/resume"),
        Goal::Complete => client.request(Method::POST, "/api/v1/goal/complete"),
        Goal::Delete | Goal::Clear => client.request(Method::DELETE, "/api/v1/goal"),
    })
}

/// `{"description"}` from a text, or from a JSON object's `objective` (or
/// `description`) and `deadline_in`.
fn create_body(text: &str) -> Result<Map<String, Value>, String> {
    if !text.trim_start().starts_with('{') {
        let mut body = Map::new();
        body.insert("description".into(), Value::String(text.to_string()));
        return Ok(body);
    }
    let given: Map<String, Value> =
        serde_json::from_str(text).map_err(|e| format!("the goal is not a JSON object: {e}"))?;
    let mut body = Map::new();
    let description = given
        .get("objective")
        .or_else(|| given.get("description"))
        .cloned()
        .ok_or("the goal's JSON needs `objective` (or `description`)")?;
    body.insert("description".into(), description);
    if let Some(deadline_in) = given.get("deadline_in") {
        body.insert("deadline_in".into(), deadline_in.clone());
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_takes_text_or_alices_json() {
        assert_eq!(
            Value::Object(create_body("Ship it").unwrap()),
            json!({"description": "Ship it"})
        );
        assert_eq!(
            Value::Object(
                create_body(r#"{"objective":"Add unit tests","deadline_in":"48h"}"#).unwrap()
            ),
            json!({"description": "Add unit tests", "deadline_in": "48h"})
        );
        assert!(create_body("{not json").is_err());
        assert!(create_body(r#"{"deadline_in":"1h"}"#).is_err());
    }
}
