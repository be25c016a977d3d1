//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): `GET|POST /logout`, the
//! `end_session_endpoint`.
//!
//! The request is checked before anything ends: an `id_token_hint` must be an ID token this
//! gateway signed (signature, `iss`; an expired one is accepted, as the specification
//! allows) for a registered agency; `client_id`, when given with it, must be its audience; a
//! `post_logout_redirect_uri` must be one the agency registered, exactly — otherwise the
//! citizen sees a bilingual error page and is never redirected (no open redirector).
//!
//! When the hint names this browser's session (its `sid` is the agency's in the session),
//! the session ends at once. Without a hint, or with one that does not match, the citizen
//! confirms on a bilingual page first (`POST /logout/confirm`), so a third-party page
//! cannot sign them out. Either way, on the way out: the session's store entry and cookie
//! go, the agencies hear it ([`super::backchannel`], and front-channel iframes on the
//! signed-out page), the national IdP's own logout follows when it has one
//! ([`super::national`]), and the citizen lands on the agency's `post_logout_redirect_uri`
//! with its `state`, or on the signed-out page.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::{Session, clear_cookie, end, load};
use crate::app::{Gateway, token_key};
use crate::config::agencies::Agency;
use crate::http::params::{self, MAX_FORM, MAX_QUERY};
use crate::http::reject::{OAuthError, Reject};
use crate::http::response;
use crate::ops::{Event, EventKind, Trail};
use crate::pages::logout::{Confirm, LogoutPage};
use crate::pages::{Lang, messages};

/// Where the confirmation form posts.
pub const CONFIRM_PATH: &str = "/logout/confirm";
/// How long a confirmation page may wait for the citizen.
const CONFIRM_SECS: i64 = 600;

/// The logout request's parameters (RP-Initiated Logout 1.0 section 2).
#[derive(Debug, Default, Deserialize)]
struct LogoutParams {
    id_token_hint: Option<String>,
    client_id: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    ui_locales: Option<String>,
    /// Accepted and ignored: the browser's session is the one signing out.
    #[allow(dead_code)]
    logout_hint: Option<String>,
}

/// What the confirmation form carries, sealed: the session it was shown for and where to
/// go afterwards.
#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    /// The SHA-256 of the session handle: the form ends only that session.
    session: String,
    client_id: Option<String>,
    /// The post-logout redirect URI with `state`, already checked.
    next: Option<String>,
    lang: String,
    exp: i64,
}

/// The ID token claims a hint is read for.
#[derive(Debug, Deserialize)]
struct Hint {
    aud: Audience,
    #[serde(default)]
    sid: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn single(&self) -> Option<&str> {
        match self {
            Audience::One(a) => Some(a),
            Audience::Many(v) if v.len() == 1 => Some(&v[0]),
            Audience::Many(_) => None,
        }
    }
}

/// `GET /logout`.
pub async fn logout_get(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    logout(&gw, &headers, query.as_deref().unwrap_or(""), MAX_QUERY).await
}

/// `POST /logout` (form-encoded, as the specification allows).
pub async fn logout_post(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    logout(&gw, &headers, &body, MAX_FORM).await
}

/// A logout request refused on a page (never a redirect: the redirect URI is not trusted).
fn bad(lang: Lang, why: &'static str, detail: &str) -> Reject {
    Reject::page(
        StatusCode::BAD_REQUEST,
        OAuthError::InvalidRequest,
        messages::LOGOUT_BAD_REQUEST,
        lang,
    )
    .because(why)
    .with_detail(detail.to_owned())
}

async fn logout(gw: &Arc<Gateway>, headers: &HeaderMap, raw: &str, max: usize) -> Response {
    let mut trail = Trail::default();
    match check(gw, headers, raw, max, &mut trail).await {
        Ok(r) => r,
        Err(reject) => {
            gw.record(&Event::refused(&trail, &reject));
            reject.into_response()
        }
    }
}

