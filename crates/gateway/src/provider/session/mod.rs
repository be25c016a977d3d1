//! The gateway's single sign-on session: one per browser, opened by a successful national
//! login, ended by logout (the agency's, or the national IdP's) or by its idle and absolute
//! lifetimes (`[session]`).
//!
//! - The browser holds only a handle, in the session cookie (`__Host-jisr_session` over
//!   https, `jisr_session` over plain http in development): `HttpOnly`, `SameSite=Lax`,
//!   `Path=/`. The handle is 256 random bits, or, when the national IdP named its own session
//!   (`sid` in its ID token), an HMAC of that IdP's issuer and `sid` under a key derived from
//!   the gateway's secret: then a national back-channel logout finds the session without an
//!   index, so a login costs one store write for its session and no more.
//! - The store holds the session under `sess:<SHA-256 of the handle>`, sealed (AES-GCM under
//!   a key of its own): origin, LoA, `auth_time`, the audit reference, the national `iss`,
//!   `sid` and ID token (for `id_token_hint` at the national logout), the national claims
//!   (so single sign-on maps them again under the next agency's pair rule, which filters per
//!   destination and sector), and the agencies signed in with their `sid`s. Nothing in it is
//!   readable without the gateway's secret, and every replica opens it.
//! - Each agency gets its own `sid` (OIDC Front-/Back-Channel Logout): an HMAC of the handle
//!   and its client id, so agencies cannot link their sessions with each other's.
//!
//! [`sso`] reuses the session at `/authorize`; [`logout`] ends it (RP-initiated logout) and
//! [`backchannel`] tells the agencies; [`national`] receives the national IdP's logout.

pub mod backchannel;
pub mod logout;
pub mod national;
pub mod sso;

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cookie::{Cookie, SameSite};
use jisr_mapping::{AuthContext, CountryCode, Loa, NationalClaims, PairwiseKey};
use jisr_store::{StoreError, seal::Sealer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::app::{Gateway, random_token, token_key};

/// The session cookie's name over https (the `__Host-` prefix: `Secure`, `Path=/`, no
/// `Domain`, so no other host can set or read it).
pub const HOST_COOKIE: &str = "__Host-jisr_session";
/// The session cookie's name over plain http (development and tests on loopback).
pub const PLAIN_COOKIE: &str = "jisr_session";
/// Associated data of the sealed stored value.
const SEAL_CONTEXT: &[u8] = b"jisr-session-v1";

/// The session's keys: one seals the stored value, one names sessions and `sid`s.
pub struct SessionSeals {
    value: Sealer,
    ids: aws_lc_rs::hmac::Key,
    /// The logout confirmation form and the return from the national IdP's logout.
    pub logout: crate::provider::seal::TextSealer,
}

impl SessionSeals {
    pub fn from_secret(secret: &PairwiseKey) -> Self {
        SessionSeals {
            value: Sealer::new(&secret.derive("session-value")),
            ids: aws_lc_rs::hmac::Key::new(
                aws_lc_rs::hmac::HMAC_SHA256,
                &secret.derive("session-ids"),
            ),
            logout: crate::provider::seal::TextSealer::new(
                "jisr-logout-v1",
                secret.derive("session-logout"),
            ),
        }
    }

    fn mac(&self, parts: &[&str]) -> String {
        let mut ctx = aws_lc_rs::hmac::Context::with_key(&self.ids);
        for p in parts {
            ctx.update(&(p.len() as u64).to_be_bytes());
            ctx.update(p.as_bytes());
        }
        URL_SAFE_NO_PAD.encode(ctx.sign().as_ref())
    }

    /// The handle of a session opened by a national login whose IdP named its session
    /// `sid`; a random one when it named none.
    pub fn handle(&self, national_iss: &str, national_sid: Option<&str>) -> String {
        match national_sid {
            Some(sid) => self.mac(&["national", national_iss, sid]),
            None => random_token(32),
        }
    }

    /// Agency `client_id`'s `sid` for the session with `handle`.
    pub fn sid(&self, handle: &str, client_id: &str) -> String {
        let mut mac = self.mac(&["sid", handle, client_id]);
        mac.truncate(32);
        mac
    }

    fn seal(&self, session: &Session) -> Result<Vec<u8>, StoreError> {
        let json = serde_json::to_vec(session).map_err(|e| StoreError::Encode {
            reason: e.to_string(),
        })?;
        self.value
            .seal(SEAL_CONTEXT, &json)
            .map_err(|_| StoreError::Encode {
                reason: "the session could not be sealed".into(),
            })
    }

    fn open(&self, sealed: &[u8]) -> Option<Session> {
        let json = self.value.open(SEAL_CONTEXT, sealed).ok()?;
        serde_json::from_slice(&json).ok()
    }
}

/// One agency signed in through the session, with its `sid` and the `sub` its ID tokens
/// carry (pairwise or national as its pair rule says), both sent in its logout tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedIn {
    pub client_id: String,
    pub sid: String,
    #[serde(default)]
    pub sub: Option<String>,
}

