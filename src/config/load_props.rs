//! Property tests of the config loader: whatever a file holds, loading
//! answers a config or one `ConfigError` (never a panic), a wrong value at a
//! known key is named by that key, and bots get ports in file order.

use super::load::load;
use proptest::prelude::*;
use std::path::PathBuf;

fn loaded(
    text: &str,
) -> (
    tempfile::TempDir,
    PathBuf,
    Result<super::Config, super::ConfigError>,
) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bots.toml");
    std::fs::write(&path, text).expect("write bots.toml");
    let result = load(&path);
    (dir, path, result)
}

/// Keys of every numeric, boolean or enum type, by the table they sit in
/// (`{bot}` stands for the bot's id).
const TYPED_KEYS: &[(&str, &str)] = &[
    ("supervisor", "base_port"),
    ("supervisor", "max_concurrent_runs"),
    ("supervisor", "requests_per_minute"),
    ("supervisor", "allow_non_loopback"),
    ("bots.{bot}", "workers"),
    ("bots.{bot}", "enabled"),
    ("bots.{bot}", "runtime_api_shutdown_timeout_secs"),
    ("bots.{bot}", "timezone"),
    ("bots.{bot}.limits", "requests_per_minute"),
    ("bots.{bot}.limits", "body_bytes"),
    ("bots.{bot}.limits", "max_connections"),
    ("bots.{bot}.connector", "kind"),
    ("bots.{bot}.connector", "request_timeout_secs"),
    ("bots.{bot}.permissions", "runtime_goal"),
];

/// Values that no key above takes: wrong types, negatives, unknown names.
const BAD_VALUES: &[&str] = &[
    "\"not-a-value\"",
    "-1",
    "[1, 2]",
    "{ a = 1 }",
    "1.5",
    "1979-05-27T07:32:00Z",
];

fn bot_id() -> impl Strategy<Value = String> {
    "[a-z0-9][a-z0-9_-]{0,11}"
}

/// TOML-shaped text from the loader's own vocabulary: tables and keys it
/// knows or nearly knows, values of every type.
fn toml_ish() -> impl Strategy<Value = String> {
    let table = prop_oneof![
        Just("[supervisor]".to_string()),
        bot_id().prop_map(|id| format!("[bots.{id}]")),
        (
            bot_id(),
            prop::sample::select(vec![
                "limits",
                "agent",
                "connector",
                "chat",
                "goal",
                "tools",
                "automation",
                "nope"
            ])
        )
            .prop_map(|(id, t)| format!("[bots.{id}.{t}]")),
    ];
    let key = prop::sample::select(vec![
        "kind",
        "command",
        "workers",
        "enabled",
        "base_port",
        "admin_addr",
        "timezone",
        "requests_per_minute",
        "deadline",
        "bot_token",
        "events",
        "every",
        "x",
        "data_dir",
    ]);
    let value = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        "[a-zA-Z0-9:./ _-]{0,20}".prop_map(|s| format!("{s:?}")),
        Just("[\"sh\", \"-c\", \"true\"]".to_string()),
        Just("{ a = 1 }".to_string()),
        prop::sample::select(BAD_VALUES.to_vec()).prop_map(str::to_string),
    ];
    let line = prop_oneof![
        table,
        (key, value).prop_map(|(k, v)| format!("{k} = {v}")),
        "[^\n]{0,30}",
    ];
    prop::collection::vec(line, 0..16).prop_map(|lines| lines.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_text_loads_or_fails_with_one_error(text in "(?s).{0,300}") {
        let (_dir, path, result) = loaded(&text);
        if let Err(e) = result {
            prop_assert_eq!(&e.file, &path);
            prop_assert!(e.to_string().starts_with("invalid config "));
        }
    }

    #[test]
    fn toml_shaped_text_fails_naming_a_key_the_file_wrote(text in toml_ish()) {
        let (_dir, _path, result) = loaded(&text);
        if let Err(e) = result {
            // The key at fault is one the file wrote (or the table holding it).
            if let Some(key) = &e.key {
                let last = key.rsplit('.').next().unwrap_or_default();
                prop_assert!(text.contains(last), "key {key:?} for {text:?}");
            }
        }
    }

    #[test]
    fn a_bad_value_is_named_by_its_key(
        ids in prop::collection::btree_set(bot_id(), 1..4),
        which in 0..TYPED_KEYS.len(),
        bad in prop::sample::select(BAD_VALUES.to_vec()),
        pick in any::<prop::sample::Index>(),
    ) {
        let ids: Vec<String> = ids.into_iter().collect();
        let bot = pick.get(&ids).clone();
        let (table, key) = TYPED_KEYS[which];
        let table = table.replace("{bot}", &bot);
        let mut text = String::new();
        let line = format!("{key} = {bad}\n");
        for id in &ids {
            text.push_str(&format!("[bots.{id}]\n"));
            if table == format!("bots.{id}") {
                text.push_str(&line);
            }
        }
        if table != format!("bots.{bot}") {
            text.push_str(&format!("[{table}]\n{line}"));
        }
        let (_dir, _path, result) = loaded(&text);
        let e = result.expect_err("a bad value must be refused");
        let expected = format!("{table}.{key}");
        // An enum given a table names the variant it tried too (`kind.a`).
        let key = e.key.clone().unwrap_or_default();
        prop_assert!(key == expected || key.starts_with(&format!("{expected}.")), "{}", e);
        let named = format!("key `{expected}");
        prop_assert!(e.to_string().contains(&named), "{}", e);
    }

    #[test]
    fn an_unknown_key_is_refused_by_name(
        id in bot_id(),
        table in prop::sample::select(vec!["", ".limits", ".agent", ".connector", ".goal", ".tools"]),
        key in "zz[a-z_]{1,10}",
    ) {
        let text = format!("[bots.{id}{table}]\n{key} = 1\n");
        let (_dir, _path, result) = loaded(&text);
        let e = result.expect_err("an unknown key must be refused");
        prop_assert!(e.to_string().contains(&key), "{}", e);
    }

    #[test]
    fn bots_get_ports_in_file_order(ids in prop::collection::vec(bot_id(), 1..8)) {
        let mut unique = Vec::new();
        for id in ids {
            if !unique.contains(&id) {
                unique.push(id);
            }
        }
        let text: String = unique.iter().map(|id| format!("[bots.{id}]\n")).collect();
        let (_dir, _path, result) = loaded(&text);
        let config = result.map_err(|e| TestCaseError::fail(e.to_string()))?;
        let got: Vec<&str> = config.bots.iter().map(|b| b.id.as_str()).collect();
        prop_assert_eq!(got, unique.iter().map(String::as_str).collect::<Vec<_>>());
        for (i, bot) in config.bots.iter().enumerate() {
            let port = bot.addr.map(|a| a.port());
            prop_assert_eq!(port, Some(7331 + i as u16));
        }
    }
}