async fn check(
    gw: &Arc<Gateway>,
    headers: &HeaderMap,
    raw: &str,
    max: usize,
    trail: &mut Trail,
) -> Result<Response, Reject> {
    let p: LogoutParams = params::parse(raw, max).map_err(|e| {
        Reject::page(
            StatusCode::BAD_REQUEST,
            OAuthError::InvalidRequest,
            messages::BAD_REQUEST,
            Lang::default(),
        )
        .because("bad_parameters")
        .with_detail(e.to_string())
    })?;
    let lang = Lang::from_ui_locales(p.ui_locales.as_deref());
    let hint = match p.id_token_hint.as_deref().filter(|h| !h.is_empty()) {
        None => None,
        Some(h) => Some(verify_hint(gw, h).ok_or_else(|| {
            bad(
                lang,
                "id_token_hint_invalid",
                "id_token_hint is not an ID token issued by this gateway",
            )
        })?),
    };
    let hinted_client = hint.as_ref().and_then(|h| h.aud.single());
    let client_id = match (hinted_client, p.client_id.as_deref()) {
        (Some(a), Some(c)) if a != c => {
            return Err(bad(
                lang,
                "client_id_mismatch",
                "client_id is not the audience of id_token_hint",
            ));
        }
        (Some(a), _) => Some(a),
        (None, c) => c,
    };
    let agency: Option<&Agency> = match client_id {
        None => None,
        Some(c) => Some(gw.agencies.get(c).ok_or_else(|| {
            bad(
                lang,
                "unknown_client",
                "client_id is not a registered agency",
            )
        })?),
    };
    if let Some(a) = agency {
        trail.client_id = Some(a.client_id.clone());
        trail.destination = Some(a.country);
    }
    let next = match p.post_logout_redirect_uri.as_deref() {
        None => None,
        Some(uri) => {
            let Some(a) = agency else {
                return Err(bad(
                    lang,
                    "post_logout_redirect_uri_without_client",
                    "post_logout_redirect_uri needs id_token_hint or client_id",
                ));
            };
            if !a.logout.post_logout_redirect_uris.iter().any(|r| r == uri) {
                return Err(bad(
                    lang,
                    "post_logout_redirect_uri_unregistered",
                    "post_logout_redirect_uri is not registered for this agency (exact match)",
                ));
            }
            Some(with_state(uri, p.state.as_deref()))
        }
    };

    let loaded = load(gw, headers).await.map_err(|_| {
        Reject::page(
            StatusCode::SERVICE_UNAVAILABLE,
            OAuthError::TemporarilyUnavailable,
            messages::STORE_UNAVAILABLE,
            lang,
        )
        .because("store_unavailable")
    })?;
    let Some((handle, session)) = loaded else {
        // Nothing to end in this browser: straight on.
        return Ok(done(gw, lang, next.as_deref(), &[], None));
    };
    trail.origin = Some(session.origin);
    trail.subject = session.subject.clone();
    let matches = hint.as_ref().is_some_and(|h| {
        session.agencies.iter().any(|a| {
            Some(a.client_id.as_str()) == hinted_client && h.sid.as_deref() == Some(a.sid.as_str())
        })
    });
    if matches {
        return finish(gw, handle, session, trail, lang, next).await;
    }
    // No proof the citizen asked: they confirm first.
    let pending = Pending {
        session: token_key(&handle),
        client_id: agency.map(|a| a.client_id.clone()),
        next,
        lang: lang.tag().to_owned(),
        exp: gw.now() + CONFIRM_SECS,
    };
    let sealed = gw.seals.session.logout.seal(&pending);
    let html = crate::pages::logout::render(&LogoutPage {
        lang,
        confirm: Some(Confirm {
            action: CONFIRM_PATH,
            request: &sealed,
        }),
        message: messages::LOGGED_OUT,
        next: None,
        frames: &[],
    });
    Ok(response::page(html, &[]))
}

/// The confirmation form's fields.
#[derive(Debug, Deserialize)]
struct ConfirmForm {
    request: Option<String>,
    decision: Option<String>,
}

/// `POST /logout/confirm`: the citizen confirmed (or not) on the confirmation page.
pub async fn confirm(State(gw): State<Arc<Gateway>>, headers: HeaderMap, body: String) -> Response {
    let mut trail = Trail::default();
    match confirmed(&gw, &headers, &body, &mut trail).await {
        Ok(r) => r,
        Err(reject) => {
            gw.record(&Event::refused(&trail, &reject));
            reject.into_response()
        }
    }
}

async fn confirmed(
    gw: &Arc<Gateway>,
    headers: &HeaderMap,
    body: &str,
    trail: &mut Trail,
) -> Result<Response, Reject> {
    let expired = |lang: Lang| {
        Reject::page(
            StatusCode::BAD_REQUEST,
            OAuthError::InvalidRequest,
            messages::EXPIRED,
            lang,
        )
        .because("logout_expired")
    };
    let form: ConfirmForm = params::parse(body, MAX_FORM).map_err(|_| expired(Lang::default()))?;
    let pending: Pending = form
        .request
        .as_deref()
        .and_then(|r| gw.seals.session.logout.open(r))
        .filter(|p: &Pending| p.exp > gw.now())
        .ok_or_else(|| expired(Lang::default()))?;
    let lang = Lang::from_ui_locales(Some(&pending.lang));
    trail.client_id = pending.client_id.clone();
    if form.decision.as_deref() != Some("logout") {
        let html = crate::pages::logout::render(&LogoutPage {
            lang,
            confirm: None,
            message: messages::STILL_SIGNED_IN,
            next: None,
            frames: &[],
        });
        return Ok(response::page(html, &[]));
    }
    let loaded = load(gw, headers).await.map_err(|_| {
        Reject::page(
            StatusCode::SERVICE_UNAVAILABLE,
            OAuthError::TemporarilyUnavailable,
            messages::STORE_UNAVAILABLE,
            lang,
        )
        .because("store_unavailable")
    })?;
    match loaded {
        // The form ends the session it was shown for, in the browser it was shown to.
        Some((handle, session)) if token_key(&handle) == pending.session => {
            trail.origin = Some(session.origin);
            trail.subject = session.subject.clone();
            finish(gw, handle, session, trail, lang, pending.next).await
        }
        _ => Ok(done(gw, lang, pending.next.as_deref(), &[], None)),
    }
}

