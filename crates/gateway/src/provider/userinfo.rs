//! Step 6, `GET|POST /userinfo`: the assertion (without the ID token's envelope) for a live
//! access token.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::error::BearerError;
use super::seal::MAX_SEALED;
use super::state::{AccessToken, keys};
use crate::app::Gateway;
use crate::http::reject::Reject;
use crate::ops::{Event, EventKind, Trail};

/// `GET|POST /userinfo` with `Authorization: Bearer`.
pub async fn userinfo(State(gw): State<Arc<Gateway>>, headers: HeaderMap) -> Response {
    let mut trail = Trail::default();
    match claims(&gw, &headers, &mut trail).await {
        Ok(r) => r,
        Err(e) => {
            let reject = Reject::from(e);
            gw.record(&Event::refused(&trail, &reject));
            reject.into_response()
        }
    }
}

async fn claims(
    gw: &Gateway,
    headers: &HeaderMap,
    trail: &mut Trail,
) -> Result<Response, BearerError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= MAX_SEALED)
        .ok_or(BearerError::Missing)?;
    let grant: AccessToken = gw
        .seals
        .access_token
        .open(token)
        .filter(|t: &AccessToken| t.exp > gw.now())
        .ok_or(BearerError::Invalid)?;
    *trail = grant.trail();
    let live = gw.store.get(&keys::live_grant(&grant.grant)).await?;
    if live.as_deref() != Some(grant.client_id.as_bytes()) {
        return Err(BearerError::Revoked);
    }
    gw.record(&Event::ok(EventKind::Userinfo, trail));
    let mut response = (StatusCode::OK, axum::Json(grant.assertion)).into_response();
    crate::http::response::no_store(&mut response);
    Ok(response)
}
