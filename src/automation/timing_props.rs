//! Property tests of the schedule parser: any text parses or fails with a
//! message naming `cron`, never a panic; the next due time of a generated
//! crontab is the first matching minute after now (checked by brute force);
//! intervals land on their grid.

use super::timing::{next_cron, next_every, parse_cron};
use chrono::{DateTime, Duration, TimeZone, Timelike, Utc};
use proptest::prelude::*;

/// A minute or hour field: `*`, a value, a range, a step or a list.
fn field(max: u32) -> impl Strategy<Value = (String, Vec<u32>)> {
    let all = move || (0..=max).collect::<Vec<u32>>();
    prop_oneof![
        Just(("*".to_string(), all())),
        (0..=max).prop_map(|v| (v.to_string(), vec![v])),
        (0..=max, 0..=max).prop_map(|(a, b)| {
            let (a, b) = (a.min(b), a.max(b));
            (format!("{a}-{b}"), (a..=b).collect())
        }),
        (1..=max).prop_map(move |n| (format!("*/{n}"), (0..=max).step_by(n as usize).collect())),
        prop::collection::btree_set(0..=max, 1..4).prop_map(|set| {
            let text: Vec<String> = set.iter().map(u32::to_string).collect();
            (text.join(","), set.into_iter().collect())
        }),
    ]
}

fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    // 2001 to 2099, to the second.
    (978_307_200i64..4_102_444_800)
        .prop_map(|s| Utc.timestamp_opt(s, 0).single().expect("in range"))
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_text_parses_or_names_cron(text in "(?s).{0,40}") {
        if let Err(e) = parse_cron(&text) {
            prop_assert!(e.starts_with("`cron`"), "{e}");
        }
    }

    #[test]
    fn cron_shaped_text_parses_or_names_cron(
        fields in prop::collection::vec("[0-9*/,-]{1,6}|[A-Za-z]{3}|@[a-z]{4,8}", 0..7)
    ) {
        if let Err(e) = parse_cron(&fields.join(" ")) {
            prop_assert!(e.starts_with("`cron`"), "{e}");
        }
    }

    #[test]
    fn the_next_time_is_the_first_matching_minute(
        (minute, minutes) in field(59),
        (hour, hours) in field(23),
        after in instant(),
    ) {
        let expr = format!("{minute} {hour} * * *");
        let cron = parse_cron(&expr).map_err(TestCaseError::fail)?;
        let next = next_cron(&cron, chrono_tz::UTC, after).expect("a daily crontab always fires");
        // Brute force: every minute after `after`, for one day.
        let start = after.with_second(0).expect("second 0") + Duration::minutes(1);
        let expected = (0..=24 * 60)
            .map(|m| start + Duration::minutes(m))
            .find(|t| minutes.contains(&t.minute()) && hours.contains(&t.hour()));
        prop_assert_eq!(Some(next), expected, "{} after {}", expr, after);
    }

    #[test]
    fn the_next_time_is_later_and_on_the_minute_in_any_zone(
        (minute, minutes) in field(59),
        (hour, _) in field(23),
        dom in prop_oneof![Just("*".to_string()), (1u32..=28).prop_map(|d| d.to_string())],
        zone in prop::sample::select(vec!["UTC", "Asia/Shanghai", "America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Lord_Howe"]),
        after in instant(),
    ) {
        let tz: chrono_tz::Tz = zone.parse().expect("a known zone");
        let cron = parse_cron(&format!("{minute} {hour} {dom} * *")).map_err(TestCaseError::fail)?;
        let next = next_cron(&cron, tz, after).expect("fires within a year");
        prop_assert!(next > after);
        prop_assert_eq!(next.second(), 0);
        prop_assert!(minutes.contains(&next.with_timezone(&tz).minute()));
    }

    #[test]
    fn macros_are_their_crontabs_in_any_case(
        which in prop::sample::select(vec![("@hourly", "0 * * * *"), ("@daily", "0 0 * * *"), ("@weekly", "0 0 * * 0"), ("@monthly", "0 0 1 * *"), ("@yearly", "0 0 1 1 *")]),
        upper in prop::collection::vec(any::<bool>(), 8),
        after in instant(),
    ) {
        let (name, crontab) = which;
        let spelled: String = name.chars().zip(upper.iter().cycle())
            .map(|(c, up)| if *up { c.to_ascii_uppercase() } else { c }).collect();
        let a = parse_cron(&spelled).map_err(TestCaseError::fail)?;
        let b = parse_cron(crontab).map_err(TestCaseError::fail)?;
        prop_assert_eq!(next_cron(&a, chrono_tz::UTC, after), next_cron(&b, chrono_tz::UTC, after));
    }

    #[test]
    fn intervals_land_on_their_grid(
        anchor in instant(),
        every in 1u64..100_000,
        offset in -1_000_000i64..10_000_000,
    ) {
        let after = anchor + Duration::seconds(offset);
        let next = next_every(anchor, every, after);
        prop_assert!(next > after);
        prop_assert!(next > anchor);
        let step = Duration::seconds(every as i64);
        prop_assert!(next - after <= step || after < anchor);
        prop_assert_eq!((next - anchor).num_seconds() % every as i64, 0);
    }
}
