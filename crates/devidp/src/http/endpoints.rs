//! Discovery, JWKS, userinfo and the fault admin endpoint.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::OAuthError;
use crate::claims::{acr_values, claims_supported, oauth2_only, scopes_supported, userinfo_claims};
use crate::config::{Faults, SigningAlg};
use crate::jws::remove_claims;
use crate::operators;
use crate::state::{App, Who};

fn cacheable(body: Value) -> Response {
    let mut response = Json(body).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=300"),
    );
    response
}

pub(super) async fn discovery(State(app): State<Arc<App>>) -> Response {
    let mut doc = json!({
        "issuer": app.issuer,
        "authorization_endpoint": app.endpoint("/authorize"),
        "token_endpoint": app.endpoint("/token"),
        "userinfo_endpoint": app.endpoint("/userinfo"),
        "jwks_uri": app.endpoint("/jwks"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [app.alg.name()],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": SigningAlg::ALL.map(SigningAlg::name),
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "acr_values_supported": acr_values(app.country),
        "scopes_supported": scopes_supported(app.country),
        "claims_supported": claims_supported(app.country),
        "claims_parameter_supported": app.claims_parameter,
        "ui_locales_supported": ["ar", "en"],
    });
    if app.logout.is_some()
        && let Some(doc) = doc.as_object_mut()
    {
        doc.insert(
            "end_session_endpoint".into(),
            json!(app.endpoint("/logout")),
        );
        doc.insert("backchannel_logout_supported".into(), json!(true));
        doc.insert("backchannel_logout_session_supported".into(), json!(true));
    }
    if oauth2_only(app.country) {
        // UAE PASS issues no ID token: nothing to sign them with.
        if let Some(doc) = doc.as_object_mut() {
            doc.remove("id_token_signing_alg_values_supported");
        }
    }
    cacheable(doc)
}

pub(super) async fn jwks(State(app): State<Arc<App>>) -> Result<Response, OAuthError> {
    let faults = app.faults();
    let keys = app
        .keys()
        .published(&faults)
        .map_err(|e| OAuthError::Server(e.to_string()))?;
    Ok(cacheable(json!({ "keys": keys })))
}

pub(super) async fn userinfo(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
) -> Result<Response, OAuthError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or_else(|| OAuthError::InvalidToken("a Bearer access token is required".into()))?;
    let grant = app
        .flows()
        .token(token, app.clock.now())
        .ok_or_else(|| OAuthError::InvalidToken("the access token is unknown or expired".into()))?;
    let faults = app.faults();
    let mut claims = match grant.who {
        Who::Citizen(c) => userinfo_claims(app.country, c, &grant.level),
        Who::Operator(o) => {
            let mut m = operators::claims(o);
            m.insert("sub".into(), json!(o.id));
            m
        }
    };
    remove_claims(&mut claims, &faults.missing_claims);
    if faults.userinfo_other_sub {
        claims.insert("sub".into(), json!(format!("{}-other", grant.who.sub())));
    }
    let mut response = Json(Value::Object(claims)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

pub(super) async fn get_faults(State(app): State<Arc<App>>) -> Json<Faults> {
    Json(app.faults())
}

/// Replaces all faults with the posted JSON (fields left out are off); answers the new set.
pub(super) async fn set_faults(State(app): State<Arc<App>>, body: String) -> Response {
    match serde_json::from_str::<Faults>(&body) {
        Ok(faults) => {
            tracing::info!("devidp faults replaced");
            app.set_faults(faults.clone());
            Json(faults).into_response()
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "invalid_request", "error_description": e.to_string() })),
        )
            .into_response(),
    }
}
