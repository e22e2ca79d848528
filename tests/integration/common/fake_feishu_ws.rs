//! A fake Feishu on loopback: the tenant token, bot info and long-connection
//! endpoint over HTTP, and a WebSocket server that speaks the protobuf
//! frames. Tests push frames to the connected client and read what it sent.
#![allow(dead_code)]

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use alice::connector::feishu_events::frame::{self, Frame};
use futures_util::{SinkExt, StreamExt};
use prost::Message as _;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

pub const APP_ID: &str = "cli_test";
pub const APP_SECRET: &str = "app-secret";
pub const BOT_OPEN_ID: &str = "ou_bot";
pub const SERVICE_ID: i32 = 33;
const TENANT_TOKEN: &str = "t-fake";

#[derive(Default)]
struct State {
    /// Bodies and `locale` headers of the endpoint calls.
    endpoint_calls: Vec<(Value, String)>,
    connections: usize,
    /// Frames the client sent, tagged with the connection number (1, 2, …).
    received: Vec<(usize, Frame)>,
    /// Replies the bot sent: (message replied to, request body).
    replies: Vec<(String, Value)>,
    /// Pushes frames to the current connection; `None` drops it.
    current: Option<mpsc::UnboundedSender<Option<Frame>>>,
    /// Pings go unanswered while set (a half-dead connection).
    silent: bool,
    /// Tenant tokens handed out.
    token_calls: usize,
}

#[derive(Clone)]
pub struct FakeFeishu {
    pub base_url: String,
    state: Arc<Mutex<State>>,
}

impl FakeFeishu {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let ws = TcpListener::bind("127.0.0.1:0").await.expect("ws listener");
        let ws_url = format!(
            "ws://{}/ws?device_id=dev1&service_id={SERVICE_ID}&access_key=secret&ticket=t",
            ws.local_addr().unwrap()
        );
        tokio::spawn(accept_loop(ws, state.clone()));

        let http = std::net::TcpListener::bind("127.0.0.1:0").expect("http listener");
        let base_url = format!("http://{}", http.local_addr().unwrap());
        let data = web::Data::new((state.clone(), ws_url));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/callback/ws/endpoint", web::post().to(endpoint))
                .route(
                    "/open-apis/auth/v3/tenant_access_token/internal",
                    web::post().to(tenant_token),
                )
                .route("/open-apis/bot/v3/info", web::get().to(bot_info))
                .route(
                    "/open-apis/im/v1/messages/{id}/reply",
                    web::post().to(reply),
                )
        })
        .workers(1)
        .disable_signals()
        .listen(http)
        .expect("listen")
        .run();
        tokio::spawn(server);
        Self { base_url, state }
    }

    /// Tenant tokens handed out so far.
    pub fn token_calls(&self) -> usize {
        self.state.lock().unwrap().token_calls
    }

    pub fn connections(&self) -> usize {
        self.state.lock().unwrap().connections
    }

    pub fn endpoint_calls(&self) -> Vec<(Value, String)> {
        self.state.lock().unwrap().endpoint_calls.clone()
    }

    /// Sends a frame to the connected client (there must be one).
    pub fn send(&self, frame: Frame) {
        let state = self.state.lock().unwrap();
        let tx = state.current.as_ref().expect("a connected client");
        tx.send(Some(frame)).expect("connection alive");
    }

    /// Stops (or resumes) answering pings, leaving connections open.
    pub fn answer_pings(&self, answer: bool) {
        self.state.lock().unwrap().silent = !answer;
    }

    /// Cuts the current connection without a close handshake.
    pub fn drop_connection(&self) {
        if let Some(tx) = self.state.lock().unwrap().current.take() {
            let _ = tx.send(None);
        }
    }

    /// Replies the bot sent: (message replied to, request body).
    pub fn replies(&self) -> Vec<(String, Value)> {
        self.state.lock().unwrap().replies.clone()
    }

    /// Data frames the client sent back (acknowledgements).
    pub fn acks(&self) -> Vec<Frame> {
        self.received_where(|f| f.method == frame::METHOD_DATA)
    }

    /// Pings, with the connection each came on.
    pub fn pings(&self) -> Vec<(usize, Frame)> {
        let state = self.state.lock().unwrap();
        state
            .received
            .iter()
            .filter(|(_, f)| f.header(frame::HEADER_TYPE) == Some(frame::TYPE_PING))
            .cloned()
            .collect()
    }

    fn received_where(&self, keep: impl Fn(&Frame) -> bool) -> Vec<Frame> {
        let state = self.state.lock().unwrap();
        state
            .received
            .iter()
            .map(|(_, f)| f)
            .filter(|f| keep(f))
            .cloned()
            .collect()
    }
}

