//! Server-Sent Events for run events: `id: <seq>`, the event's name, the
//! event as JSON data, and keep-alive comments while nothing happens.

use crate::agent::{EventFeed, FeedItem, RunEvent};
use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
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

fn frame(out: &mut String, event: &RunEvent) {
    let data = serde_json::to_string(event).unwrap_or_default();
    let _ = write!(
        out,
        "id: {}\nevent: {}\ndata: {data}\n\n",
        event.seq, event.event
    );
}

/// Streams the feed until the run has finished and everything was sent.
pub fn event_stream(feed: EventFeed) -> HttpResponse {
    let opening = futures_util::stream::once(async {
        Ok::<_, actix_web::Error>(Bytes::from_static(b"retry: 2000\n: run events\n\n"))
    });
    let events = futures_util::stream::unfold(Some(feed), |feed| async move {
        let mut feed = feed?;
        let (chunk, next) = match feed.next(KEEP_ALIVE).await {
            Ok(FeedItem::Events(events)) => {
                let mut out = String::new();
                events.iter().for_each(|e| frame(&mut out, e));
                (out, Some(feed))
            }
            Ok(FeedItem::Idle) => (": keep-alive\n\n".to_string(), Some(feed)),
            Ok(FeedItem::End) => return None,
            Err(err) => {
                tracing::warn!(error = %err, "run event stream failed");
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
