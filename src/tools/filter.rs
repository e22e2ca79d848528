//! Which tools a bot offers: the denylist first, then a non-empty allowlist
//! instead of `expose` (the seed's precedence: denylist > allowlist > expose).

use super::{Category, Tool};
use crate::config::{Expose, ToolsConfig};

pub fn offered(config: &ToolsConfig, tools: Vec<Tool>) -> Vec<Tool> {
    tools
        .into_iter()
        .filter(|t| !config.denylist.iter().any(|p| matches(p, &t.name)))
        .filter(|t| {
            if config.allowlist.is_empty() {
                exposed(config.expose, t.category())
            } else {
                config.allowlist.iter().any(|p| matches(p, &t.name))
            }
        })
        .collect()
}

fn exposed(expose: Expose, category: Category) -> bool {
    match expose {
        Expose::Tools => category == Category::Tool,
        Expose::Toolsets => category == Category::Toolset,
        Expose::ToolsAndToolsets => category != Category::Agent,
        Expose::Agents => category == Category::Agent,
        Expose::All => true,
    }
}

/// `name` exactly, or `prefix*`.
fn matches(pattern: &str, name: &str) -> bool {
    let pattern = pattern.trim();
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::Kind;

    fn tool(name: &str, kind: Kind) -> Tool {
        Tool {
            name: name.into(),
            description: String::new(),
            parameters: serde_json::json!({"type": "object"}),
            kind,
        }
    }

    fn names(config: &ToolsConfig) -> Vec<String> {
        let all = vec![
            tool("echo", Kind::Skill),
            tool("goal.get", Kind::Builtin(crate::tools::Builtin::GoalGet)),
            tool("agent.ask", Kind::Agent),
        ];
        offered(config, all).into_iter().map(|t| t.name).collect()
    }

    #[test]
    fn denylist_then_allowlist_then_expose() {
        let mut c = ToolsConfig::default();
        assert_eq!(names(&c), ["echo", "goal.get"]);
        c.expose = Expose::Agents;
        assert_eq!(names(&c), ["agent.ask"]);
        c.expose = Expose::All;
        c.denylist = vec!["goal.*".into()];
        assert_eq!(names(&c), ["echo", "agent.ask"]);
        c.expose = Expose::Tools;
        c.allowlist = vec!["goal.get".into(), "agent.ask".into()];
        assert_eq!(names(&c), ["agent.ask"]);
    }
}
