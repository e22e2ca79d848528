//! When a task is due: standard 5-field crontabs (and `@daily`-style
//! macros) read in the bot's IANA timezone, intervals, and one-shot times;
//! which due times an outage missed; `"2h"`-style spans.
//!
//! tokio-cron-scheduler 0.15's own cron jobs do not fit: they require a
//! seconds field (a 5-field crontab fails to parse), AND the day-of-month
//! and day-of-week fields (standard cron ORs them), and freeze the UTC
//! offset when the job is made (wrong after a DST change). So due times are
//! computed here with croner and chrono-tz, and the crate's scheduler gets
//! one one-shot job per due time.

use super::model::{Schedule, Task};
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;

/// The macros `cron` takes, as the 5-field crontab each stands for.
const MACROS: &[(&str, &str)] = &[
    ("@hourly", "0 * * * *"),
    ("@daily", "0 0 * * *"),
    ("@midnight", "0 0 * * *"),
    ("@weekly", "0 0 * * 0"),
    ("@monthly", "0 0 1 * *"),
    ("@yearly", "0 0 1 1 *"),
];

/// Parses a standard crontab (minute hour day-of-month month day-of-week)
/// or one of [`MACROS`].
pub fn parse_cron(expr: &str) -> Result<Cron, String> {
    let expr = expr.trim();
    if expr.starts_with('@') {
        let Some((_, crontab)) = MACROS
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(expr))
        else {
            let names: Vec<&str> = MACROS.iter().map(|(name, _)| *name).collect();
            return Err(format!(
                "`cron`: unknown macro `{expr}` (known: {})",
                names.join(", ")
            ));
        };
        return parse_cron(crontab);
    }
    let fields = expr.split_whitespace().count();
    if fields != 5 {
        return Err(format!(
            "`cron` must have 5 fields (minute hour day-of-month month day-of-week), got {fields}"
        ));
    }
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
        .parse(expr)
        .map_err(|e| format!("`cron` is not a valid 5-field crontab: {e}"))
}

/// The first time strictly after `after` that `cron` matches in `tz`.
pub fn next_cron(cron: &Cron, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    // Whole seconds: croner keeps the fraction of `after` in its answer.
    use chrono::SubsecRound;
    cron.find_next_occurrence(&after.trunc_subsecs(0).with_timezone(&tz), false)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The first `anchor + k·every` (k ≥ 1) strictly after `after`.
pub fn next_every(anchor: DateTime<Utc>, every: u64, after: DateTime<Utc>) -> DateTime<Utc> {
    let step = i64::try_from(every.max(1))
        .unwrap_or(i64::MAX / 1000)
        .saturating_mul(1000);
    let elapsed = (after - anchor).num_milliseconds();
    let k = if elapsed < 0 { 1 } else { elapsed / step + 1 };
    anchor + Duration::milliseconds(k.saturating_mul(step))
}

/// When an active task is next due, looking from `now`: its `run_at`
/// (even if past: what a missed one-shot does is the scheduler's call), or
/// the cron's or the interval's next time after `now`.
pub fn next_due(task: &Task, tz: Tz, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    match &task.schedule {
        Schedule::At(run_at) => Some(*run_at),
        Schedule::Cron(cron) => next_cron(&parse_cron(cron).ok()?, tz, now),
        Schedule::Every(every) => Some(next_every(task.created_at, *every, now)),
    }
}

/// Due times of a repeating task from `first` up to `now`, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Missed {
    pub count: u64,
    pub newest: DateTime<Utc>,
}

/// Cron times are counted one by one up to here (a week of a per-minute
/// cron), so a long outage of many tasks does not hold up the start; the
/// newest is still found.
pub const COUNT_CAP: u64 = 10_000;

