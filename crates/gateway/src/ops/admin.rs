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

/// `GET /metrics`: the OpenMetrics text exposition.
async fn metrics(State(gw): State<Arc<Gateway>>) -> Response {
    let body = gw.ops.metrics.render(&gw);
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({"error": "not_found"})),
    )
        .into_response()
}
