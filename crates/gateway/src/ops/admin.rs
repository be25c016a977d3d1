//! The admin listener: what operators and their tools reach, never the public listener.
//! `/metrics` (Prometheus text), `/healthz`, `/readyz`, and the operators' dashboard.
//! The public router serves none of these paths but health, and this one serves none of the
//! login paths: each answers the other's paths with 404.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tower_http::set_header::SetResponseHeaderLayer;

use super::health;
use crate::app::Gateway;

/// The admin router.
pub fn router(gw: Arc<Gateway>) -> Router {
    let measured = crate::ops::metrics::http::Listener {
        name: "admin",
        metrics: gw.ops.metrics.http.clone(),
    };
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .merge(super::dashboard::routes())
        .fallback(not_found)
        .with_state(gw)
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
        .layer(axum::middleware::from_fn_with_state(
            measured,
            crate::ops::metrics::http::track,
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
