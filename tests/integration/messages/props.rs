//! The multipart path as a property: whatever form arrives — any part
//! names, file names, bytes, or no form at all — the bot answers 200 or a
//! JSON 400/413 naming the problem (never a 5xx), and every file it keeps
//! is a plain file directly in its files folder, under a clean name.

use super::support::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

#[derive(Debug, Clone)]
enum Upload {
    /// A form built from parts (field name, file name, bytes).
    Form(Vec<(String, Option<String>, Vec<u8>)>),
    /// Bytes sent as `multipart/form-data` with the test boundary.
    Raw(Vec<u8>),
}

fn file_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "(?s).{0,40}",
        "[./\\\\a-z报告 *:?<>|\u{202e}\u{200b}-]{0,40}",
        "(\\.\\./){1,4}[a-z]{1,8}\\.(txt|sh|png)",
        "\\*=UTF-8''[%A-F0-9a-z.]{0,30}",
    ]
}

fn upload() -> impl Strategy<Value = Upload> {
    let field = prop_oneof![
        Just("file".to_string()),
        Just("image".to_string()),
        Just("filename".to_string()),
        Just("caption".to_string()),
        "[a-z]{0,8}",
    ];
    let part = (
        field,
        prop::option::of(file_name()),
        prop::collection::vec(any::<u8>(), 0..64),
    );
    prop_oneof![
        3 => prop::collection::vec(part, 0..4).prop_map(Upload::Form),
        1 => prop::collection::vec(any::<u8>(), 0..200).prop_map(Upload::Raw),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_multipart_body_is_stored_cleanly_or_refused_with_json() {
    let (dir, app, apis) = start(
        "[bots.alpha]\n[bots.alpha.limits]\nrequests_per_minute = 100000\n",
        &["alpha"],
    )
    .await;
    let alpha = &apis[0];
    let handle = tokio::runtime::Handle::current();
    // PROPTEST_CASES (scripts/faults/run) makes the run longer.
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(96);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let accepted = std::sync::atomic::AtomicUsize::new(0);
    let result = tokio::task::block_in_place(|| {
        runner.run(&(upload(), prop::bool::ANY), |(upload, image)| {
            let route = if image { "image" } else { "file" };
            let (status, body) = handle.block_on(async {
                match &upload {
                    Upload::Form(parts) => {
                        let parts: Vec<PartSpec<'_>> = parts
                            .iter()
                            .map(|(n, f, b)| (n.as_str(), f.as_deref(), b.as_slice()))
                            .collect();
                        alpha.post(route, &[CHAT], &parts).await
                    }
                    Upload::Raw(bytes) => {
                        let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
                        alpha
                            .post_raw(route, &[CHAT], &content_type, bytes.clone().into())
                            .await
                    }
                }
            });
            match status {
                200 => {
                    accepted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    prop_assert!(body["message_id"].is_string(), "{body}");
                }
                400 | 413 => {
                    prop_assert!(body["error"].is_string(), "{body}");
                    prop_assert!(body["code"].is_string(), "{body}");
                }
                other => prop_assert!(false, "{other} for {upload:?}: {body}"),
            }
            Ok(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }

    // Every page: a long run (PROPTEST_CASES) keeps more than one.
    let mut log = Vec::new();
    loop {
        let path = format!(
            "/api/bots/alpha/conversations/oc_demo/messages?limit=200&offset={}",
            log.len()
        );
        let (status, page) = app.admin_get(&path).await;
        assert_eq!(status, 200, "{page}");
        let page = page.as_array().expect("array").clone();
        if page.is_empty() {
            break;
        }
        log.extend(page);
    }
    let names: Vec<&str> = log.iter().filter_map(|m| m["file_name"].as_str()).collect();
    assert_eq!(names.len(), accepted.into_inner(), "one kept file per 200");
    for name in &names {
        assert!(
            !name.is_empty()
                && name.len() <= 120
                && !name.starts_with('.')
                && !name.contains(['/', '\\'])
                && !name.chars().any(char::is_control),
            "{name:?}"
        );
    }
    let files = dir.path().join("data/alpha/files");
    let kept: Vec<_> = files_under(dir.path())
        .into_iter()
        .filter(|p| p.starts_with(&files))
        .collect();
    assert_eq!(kept.len(), names.len());
    for path in kept {
        assert_eq!(path.parent(), Some(files.as_path()), "{}", path.display());
    }
    app.stop().await;
}