/// Ends the session: store entry, cookie, the agencies told; then on to the national IdP's
/// logout if it has one, else to `next` or the signed-out page.
pub(super) async fn finish(
    gw: &Arc<Gateway>,
    handle: String,
    session: Session,
    trail: &Trail,
    lang: Lang,
    next: Option<String>,
) -> Result<Response, Reject> {
    end(gw, &handle).await.map_err(|_| {
        Reject::page(
            StatusCode::SERVICE_UNAVAILABLE,
            OAuthError::TemporarilyUnavailable,
            messages::STORE_UNAVAILABLE,
            lang,
        )
        .because("store_unavailable")
    })?;
    gw.record(&Event {
        reason: Some("rp_initiated"),
        ..Event::ok(EventKind::LoggedOut, trail)
    });
    super::backchannel::notify(gw, &session);
    let frames = super::backchannel::frontchannel_uris(gw, &session);
    let national = super::national::end_session_redirect(gw, &session, next.as_deref(), lang);
    Ok(done(gw, lang, next.as_deref(), &frames, national))
}

/// The response once nothing (more) is to end: the national IdP's logout, or the signed-out
/// page (with front-channel frames), or straight to `next`; the session cookie cleared.
fn done(
    gw: &Gateway,
    lang: Lang,
    next: Option<&str>,
    frames: &[String],
    national: Option<String>,
) -> Response {
    let mut r = match (national, frames.is_empty(), next) {
        (Some(url), true, _) => response::redirect(&url),
        (_, true, Some(next)) => response::redirect(next),
        (national, _, next) => {
            let html = crate::pages::logout::render(&LogoutPage {
                lang,
                confirm: None,
                message: messages::LOGGED_OUT,
                next: national.as_deref().or(next),
                frames,
            });
            frame_page(html, frames)
        }
    };
    clear_cookie(gw, &mut r);
    r
}

/// The signed-out page, its CSP allowing the front-channel frames' origins.
fn frame_page(html: String, frames: &[String]) -> Response {
    let mut r = response::page(html, &[]);
    let origins: Vec<String> = frames
        .iter()
        .filter_map(|f| url::Url::parse(f).ok())
        .map(|u| u.origin().ascii_serialization())
        .filter(|o| o.bytes().all(|b| b.is_ascii_graphic() && b != b';'))
        .collect();
    if !origins.is_empty()
        && let Some(csp) = r
            .headers()
            .get(axum::http::header::CONTENT_SECURITY_POLICY)
            .and_then(|v| v.to_str().ok())
            .map(|v| format!("{v}; frame-src {}", origins.join(" ")))
        && let Ok(v) = axum::http::HeaderValue::from_str(&csp)
    {
        r.headers_mut()
            .insert(axum::http::header::CONTENT_SECURITY_POLICY, v);
    }
    r
}

/// `uri` with `state` added to its query, when there is one.
fn with_state(uri: &str, state: Option<&str>) -> String {
    match (url::Url::parse(uri), state) {
        (Ok(mut url), Some(state)) => {
            url.query_pairs_mut().append_pair("state", state);
            url.into()
        }
        _ => uri.to_owned(),
    }
}

/// The hint's claims, if it is an ID token this gateway signed (signature with one of its
/// keys, `iss`); expiry is not checked (RP-Initiated Logout 1.0 section 2).
fn verify_hint(gw: &Gateway, token: &str) -> Option<Hint> {
    if token.len() > 8192 {
        return None;
    }
    let header = jsonwebtoken::decode_header(token).ok()?;
    // An ID token: not a logout token or anything else the gateway signs.
    if header
        .typ
        .as_deref()
        .is_some_and(|t| !t.eq_ignore_ascii_case("JWT"))
    {
        return None;
    }
    if !gw.keys.signs(header.alg) {
        return None;
    }
    let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_value(gw.keys.jwks()).ok()?;
    let jwk = jwks.find(header.kid.as_deref()?)?;
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).ok()?;
    let mut v = jsonwebtoken::Validation::new(header.alg);
    v.validate_exp = false;
    v.validate_aud = false;
    v.required_spec_claims.clear();
    v.set_issuer(&[gw.issuer.as_str()]);
    let hint: Hint = jsonwebtoken::decode(token, &key, &v).ok()?.claims;
    gw.agencies.get(hint.aud.single()?)?;
    Some(hint)
}

#[cfg(test)]
mod tests {
    use super::with_state;

    #[test]
    fn state_is_added_to_the_registered_uri() {
        assert_eq!(
            with_state("https://a.example/bye?x=1", Some("s t")),
            "https://a.example/bye?x=1&state=s+t"
        );
        assert_eq!(
            with_state("https://a.example/bye", None),
            "https://a.example/bye"
        );
    }
}
