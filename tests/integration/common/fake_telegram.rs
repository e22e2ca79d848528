//! A fake Telegram Bot API on loopback: `getMe`, `getUpdates` (serving the
//! queued updates from the offset asked for), `sendMessage`, `sendPhoto`,
//! `sendDocument`; every call recorded, and 429s on demand.
#![allow(dead_code)]

use actix_web::{web, App, HttpResponse, HttpServer};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const TOKEN: &str = "123:tg-token";
pub const BOT_ID: i64 = 42;
pub const BOT_USERNAME: &str = "jobs_bot";

#[derive(Default)]
struct State {
    updates: Vec<Value>,
    /// The `offset` of every `getUpdates` (`None`: none given).
    offsets: Vec<Option<i64>>,
    /// `(method, body)`: JSON bodies as they came, multipart as text.
    sent: Vec<(String, Value)>,
    /// `sendMessage` calls still to refuse with 429 `retry_after`.
    throttle: Vec<u64>,
    next_message_id: i64,
    /// `file_id` → its bytes (served by `getFile` and `/file/bot…/…`).
    files: std::collections::HashMap<String, Vec<u8>>,
}

#[derive(Clone)]
pub struct FakeTelegram {
    pub base_url: String,
    state: Arc<Mutex<State>>,
}

impl FakeTelegram {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(State {
            next_message_id: 1000,
            ..State::default()
        }));
        let data = state.clone();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
        let port = listener.local_addr().unwrap().port();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(data.clone()))
                .app_data(web::PayloadConfig::new(16 * 1024 * 1024))
                .route("/bot{token}/{method}", web::post().to(call))
                .route("/file/bot{token}/{path:.*}", web::get().to(file))
        })
        .workers(1)
        .listen(listener)
        .expect("listen")
        .run();
        tokio::spawn(server);
        Self {
            base_url: format!("http://127.0.0.1:{port}"),
            state,
        }
    }

    /// Queues a text message from user 5 in `chat` (negative: a group).
    pub fn message(&self, update_id: i64, chat: i64, message_id: i64, text: &str, extra: Value) {
        let kind = if chat < 0 { "supergroup" } else { "private" };
        let mut message = json!({"message_id": message_id, "date": 0,
            "chat": {"id": chat, "type": kind}, "from": {"id": 5, "is_bot": false, "first_name": "Ann"},
            "text": text});
        if let (Some(m), Some(extra)) = (message.as_object_mut(), extra.as_object()) {
            m.extend(extra.clone());
        }
        self.state
            .lock()
            .unwrap()
            .updates
            .push(json!({"update_id": update_id, "message": message}));
    }

    /// Queues a photo (with `caption`) from user 5 in `chat`, and keeps its
    /// bytes for `getFile`.
    pub fn photo(&self, update_id: i64, chat: i64, message_id: i64, caption: &str, bytes: &[u8]) {
        let file_id = format!("ph{update_id}");
        self.state
            .lock()
            .unwrap()
            .files
            .insert(file_id.clone(), bytes.to_vec());
        let sizes = json!([
            {"file_id": "thumb", "file_unique_id": "t", "width": 90, "height": 90},
            {"file_id": file_id, "file_unique_id": "u", "width": 800, "height": 600, "file_size": bytes.len()},
        ]);
        self.message(
            update_id,
            chat,
            message_id,
            "",
            json!({"photo": sizes, "caption": caption}),
        );
        // A photo has no `text`.
        let mut s = self.state.lock().unwrap();
        if let Some(m) = s
            .updates
            .last_mut()
            .and_then(|u| u["message"].as_object_mut())
        {
            m.remove("text");
        }
    }

    pub fn offsets(&self) -> Vec<Option<i64>> {
        self.state.lock().unwrap().offsets.clone()
    }

    pub fn sent(&self, method: &str) -> Vec<Value> {
        let state = self.state.lock().unwrap();
        state
            .sent
            .iter()
            .filter(|(m, _)| m == method)
            .map(|(_, body)| body.clone())
            .collect()
    }

    /// The next `sendMessage` is refused with 429 `retry_after`.
    pub fn throttle_once(&self, retry_after: u64) {
        self.state.lock().unwrap().throttle.push(retry_after);
    }
}