/// The due times of `task` in `[first, now]`; `None` if `first` is after
/// `now`. `first` is itself a due time (the task's stored `next_run_at`).
pub fn missed(task: &Task, tz: Tz, first: DateTime<Utc>, now: DateTime<Utc>) -> Option<Missed> {
    if first > now {
        return None;
    }
    match &task.schedule {
        Schedule::At(_) => Some(Missed {
            count: 1,
            newest: first,
        }),
        Schedule::Every(every) => {
            let step = i64::try_from((*every).max(1)).unwrap_or(i64::MAX / 1000) * 1000;
            let later = (now - first).num_milliseconds() / step;
            Some(Missed {
                count: later as u64 + 1,
                newest: first + Duration::milliseconds(later * step),
            })
        }
        Schedule::Cron(cron) => {
            let cron = parse_cron(cron).ok()?;
            let (mut count, mut newest, mut t) = (0, first, Some(first));
            while let Some(at) = t.filter(|at| *at <= now) {
                if count == COUNT_CAP {
                    // Capped: look for the newest from a day back.
                    let day_back = (now - Duration::days(1)).max(at);
                    t = next_cron(&cron, tz, day_back - Duration::seconds(1));
                    while let Some(at) = t.filter(|at| *at <= now) {
                        newest = at;
                        t = next_cron(&cron, tz, at);
                    }
                    break;
                }
                newest = at;
                count += 1;
                t = next_cron(&cron, tz, at);
            }
            Some(Missed { count, newest })
        }
    }
}

/// Reads a span: the duration strings of the config (`"1h30m"`, see
/// [`crate::config::parse_span`]), or plain seconds. Zero is refused.
pub fn parse_span(text: &str) -> Result<u64, ()> {
    let text = text.trim();
    let secs = match text.parse::<u64>() {
        Ok(secs) => secs,
        Err(_) => crate::config::parse_span(text).ok_or(())?.as_secs(),
    };
    if secs > 0 {
        Ok(secs)
    } else {
        Err(())
    }
}

