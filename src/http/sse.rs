//! Server-Sent Events: `id:`, the event's name and its data for each event
//! a [`Source`] yields, keep-alive comments while nothing happens, and the
//! end of the stream when the source ends. Nothing here knows what the
//! events are about.

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use std::fmt::Write;
use std::time::Duration;

/// A comment frame after this long without events keeps proxies and
/// clients from giving up on the connection.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// True when the client asks for `text/event-stream`.
pub fn wants_event_stream(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"))
}

/// Where to resume: `Last-Event-ID` (sent by reconnecting clients) wins
/// over `after`.
pub fn resume_after(req: &HttpRequest, after: Option<u64>) -> u64 {
    req.headers()
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .or(after)
        .unwrap_or(0)
}

/// JSON after a sequence number (`page`), or Server-Sent Events from
/// `stream` when the client asks for them; both start after `Last-Event-ID`
/// or else `after`.
pub fn answer<S: Source, T: Serialize, E>(
    req: &HttpRequest,
    after: Option<u64>,
    stream: impl FnOnce(u64) -> Result<S, E>,
    page: impl FnOnce(u64) -> Result<T, E>,
) -> Result<HttpResponse, E> {
    let after = resume_after(req, after);
    if wants_event_stream(req) {
        Ok(event_stream(stream(after)?))
    } else {
        Ok(HttpResponse::Ok().json(page(after)?))
    }
}

/// One event: its sequence number (the client's `Last-Event-ID`), its name
/// and its data (one line of JSON).
pub struct Frame {
    pub id: u64,
    pub event: String,
    pub data: String,
}

/// What a source has next.
pub enum Next {
    Frames(Vec<Frame>),
    /// Nothing happened within the idle time: a keep-alive is sent.
    Idle,
    /// Everything was sent: the stream ends.
    End,
    /// The source broke: an `error` event, then the stream ends.
    Failed(String),
}

/// Events to stream, waited for at most `idle` at a time.
pub trait Source: Send + 'static {
    fn next(&mut self, idle: Duration) -> impl std::future::Future<Output = Next> + Send;
}

fn frame(out: &mut String, frame: &Frame) {
    let _ = write!(
        out,
        "id: {}\nevent: {}\ndata: {}\n\n",
        frame.id, frame.event, frame.data
    );
}

/// Streams `source` until it ends.
pub fn event_stream(feed: impl Source) -> HttpResponse {
    let opening = futures_util::stream::once(async {
        Ok::<_, actix_web::Error>(Bytes::from_static(b"retry: 2000\n: run events\n\n"))
    });
    let events = futures_util::stream::unfold(Some(feed), |feed| async move {
        let mut feed = feed?;
        let (chunk, next) = match feed.next(KEEP_ALIVE).await {
            Next::Frames(frames) => {
                let mut out = String::new();
                frames.iter().for_each(|f| frame(&mut out, f));
                (out, Some(feed))
            }
            Next::Idle => (": keep-alive\n\n".to_string(), Some(feed)),
            Next::End => return None,
            Next::Failed(reason) => {
                tracing::warn!(error = %reason, "event stream failed");
                let data = serde_json::json!({"error": "the event stream failed; reconnect"});
                (format!("event: error\ndata: {data}\n\n"), None)
            }
        };
        Some((Ok(Bytes::from(chunk)), next))
    });
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(futures_util::StreamExt::chain(opening, events))
}
