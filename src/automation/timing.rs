//! When a task is due: standard 5-field crontabs read in the bot's IANA
//! timezone, and one-shot times.
//!
//! tokio-cron-scheduler 0.15's own cron jobs do not fit: they require a
//! seconds field (a 5-field crontab fails to parse), AND the day-of-month
//! and day-of-week fields (standard cron ORs them), and freeze the UTC
//! offset when the job is made (wrong after a DST change). So due times are
//! computed here with croner and chrono-tz, and the crate's scheduler gets
//! one one-shot job per due time.

use super::model::{Schedule, Task};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;

/// Parses a standard crontab: minute hour day-of-month month day-of-week.
pub fn parse_cron(expr: &str) -> Result<Cron, String> {
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

/// When an active task is next due, looking from `now`: its `run_at`
/// (even if past: a missed one-shot still runs once), or the cron's next
/// match after `now` (missed cron times are skipped, as cron does).
pub fn next_due(task: &Task, tz: Tz, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    match &task.schedule {
        Schedule::At(run_at) => Some(*run_at),
        Schedule::Cron(cron) => next_cron(&parse_cron(cron).ok()?, tz, now),
    }
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
            "@daily",
            "",
        ] {
            assert!(parse_cron(bad).is_err(), "{bad:?} accepted");
        }
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
