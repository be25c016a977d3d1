//! `/healthz` (the process answers) and `/readyz` (the store answers; national IdPs listed).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::app::Gateway;

/// `GET /healthz`.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: ready when the store answers. National IdPs that are down do not make the
/// gateway unready (other countries keep working), but they are listed.
pub async fn readyz(State(gw): State<Arc<Gateway>>) -> Response {
    let store = gw.store.health().await;
    let mut countries = serde_json::Map::new();
    for c in gw.upstreams.countries() {
        let ready = gw.upstreams.get(c).is_some_and(|u| u.is_ready());
        countries.insert(c.to_string(), serde_json::Value::Bool(ready));
    }
    let body = serde_json::json!({ "store": store.is_ok(), "national_idps": countries });
    let status = if store.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}
