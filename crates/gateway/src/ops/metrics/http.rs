//! HTTP requests by listener, route and status, and their duration: one middleware on the
//! public and the admin router. The route is axum's matched route template (`/callback/{cc}`,
//! never the path a client sent); a request no route matched is `unmatched`.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
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

/// The middleware, as a layer of the router (`Router::layer`, so it runs inside routing and
/// sees the matched route, and for unmatched requests too).
#[derive(Debug, Clone)]
pub struct TrackLayer {
    listener: Listener,
}

impl TrackLayer {
    pub fn new(listener: Listener) -> Self {
        TrackLayer { listener }
    }
}

impl<S> tower::Layer<S> for TrackLayer {
    type Service = Track<S>;

    fn layer(&self, inner: S) -> Track<S> {
        Track {
            inner,
            listener: self.listener.clone(),
        }
    }
}

/// [`TrackLayer`]'s service: times the request and counts it when the response is ready.
#[derive(Debug, Clone)]
pub struct Track<S> {
    inner: S,
    listener: Listener,
}

impl<S, B> tower::Service<Request> for Track<S>
where
    S: tower::Service<Request, Response = axum::http::Response<B>>,
{
    type Response = axum::http::Response<B>;
    type Error = S::Error;
    type Future = Tracked<S::Future>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map_or_else(|| UNMATCHED.to_owned(), |p| p.as_str().to_owned());
        Tracked {
            inner: self.inner.call(request),
            started: Instant::now(),
            route: Some(route),
            listener: self.listener.clone(),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`Track`].
    pub struct Tracked<F> {
        #[pin]
        inner: F,
        started: Instant,
        route: Option<String>,
        listener: Listener,
    }
}

impl<F, B, E> std::future::Future for Tracked<F>
where
    F: std::future::Future<Output = Result<axum::http::Response<B>, E>>,
{
    type Output = Result<axum::http::Response<B>, E>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let this = self.project();
        let result = std::task::ready!(this.inner.poll(cx));
        if let (Ok(response), Some(route)) = (&result, this.route.take()) {
            this.listener.metrics.record(
                this.listener.name,
                route,
                response.status().as_u16(),
                this.started.elapsed().as_secs_f64(),
            );
        }
        std::task::Poll::Ready(result)
    }
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
