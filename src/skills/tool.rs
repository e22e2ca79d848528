//! Skills that are also tools: `tool: true` in the front matter and a JSON
//! Schema object as `parameters` (JSON, which is YAML too: on the key's line
//! or indented on the lines below it).

use super::{front_matter, list, Result};
use serde_json::Value;
use std::path::Path;

/// A skill callable as a tool: arguments as JSON on its stdin.
#[derive(Debug, Clone, PartialEq)]
pub struct SkillTool {
    pub name: String,
    pub description: String,
    /// A JSON Schema with `"type": "object"`.
    pub parameters: Value,
}

/// The skills of `skills_dir` that declare themselves tools. One whose
/// `parameters` is not a JSON Schema object is left out, with a warning.
pub fn tools(skills_dir: &Path) -> Result<Vec<SkillTool>> {
    let mut found = Vec::new();
    for skill in list(skills_dir)? {
        let manifest = skills_dir.join(&skill.folder).join("SKILL.md");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        if front_matter(&text).get("tool").map(String::as_str) != Some("true") {
            continue;
        }
        match parameters(&text) {
            Some(parameters) => found.push(SkillTool {
                name: skill.name,
                description: skill.description,
                parameters,
            }),
            None => tracing::warn!(
                skill = %skill.name,
                "a skill with `tool: true` needs `parameters`: a JSON Schema object; not offered as a tool"
            ),
        }
    }
    Ok(found)
}

/// The `parameters` value: the rest of its line and the indented lines
/// after it, read as JSON; `None` unless it is an object schema.
fn parameters(text: &str) -> Option<Value> {
    let mut lines = text.lines();
    if lines.next().map(str::trim) != Some("---") {
        return None;
    }
    let mut raw: Option<String> = None;
    for line in lines {
        if line.trim() == "---" {
            break;
        }
        match &mut raw {
            None => {
                if let Some(rest) = line.strip_prefix("parameters:") {
                    raw = Some(rest.to_string());
                }
            }
            Some(value) if line.starts_with([' ', '\t']) || line.trim().is_empty() => {
                value.push('\n');
                value.push_str(line);
            }
            Some(_) => break,
        }
    }
    let schema: Value = serde_json::from_str(raw?.trim()).ok()?;
    (schema.get("type") == Some(&Value::from("object"))).then_some(schema)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parameters_are_read_inline_or_indented_and_must_be_an_object_schema() {
        let inline = "---\nname: a\ntool: true\nparameters: {\"type\": \"object\"}\n---\n";
        assert_eq!(parameters(inline), Some(json!({"type": "object"})));
        let block = "---\nname: a\nparameters:\n  {\"type\": \"object\",\n   \"properties\": {\"n\": {\"type\": \"integer\"}}}\ntool: true\n---\n";
        assert_eq!(
            parameters(block),
            Some(json!({"type": "object", "properties": {"n": {"type": "integer"}}}))
        );
        assert_eq!(
            parameters("---\nparameters: {\"type\": \"string\"}\n---\n"),
            None
        );
        assert_eq!(parameters("---\nparameters:\n  type: object\n---\n"), None);
        assert_eq!(
            parameters("---\nname: a\n---\nparameters: {\"type\": \"object\"}\n"),
            None
        );
    }
}
