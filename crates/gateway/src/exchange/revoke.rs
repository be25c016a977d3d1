//! `POST /revoke` (RFC 7009): an agency ends an access token it was issued. The token's
//! grant loses its live marker, so `/userinfo` and `/introspect` refuse it at once on every
//! replica. The gateway issues no refresh tokens; the JWTs it signs (ID tokens, exchanged
//! assertions) cannot be revoked and simply expire.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error::ExchangeError;
use super::introspect::{caller, live_token};
use crate::app::Gateway;
use crate::http::response::no_store;
use crate::ops::{Event, EventKind, Trail};
use crate::provider::state::keys;

/// `POST /revoke`.
pub async fn revoke(State(gw): State<Arc<Gateway>>, headers: HeaderMap, body: String) -> Response {
    let mut trail = Trail::default();
    let result = answer(&gw, &headers, &body, &mut trail).await;
    super::answered(&gw, &trail, result)
}

async fn answer(
    gw: &Gateway,
    headers: &HeaderMap,
    body: &str,
    trail: &mut Trail,
) -> Result<Response, ExchangeError> {
    let (caller, form) = caller(gw, headers, body).await?;
    trail.client_id = Some(caller.client_id.clone());
    let token = form.token()?;
    match form.token_type_hint.as_deref() {
        None | Some("access_token" | "refresh_token") => {}
        Some(_) => {
            return Err(ExchangeError::UnsupportedTokenType(
                "the gateway revokes access tokens only (it issues no refresh tokens; the JWTs it signs expire)",
            ));
        }
    }
    let result = match live_token(gw, token).await? {
        Some(t) if t.client_id == caller.client_id => {
            let token_trail = t.trail();
            trail.origin = token_trail.origin;
            trail.destination = token_trail.destination;
            trail.loa = token_trail.loa;
            trail.subject = token_trail.subject;
            gw.store.delete(&keys::live_grant(&t.grant)).await?;
            "revoked"
        }
        // RFC 7009 2.1: a token issued to another client is refused.
        Some(_) => {
            return Err(ExchangeError::OtherClientsToken);
        }
        // RFC 7009 2.2: an invalid, expired or already revoked token is not an error.
        None => "unknown",
    };
    gw.record(&Event {
        reason: Some(result),
        ..Event::ok(EventKind::Revoked, trail)
    });
    let mut response = StatusCode::OK.into_response();
    no_store(&mut response);
    Ok(response)
}
