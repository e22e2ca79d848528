//! The body deadline: a request's body must arrive completely within the
//! server's [`BodyTimeout`] of the request's start, or the answer is a 408.
//!
//! actix has a timeout for the head only (`client_request_timeout`); a body
//! that stalls or trickles would hold its connection and buffers for ever.
//! The payload stream is wrapped before any extractor reads it, so JSON,
//! multipart and raw bodies are covered alike.

use crate::error::RequestError;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use actix_web::{HttpMessage, ResponseError};
use futures_util::Stream;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// How long a server waits for a request's body (app data).
#[derive(Debug, Clone, Copy)]
pub struct BodyTimeout(pub Duration);

impl Default for BodyTimeout {
    fn default() -> Self {
        Self(Duration::from_secs(30))
    }
}

pub async fn body_deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let timeout = req
        .app_data::<web::Data<BodyTimeout>>()
        .map(|t| *t.get_ref())
        .unwrap_or_default();
    // A WebSocket's "body" is the socket itself (the events listener's
    // OneBot reverse connections): it lasts as long as the socket does.
    // Only a GET can open one, and no other GET route reads a body, so the
    // header alone frees no request that reads one.
    if is_websocket(&req) {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let payload = req.take_payload();
    // A request without a body (most reads) has nothing to watch.
    let expired = if matches!(payload, Payload::None) {
        None
    } else {
        let expired = Arc::new(AtomicBool::new(false));
        let stream = Deadline {
            inner: payload,
            sleep: Box::pin(tokio::time::sleep_until(Instant::now() + timeout.0)),
            expired: expired.clone(),
        };
        req.set_payload(Payload::Stream {
            payload: Box::pin(stream),
        });
        Some(expired)
    };
    let res = next.call(req).await?.map_into_boxed_body();
    if !expired.is_some_and(|e| e.load(Ordering::Acquire)) {
        return Ok(res);
    }
    // Whatever the reader made of the cut-off body, the cause is the clock.
    let secs = timeout.0.as_secs();
    let mut answer = crate::error::Error::from(RequestError::BodyTimeout(secs)).error_response();
    // The rest of the body may still come: do not read it.
    answer.headers_mut().insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    Ok(res.into_response(answer))
}

fn is_websocket(req: &ServiceRequest) -> bool {
    req.method() == actix_web::http::Method::GET
        && req
            .headers()
            .get(header::UPGRADE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// The payload, cut off with an error once the deadline passes.
struct Deadline {
    inner: Payload,
    sleep: Pin<Box<Sleep>>,
    expired: Arc<AtomicBool>,
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.expired.load(Ordering::Acquire) {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = Pin::new(&mut this.inner).poll_next(cx) {
            return Poll::Ready(item);
        }
        // Pending: the sleep's waker wakes the reader at the deadline.
        match this.sleep.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => {
                this.expired.store(true, Ordering::Release);
                Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the request body did not arrive in time",
                )))))
            }
        }
    }
}
