//! A fake Feishu Open Platform on an ephemeral loopback port: real HTTP,
//! recording every call. It issues tenant tokens `t-1`, `t-2`, …, checks
//! them on every other call, deduplicates messages by `uuid` as Feishu does,
//! and answers with injected faults when a test asks for them.

use actix_multipart::Multipart;
use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use futures_util::StreamExt;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const APP_ID: &str = "cli_test_app";
pub const APP_SECRET: &str = "test-secret";
const TOKEN_PATH: &str = "/open-apis/auth/v3/tenant_access_token/internal";

#[derive(Debug, Clone)]
pub struct Part {
    pub filename: Option<String>,
    pub bytes: Vec<u8>,
}

impl Part {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// One request as the fake received it.
#[derive(Debug, Clone)]
pub struct Call {
    pub path: String,
    pub query: HashMap<String, String>,
    pub authorization: Option<String>,
    pub json: Value,
    pub form: BTreeMap<String, Part>,
}

impl Call {
    /// The message's `content`, which Feishu wants as a JSON *string*.
    pub fn content(&self) -> Value {
        let text = self.json["content"]
            .as_str()
            .unwrap_or_else(|| panic!("content is not a string: {}", self.json));
        serde_json::from_str(text).expect("content holds JSON")
    }
}

#[derive(Debug, Clone)]
pub enum Fault {
    /// HTTP `status` with code 99991400 and `x-ogw-ratelimit-reset: reset`.
    Throttle { status: u16, reset: &'static str },
    /// A refusal with Feishu's code and message.
    Refuse {
        status: u16,
        code: i64,
        msg: &'static str,
    },
    /// Answer normally, but only after this long.
    Delay(Duration),
}

#[derive(Default)]
struct Shared {
    calls: Vec<Call>,
    faults: VecDeque<(String, Fault)>,
    issued: u32,
    valid_tokens: HashSet<String>,
    /// uuid → message id, as Feishu's idempotency.
    by_uuid: HashMap<String, String>,
    next: u64,
}

pub struct FakeFeishu {
    pub base_url: String,
    shared: Arc<Mutex<Shared>>,
    handle: ServerHandle,
}

impl FakeFeishu {
    pub fn start() -> Self {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind fake feishu");
        let base_url = format!("http://{}", listener.local_addr().expect("addr"));
        let data = web::Data::from(shared.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(handle))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .expect("listen")
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            base_url,
            shared,
            handle,
        }
    }

    /// The `[bots.<id>.connector]` table pointing at this fake.
    pub fn connector_toml(&self, bot: &str, extra: &str) -> String {
        format!(
            "[bots.{bot}.connector]\nkind = \"feishu\"\napp_id = \"{APP_ID}\"\napp_secret = \"{APP_SECRET}\"\nbase_url = \"{}\"\n{extra}\n",
            self.base_url
        )
    }

    pub fn calls(&self) -> Vec<Call> {
        self.shared.lock().unwrap().calls.clone()
    }

    /// Calls whose path is exactly `path`.
    pub fn calls_to(&self, path: &str) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.path == path)
            .collect()
    }

    pub fn token_calls(&self) -> usize {
        self.calls_to(TOKEN_PATH).len()
    }

    /// Every message call (send or reply), in order.
    pub fn message_calls(&self) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.path.starts_with("/open-apis/im/v1/messages"))
            .collect()
    }

    /// Distinct messages that reached a conversation.
    pub fn delivered(&self) -> usize {
        self.shared.lock().unwrap().by_uuid.len()
    }

    /// Every token issued so far stops working (as after an expiry).
    pub fn revoke_tokens(&self) {
        self.shared.lock().unwrap().valid_tokens.clear();
    }

    /// The next call to `path` gets `fault`.
    pub fn inject(&self, path: &str, fault: Fault) {
        self.shared
            .lock()
            .unwrap()
            .faults
            .push_back((path.to_string(), fault));
    }

    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