/// What the national login established, kept sealed for single sign-on and logout.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct National {
    pub iss: String,
    /// The national IdP's session id (its ID token's `sid`), if it sent one.
    pub sid: Option<String>,
    /// The national ID token, for `id_token_hint` at the national IdP's logout.
    pub id_token: Option<String>,
    /// The verified national claims and their context, mapped again for each agency.
    pub id_token_claims: Option<Map<String, Value>>,
    pub userinfo: Option<Map<String, Value>>,
    pub acr: Option<String>,
    pub amr: Vec<String>,
    pub auth_time: Option<i64>,
}

impl National {
    pub fn claims(&self) -> NationalClaims {
        NationalClaims {
            id_token: self.id_token_claims.clone(),
            userinfo: self.userinfo.clone(),
        }
    }

    pub fn context(&self) -> AuthContext {
        AuthContext {
            issuer: self.iss.clone(),
            acr: self.acr.clone(),
            amr: self.amr.clone(),
            auth_time: self.auth_time,
        }
    }
}

/// A citizen's gateway session, as stored (sealed).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// When the national login opened it (the absolute lifetime counts from here).
    pub created: i64,
    /// When it last signed the citizen in to an agency (the idle lifetime counts from here).
    pub last_used: i64,
    pub origin: CountryCode,
    pub loa: Loa,
    /// When the citizen authenticated nationally (`auth_time` of the assertions).
    pub auth_time: i64,
    /// The citizen's audit reference.
    pub subject: Option<String>,
    pub national: National,
    /// Every agency signed in through this session, in order.
    pub agencies: Vec<SignedIn>,
}

impl Session {
    /// Whether it is still alive at `now` under the gateway's lifetimes.
    pub fn alive(&self, gw: &Gateway, now: i64) -> bool {
        now < self.created + gw.ttls.session_absolute.as_secs() as i64
            && now < self.last_used + gw.ttls.session_idle.as_secs() as i64
    }

    /// Seconds it may still live if unused from `now`.
    fn remaining(&self, gw: &Gateway, now: i64) -> i64 {
        (self.created + gw.ttls.session_absolute.as_secs() as i64 - now)
            .min(gw.ttls.session_idle.as_secs() as i64)
    }

    /// Adds `client_id` (with its `sid` and the `sub` it is given) unless already there;
    /// returns its `sid` and whether it joined the session now.
    pub fn sign_in(
        &mut self,
        gw: &Gateway,
        handle: &str,
        client_id: &str,
        sub: &str,
    ) -> (String, bool) {
        let sid = gw.seals.session.sid(handle, client_id);
        let joined = !self.agencies.iter().any(|a| a.client_id == client_id);
        if joined {
            self.agencies.push(SignedIn {
                client_id: client_id.to_owned(),
                sid: sid.clone(),
                sub: Some(sub.to_owned()),
            });
        }
        (sid, joined)
    }
}

/// The discovery metadata of sessions and logout.
pub fn discovery_metadata(gw: &Gateway) -> Vec<(&'static str, Value)> {
    vec![
        ("end_session_endpoint", Value::from(gw.url("/logout"))),
        ("backchannel_logout_supported", Value::Bool(true)),
        ("backchannel_logout_session_supported", Value::Bool(true)),
        ("frontchannel_logout_supported", Value::Bool(true)),
        ("frontchannel_logout_session_supported", Value::Bool(true)),
        (
            "prompt_values_supported",
            serde_json::json!(["none", "login"]),
        ),
    ]
}

