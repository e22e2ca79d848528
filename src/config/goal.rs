//! `[bots.<id>.goal]`: the goal engine's limits, and the duration strings
//! (`"90s"`, `"15m"`, `"1h30m"`) that goals and their config are written in.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::time::Duration;

/// A duration written as `<n><unit>…` with units `d`, `h`, `m`, `s`
/// (`"1h30m"`, `"90s"`, `"0s"`), parsed once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span(pub Duration);

impl Span {
    pub const fn secs(secs: u64) -> Self {
        Span(Duration::from_secs(secs))
    }

    pub fn get(self) -> Duration {
        self.0
    }
}

/// Parses `"1h30m"`, `"90s"`, `"0s"`; `None` for anything else (no unit,
/// unknown unit, blank, overflow).
pub fn parse_span(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        let n: u64 = digits.parse().ok()?;
        digits.clear();
        total = total.checked_add(n.checked_mul(unit)?)?;
    }
    digits.is_empty().then_some(Duration::from_secs(total))
}

/// Writes a duration the way [`parse_span`] reads it (`5400s` → `"1h30m"`).
pub fn format_span(d: Duration) -> String {
    let mut secs = d.as_secs();
    if secs == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, name) in [(86_400, 'd'), (3_600, 'h'), (60, 'm'), (1, 's')] {
        if secs >= unit {
            out.push_str(&format!("{}{name}", secs / unit));
            secs %= unit;
        }
    }
    out
}

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_span(self.0))
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse_span(&text).map(Span).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{text}` is not a duration (write it like \"90s\", \"15m\" or \"1h30m\")"
            ))
        })
    }
}

/// Longest deadline a goal may have.
pub const MAX_DEADLINE: Duration = Duration::from_secs(30 * 86_400);
/// A goal's deadline when none is given.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(48 * 3_600);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GoalConfig {
    /// `false`: goals stay notes (no iterations).
    pub enabled: bool,
    /// The pause after an iteration that declared no delay.
    pub default_delay: Span,
    /// The pause after five fast `0s` iterations in a row.
    pub runaway_pause: Span,
    /// Iterations per goal, then it pauses.
    pub max_iterations: u32,
    /// One iteration's watchdog (at most 30 min, the agent's limit).
    pub iteration_timeout: Span,
    /// The smallest positive delay an agent may declare.
    pub min_delay: Span,
    /// The longest delay an agent may declare.
    pub max_delay: Span,
    /// The shortest `deadline_in` accepted.
    pub min_deadline: Span,
}

impl Default for GoalConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            default_delay: Span::secs(15 * 60),
            runaway_pause: Span::secs(30 * 60),
            max_iterations: 200,
            iteration_timeout: Span::secs(30 * 60),
            min_delay: Span::secs(60),
            max_delay: Span::secs(12 * 3_600),
            min_deadline: Span::secs(60),
        }
    }
}

impl GoalConfig {
    /// The first key whose value is out of range, and why.
    pub fn invalid(&self) -> Option<(&'static str, String)> {
        let zero = Span::secs(0);
        if self.max_iterations == 0 {
            return Some(("goal.max_iterations", "must be at least 1".into()));
        }
        for (key, span) in [
            ("goal.default_delay", self.default_delay),
            ("goal.runaway_pause", self.runaway_pause),
            ("goal.iteration_timeout", self.iteration_timeout),
            ("goal.min_delay", self.min_delay),
            ("goal.min_deadline", self.min_deadline),
        ] {
            if span == zero {
                return Some((key, "must be longer than 0s".into()));
            }
        }
        if self.iteration_timeout > Span::secs(30 * 60) {
            return Some(("goal.iteration_timeout", "must be at most 30m".into()));
        }
        if self.max_delay < self.min_delay {
            return Some(("goal.max_delay", "must be at least goal.min_delay".into()));
        }
        if self.min_deadline.get() > MAX_DEADLINE {
            return Some(("goal.min_deadline", "must be at most 30d".into()));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_parse_and_print() {
        for (text, secs) in [
            ("90s", 90),
            ("15m", 900),
            ("1h30m", 5400),
            ("0s", 0),
            ("2d", 172_800),
        ] {
            assert_eq!(parse_span(text), Some(Duration::from_secs(secs)), "{text}");
        }
        for bad in ["", "15", "m", "1x", "-1s", "1.5h", "1h 30m"] {
            assert_eq!(parse_span(bad), None, "{bad}");
        }
        assert_eq!(format_span(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_span(Duration::ZERO), "0s");
    }

    #[test]
    fn defaults_are_valid() {
        assert_eq!(GoalConfig::default().invalid(), None);
    }
}
