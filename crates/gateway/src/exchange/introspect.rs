//! `POST /introspect` (RFC 7662): whether a gateway access token is live, and its claims, for
//! the agency it was issued to or a resource server that agency registered
//! (`introspection_for`). Every other token, and every token of another agency, is only
//! `{"active": false}`: introspection never tells a caller more than that about a token it
//! has no business with.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ClientCredentials;
use super::error::ExchangeError;
use crate::app::Gateway;
use crate::config::agencies::Agency;
use crate::http::params::{self, MAX_FORM};
use crate::http::response::no_store;
use crate::ops::{Event, EventKind, Trail};
use crate::provider::seal::MAX_SEALED;
use crate::provider::state::{AccessToken, keys};

/// The introspection request (RFC 7662 2.1) with client authentication.
#[derive(Debug, Deserialize)]
pub struct BackChannelForm {
    pub token: Option<String>,
    pub token_type_hint: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub client_assertion: Option<String>,
    pub client_assertion_type: Option<String>,
}

impl BackChannelForm {
    pub fn credentials(&self) -> ClientCredentials<'_> {
        ClientCredentials {
            client_id: &self.client_id,
            client_secret: &self.client_secret,
            client_assertion: &self.client_assertion,
            client_assertion_type: &self.client_assertion_type,
        }
    }

    /// The `token` parameter, required (RFC 7662 2.1, RFC 7009 2.1).
    pub fn token(&self) -> Result<&str, ExchangeError> {
        self.token
            .as_deref()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ExchangeError::Token(crate::provider::error::TokenError::InvalidRequest(
                    "token is missing".into(),
                ))
            })
    }
}

/// Parses and authenticates a back-channel token request (introspection, revocation).
pub async fn caller<'a>(
    gw: &'a Gateway,
    headers: &HeaderMap,
    body: &str,
) -> Result<(&'a Agency, BackChannelForm), ExchangeError> {
    super::require_form(headers)?;
    let form: BackChannelForm =
        params::parse_with_long(body, MAX_FORM, &["token", "client_assertion"])?;
    let agency = super::authenticate(
        gw,
        headers,
        form.credentials(),
        crate::http::rate::Route::Introspect,
    )
    .await?;
    Ok((agency, form))
}

/// A live access token of the gateway's, opened: sealed by us, unexpired, its grant's live
/// marker still there and naming the same agency.
pub async fn live_token(gw: &Gateway, token: &str) -> Result<Option<AccessToken>, ExchangeError> {
    if token.len() > MAX_SEALED {
        return Ok(None);
    }
    let Some(opened) = gw
        .seals
        .access_token
        .open::<AccessToken>(token)
        .filter(|t| t.exp > gw.now())
    else {
        return Ok(None);
    };
    let live = gw.store.get(&keys::live_grant(&opened.grant)).await?;
    Ok((live.as_deref() == Some(opened.client_id.as_bytes())).then_some(opened))
}

/// `POST /introspect`.
pub async fn introspect(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    body: String,
) -> Response {
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
    let allowed = |t: &AccessToken| {
        t.client_id == caller.client_id
            || caller.back_channel.introspection_for.contains(&t.client_id)
    };
    let body = match live_token(gw, token).await?.filter(allowed) {
        Some(t) => {
            // What operators may know: the caller, and the token's pair and level.
            let token_trail = t.trail();
            trail.origin = token_trail.origin;
            trail.destination = token_trail.destination;
            trail.loa = token_trail.loa;
            active(gw, &t)
        }
        None => json!({"active": false}),
    };
    let result = if body["active"] == Value::Bool(true) {
        "active"
    } else {
        "inactive"
    };
    gw.record(&Event {
        reason: Some(result),
        ..Event::ok(EventKind::Introspected, trail)
    });
    let mut response = (StatusCode::OK, axum::Json(body)).into_response();
    no_store(&mut response);
    Ok(response)
}

/// RFC 7662 2.2 for a live token: its registered claims and the assertion's level and pair.
fn active(gw: &Gateway, t: &AccessToken) -> Value {
    json!({
        "active": true,
        "client_id": t.client_id,
        "token_type": "Bearer",
        "scope": crate::provider::discovery::SCOPES_SUPPORTED.join(" "),
        "sub": t.assertion.sub,
        "aud": t.client_id,
        "iss": gw.issuer,
        "exp": t.exp,
        "iat": t.exp - gw.ttls.access_token.as_secs() as i64,
        "acr": t.assertion.acr.uri(),
        "origin_country": t.assertion.origin_country,
        "destination_country": t.assertion.destination_country,
    })
}
