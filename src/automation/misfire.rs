//! Due times that passed while the bot was not running, settled at its
//! start by each task's `misfire` policy. Only the start-up calls this: a
//! running bot's late tick is never a miss.

use super::model::{Misfire, Outcome, Schedule, Task, TaskRun, TaskStatus};
use super::timing::{missed, next_due};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// Sets an active task's next due time after the bot was down: every
/// due time before `now` was missed (the bot was not running at it).
/// By its policy the newest runs now or not; the others are returned as
/// one `missed` record.
pub fn settle(task: &mut Task, tz: Tz, now: DateTime<Utc>) -> Option<TaskRun> {
    let past = task.next_run_at.filter(|at| *at < now);
    let Some((first, gone)) = past.and_then(|first| Some((first, missed(task, tz, first, now)?)))
    else {
        task.next_run_at = next_due(task, tz, now);
        return None;
    };
    let run_one = match task.misfire {
        Misfire::Skip => false,
        Misfire::RunOnce => true,
        Misfire::CatchUp => {
            let window = i64::try_from(task.catch_up_window()).unwrap_or(i64::MAX / 1000);
            now - gone.newest <= chrono::Duration::seconds(window)
        }
    };
    task.next_run_at = match (&task.schedule, run_one) {
        (_, true) => Some(gone.newest),
        (Schedule::At(_), false) => None,
        (_, false) => next_due(task, tz, now),
    };
    if task.next_run_at.is_none() {
        task.status = TaskStatus::Completed;
        task.updated_at = now;
    }
    let count = gone.count - u64::from(run_one);
    (count > 0).then(|| {
        tracing::warn!(task = %task.id, count, "due times missed while the bot was not running");
        TaskRun {
            task_id: task.id.clone(),
            due_at: first,
            started_at: now,
            finished_at: Some(now),
            outcome: Outcome::Missed,
            error: Some(format!(
                "the bot was not running at {count} due time(s) from {} (misfire: {})",
                first.to_rfc3339(),
                task.misfire.name()
            )),
            message_id: None,
            missed_count: Some(count),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use serde_json::json;

    fn task(schedule: serde_json::Value, misfire: &str) -> Task {
        let anchor = Utc.with_ymd_and_hms(2025, 1, 15, 9, 0, 0).unwrap();
        let mut body = json!({
            "id": "task_1", "scope_type": "chat", "scope_id": "oc_1",
            "action": "send_text", "text": "hi", "misfire": misfire,
            "status": "active", "created_at": anchor, "updated_at": anchor,
            "next_run_at": null, "last_run_at": null, "run_count": 0,
            "last_error": null, "created_by": null
        });
        for (key, value) in schedule.as_object().unwrap() {
            body[key] = value.clone();
        }
        serde_json::from_value(body).unwrap()
    }

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 1, 15, 9, 0, 0).unwrap() + Duration::seconds(secs)
    }

    #[test]
    fn each_policy_settles_an_outage() {
        // Every minute; down from 09:01 to 09:05:30: 09:01 … 09:05 missed.
        for (misfire, runs_now, recorded) in [
            ("skip", false, 5),
            ("run_once", true, 4),
            ("catch_up", true, 4),
        ] {
            let mut t = task(json!({"every_seconds": 60}), misfire);
            t.next_run_at = Some(at(60));
            let run = settle(&mut t, Tz::UTC, at(330)).expect(misfire);
            assert_eq!(run.outcome, Outcome::Missed);
            assert_eq!(
                (run.missed_count, run.due_at),
                (Some(recorded), at(60)),
                "{misfire}"
            );
            let next = if runs_now { at(300) } else { at(360) };
            assert_eq!(t.next_run_at, Some(next), "{misfire}");
            assert_eq!(t.status, TaskStatus::Active);
        }
        // catch_up, the newest miss older than the window: skipped.
        let mut t = task(
            json!({"every_seconds": 60, "catch_up_within": "20s"}),
            "catch_up",
        );
        t.next_run_at = Some(at(60));
        assert_eq!(
            settle(&mut t, Tz::UTC, at(330)).unwrap().missed_count,
            Some(5)
        );
        assert_eq!(t.next_run_at, Some(at(360)));
    }

    #[test]
    fn a_one_shot_runs_once_or_completes_recorded() {
        let mut t = task(json!({"run_at": at(60)}), "run_once");
        t.next_run_at = Some(at(60));
        assert!(settle(&mut t, Tz::UTC, at(90)).is_none());
        assert_eq!(
            (t.next_run_at, t.status),
            (Some(at(60)), TaskStatus::Active)
        );
        let mut t = task(json!({"run_at": at(60)}), "skip");
        t.next_run_at = Some(at(60));
        assert_eq!(
            settle(&mut t, Tz::UTC, at(90)).unwrap().missed_count,
            Some(1)
        );
        assert_eq!((t.next_run_at, t.status), (None, TaskStatus::Completed));
    }

    #[test]
    fn nothing_due_yet_is_no_miss() {
        let mut t = task(json!({"every_seconds": 60}), "skip");
        t.next_run_at = Some(at(120));
        assert!(settle(&mut t, Tz::UTC, at(90)).is_none());
        assert_eq!(t.next_run_at, Some(at(120)));
    }
}
