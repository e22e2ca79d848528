//! A WebSocket accepted on the events listener, as the connectors take one:
//! a stream of text frames in and a sender of text frames out. actix reads
//! the socket on its own worker; the session runs on the main runtime.

use actix_http::ws::{Codec, Frame, Message};
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use std::future::Future;
use std::pin::Pin;
use tokio::sync::mpsc;
use tokio_util::codec::{Decoder, Encoder};

/// Text frames as they arrive; `Err` says why the socket failed.
pub type Frames = Pin<Box<dyn Stream<Item = Result<String, String>> + Send>>;

/// Frames larger than this end the socket (OneBot events are small).
const MAX_FRAME: usize = 4 * 1024 * 1024;

/// Answers the upgrade and runs `session` until it ends; the socket closes
/// when the session ends or the peer leaves.
pub fn accept<F, Fut>(
    req: &HttpRequest,
    mut payload: web::Payload,
    session: F,
) -> Result<HttpResponse, actix_web::Error>
where
    F: FnOnce(Frames, mpsc::UnboundedSender<String>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    actix_http::ws::verify_handshake(req.head())?;
    let key = req
        .headers()
        .get(actix_web::http::header::SEC_WEBSOCKET_KEY)
        .map(|k| actix_http::ws::hash_key(k.as_bytes()))
        .unwrap_or_default();
    let accept = String::from_utf8_lossy(&key).into_owned();
    let (frames_tx, frames_rx) = mpsc::unbounded_channel::<Result<String, String>>();
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<String>();
    let (wire_tx, wire_rx) = mpsc::unbounded_channel::<Message>();

    // Reads the socket (payloads are bound to actix's worker thread).
    let pongs = wire_tx.clone();
    actix_web::rt::spawn(async move {
        let mut codec = Codec::new().max_size(MAX_FRAME);
        let mut buf = BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let Ok(chunk) = chunk else { break };
            buf.extend_from_slice(&chunk);
            loop {
                match codec.decode(&mut buf) {
                    Ok(Some(Frame::Text(text) | Frame::Binary(text))) => {
                        let text = String::from_utf8_lossy(&text).into_owned();
                        let _ = frames_tx.send(Ok(text));
                    }
                    Ok(Some(Frame::Ping(p))) => {
                        let _ = pongs.send(Message::Pong(p));
                    }
                    Ok(Some(Frame::Close(_))) => return,
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e) => {
                        let _ = frames_tx.send(Err(e.to_string()));
                        return;
                    }
                }
            }
        }
    });

    // The session's text, then a close frame once it is done.
    tokio::spawn(async move {
        while let Some(text) = out_rx.recv().await {
            if wire_tx.send(Message::Text(text.into())).is_err() {
                return;
            }
        }
        let _ = wire_tx.send(Message::Close(None));
    });
    let frames = futures_util::stream::unfold(frames_rx, |mut rx| async move {
        rx.recv().await.map(|frame| (frame, rx))
    });
    tokio::spawn(session(Box::pin(frames), out_tx));

    let body = futures_util::stream::unfold(
        (wire_rx, Codec::new(), false),
        |(mut rx, mut codec, closed)| async move {
            if closed {
                return None;
            }
            let message = rx.recv().await?;
            let closing = matches!(message, Message::Close(_));
            let mut buf = BytesMut::new();
            codec.encode(message, &mut buf).ok()?;
            Some((
                Ok::<Bytes, actix_web::Error>(buf.freeze()),
                (rx, codec, closing),
            ))
        },
    );
    Ok(HttpResponse::SwitchingProtocols()
        .upgrade("websocket")
        .insert_header((actix_web::http::header::SEC_WEBSOCKET_ACCEPT, accept))
        .streaming(body))
}