async fn endpoint(
    data: web::Data<(Arc<Mutex<State>>, String)>,
    req: HttpRequest,
    body: web::Json<Value>,
) -> HttpResponse {
    let locale = req
        .headers()
        .get("locale")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    data.0
        .lock()
        .unwrap()
        .endpoint_calls
        .push((body.into_inner(), locale));
    // Short intervals keep the tests fast; no jitter.
    HttpResponse::Ok().json(json!({
        "code": 0, "msg": "ok",
        "data": {"URL": data.1, "ClientConfig": {
            "ReconnectCount": -1, "ReconnectInterval": 1, "ReconnectNonce": 0, "PingInterval": 1
        }}
    }))
}

async fn tenant_token(
    data: web::Data<(Arc<Mutex<State>>, String)>,
    body: web::Json<Value>,
) -> HttpResponse {
    if body["app_id"] == APP_ID && body["app_secret"] == APP_SECRET {
        data.0.lock().unwrap().token_calls += 1;
        HttpResponse::Ok().json(
            json!({"code": 0, "msg": "ok", "tenant_access_token": TENANT_TOKEN, "expire": 7200}),
        )
    } else {
        HttpResponse::Ok().json(json!({"code": 10014, "msg": "app secret invalid"}))
    }
}

async fn bot_info(req: HttpRequest) -> HttpResponse {
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    if auth == Some(&format!("Bearer {TENANT_TOKEN}")) {
        HttpResponse::Ok().json(
            json!({"code": 0, "msg": "ok", "bot": {"app_name": "Test", "open_id": BOT_OPEN_ID}}),
        )
    } else {
        HttpResponse::Ok().json(json!({"code": 99991663, "msg": "invalid token"}))
    }
}