async fn call(
    path: web::Path<(String, String)>,
    state: web::Data<Arc<Mutex<State>>>,
    req: actix_web::HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let (token, method) = path.into_inner();
    if token != TOKEN {
        return HttpResponse::Unauthorized()
            .json(json!({"ok": false, "error_code": 401, "description": "Unauthorized"}));
    }
    let is_json = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let body: Value = match is_json {
        true => serde_json::from_slice(&body).unwrap_or(Value::Null),
        false => Value::String(String::from_utf8_lossy(&body).into_owned()),
    };
    match method.as_str() {
        "getMe" => ok(
            json!({"id": BOT_ID, "is_bot": true, "first_name": "Jobs", "username": BOT_USERNAME}),
        ),
        "getUpdates" => {
            let offset = body["offset"].as_i64();
            // A short long poll: answers as soon as something is queued.
            for _ in 0..20 {
                let due = take_due(&state, offset);
                if !due.is_empty() {
                    return ok(Value::Array(due));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            state.lock().unwrap().offsets.push(offset);
            ok(json!([]))
        }
        "getFile" => {
            let id = body["file_id"].as_str().unwrap_or_default().to_string();
            match state.lock().unwrap().files.get(&id) {
                Some(bytes) => ok(
                    json!({"file_id": id, "file_unique_id": "u", "file_size": bytes.len(), "file_path": format!("photos/{id}.jpg")}),
                ),
                None => HttpResponse::BadRequest().json(
                    json!({"ok": false, "error_code": 400, "description": "Bad Request: invalid file_id"}),
                ),
            }
        }
        "setWebhook" => {
            state.lock().unwrap().sent.push((method.clone(), body));
            ok(json!(true))
        }
        "sendMessage" | "sendPhoto" | "sendDocument" => {
            let mut s = state.lock().unwrap();
            s.sent.push((method.clone(), body.clone()));
            if method == "sendMessage" && !s.throttle.is_empty() {
                let wait = s.throttle.remove(0);
                return HttpResponse::TooManyRequests()
                    .insert_header(("Retry-After", wait.to_string()))
                    .json(json!({"ok": false, "error_code": 429,
                        "description": format!("Too Many Requests: retry after {wait}"),
                        "parameters": {"retry_after": wait}}));
            }
            s.next_message_id += 1;
            let chat = match &body {
                Value::String(_) => 0,
                body => body["chat_id"]
                    .as_str()
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(0),
            };
            ok(
                json!({"message_id": s.next_message_id, "date": 0, "chat": {"id": chat, "type": "private"}}),
            )
        }
        _ => HttpResponse::NotFound().json(
            json!({"ok": false, "error_code": 404, "description": "Not Found: method not found"}),
        ),
    }
}

/// A file's bytes by its `file_path` (`photos/<file_id>.jpg`).
async fn file(
    path: web::Path<(String, String)>,
    state: web::Data<Arc<Mutex<State>>>,
) -> HttpResponse {
    let (token, path) = path.into_inner();
    let id = path
        .trim_start_matches("photos/")
        .trim_end_matches(".jpg")
        .to_string();
    match (token == TOKEN, state.lock().unwrap().files.get(&id)) {
        (true, Some(bytes)) => HttpResponse::Ok().body(bytes.clone()),
        _ => HttpResponse::NotFound().finish(),
    }
}

/// The updates from `offset` on, the call recorded when there are some.
fn take_due(state: &Mutex<State>, offset: Option<i64>) -> Vec<Value> {
    let mut s = state.lock().unwrap();
    let due: Vec<Value> = s
        .updates
        .iter()
        .filter(|u| u["update_id"].as_i64() >= offset)
        .cloned()
        .collect();
    if !due.is_empty() {
        s.offsets.push(offset);
    }
    due
}

fn ok(result: Value) -> HttpResponse {
    HttpResponse::Ok().json(json!({"ok": true, "result": result}))
}