async fn handle(
    req: HttpRequest,
    body: web::Payload,
    shared: web::Data<Mutex<Shared>>,
) -> HttpResponse {
    let call = read_call(&req, body).await;
    let fault = {
        let mut s = shared.lock().unwrap();
        s.calls.push(call.clone());
        let at = s.faults.iter().position(|(p, _)| *p == call.path);
        at.and_then(|i| s.faults.remove(i)).map(|(_, f)| f)
    };
    match fault {
        Some(Fault::Throttle { status, reset }) => {
            return HttpResponse::build(status_code(status))
                .insert_header(("x-ogw-ratelimit-reset", reset))
                .json(json!({"code": 99991400, "msg": "request trigger frequency limit"}))
        }
        Some(Fault::Refuse { status, code, msg }) => {
            return HttpResponse::build(status_code(status)).json(json!({"code": code, "msg": msg}))
        }
        Some(Fault::Delay(d)) => tokio::time::sleep(d).await,
        None => {}
    }
    let mut s = shared.lock().unwrap();
    if call.path == TOKEN_PATH {
        if call.json != json!({"app_id": APP_ID, "app_secret": APP_SECRET}) {
            return ok(json!({"code": 10014, "msg": "app secret invalid"}));
        }
        s.issued += 1;
        let token = format!("t-{}", s.issued);
        s.valid_tokens.insert(token.clone());
        return ok(json!({"code": 0, "msg": "ok", "tenant_access_token": token, "expire": 7200}));
    }
    let token = call
        .authorization
        .as_deref()
        .and_then(|a| a.strip_prefix("Bearer "));
    if !token.is_some_and(|t| s.valid_tokens.contains(t)) {
        return HttpResponse::BadRequest().json(json!({"code": 99991663,
            "msg": "Invalid access token for authorization. Please make a request with token attached."}));
    }
    s.next += 1;
    let n = s.next;
    match call.path.as_str() {
        "/open-apis/im/v1/images" => {
            ok(json!({"code": 0, "msg": "success", "data": {"image_key": format!("img_v3_{n}")}}))
        }
        "/open-apis/im/v1/files" => {
            ok(json!({"code": 0, "msg": "success", "data": {"file_key": format!("file_v3_{n}")}}))
        }
        p if p.starts_with("/open-apis/im/v1/messages") => {
            let uuid = call.json["uuid"].as_str().unwrap_or_default().to_string();
            let id = s
                .by_uuid
                .entry(uuid)
                .or_insert_with(|| format!("om_fake{n}"))
                .clone();
            ok(
                json!({"code": 0, "msg": "success", "data": {"message_id": id, "msg_type": call.json["msg_type"]}}),
            )
        }
        _ => HttpResponse::NotFound().json(json!({"code": 404, "msg": "404 page not found"})),
    }
}

fn ok(body: Value) -> HttpResponse {
    HttpResponse::Ok().json(body)
}

fn status_code(status: u16) -> actix_web::http::StatusCode {
    actix_web::http::StatusCode::from_u16(status).expect("status")
}

async fn read_call(req: &HttpRequest, mut body: web::Payload) -> Call {
    let query = web::Query::<HashMap<String, String>>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .unwrap_or_default();
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let mut call = Call {
        path: req.path().to_string(),
        query,
        authorization: header("authorization"),
        json: Value::Null,
        form: BTreeMap::new(),
    };
    if header("content-type").is_some_and(|c| c.starts_with("multipart/form-data")) {
        let mut multipart = Multipart::new(req.headers(), body);
        while let Some(Ok(mut field)) = multipart.next().await {
            let name = field.name().unwrap_or_default().to_string();
            let filename = field
                .content_disposition()
                .and_then(|cd| cd.get_filename())
                .map(str::to_owned);
            let mut bytes = Vec::new();
            while let Some(Ok(chunk)) = field.next().await {
                bytes.extend_from_slice(&chunk);
            }
            call.form.insert(name, Part { filename, bytes });
        }
    } else {
        let mut bytes = Vec::new();
        while let Some(Ok(chunk)) = body.next().await {
            bytes.extend_from_slice(&chunk);
        }
        call.json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    }
    call
}
