//! Request observation: a request id (from `X-Request-Id` or new) echoed in
//! the answer, one log line per request, and JSON bodies for the errors that
//! actix produces itself (unknown route, wrong method, overflow); the
//! server's HTTP metrics, when it has them (`web::Data<HttpMetrics>`).

use crate::error::{canonical, ErrorBody};
use crate::metrics::HttpMetrics;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tracing::Instrument;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A resource's route template, as its resource data (see
/// [`crate::http::resource`]): the request's own copy of what
/// `HttpRequest::match_pattern` finds by routing the path a second time.
pub struct RouteTemplate(pub String);

/// The name a server's log lines carry (`bot` field).
#[derive(Clone)]
pub struct ServerLabel(pub String);

/// New request ids: a random prefix per app instance (one per worker) and a
/// counter, 32 hex digits like the UUIDs they replace. A fresh v4 UUID per
/// request cost a `getrandom` call each time; these are as unique within
/// the process and its logs, and cost an increment.
pub struct RequestIds {
    prefix: u64,
    next: AtomicU64,
}

impl Default for RequestIds {
    fn default() -> Self {
        Self {
            prefix: uuid::Uuid::new_v4().as_u64_pair().0,
            next: AtomicU64::new(0),
        }
    }
}

impl RequestIds {
    fn next(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{:016x}{n:016x}", self.prefix)
    }
}

pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    // Shared, not copied: this runs for every request.
    let label = req.app_data::<web::Data<ServerLabel>>().cloned();
    let label = label.as_ref().map_or("", |l| l.0.as_str());
    let request_id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| match req.app_data::<web::Data<RequestIds>>() {
            Some(ids) => ids.next(),
            None => uuid::Uuid::new_v4().simple().to_string(),
        });
    let method = req.method().clone();
    let _in_flight = req
        .app_data::<web::Data<HttpMetrics>>()
        .map(|metrics| metrics.enter());
    // Every line logged while answering carries the request's context; the
    // route template and status are known only once it is routed/answered.
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        bot = %label,
        method = %method,
        route = tracing::field::Empty,
        status = tracing::field::Empty,
    );
    // Handlers' errors arrive here as responses already; only a middleware
    // error comes back as `Err`, and actix renders that one itself. (Holding
    // a clone of the request across `call` would break actix's routing.)
    let res = next
        .call(req)
        .instrument(span.clone())
        .await?
        .map_into_boxed_body();
    let mut res = json_errors(res);
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    let template = res.request().app_data::<RouteTemplate>();
    let matched = match template {
        Some(_) => None,
        None => res.request().match_pattern(),
    };
    let pattern = template.map(|t| t.0.as_str()).or(matched.as_deref());
    let status = res.status().as_u16();
    let elapsed = started.elapsed().as_secs_f64();
    {
        let route = pattern.unwrap_or(res.request().path());
        let duration_ms = elapsed * 1000.0;
        span.record("route", route);
        span.record("status", status);
        let _entered = span.enter();
        tracing::info!(
            bot = %label,
            method = %method,
            route = %route,
            status,
            duration_ms = format_args!("{duration_ms:.1}"),
            request_id = %request_id,
            "request"
        );
    }
    if let Some(metrics) = res.request().app_data::<web::Data<HttpMetrics>>() {
        // Templates only: a raw path would make one series per id.
        metrics.request(pattern, method.as_str(), status, elapsed);
    }
    Ok(res)
}

fn json_errors(res: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return res;
    }
    let (req, old) = res.into_parts();
    let (code, error) = canonical(status);
    let mut new = HttpResponse::build(status).json(ErrorBody { error, code });
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(v) = old.headers().get(&name) {
            new.headers_mut().insert(name, v.clone());
        }
    }
    ServiceResponse::new(req, new)
}