/// A span in the largest unit that divides it (`7200` → `"2h"`).
pub fn format_span(secs: u64) -> String {
    for (unit, name) in [(86_400, "d"), (3600, "h"), (60, "m")] {
        if secs > 0 && secs.is_multiple_of(unit) {
            return format!("{}{name}", secs / unit);
        }
    }
    format!("{secs}s")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn five_fields_only() {
        assert!(parse_cron("0 9 * * *").is_ok());
        assert!(parse_cron("*/5 9-17 * * mon-fri").is_ok());
        for bad in [
            "61 9 * * *",
            "not a cron",
            "0 0 9 * * *",
            "0 0 9 * * * 2030",
            "@fortnightly",
            "@",
            "",
        ] {
            assert!(parse_cron(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn macros_stand_for_their_crontabs() {
        let after = Utc.with_ymd_and_hms(2025, 1, 15, 9, 30, 0).unwrap();
        for (name, want) in [
            ("@hourly", Utc.with_ymd_and_hms(2025, 1, 15, 10, 0, 0)),
            ("@daily", Utc.with_ymd_and_hms(2025, 1, 16, 0, 0, 0)),
            ("@midnight", Utc.with_ymd_and_hms(2025, 1, 16, 0, 0, 0)),
            ("@weekly", Utc.with_ymd_and_hms(2025, 1, 19, 0, 0, 0)),
            ("@monthly", Utc.with_ymd_and_hms(2025, 2, 1, 0, 0, 0)),
            ("@yearly", Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)),
        ] {
            let cron = parse_cron(name).unwrap();
            assert_eq!(next_cron(&cron, Tz::UTC, after), want.single(), "{name}");
        }
    }

    #[test]
    fn intervals_count_from_their_anchor() {
        let anchor = Utc.with_ymd_and_hms(2025, 1, 15, 9, 0, 0).unwrap();
        let at = |s: i64| anchor + Duration::seconds(s);
        assert_eq!(next_every(anchor, 60, anchor), at(60));
        assert_eq!(next_every(anchor, 60, at(59)), at(60));
        assert_eq!(next_every(anchor, 60, at(60)), at(120));
        assert_eq!(next_every(anchor, 60, at(-30)), at(60));
    }

    #[test]
    fn missed_times_are_counted_with_the_newest() {
        let anchor = Utc.with_ymd_and_hms(2025, 1, 15, 9, 0, 0).unwrap();
        let mut task: Task = serde_json::from_value(serde_json::json!({
            "id": "task_1", "scope_type": "chat", "scope_id": "oc_1",
            "action": "send_text", "text": "hi", "every_seconds": 60,
            "status": "active", "created_at": anchor, "updated_at": anchor,
            "next_run_at": null, "last_run_at": null, "run_count": 0,
            "last_error": null, "created_by": null
        }))
        .unwrap();
        let at = |s: i64| anchor + Duration::seconds(s);
        let m = missed(&task, Tz::UTC, at(60), at(250)).unwrap();
        assert_eq!((m.count, m.newest), (4, at(240)));
        assert_eq!(missed(&task, Tz::UTC, at(60), at(59)), None);
        task.schedule = Schedule::Cron("*/5 * * * *".into());
        let m = missed(&task, Tz::UTC, at(300), at(3599)).unwrap();
        assert_eq!((m.count, m.newest), (11, at(3300)));
        // A long outage of a per-minute cron: counted up to the cap, the
        // newest still exact.
        task.schedule = Schedule::Cron("* * * * *".into());
        let m = missed(&task, Tz::UTC, at(60), at(8 * 86_400 + 30)).unwrap();
        assert_eq!((m.count, m.newest), (COUNT_CAP, at(8 * 86_400)));
    }

    #[test]
    fn spans_read_and_print() {
        for (text, secs) in [
            ("90s", 90),
            ("30m", 1800),
            ("2h", 7200),
            ("1h30m", 5400),
            ("1d", 86_400),
            ("45", 45),
        ] {
            assert_eq!(parse_span(text), Ok(secs), "{text}");
        }
        for bad in ["", "0", "0s", "h", "2x", "1.5h", "-1h", "2h3"] {
            assert!(parse_span(bad).is_err(), "{bad:?}");
        }
        assert_eq!(format_span(7200), "2h");
        assert_eq!(format_span(5400), "90m");
        assert_eq!(format_span(90), "90s");
        assert_eq!(format_span(86_400), "1d");
    }

    #[test]
    fn the_crates_own_cron_jobs_refuse_five_fields() {
        // Why due times are computed here (see the module comment).
        let job = tokio_cron_scheduler::Job::new_async("0 9 * * *", |_, _| Box::pin(async {}));
        assert!(job.is_err());
    }

    #[test]
    fn cron_follows_the_timezone_and_dst() {
        let cron = parse_cron("0 9 * * *").unwrap();
        let tz: Tz = "Asia/Shanghai".parse().unwrap();
        let after = Utc.with_ymd_and_hms(2025, 1, 15, 0, 0, 0).unwrap();
        assert_eq!(
            next_cron(&cron, tz, after),
            Some(Utc.with_ymd_and_hms(2025, 1, 15, 1, 0, 0).unwrap())
        );
        // New York: 09:00 is 14:00 UTC in winter and 13:00 UTC in summer.
        let tz: Tz = "America/New_York".parse().unwrap();
        let winter = Utc.with_ymd_and_hms(2025, 3, 8, 15, 0, 0).unwrap();
        assert_eq!(
            next_cron(&cron, tz, winter),
            Some(Utc.with_ymd_and_hms(2025, 3, 9, 13, 0, 0).unwrap())
        );
    }

    #[test]
    fn day_of_month_or_day_of_week_as_in_standard_cron() {
        // The 15th, or any Monday: 2025-01-06 is a Monday.
        let cron = parse_cron("0 0 15 * 1").unwrap();
        let after = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(
            next_cron(&cron, Tz::UTC, after),
            Some(Utc.with_ymd_and_hms(2025, 1, 6, 0, 0, 0).unwrap())
        );
    }
}
