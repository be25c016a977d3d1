//! Session logout, when configured ([`crate::DevLogout`]): ID tokens name the IdP's
//! session (`sid`), `GET /logout` is the `end_session_endpoint` (RP-Initiated Logout 1.0)
//! and [`backchannel`] sends logout tokens to the RP (Back-Channel Logout 1.0), so the
//! gateway's national logout can be exercised end to end.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::config::Faults;
use crate::http::params::Params;
use crate::state::{App, random_token};

/// The back-channel logout event.
pub const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// Sessions kept for logout; beyond it the oldest tenth goes.
const MAX_SESSIONS: usize = 10_000;

/// A new session's `sid` for `sub` signed in to `client_id`, when the IdP does logout.
pub(crate) fn open_session(app: &App, sub: &str, client_id: &str) -> Option<String> {
    app.logout.as_ref()?;
    let sid = random_token().ok()?;
    let mut sessions = app.sessions.lock().unwrap_or_else(|e| e.into_inner());
    // A development IdP keeps the newest sessions only: a long-running demo must not grow.
    if sessions.len() >= MAX_SESSIONS {
        sessions.drain(..MAX_SESSIONS / 10);
    }
    sessions.push((sid.clone(), sub.to_owned(), client_id.to_owned()));
    Some(sid)
}

pub(crate) fn sessions_of(app: &App, sub: &str) -> Vec<String> {
    let sessions = app.sessions.lock().unwrap_or_else(|e| e.into_inner());
    sessions
        .iter()
        .filter(|(_, s, _)| s == sub)
        .map(|(sid, _, _)| sid.clone())
        .collect()
}

/// `claims` signed as a logout token (header `typ: logout+jwt`).
pub(crate) fn sign(app: &App, claims: &Map<String, Value>, faults: &Faults) -> String {
    let mut faults = faults.clone();
    let mut header = faults.header.take().unwrap_or_default();
    header.entry("typ").or_insert_with(|| json!("logout+jwt"));
    faults.header = Some(header);
    let key = app.keys().active(&faults);
    key.ok()
        .and_then(|k| crate::jws::sign(&k, &faults, claims).ok())
        .unwrap_or_default()
}

/// Ends every session of `sub` and tells the RP of each over the back channel.
pub(crate) async fn backchannel(app: &Arc<App>, sub: &str) -> Vec<u16> {
    let ended: Vec<(String, String, String)> = {
        let mut sessions = app.sessions.lock().unwrap_or_else(|e| e.into_inner());
        let (ended, kept) = sessions.drain(..).partition(|(_, s, _)| s == sub);
        *sessions = kept;
        ended
    };
    let Some(uri) = app
        .logout
        .as_ref()
        .and_then(|l| l.backchannel_logout_uri.clone())
    else {
        return Vec::new();
    };
    let client = reqwest::Client::new();
    let now = app.clock.now();
    let mut statuses = Vec::new();
    for (sid, sub, client_id) in ended {
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(app.issuer));
        claims.insert("aud".into(), json!(client_id));
        claims.insert("iat".into(), json!(now));
        claims.insert("exp".into(), json!(now + 120));
        claims.insert("jti".into(), json!(random_token().unwrap_or_default()));
        claims.insert("sid".into(), json!(sid));
        claims.insert("sub".into(), json!(sub));
        claims.insert("events".into(), json!({ BACKCHANNEL_EVENT: {} }));
        let token = sign(app, &claims, &app.faults());
        let status = client
            .post(&uri)
            .form(&[("logout_token", token.as_str())])
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0);
        statuses.push(status);
    }
    statuses
}

/// The `sid` in an ID token's payload (the dev IdP's own token; not verified here, it only
/// names which session to end).
fn hinted_sid(id_token: &str) -> Option<String> {
    let payload = id_token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: Map<String, Value> = serde_json::from_slice(&bytes).ok()?;
    claims.get("sid")?.as_str().map(str::to_owned)
}

/// `GET /logout`: ends the session the `id_token_hint` names and returns to the registered
/// `post_logout_redirect_uri` with `state`, or shows a short page.
pub(crate) async fn end_session(
    State(app): State<Arc<App>>,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(logout) = app.logout.clone() else {
        return (StatusCode::NOT_FOUND, "logout is not enabled").into_response();
    };
    let params = match Params::parse(query.as_deref().unwrap_or_default(), "query string") {
        Ok(p) => p,
        Err(d) => return (StatusCode::BAD_REQUEST, d).into_response(),
    };
    if let Some(sid) = params.get("id_token_hint").and_then(hinted_sid) {
        let mut sessions = app.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.retain(|(s, _, _)| *s != sid);
    }
    match params.get("post_logout_redirect_uri") {
        Some(uri) if logout.allows(uri) => {
            let Ok(mut url) = url::Url::parse(uri) else {
                return (StatusCode::BAD_REQUEST, "bad post_logout_redirect_uri").into_response();
            };
            if let Some(state) = params.get("state") {
                url.query_pairs_mut().append_pair("state", state);
            }
            let mut r = StatusCode::SEE_OTHER.into_response();
            if let Ok(v) = HeaderValue::from_str(url.as_str()) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            r
        }
        Some(_) => (
            StatusCode::BAD_REQUEST,
            "post_logout_redirect_uri is not registered",
        )
            .into_response(),
        None => (StatusCode::OK, "Signed out of the development IdP.").into_response(),
    }
}
