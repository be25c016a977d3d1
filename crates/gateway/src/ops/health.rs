//! `/healthz` (the process answers) and `/readyz` (the store answers and the signing keys are
//! loaded; each national IdP's state listed).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::app::Gateway;

/// `GET /healthz`: liveness only; never looks at dependencies.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: 200 when the store answers and the signing keys are loaded and the replica
/// is not shutting down, else 503.
/// Each national IdP is listed as `ok`, `degraded` or `down` (see
/// [`crate::upstream::UpstreamState`]); a country that is down never makes the gateway
/// unready, since the other countries keep working.
pub async fn readyz(State(gw): State<Arc<Gateway>>) -> Response {
    let store = gw.store.health().await.is_ok();
    let keys = !gw.keys.inventory().is_empty();
    let mut countries: Vec<_> = gw.upstreams.countries().collect();
    countries.sort();
    let mut idps = serde_json::Map::new();
    for c in countries {
        let Some(u) = gw.upstreams.get(c) else {
            continue;
        };
        let (state, reason) = u.state();
        let mut entry = json!({ "state": state.name() });
        if let Some(reason) = reason {
            entry["reason"] = Value::from(reason);
        }
        idps.insert(c.to_string(), entry);
    }
    let draining = gw.ops.draining.load(std::sync::atomic::Ordering::Relaxed);
    let ready = store && keys && !draining;
    let body = json!({
        "ready": ready,
        "draining": draining,
        "store": store,
        "signing_keys": keys,
        "national_idps": idps,
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}
