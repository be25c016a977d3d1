//! Step 5, `POST /token`: authorization_code with PKCE, after [`super::client_auth`].
//! Codes are single use; a reused code revokes what it issued.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::json;

use super::client_auth;
use super::error::TokenError;
use super::id_token;
use super::state::{self, AccessToken, CodeGrant, keys};
use crate::app::{Gateway, token_key};
use crate::http::params::{self, MAX_FORM};
use crate::http::reject::Reject;
use crate::http::response::no_store;
use crate::ops::{Event, EventKind, Trail};

/// The token request's parameters (RFC 6749 4.1.3, RFC 7636 4.5, RFC 7523 2.2).
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub client_assertion: Option<String>,
    pub client_assertion_type: Option<String>,
}

/// `POST /token`.
pub async fn token(State(gw): State<Arc<Gateway>>, headers: HeaderMap, body: String) -> Response {
    if crate::exchange::is_exchange(&body) {
        return crate::exchange::grant::token_exchange(gw, headers, body).await;
    }
    let mut trail = Trail::default();
    match exchange(&gw, &headers, &body, &mut trail).await {
        Ok(r) => r,
        Err(e) => {
            let reject = Reject::from(e);
            gw.record(&Event::refused(&trail, &reject));
            reject.into_response()
        }
    }
}

async fn exchange(
    gw: &Gateway,
    headers: &HeaderMap,
    body: &str,
    trail: &mut Trail,
) -> Result<Response, TokenError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(TokenError::InvalidRequest(
            "the body must be application/x-www-form-urlencoded".into(),
        ));
    }
    let form: TokenForm = params::parse(body, MAX_FORM)?;
    let agency =
        client_auth::authenticate(gw, headers, &form, crate::http::rate::Route::Token).await?;
    trail.client_id = Some(agency.client_id.clone());
    trail.destination = Some(agency.country);

    let missing = |what: &str| TokenError::InvalidRequest(format!("{what} is missing"));
    match form.grant_type.as_deref() {
        Some("authorization_code") => {}
        None => return Err(missing("grant_type")),
        Some(_) => return Err(TokenError::UnsupportedGrantType),
    }
    let code = form
        .code
        .as_deref()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| missing("code"))?;
    let redirect_uri = form
        .redirect_uri
        .as_deref()
        .ok_or_else(|| missing("redirect_uri"))?;
    let verifier = form
        .code_verifier
        .as_deref()
        .ok_or_else(|| missing("code_verifier (PKCE)"))?;

    // A code is either the stored code itself, or, where the citizen had to consent, the
    // stored code with the gateway's approval (`<code>.<time>.<mac>`).
    let approval = gw.seals.approved(code);
    let stored = approval.as_ref().map_or(code, |(c, _)| c.as_str());
    let code_key = token_key(stored);
    let now = gw.now();
    let grant: Option<CodeGrant> = state::take(gw.store.as_ref(), &keys::code(&code_key)).await?;
    let Some(grant) = grant else {
        // Unknown, expired or already used. If it was used, the tokens issued from it must
        // stop working: their live marker goes (userinfo requires it, so losing store data
        // also fails closed).
        let revoked = gw.store.delete(&keys::live_grant(&code_key)).await?;
        if revoked {
            tracing::warn!(target: "audit", client_id = %agency.client_id, "authorization code reused; tokens issued from it revoked");
            return Err(TokenError::InvalidGrant(
                "authorization code was already used; tokens issued from it are revoked",
            ));
        }
        return Err(TokenError::InvalidGrant(
            "authorization code is unknown, expired or already used",
        ));
    };
    if grant.client_id == agency.client_id {
        *trail = grant.trail();
    }
    match (grant.consent, approval) {
        (false, None) => {}
        (true, Some((_, approved_at)))
            if now - approved_at <= gw.ttls.code.as_secs() as i64 && approved_at <= now + 5 => {}
        (true, Some(_)) => return Err(TokenError::InvalidGrant("authorization code has expired")),
        _ => return Err(TokenError::InvalidGrant("authorization code is not valid")),
    }
    if grant.client_id != agency.client_id {
        return Err(TokenError::InvalidGrant(
            "authorization code was issued to another client",
        ));
    }
    if grant.redirect_uri != redirect_uri {
        return Err(TokenError::InvalidGrant(
            "redirect_uri does not match the authorization request",
        ));
    }
    if !pkce_matches(verifier, &grant.code_challenge) {
        return Err(TokenError::InvalidGrant(
            "code_verifier does not match the code_challenge",
        ));
    }

    // The access token is sealed; the grant's live marker is what userinfo checks, so a
    // reused code (or lost store data) ends it.
    gw.store
        .put(
            &keys::live_grant(&code_key),
            agency.client_id.as_bytes(),
            gw.ttls.access_token,
        )
        .await?;
    let access_token = gw.seals.access_token.seal(&AccessToken {
        grant: code_key,
        client_id: agency.client_id.clone(),
        exp: now + gw.ttls.access_token.as_secs() as i64,
        assertion: grant.assertion.clone(),
        flow: grant.flow.clone(),
        subject: grant.subject.clone(),
    });
    let id_token = id_token::issue(gw, agency, &grant, &access_token, now)?;
    gw.record(&Event::ok(EventKind::CodeRedeemed, trail));

    let body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": gw.ttls.access_token.as_secs(),
        "id_token": id_token,
        "scope": super::discovery::SCOPES_SUPPORTED.join(" "),
    });
    let mut response = (StatusCode::OK, axum::Json(body)).into_response();
    no_store(&mut response);
    Ok(response)
}

/// RFC 7636 S256: BASE64URL(SHA256(verifier)) == challenge, verifier of the right form.
fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    let computed = URL_SAFE_NO_PAD.encode(digest.as_ref());
    well_formed
        && aws_lc_rs::constant_time::verify_slices_are_equal(
            computed.as_bytes(),
            challenge.as_bytes(),
        )
        .is_ok()
}
