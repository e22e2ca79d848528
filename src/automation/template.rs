//! Placeholders a task's prompt or text may hold, filled in at each run:
//! `{{now}}` (RFC 3339 in the bot's timezone), `{{date}}` (YYYY-MM-DD),
//! `{{time}}` (HH:MM), `{{unix}}` (seconds). Any other `{{…}}` stays as
//! written, so text meant for the agent's own templating passes through.

use super::model::TaskAction;
use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;

/// The action with its prompt or text expanded (a workflow is a name).
pub fn expand_action(action: &TaskAction, now: DateTime<Utc>, tz: Tz) -> TaskAction {
    match action {
        TaskAction::SendText { text } => TaskAction::SendText {
            text: expand(text, now, tz),
        },
        TaskAction::RunLlm { prompt } => TaskAction::RunLlm {
            prompt: expand(prompt, now, tz),
        },
        TaskAction::RunWorkflow { .. } => action.clone(),
    }
}

pub fn expand(text: &str, now: DateTime<Utc>, tz: Tz) -> String {
    let local = now.with_timezone(&tz);
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            rest = &rest[start..];
            break;
        };
        let value = match after[..end].trim() {
            "now" => Some(local.to_rfc3339_opts(SecondsFormat::Secs, false)),
            "date" => Some(local.format("%Y-%m-%d").to_string()),
            "time" => Some(local.format("%H:%M").to_string()),
            "unix" => Some(now.timestamp().to_string()),
            _ => None,
        };
        match value {
            Some(value) => out.push_str(&value),
            None => out.push_str(&rest[start..start + 2 + end + 2]),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn known_placeholders_in_the_bots_zone_others_kept() {
        let now = Utc.with_ymd_and_hms(2025, 1, 15, 23, 30, 5).unwrap();
        let tz: Tz = "Asia/Shanghai".parse().unwrap();
        assert_eq!(
            expand(
                "at {{now}} / {{date}} {{ time }} {{unix}} {{name}} {{ {{date}}",
                now,
                tz
            ),
            "at 2025-01-16T07:30:05+08:00 / 2025-01-16 07:30 1736983805 {{name}} {{ {{date}}"
        );
        assert_eq!(expand("no end {{date", now, tz), "no end {{date");
        assert_eq!(expand("plain", now, tz), "plain");
    }
}