async fn reply(
    data: web::Data<(Arc<Mutex<State>>, String)>,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> HttpResponse {
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    if auth != Some(&format!("Bearer {TENANT_TOKEN}")) {
        return HttpResponse::Ok().json(json!({"code": 99991663, "msg": "invalid token"}));
    }
    let mut state = data.0.lock().unwrap();
    state.replies.push((id.into_inner(), body.into_inner()));
    let n = state.replies.len();
    HttpResponse::Ok()
        .json(json!({"code": 0, "msg": "ok", "data": {"message_id": format!("om_reply_{n}")}}))
}

async fn accept_loop(listener: TcpListener, state: Arc<Mutex<State>>) {
    while let Ok((tcp, _)) = listener.accept().await {
        let Ok(ws) = tokio_tungstenite::accept_async(tcp).await else {
            continue;
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let number = {
            let mut s = state.lock().unwrap();
            s.connections += 1;
            s.current = Some(tx);
            s.connections
        };
        tokio::spawn(serve_connection(ws, rx, number, state.clone()));
    }
}

async fn serve_connection(
    ws: tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
    mut outgoing: mpsc::UnboundedReceiver<Option<Frame>>,
    number: usize,
    state: Arc<Mutex<State>>,
) {
    let (mut write, mut read) = ws.split();
    loop {
        tokio::select! {
            next = outgoing.recv() => match next {
                Some(Some(frame)) => {
                    if write.send(Message::Binary(frame.encode_to_vec().into())).await.is_err() {
                        return;
                    }
                }
                // Dropped on purpose (or the fake went away): no close frame.
                _ => return,
            },
            incoming = read.next() => {
                let Some(Ok(Message::Binary(bytes))) = incoming else {
                    if matches!(incoming, None | Some(Err(_)) | Some(Ok(Message::Close(_)))) {
                        return;
                    }
                    continue;
                };
                let frame = Frame::decode(bytes.as_ref()).expect("the client sends valid frames");
                let is_ping = frame.header(frame::HEADER_TYPE) == Some(frame::TYPE_PING);
                let service = frame.service;
                let silent = {
                    let mut state = state.lock().unwrap();
                    state.received.push((number, frame));
                    state.silent
                };
                if is_ping && !silent {
                    let mut pong = Frame { service, method: frame::METHOD_CONTROL, ..Default::default() };
                    pong.add_header(frame::HEADER_TYPE, frame::TYPE_PONG);
                    if write.send(Message::Binary(pong.encode_to_vec().into())).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

/// A schema 2.0 `im.message.receive_v1` event. `mention_bot` puts an
/// `@_user_1` mention of the bot before the text.
pub fn message_event(message_id: &str, chat_id: &str, text: &str, mention_bot: bool) -> Value {
    let (content, mentions) = if mention_bot {
        (
            format!("@_user_1 {text}"),
            json!([{"key": "@_user_1", "id": {"open_id": BOT_OPEN_ID, "union_id": "on_bot"}, "name": "Bot"}]),
        )
    } else {
        (text.to_string(), json!([]))
    };
    json!({
        "schema": "2.0",
        "header": {
            "event_id": format!("ev_{message_id}"), "event_type": "im.message.receive_v1",
            "create_time": "1700000000000", "token": "v-token", "app_id": APP_ID, "tenant_key": "tk"
        },
        "event": {
            "sender": {"sender_id": {"open_id": "ou_alice", "user_id": "u_alice", "union_id": "on_alice"}, "sender_type": "user"},
            "message": {
                "message_id": message_id, "chat_id": chat_id,
                "chat_type": if mention_bot { "group" } else { "p2p" },
                "message_type": "text", "create_time": "1700000000000",
                "content": json!({"text": content}).to_string(),
                "mentions": mentions
            }
        }
    })
}

/// An event data frame; `frame_id` is the frame's own `message_id` header.
pub fn event_frame(frame_id: &str, payload: &[u8]) -> Frame {
    let mut frame = Frame {
        seq_id: 1,
        log_id: 2,
        service: SERVICE_ID,
        method: frame::METHOD_DATA,
        payload: Some(payload.to_vec()),
        ..Default::default()
    };
    frame.add_header(frame::HEADER_TYPE, frame::TYPE_EVENT);
    frame.add_header(frame::HEADER_MESSAGE_ID, frame_id);
    frame.add_header(frame::HEADER_TRACE_ID, "trace-1");
    frame.add_header(frame::HEADER_SUM, "1");
    frame.add_header(frame::HEADER_SEQ, "0");
    frame
}

/// The same payload split into `n` frames (headers `sum`, `seq`).
pub fn split_frames(frame_id: &str, payload: &[u8], n: usize) -> Vec<Frame> {
    let size = payload.len().div_ceil(n);
    payload
        .chunks(size)
        .enumerate()
        .map(|(seq, chunk)| {
            let mut frame = event_frame(frame_id, chunk);
            frame
                .headers
                .retain(|h| h.key != frame::HEADER_SUM && h.key != frame::HEADER_SEQ);
            frame.add_header(frame::HEADER_SUM, &n.to_string());
            frame.add_header(frame::HEADER_SEQ, &seq.to_string());
            frame
        })
        .collect()
}