/// Where the session with `handle` is stored.
pub fn store_key(handle: &str) -> String {
    format!("sess:{}", token_key(handle))
}

/// The session cookie's name for this gateway.
pub fn cookie_name(gw: &Gateway) -> &'static str {
    if gw.is_https() {
        HOST_COOKIE
    } else {
        PLAIN_COOKIE
    }
}

/// The handle in the request's session cookie, if any.
pub fn handle_in(gw: &Gateway, headers: &HeaderMap) -> Option<String> {
    let name = cookie_name(gw);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name && !c.value().is_empty() && c.value().len() <= 64)
        .map(|c| c.value().to_owned())
}

/// The session the request's cookie names, if it is stored, ours and alive. One store
/// read, only when the browser sends the cookie.
pub async fn load(
    gw: &Gateway,
    headers: &HeaderMap,
) -> Result<Option<(String, Session)>, StoreError> {
    let Some(handle) = handle_in(gw, headers) else {
        return Ok(None);
    };
    let Some(sealed) = gw.store.get(&store_key(&handle)).await? else {
        return Ok(None);
    };
    let now = gw.now();
    Ok(gw
        .seals
        .session
        .open(&sealed)
        .filter(|s| s.alive(gw, now))
        .map(|s| (handle, s)))
}

/// Stores `session` under `handle` until its idle or absolute end, whichever comes first.
pub async fn save(gw: &Gateway, handle: &str, session: &Session) -> Result<(), StoreError> {
    let secs = session.remaining(gw, gw.now()).max(1) as u64;
    let sealed = gw.seals.session.seal(session)?;
    gw.store
        .put(
            &store_key(handle),
            &sealed,
            std::time::Duration::from_secs(secs),
        )
        .await
}

/// Ends the session with `handle` in the store; whether it was there.
pub async fn end(gw: &Gateway, handle: &str) -> Result<bool, StoreError> {
    gw.store.delete(&store_key(handle)).await
}

