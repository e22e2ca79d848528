//! What every HTTP server records, through the observation middleware and
//! the access guard (`src/http/`).

use parking_lot::RwLock;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    /// The route template (`/api/v1/automation/tasks/{task_id}`), never the
    /// raw path; `unmatched` for unknown routes.
    route: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// One server's HTTP series. Cloning shares them.
#[derive(Clone)]
pub struct HttpMetrics {
    requests: Family<RequestLabels, Counter>,
    durations: Histograms<RouteLabels>,
    rate_limited: Counter,
    auth_failed: Counter,
    in_flight: Gauge,
    /// Every request answered, whatever its labels (the probe reads it:
    /// the family above cannot be summed without encoding it).
    requests_total: Counter,
    /// The families' series by route template (see `new_series`).
    series: Arc<RwLock<HashMap<String, Vec<RouteSeries>>>>,
}

/// Handles on one (route, method, status)'s series: clones share the
/// families' own.
struct RouteSeries {
    method: String,
    status: u16,
    duration: Histogram,
    count: Counter,
}

/// The counters' current values, for the internal probe.
#[derive(Debug, Clone, Copy, serde::Serialize, utoipa::ToSchema)]
pub struct HttpTotals {
    /// Requests answered before this one.
    pub requests_total: u64,
    pub rate_limited_total: u64,
    pub auth_failed_total: u64,
    /// Requests being answered now (this one included).
    pub in_flight: i64,
}

fn request_buckets() -> Histogram {
    // 0.5 ms … ~16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

impl HttpMetrics {
    pub(super) fn register(registry: &mut Registry) -> Self {
        let this = Self {
            requests: Family::default(),
            durations: Family::new_with_constructor(request_buckets),
            rate_limited: Counter::default(),
            auth_failed: Counter::default(),
            in_flight: Gauge::default(),
            requests_total: Counter::default(),
            series: Arc::default(),
        };
        registry.register(
            "alice_http_requests",
            "HTTP requests answered, by route template, method and status",
            this.requests.clone(),
        );
        registry.register(
            "alice_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template and method",
            this.durations.clone(),
        );
        registry.register(
            "alice_rate_limited",
            "Requests refused by the per-token rate limit",
            this.rate_limited.clone(),
        );
        registry.register(
            "alice_auth_failed",
            "Requests refused for a missing or invalid token",
            this.auth_failed.clone(),
        );
        registry.register(
            "alice_http_in_flight",
            "HTTP requests being answered",
            this.in_flight.clone(),
        );
        this
    }

    /// Counts a request as in flight until the guard is dropped (answered,
    /// or its future dropped with the connection).
    pub fn enter(&self) -> InFlight {
        self.in_flight.inc();
        InFlight(self.in_flight.clone())
    }

    /// `route`: the matched pattern, `None` for an unknown route.
    pub fn request(&self, route: Option<&str>, method: &str, status: u16, seconds: f64) {
        let route = route.unwrap_or("unmatched");
        let found = self.series.read().get(route).and_then(|per_route| {
            per_route
                .iter()
                .find(|s| s.method == method && s.status == status)
                .map(|s| (s.duration.clone(), s.count.clone()))
        });
        let (duration, count) = found.unwrap_or_else(|| self.new_series(route, method, status));
        duration.observe(seconds);
        count.inc();
        self.requests_total.inc();
    }

    /// The families' series for one route, method and status, kept for the
    /// next request: looking them up in the families hashes label strings
    /// built for the purpose, three copies a request.
    fn new_series(&self, route: &str, method: &str, status: u16) -> (Histogram, Counter) {
        let duration = self
            .durations
            .get_or_create(&RouteLabels {
                route: route.to_string(),
                method: method.to_string(),
            })
            .clone();
        let count = self
            .requests
            .get_or_create(&RequestLabels {
                route: route.to_string(),
                method: method.to_string(),
                status,
            })
            .clone();
        let mut series = self.series.write();
        // Bounded like the families: routes are templates, statuses few.
        series
            .entry(route.to_string())
            .or_default()
            .push(RouteSeries {
                method: method.to_string(),
                status,
                duration: duration.clone(),
                count: count.clone(),
            });
        (duration, count)
    }

    pub fn totals(&self) -> HttpTotals {
        HttpTotals {
            requests_total: self.requests_total.get(),
            rate_limited_total: self.rate_limited.get(),
            auth_failed_total: self.auth_failed.get(),
            in_flight: self.in_flight.get(),
        }
    }

    pub fn rate_limited(&self) {
        self.rate_limited.inc();
    }

    pub fn auth_failed(&self) {
        self.auth_failed.inc();
    }
}

/// One request in flight; see [`HttpMetrics::enter`].
pub struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}
