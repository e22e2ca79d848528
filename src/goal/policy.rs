//! When the next iteration is due, decided from how the last one ended:
//! the declared delay, the default delay, the back-off after a failure,
//! the runaway guard, `max_iterations` and the deadline's wrap-up.

use super::iteration::Ended;
use super::model::{Goal, GoalStatus, IterationOutcome};
use crate::config::{format_span, parse_span, GoalConfig};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// `0s` iterations faster than this count toward the runaway guard.
const FAST: Duration = Duration::from_secs(3 * 60);
/// Fast `0s` iterations in a row that trip the runaway guard.
const RUNAWAY_AFTER: u32 = 5;
/// The first back-off after a failure; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(60);
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// Applies the end of the goal's running iteration; a warning for the log
/// when the runaway guard trips.
pub(super) fn after_iteration(
    goal: &mut Goal,
    ended: &Ended,
    config: &GoalConfig,
    now: DateTime<Utc>,
) -> Option<String> {
    let in_flight = goal.in_flight.take();
    let (number, started_at, wrap_up) = in_flight
        .as_ref()
        .map_or((goal.iterations, now, false), |f| {
            (f.iteration, f.started_at, f.wrap_up)
        });
    goal.updated_at = now;
    goal.last_outcome = Some(ended.outcome);
    goal.last_error = ended.error.clone();
    goal.last_run_id = in_flight.map(|f| f.run_id);
    goal.next_run_at = None;
    let at = |wait: Duration| Some(now + chrono::Duration::from_std(wait).unwrap_or_default());

    if ended.outcome == IterationOutcome::Interrupted {
        // Due again at once: the iteration did not get to its end. A cut
        // wrap-up is redone while the goal is still in progress.
        if goal.status == GoalStatus::InProgress {
            goal.next_run_at = Some(now);
            goal.status_reason = Some(format!(
                "iteration {number} was interrupted by a stop of alice; due again at start"
            ));
        }
        return None;
    }
    if wrap_up {
        if goal.status.unfinished() {
            goal.status = GoalStatus::Timeout;
            goal.status_reason = Some("the deadline passed; the wrap-up iteration ran".into());
        }
        return None;
    }
    if goal.status != GoalStatus::InProgress {
        return None;
    }
    if goal.iterations.saturating_sub(goal.iterations_at_resume) >= config.max_iterations {
        goal.status = GoalStatus::Paused;
        goal.status_reason = Some(format!(
            "paused after {} iterations (goal.max_iterations); resume it to go on",
            config.max_iterations
        ));
        return None;
    }
    if ended.outcome != IterationOutcome::Succeeded {
        goal.failures += 1;
        goal.fast_iterations = 0;
        let wait = backoff(goal.failures);
        goal.next_run_at = at(wait);
        goal.status_reason = Some(format!(
            "iteration {number} failed ({}); retrying in {}",
            ended.error.as_deref().unwrap_or("no error given"),
            format_span(wait)
        ));
        return None;
    }
    goal.failures = 0;
    let declared = goal
        .last_delay
        .as_ref()
        .filter(|d| d.at >= started_at)
        .and_then(|d| parse_span(&d.duration));
    let Some(wait) = declared else {
        goal.fast_iterations = 0;
        goal.next_run_at = at(config.default_delay.get());
        goal.status_reason = Some(format!(
            "iteration {number} declared no delay; the next one follows after the default {}",
            format_span(config.default_delay.get())
        ));
        return None;
    };
    if wait.is_zero() && ended.elapsed < FAST {
        goal.fast_iterations += 1;
    } else {
        goal.fast_iterations = 0;
    }
    if goal.fast_iterations >= RUNAWAY_AFTER {
        goal.fast_iterations = 0;
        let pause = config.runaway_pause.get();
        goal.next_run_at = at(pause);
        let why = format!(
            "runaway guard: {RUNAWAY_AFTER} fast 0s iterations in a row; waiting {} before the next",
            format_span(pause)
        );
        goal.status_reason = Some(why.clone());
        return Some(why);
    }
    goal.next_run_at = at(wait);
    goal.status_reason = None;
    None
}

/// 1 min after the first failure, doubling up to 1 h.
fn backoff(failures: u32) -> Duration {
    let doubled = FIRST_BACKOFF.saturating_mul(1u32 << failures.saturating_sub(1).min(10));
    doubled.min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_a_minute_to_an_hour() {
        let secs: Vec<u64> = (1..=9).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(secs, [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
        assert_eq!(backoff(u32::MAX).as_secs(), 3600);
    }
}
