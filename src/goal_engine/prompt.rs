//! What the agent is told at each iteration of a goal.

use crate::chat::{build_prompt, Turn};
use crate::config::format_span;
use crate::goal::Goal;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// The continue prompt (or, after the deadline, the wrap-up prompt), after
/// the conversation's recent history.
pub fn iteration_prompt(
    goal: &Goal,
    history: &[Turn],
    wrap_up: bool,
    now: DateTime<Utc>,
    tz: Tz,
    delays: (std::time::Duration, std::time::Duration),
) -> String {
    let local = |t: DateTime<Utc>| t.with_timezone(&tz).to_rfc3339();
    let span = |d: chrono::Duration| format_span(d.to_std().unwrap_or_default());
    let iteration = goal
        .in_flight
        .as_ref()
        .map_or(goal.iterations, |f| f.iteration);
    let last_delay = match &goal.last_delay {
        Some(d) => format!("{} ({})", d.duration, d.reason),
        None => "none declared yet".into(),
    };
    let mut text = format!(
        "[Goal {id}, iteration {iteration}]\n\
         Objective: {objective}\n\
         Now: {now}\n\
         Deadline: {deadline} ({remaining} left; {elapsed} since the goal was set)\n\
         Last declared delay: {last_delay}\n\n",
        id = goal.id,
        objective = goal.description,
        now = local(now),
        deadline = local(goal.deadline_at),
        remaining = span((goal.deadline_at - now).max(chrono::Duration::zero())),
        elapsed = span(now - goal.created_at),
    );
    if wrap_up {
        text.push_str(
            "Time is up: the deadline has passed and this is the last iteration. Do not start \
             new work. Summarise what was done, what is left, and what the user should do next.",
        );
    } else {
        text.push_str(&format!(
            "Work on the objective now, one step. End every iteration with\n  \
             alice runtime goal delay <duration> \"<reason>\"\n\
             (\"0s\" to go on at once, or {} to {}: how long to wait before the next \
             iteration, and why), or, once the objective is met and checked,\n  \
             alice runtime goal complete\n\
             (`alice` is \"$ALICE_RUNTIME_BIN\"; skills/alice-goal/scripts/goal.sh takes the \
             same arguments.) What you print is sent to the conversation.",
            format_span(delays.0),
            format_span(delays.1)
        ));
    }
    build_prompt(history, &text)
}
