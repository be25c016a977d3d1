//! HTTP requests by listener, route and status, and their duration: one middleware on the
//! public and the admin router. The route is axum's matched route template (`/callback/{cc}`,
//! never the path a client sent); a request no route matched is `unmatched`.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;

use super::labels::{HttpRequest, HttpRoute};

/// Latency buckets for HTTP requests, in seconds.
pub const HTTP_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// The `route` of a request no route matched.
pub const UNMATCHED: &str = "unmatched";

#[derive(Debug)]
pub struct HttpMetrics {
    pub(super) requests: Family<HttpRequest, Counter>,
    pub(super) duration: Family<HttpRoute, Histogram>,
}

impl Default for HttpMetrics {
    fn default() -> Self {
        HttpMetrics {
            requests: Family::default(),
            duration: Family::new_with_constructor(|| Histogram::new(HTTP_BUCKETS)),
        }
    }
}

/// Which listener a router serves, for the `listener` label.
#[derive(Debug, Clone)]
pub struct Listener {
    pub name: &'static str,
    pub metrics: Arc<HttpMetrics>,
}

/// The middleware: `axum::middleware::from_fn_with_state(listener, http::track)`, added with
/// `Router::layer` so it sees unmatched requests too.
pub async fn track(State(listener): State<Listener>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED.to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    listener.metrics.record(
        listener.name,
        route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

impl HttpMetrics {
    /// Counts one request of `listener` on `route` (a route template or [`UNMATCHED`]).
    pub fn record(&self, listener: &'static str, route: String, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&HttpRequest {
                listener,
                route: route.clone(),
                status,
            })
            .inc();
        self.duration
            .get_or_create(&HttpRoute { listener, route })
            .observe(seconds);
    }
}
