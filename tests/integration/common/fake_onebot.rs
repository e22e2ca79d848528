//! A fake OneBot v11 implementation (NapCat-like) on loopback: a WebSocket
//! server for forward mode, or a client dialling in for reverse mode. It
//! records every action, answers with `echo` (held back and answered out of
//! order on demand), sends message and heartbeat events, drops its socket
//! on demand.
#![allow(dead_code)]

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::Message;

/// The bot's own QQ number (`self_id`).
pub const SELF_ID: i64 = 10001;
pub const TOKEN: &str = "ob-t0ken";

#[derive(Default)]
struct State {
    /// The open socket's writer and its task.
    socket: Option<(mpsc::UnboundedSender<String>, tokio::task::JoinHandle<()>)>,
    connections: usize,
    /// Every action as it came.
    actions: Vec<Value>,
    /// Answers to hold until this many are held, then send newest first.
    hold: usize,
    held: Vec<Value>,
    /// Answer nothing at all.
    silent: bool,
}

#[derive(Clone, Default)]
pub struct FakeOneBot {
    /// Forward mode: where alice dials.
    pub ws_url: String,
    state: Arc<Mutex<State>>,
}

impl FakeOneBot {
    /// A WebSocket server that takes only `Authorization: Bearer <TOKEN>`.
    pub async fn server() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("listener");
        let fake = Self {
            ws_url: format!("ws://{}", listener.local_addr().unwrap()),
            ..Self::default()
        };
        let accepting = fake.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                if let Ok(ws) = tokio_tungstenite::accept_hdr_async(tcp, check_token).await {
                    accepting.attach(ws);
                }
            }
        });
        fake
    }

    /// Reverse mode: dials `url` with `authorization`; the HTTP status when
    /// refused.
    pub async fn dial(&self, url: &str, authorization: Option<&str>) -> Result<(), u16> {
        let mut request = url.into_client_request().expect("request");
        request
            .headers_mut()
            .insert("x-self-id", SELF_ID.to_string().parse().unwrap());
        request
            .headers_mut()
            .insert("x-client-role", "Universal".parse().unwrap());
        if let Some(auth) = authorization {
            request
                .headers_mut()
                .insert("authorization", auth.parse().unwrap());
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((ws, _)) => {
                self.attach(ws);
                Ok(())
            }
            Err(tokio_tungstenite::tungstenite::Error::Http(res)) => Err(res.status().as_u16()),
            Err(e) => panic!("cannot dial {url}: {e}"),
        }
    }

    fn attach<S>(&self, ws: tokio_tungstenite::WebSocketStream<S>)
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        let state = self.state.clone();
        let (mut write, mut read) = ws.split();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    out = rx.recv() => match out {
                        Some(text) => { if write.send(Message::text(text)).await.is_err() { return; } }
                        None => return,
                    },
                    frame = read.next() => match frame {
                        Some(Ok(Message::Text(text))) => {
                            for answer in answers(&state, &text) {
                                if write.send(Message::text(answer.to_string())).await.is_err() { return; }
                            }
                        }
                        Some(Ok(_)) => {}
                        _ => return,
                    },
                }
            }
        });
        let mut s = self.state.lock().unwrap();
        s.connections += 1;
        if let Some((_, old)) = s.socket.replace((tx, task)) {
            old.abort();
        }
    }

    /// Sends an event on the open socket.
    pub fn send(&self, event: Value) {
        let s = self.state.lock().unwrap();
        let (tx, _) = s.socket.as_ref().expect("a socket is open");
        tx.send(event.to_string()).expect("the socket is open");
    }

    /// A group message event from user 42 in `group`.
    pub fn group_message(&self, message_id: i64, group: i64, message: Value) {
        self.send(
            json!({"time": 0, "self_id": SELF_ID, "post_type": "message",
            "message_type": "group", "sub_type": "normal", "message_id": message_id,
            "group_id": group, "user_id": 42, "message": message,
            "sender": {"user_id": 42, "nickname": "Ann"}}),
        );
    }

    /// A private message event from `user`.
    pub fn private_message(&self, message_id: i64, user: i64, message: Value) {
        self.send(
            json!({"time": 0, "self_id": SELF_ID, "post_type": "message",
            "message_type": "private", "sub_type": "friend", "message_id": message_id,
            "user_id": user, "message": message, "sender": {"user_id": user, "nickname": "Bo"}}),
        );
    }

    pub fn heartbeat(&self, interval_ms: u64) {
        self.send(
            json!({"time": 0, "self_id": SELF_ID, "post_type": "meta_event",
            "meta_event_type": "heartbeat", "interval": interval_ms,
            "status": {"online": true, "good": true}}),
        );
    }

    /// Closes the socket without a close frame (a crash or a network cut).
    pub fn drop_socket(&self) {
        if let Some((_, task)) = self.state.lock().unwrap().socket.take() {
            task.abort();
        }
    }

    /// Whether a socket is open (alice has not closed it).
    pub fn socket_open(&self) -> bool {
        let s = self.state.lock().unwrap();
        s.socket
            .as_ref()
            .is_some_and(|(_, task)| !task.is_finished())
    }

    pub fn connections(&self) -> usize {
        self.state.lock().unwrap().connections
    }

    /// The next `n` answers are held, then sent newest first.
    pub fn hold_answers(&self, n: usize) {
        self.state.lock().unwrap().hold = n;
    }

    pub fn silent(&self, silent: bool) {
        self.state.lock().unwrap().silent = silent;
    }

    /// The params of every `action` received, in order.
    pub fn actions(&self, action: &str) -> Vec<Value> {
        let s = self.state.lock().unwrap();
        s.actions
            .iter()
            .filter(|a| a["action"] == action)
            .map(|a| a["params"].clone())
            .collect()
    }
}

/// Lets in only `Authorization: Bearer <TOKEN>`.
#[allow(clippy::result_large_err)] // tungstenite's callback signature
fn check_token(req: &Request, res: Response) -> Result<Response, ErrorResponse> {
    let auth = req.headers().get("authorization");
    if auth.and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {TOKEN}")) {
        return Ok(res);
    }
    let mut refused = ErrorResponse::new(None);
    *refused.status_mut() = tokio_tungstenite::tungstenite::http::StatusCode::UNAUTHORIZED;
    Err(refused)
}

/// The answers to send for one frame: its own, or (when holding) none yet
/// or every held one, newest first. A sent message's id is 7000 + the
/// action's place in the record.
fn answers(state: &Mutex<State>, text: &str) -> Vec<Value> {
    let Ok(action) = serde_json::from_str::<Value>(text) else {
        return Vec::new();
    };
    let mut s = state.lock().unwrap();
    s.actions.push(action.clone());
    if s.silent {
        return Vec::new();
    }
    let answer = json!({"status": "ok", "retcode": 0,
        "data": {"message_id": 7000 + s.actions.len() as i64}, "echo": action["echo"]});
    if s.hold == 0 {
        return vec![answer];
    }
    s.held.push(answer);
    if s.held.len() < s.hold {
        return Vec::new();
    }
    s.hold = 0;
    let mut held = std::mem::take(&mut s.held);
    held.reverse();
    held
}
