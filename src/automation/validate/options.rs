//! The schedule options of a task body (`every_seconds`, `max_runs`,
//! `title`, `misfire`, `catch_up_within`) and the action and scope a body
//! may leave out, each read with a 400 that names the field.

use super::{bad, shape, string, Result, Rules};
use crate::automation::model::{Misfire, ScopeType, ShapeError};
use crate::automation::timing::parse_span;
use serde_json::{Map, Value};

const TITLE_MAX: usize = 200;
/// Ten years: longer spans are surely mistakes, and stay clear of the
/// overflow of time arithmetic.
const SPAN_MAX: u64 = 10 * 366 * 86_400;

/// The action a body without `action` asks for: the one whose payload it
/// alone carries (`prompt` → `run_llm`, `text` → `send_text`).
pub(super) fn implied_action(map: &Map<String, Value>) -> Result<String> {
    let given: Vec<&str> = ["text", "prompt", "workflow"]
        .into_iter()
        .filter(|name| !matches!(map.get(*name), None | Some(Value::Null)))
        .collect();
    match given.as_slice() {
        ["text"] => Ok("send_text".into()),
        ["prompt"] => Ok("run_llm".into()),
        ["workflow"] => Ok("run_workflow".into()),
        _ => Err(bad(
            "`action` is required (\"send_text\", \"run_llm\" or \"run_workflow\") unless exactly one of `text`, `prompt`, `workflow` is given",
        )),
    }
}

pub(super) fn scope_name(kind: ScopeType) -> &'static str {
    match kind {
        ScopeType::Chat => "chat",
        ScopeType::User => "user",
    }
}

pub(super) fn every_seconds(map: &Map<String, Value>, rules: Rules) -> Result<Option<u64>> {
    let Some(every) = integer(map, "every_seconds")? else {
        return Ok(None);
    };
    let floor = rules.min_every_seconds;
    if every < floor as i128 || every > SPAN_MAX as i128 {
        return Err(bad(format!(
            "`every_seconds` must be between {floor} and {SPAN_MAX}"
        )));
    }
    Ok(Some(every as u64))
}

pub(super) fn max_runs(map: &Map<String, Value>) -> Result<u64> {
    match integer(map, "max_runs")? {
        None => Ok(0),
        Some(n) if (0..=u64::MAX as i128).contains(&n) => Ok(n as u64),
        Some(_) => Err(bad("`max_runs` must be 0 (no limit) or more")),
    }
}

pub(super) fn title(map: &Map<String, Value>) -> Result<Option<String>> {
    let title = string(map, "title")?.filter(|t| !t.trim().is_empty());
    if title
        .as_ref()
        .is_some_and(|t| t.chars().count() > TITLE_MAX)
    {
        return Err(bad(format!(
            "`title` must be at most {TITLE_MAX} characters"
        )));
    }
    Ok(title)
}

pub(super) fn misfire_of(map: &Map<String, Value>) -> Result<Option<Misfire>> {
    match string(map, "misfire")?.as_deref() {
        None => Ok(None),
        Some("skip") => Ok(Some(Misfire::Skip)),
        Some("run_once") => Ok(Some(Misfire::RunOnce)),
        Some("catch_up") => Ok(Some(Misfire::CatchUp)),
        Some(_) => Err(bad(
            "`misfire` must be \"skip\", \"run_once\" or \"catch_up\"",
        )),
    }
}

/// A span as text (`"2h"`) or whole seconds.
pub(super) fn catch_up_within(map: &Map<String, Value>) -> Result<Option<u64>> {
    let secs = match map.get("catch_up_within") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(text)) => parse_span(text).ok(),
        Some(Value::Number(n)) => n.as_u64().filter(|n| *n > 0),
        Some(_) => None,
    };
    match secs {
        Some(secs) if secs <= SPAN_MAX => Ok(Some(secs)),
        _ => Err(shape(ShapeError::BadSpan)),
    }
}

pub(super) fn check_catch_up(misfire: Misfire, within: Option<u64>) -> Result<()> {
    if within.is_some() && misfire != Misfire::CatchUp {
        return Err(bad(
            "`catch_up_within` applies only with `misfire` \"catch_up\"",
        ));
    }
    Ok(())
}

/// A whole-number field: absent or `null` is `None`, another type (or a
/// fraction) is an error.
fn integer(map: &Map<String, Value>, name: &str) -> Result<Option<i128>> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
            .map(Some)
            .ok_or_else(|| bad(format!("`{name}` must be a whole number"))),
        Some(_) => Err(bad(format!("`{name}` must be a whole number"))),
    }
}
