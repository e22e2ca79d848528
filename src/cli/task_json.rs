//! The task JSON of `alice runtime automation create [JSON]` and
//! `patch ID [JSON]` (Alice's forms): a positional object, or stdin. The
//! object goes to the server as it is; fields the CLI does not know are the
//! server's to accept or refuse.

use serde_json::{Map, Value};
use std::io::{IsTerminal, Read};

/// Exit code for a malformed task JSON (a usage error, as clap's).
pub const EXIT_USAGE: u8 = 2;

/// Why the JSON could not be used: one line naming the problem.
#[derive(Debug, PartialEq, Eq)]
pub struct Malformed(pub String);

/// The object given as `arg`: `-` reads stdin; none reads stdin only when it
/// is not a terminal and no flag gave the task (a flags-only call must never
/// wait on an inherited pipe), and an empty stdin then means no JSON.
pub fn read(arg: Option<&str>, flags_given: bool) -> Result<Map<String, Value>, Malformed> {
    match arg {
        Some("-") => {
            let text = stdin()?;
            if text.trim().is_empty() {
                return Err(Malformed(
                    "the task JSON is empty (nothing on stdin)".into(),
                ));
            }
            parse(&text, "the task JSON on stdin")
        }
        Some(text) => parse(text, "the task JSON"),
        None if !flags_given && !std::io::stdin().is_terminal() => {
            let text = stdin()?;
            if text.trim().is_empty() {
                return Ok(Map::new());
            }
            parse(&text, "the task JSON on stdin")
        }
        None => Ok(Map::new()),
    }
}

fn stdin() -> Result<String, Malformed> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| Malformed(format!("cannot read the task JSON from stdin: {e}")))?;
    Ok(text)
}

/// A JSON object, or the reason it is not one (`what` names the source).
pub fn parse(text: &str, what: &str) -> Result<Map<String, Value>, Malformed> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(Malformed(format!(
            "{what} must be an object, got {}",
            kind(&other)
        ))),
        Err(e) => Err(Malformed(format!("{what} is malformed: {e}"))),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_is_kept_as_it_is_unknown_fields_included() {
        let map = parse(r#"{"prompt":"p","every_seconds":3600,"x":{"y":1}}"#, "t").unwrap();
        assert_eq!(map["every_seconds"], 3600);
        assert_eq!(map["x"]["y"], 1);
    }

    #[test]
    fn malformed_or_non_object_json_names_the_problem_in_one_line() {
        let Malformed(e) = parse(r#"{"prompt": "#, "the task JSON").unwrap_err();
        assert!(e.starts_with("the task JSON is malformed: EOF"), "{e}");
        assert_eq!(e.lines().count(), 1);
        let Malformed(e) = parse("[1]", "the task JSON").unwrap_err();
        assert_eq!(e, "the task JSON must be an object, got an array");
    }
}
