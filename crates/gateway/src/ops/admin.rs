//! The admin listener: what operators and their tools reach, never the public listener.
//! `/metrics` (Prometheus text), `/healthz`, `/readyz`, and the operators' dashboard.
//! The public router serves none of these paths but health, and this one serves none of the
//! login paths: each answers the other's paths with 404. Like the public router, a request
//! not answered within 30 s gets 408.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

use super::health;
use crate::app::Gateway;
use crate::http::REQUEST_TIMEOUT;

/// The admin router.
pub fn router(gw: Arc<Gateway>) -> Router {
    let measured = crate::ops::metrics::http::Listener {
        name: "admin",
        metrics: gw.ops.metrics.http.clone(),
    };
    let routes = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .merge(super::dashboard::routes())
        .fallback(not_found)
        .with_state(gw);
    // Outermost, so timeouts are counted too.
    hardened(routes, REQUEST_TIMEOUT).layer(crate::ops::metrics::http::TrackLayer::new(measured))
}

/// The admin listener's layers around `routes`: security headers, and 408 for a request
/// not answered within `timeout` (the public listener's [`REQUEST_TIMEOUT`]).
fn hardened(routes: Router, timeout: Duration) -> Router {
    // Innermost: the 408 gets the headers too.
    routes
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
}

/// Serves the admin router until `shutdown` resolves. The caller binds the socket.
pub async fn run(
    listener: TcpListener,
    gw: Arc<Gateway>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(gw))
        .with_graceful_shutdown(shutdown)
        .await
}

/// `GET /metrics`: the OpenMetrics text exposition, or the Prometheus text format 0.0.4 for
/// a client that does not accept OpenMetrics (Prometheus itself asks for OpenMetrics).
async fn metrics(State(gw): State<Arc<Gateway>>, headers: axum::http::HeaderMap) -> Response {
    let open_metrics = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/openmetrics-text"));
    let (content_type, body) = if open_metrics {
        (
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            gw.ops.metrics.render(&gw),
        )
    } else {
        (
            "text/plain; version=0.0.4; charset=utf-8",
            gw.ops.metrics.render_text(&gw),
        )
    };
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({"error": "not_found"})),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_slow_request_gets_408_with_the_security_headers() {
        let slow = Router::new()
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(10)).await;
                    "late"
                }),
            )
            .route("/fast", get(|| async { "ok" }));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, hardened(slow, Duration::from_millis(100))).await
        });
        let client = reqwest::Client::new();
        let r = client
            .get(format!("http://{addr}/slow"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 408);
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        let r = client
            .get(format!("http://{addr}/fast"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["x-frame-options"], "DENY");
        assert_eq!(REQUEST_TIMEOUT, Duration::from_secs(30));
        server.abort();
    }
}
