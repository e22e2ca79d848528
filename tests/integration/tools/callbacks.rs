//! Callbacks: delivery to a loopback receiver (test switch), the URL guard
//! at request and at delivery, redirects, bounded answers, counting.

use super::*;
use crate::common::*;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// (path, `X-Secret`, JSON body) of one received request.
type Received = (String, Option<String>, Value);

/// A callback receiver on loopback: records every request's headers and
/// body; `/redirect` answers 307 to `/hook`, `/endless` a body that never
/// ends.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
    /// Bytes of endless answers produced so far.
    sent: Arc<AtomicUsize>,
    handle: actix_web::dev::ServerHandle,
}

impl Receiver {
    fn start() -> Self {
        let got = Arc::new(Mutex::new(Vec::new()));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let sent = Arc::new(AtomicUsize::new(0));
        let data = web::Data::from(got.clone());
        let counter = web::Data::from(sent.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(counter.clone())
                .default_service(web::to(
                    |req: HttpRequest,
                     body: web::Bytes,
                     got: web::Data<Mutex<Vec<Received>>>,
                     sent: web::Data<AtomicUsize>| async move {
                        let secret = req
                            .headers()
                            .get("x-secret")
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned);
                        let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        got.lock()
                            .unwrap()
                            .push((req.path().to_string(), secret, json));
                        if req.path() == "/endless" {
                            let chunk = web::Bytes::from_static(&[b'x'; 8192]);
                            let body = futures_util::stream::repeat_with(move || {
                                sent.fetch_add(chunk.len(), Ordering::Relaxed);
                                Ok::<_, actix_web::Error>(chunk.clone())
                            });
                            return HttpResponse::Ok().streaming(body);
                        }
                        if req.path() == "/redirect" {
                            return HttpResponse::TemporaryRedirect()
                                .insert_header(("location", "/hook"))
                                .finish();
                        }
                        HttpResponse::Ok().body("thanks")
                    },
                ))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            url: format!("http://127.0.0.1:{port}"),
            got,
            sent,
            handle,
        }
    }

    fn port(&self) -> u16 {
        self.url.rsplit(':').next().unwrap().parse().unwrap()
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    async fn stop(self) {
        self.handle.stop(false).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_reach_a_loopback_receiver_with_the_test_switch() {
    let h = tools_bot(
        "callback_allow_loopback = true\ntimeout_secs = 1",
        "lines.sh",
    )
    .await;
    tool_skill(&h, "alpha", "echo", ECHO);
    tool_skill(
        &h,
        "alpha",
        "slow",
        "#!/bin/sh\ncat > /dev/null\nsleep 30\n",
    );
    let receiver = Receiver::start();
    let (url, token) = (h.url("alpha"), h.token("alpha").await);
    let hook = format!("{}/hook", receiver.url);

    let (status, body) = invoke(
        &url,
        &token,
        json!({"tool_name": "echo", "args": {"word": "later"},
        "callback": {"enabled": true, "url": hook, "headers": {"X-Secret": "s3"}}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["ok"], &body["status"], &body["tool_name"]),
        (&json!(true), &json!("accepted"), &json!("echo")),
        "{body}"
    );
    let request_id = body["request_id"].as_str().unwrap().to_string();
    eventually("the callback arrives", || async {
        !receiver.got().is_empty()
    })
    .await;
    let (path, secret, got) = receiver.got()[0].clone();
    assert_eq!((path.as_str(), secret.as_deref()), ("/hook", Some("s3")));
    assert_eq!(got["request_id"], request_id);
    assert_eq!(got["tool_name"], "echo");
    assert_eq!(got["ok"], true);
    assert_eq!(got["result"]["args"]["word"], "later", "{got}");
    assert!(
        got["duration_ms"].as_f64().is_some() && got["error"].is_null(),
        "{got}"
    );

    // A failure is delivered too, as `ok: false`.
    let (_, body) = invoke(
        &url,
        &token,
        json!({"tool_name": "slow", "args": {},
        "callback": {"enabled": true, "url": hook}}),
    )
    .await;
    assert_eq!(body["status"], "accepted", "{body}");
    eventually("the failure arrives", || async {
        receiver.got().len() == 2
    })
    .await;
    let (_, _, got) = receiver.got()[1].clone();
    assert_eq!(
        (&got["ok"], &got["error"]),
        (&json!(false), &json!("Execution timed out after 1s")),
        "{got}"
    );
    assert!(got["result"].is_null(), "{got}");

    // `enabled: false` is a synchronous call.
    let (_, body) = invoke(
        &url,
        &token,
        json!({"tool_name": "echo", "args": {},
        "callback": {"enabled": false}}),
    )
    .await;
    assert_eq!(body["ok"], true, "{body}");
    assert!(body.get("status").is_none(), "{body}");

    // The switch allows loopback only.
    let (status, body) = invoke(
        &url,
        &token,
        json!({"tool_name": "echo", "args": {},
        "callback": {"enabled": true, "url": "http://10.0.0.1/hook"}}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_callback")),
        "{body}"
    );
    receiver.stop().await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callback_urls_that_are_not_public_are_refused() {
    let h = tools_bot("", "lines.sh").await;
    let (url, token) = (h.url("alpha"), h.token("alpha").await);
    for target in [
        "http://127.0.0.1/hook",
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[fe80::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://192.168.1.10:8080/hook",
        "http://[fd00::1]/hook",
        "http://[ff02::1]/hook",
        "ftp://example.com/hook",
        "not a url",
        "",
    ] {
        let (status, body) = invoke(
            &url,
            &token,
            json!({"tool_name": "goal.get", "args": {},
            "callback": {"enabled": true, "url": target}}),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("invalid_callback")),
            "{target}: {body}"
        );
    }
    let (status, body) = invoke(&url, &token, json!({"tool_name": "goal.get", "args": {},
        "callback": {"enabled": true, "url": "https://example.com/hook", "headers": {"Bad Name": "x"}}})).await;
    assert_eq!(status, 400, "{body}");
    // A name passes the request's check (it is resolved at delivery).
    let (status, body) = invoke(
        &url,
        &token,
        json!({"tool_name": "goal.get", "args": {},
        "callback": {"enabled": true, "url": "http://localhost:9/hook"}}),
    )
    .await;
    assert_eq!(
        (status, &body["status"]),
        (200, &json!("accepted")),
        "{body}"
    );
    h.stop().await;
}

/// A name that resolves to loopback is refused when the result is
/// delivered; redirects are never followed; an answer is read only so far.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_refuses_names_resolving_to_loopback_follows_no_redirect_reads_a_bounded_answer() {
    use alice::tools::callback::{check, deliver, CallbackError};
    use std::collections::BTreeMap;
    use std::time::Duration;
    let receiver = Receiver::start();
    let none = BTreeMap::new();
    let body = json!({"ok": true});
    let wait = Duration::from_secs(10);

    let by_name = check(
        &format!("http://localhost:{}/hook", receiver.port()),
        &none,
        false,
    )
    .expect("a name passes");
    match deliver(&by_name, &body, wait).await {
        Err(CallbackError::Refused(ip)) => assert!(ip.is_loopback(), "{ip}"),
        other => panic!("delivered to a name resolving to loopback: {other:?}"),
    }
    assert!(receiver.got().is_empty(), "{:?}", receiver.got());

    // With the test switch the same name is delivered (the check is real).
    let allowed = check(
        &format!("http://localhost:{}/hook", receiver.port()),
        &none,
        true,
    )
    .unwrap();
    assert_eq!(deliver(&allowed, &body, wait).await.unwrap(), 200);
    assert_eq!(receiver.got().len(), 1);

    let redirect = check(&format!("{}/redirect", receiver.url), &none, true).unwrap();
    assert!(matches!(
        deliver(&redirect, &body, wait).await,
        Err(CallbackError::Status(307))
    ));
    let paths: Vec<String> = receiver.got().into_iter().map(|(p, _, _)| p).collect();
    assert_eq!(
        paths,
        ["/hook", "/redirect"],
        "the redirect was not followed"
    );

    // Of an answer that never ends only so much is read (then the
    // connection is dropped): what was produced is bounded by socket
    // buffers, not by what the timeout lets through.
    let endless = check(&format!("{}/endless", receiver.url), &none, true).unwrap();
    assert_eq!(
        deliver(&endless, &body, Duration::from_secs(20))
            .await
            .unwrap(),
        200
    );
    let sent = receiver.sent.load(Ordering::Relaxed);
    assert!(sent < 32 << 20, "{sent} bytes were read");
    receiver.stop().await;
}

/// The bot's own tool service counts what it delivers and what it refuses:
/// `localhost` is refused at delivery without the test switch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bots_tool_service_counts_refused_and_delivered_callbacks() {
    use alice::bot::{BotState, Host};
    use alice::tools::{CallbackCounts, Invocation};
    let receiver = Receiver::start();
    let dir = TestDir::new();
    let sup = supervisor_toml(free_ports(1), free_ports(2));
    dir.write_config(&format!(
        "{sup}[bots.alpha]\n{}[bots.beta]\n{}",
        tools_toml("alpha", ""),
        tools_toml("beta", "callback_allow_loopback = true")
    ));
    let config = dir.load();
    let data = dir.path().join("data");
    let store = alice::store::Store::open(&data).expect("store");
    let host = Host::new(store, data, alice::runtime_api::serve);
    let done = Invocation {
        request_id: "r-1".into(),
        tool_name: "echo".into(),
        result: Ok(json!("hi")),
        duration_ms: 1.5,
    };
    let hook = format!("http://localhost:{}/hook", receiver.port());
    let none = std::collections::BTreeMap::new();

    let alpha = BotState::open(std::sync::Arc::new(config.bots[0].clone()), &host)
        .await
        .expect("alpha opens");
    let target = alpha
        .tools()
        .callback_target(&hook, &none)
        .expect("a name passes the check");
    assert!(alpha.tools().deliver(&target, &done).await.is_err());
    assert_eq!(
        alpha.tools().callback_counts(),
        CallbackCounts {
            delivered: 0,
            failed: 1
        }
    );
    assert!(receiver.got().is_empty(), "{:?}", receiver.got());

    let beta = BotState::open(std::sync::Arc::new(config.bots[1].clone()), &host)
        .await
        .expect("beta opens");
    let target = beta.tools().callback_target(&hook, &none).unwrap();
    beta.tools()
        .deliver(&target, &done)
        .await
        .expect("delivered");
    assert_eq!(
        beta.tools().callback_counts(),
        CallbackCounts {
            delivered: 1,
            failed: 0
        }
    );
    let (path, _, body) = receiver.got()[0].clone();
    assert_eq!(path, "/hook");
    assert_eq!(
        body,
        json!({"request_id": "r-1", "tool_name": "echo", "ok": true, "result": "hi",
            "duration_ms": 1.5, "error": null})
    );
    receiver.stop().await;
}