fn cookie_header(gw: &Gateway, value: String, max_age: i64) -> Option<HeaderValue> {
    let cookie = Cookie::build((cookie_name(gw), value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(gw.is_https())
        .max_age(cookie::time::Duration::seconds(max_age))
        .build();
    HeaderValue::from_str(&cookie.to_string()).ok()
}

/// Sets the session cookie on `response`, to last as long as the session can.
pub fn set_cookie(gw: &Gateway, response: &mut Response, handle: &str, session: &Session) {
    let max_age = session.created + gw.ttls.session_absolute.as_secs() as i64 - gw.now();
    if let Some(v) = cookie_header(gw, handle.to_owned(), max_age.max(1)) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Ends the session cookie on `response`.
pub fn clear_cookie(gw: &Gateway, response: &mut Response) {
    if let Some(v) = cookie_header(gw, String::new(), 0) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// What the callback knows once the national login is verified and mapped.
pub struct Opened<'a> {
    pub origin: CountryCode,
    pub loa: Loa,
    pub auth_time: i64,
    pub subject: Option<String>,
    pub national: National,
    pub client_id: &'a str,
    /// The `sub` the agency's ID token carries.
    pub sub: &'a str,
}

/// The browser's session after a national login.
pub struct OpenSession {
    pub handle: String,
    pub session: Session,
    /// The agency's `sid`.
    pub sid: String,
    /// Whether the agency joined the session with this login (it was not signed in to it
    /// before): a consent declined afterwards takes it out again.
    pub joined: bool,
    /// The session this browser held for another citizen (or country), now ended: its
    /// agencies are to be told.
    pub replaced: Option<Session>,
}

/// After a national login: the browser's session, opened (or renewed, keeping the agencies
/// of the one it replaces when it is the same citizen from the same country), with the
/// agency signed in. A session the browser held for someone else ends: the cookie no longer
/// reaches it, and it must not linger in the store until its idle end. One store write; a
/// read and a delete more only when the browser already held a session under another
/// handle.
pub async fn open(
    gw: &Gateway,
    headers: &HeaderMap,
    opened: Opened<'_>,
) -> Result<OpenSession, StoreError> {
    let now = gw.now();
    let handle = gw
        .seals
        .session
        .handle(&opened.national.iss, opened.national.sid.as_deref());
    let previous = if handle_in(gw, headers).is_some() {
        load(gw, headers).await?
    } else {
        None
    };
    let mut session = Session {
        created: now,
        last_used: now,
        origin: opened.origin,
        loa: opened.loa,
        auth_time: opened.auth_time,
        subject: opened.subject,
        national: opened.national,
        agencies: Vec::new(),
    };
    let mut replaced = None;
    if let Some((old_handle, old)) = previous {
        if old.origin == session.origin && old.subject == session.subject {
            // Same citizen: the agencies signed in before stay reachable by logout.
            session.agencies = old.agencies;
            for a in &mut session.agencies {
                a.sid = gw.seals.session.sid(&handle, &a.client_id);
            }
            if old_handle != handle {
                end(gw, &old_handle).await?;
            }
        } else if old_handle != handle {
            end(gw, &old_handle).await?;
            replaced = Some(old);
        }
    }
    let (sid, joined) = session.sign_in(gw, &handle, opened.client_id, opened.sub);
    save(gw, &handle, &session).await?;
    Ok(OpenSession {
        handle,
        session,
        sid,
        joined,
        replaced,
    })
}

/// The citizen declined to share their identity with `client_id`, which joined the
/// browser's session with this sign-in: it leaves the session again, so it is not told of
/// a logout for a sign-in it never received. Best effort (a store failure leaves it listed,
/// and it then gets one logout token too many); one read and one write, only on a decline.
pub async fn leave(gw: &Gateway, headers: &HeaderMap, client_id: &str) {
    let result = async {
        let Some((handle, mut session)) = load(gw, headers).await? else {
            return Ok(());
        };
        let before = session.agencies.len();
        session.agencies.retain(|a| a.client_id != client_id);
        if session.agencies.len() != before {
            save(gw, &handle, &session).await?;
        }
        Ok::<(), StoreError>(())
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "a declining agency could not be taken out of the session");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seals() -> SessionSeals {
        SessionSeals::from_secret(&PairwiseKey::new([9u8; 32]).unwrap())
    }

    #[test]
    fn national_sessions_have_stable_handles_and_sids_differ_per_agency() {
        let s = seals();
        let a = s.handle("https://idp.sa", Some("nat-sid"));
        assert_eq!(a, s.handle("https://idp.sa", Some("nat-sid")));
        assert_ne!(a, s.handle("https://idp.om", Some("nat-sid")));
        assert_ne!(s.handle("i", None), s.handle("i", None));
        assert_ne!(s.sid(&a, "one"), s.sid(&a, "two"));
        assert_eq!(s.sid(&a, "one").len(), 32);
        // Length-prefixed: moving a byte between parts changes the MAC.
        assert_ne!(s.mac(&["ab", "c"]), s.mac(&["a", "bc"]));
    }

    #[test]
    fn sealed_sessions_reveal_nothing_and_open_only_with_their_key() {
        let session = Session {
            created: 1,
            last_used: 1,
            origin: "SA".parse().unwrap(),
            loa: Loa::High,
            auth_time: 1,
            subject: None,
            national: National {
                iss: "https://idp.sa".into(),
                sid: None,
                id_token: Some("CANARY-ID-TOKEN".into()),
                id_token_claims: None,
                userinfo: None,
                acr: None,
                amr: vec![],
                auth_time: None,
            },
            agencies: vec![],
        };
        let sealed = seals().seal(&session).unwrap();
        assert!(!String::from_utf8_lossy(&sealed).contains("CANARY"));
        assert!(seals().open(&sealed).is_some());
        let other = SessionSeals::from_secret(&PairwiseKey::new([8u8; 32]).unwrap());
        assert!(other.open(&sealed).is_none());
    }
}
