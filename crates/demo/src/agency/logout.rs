//! Signing out everywhere: "Sign out" ends the agency's session and sends the browser to
//! the gateway's `end_session_endpoint` (RP-Initiated Logout 1.0) with the ID token as
//! `id_token_hint` and `post_logout_redirect_uri` = this agency's home page; `POST
//! /backchannel-logout` receives the gateway's logout tokens (Back-Channel Logout 1.0),
//! verified with the gateway's JWKS, and ends the agency's sessions with that `sid`.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// The back-channel logout event.
const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// What each signed-in local session keeps for logout: the gateway's `sid` and the ID token.
#[derive(Default)]
pub(crate) struct Logouts {
    by_session: Mutex<HashMap<String, (Option<String>, String)>>,
}

impl Logouts {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Option<String>, String)>> {
        self.by_session
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Remembers local session `session`'s ID token (and the `sid` in it).
    pub fn signed_in(&self, session: &str, id_token: String) {
        let sid = payload(&id_token)
            .and_then(|c| c.get("sid").and_then(Value::as_str).map(str::to_owned));
        let mut map = self.lock();
        if map.len() > 10_000 {
            map.clear();
        }
        map.insert(session.to_owned(), (sid, id_token));
    }

    /// Forgets local session `session`; its ID token, for the hint.
    pub fn signed_out(&self, session: &str) -> Option<String> {
        self.lock().remove(session).map(|(_, t)| t)
    }

    /// Forgets every local session of gateway session `sid`; their ids.
    pub fn ended(&self, sid: &str) -> Vec<String> {
        let mut map = self.lock();
        let ended: Vec<String> = map
            .iter()
            .filter(|(_, (s, _))| s.as_deref() == Some(sid))
            .map(|(k, _)| k.clone())
            .collect();
        for k in &ended {
            map.remove(k);
        }
        ended
    }
}

fn payload(jwt: &str) -> Option<serde_json::Map<String, Value>> {
    let part = jwt.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()
}

/// The gateway's logout metadata, read from its discovery document.
pub(crate) struct GatewayLogout {
    pub end_session_endpoint: Option<String>,
    jwks_uri: String,
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap_or_default()
}

/// Reads the gateway's discovery document.
pub(crate) async fn discover(issuer: &str) -> Option<GatewayLogout> {
    let doc: Value = client()
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    Some(GatewayLogout {
        end_session_endpoint: doc["end_session_endpoint"].as_str().map(str::to_owned),
        jwks_uri: doc["jwks_uri"].as_str()?.to_owned(),
    })
}

/// The `sid` of a logout token from the gateway, if it verifies (signature with the
/// gateway's JWKS, `iss`, `aud`, `iat`/`exp`, the event, no `nonce`).
pub(crate) async fn verify(
    gateway: &GatewayLogout,
    issuer: &str,
    client_id: &str,
    token: &str,
) -> Option<String> {
    let jwks: jsonwebtoken::jwk::JwkSet = client()
        .get(&gateway.jwks_uri)
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    let header = jsonwebtoken::decode_header(token).ok()?;
    if header.typ.as_deref() != Some("logout+jwt") {
        return None;
    }
    let key = jsonwebtoken::DecodingKey::from_jwk(jwks.find(header.kid.as_deref()?)?).ok()?;
    let mut v = jsonwebtoken::Validation::new(header.alg);
    v.set_issuer(&[issuer]);
    v.set_audience(&[client_id]);
    v.set_required_spec_claims(&["iss", "aud", "iat", "exp"]);
    let claims = jsonwebtoken::decode::<serde_json::Map<String, Value>>(token, &key, &v)
        .ok()?
        .claims;
    let event = claims.get("events").and_then(|e| e.get(EVENT));
    if claims.contains_key("nonce") || !event.is_some_and(Value::is_object) {
        return None;
    }
    claims.get("sid")?.as_str().map(str::to_owned)
}
