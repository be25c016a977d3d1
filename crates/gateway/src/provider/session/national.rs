//! The national IdP's side of logout.
//!
//! - After the gateway's own logout, when the national IdP advertises an
//!   `end_session_endpoint`, the citizen goes there ([`end_session_redirect`]) with the
//!   national ID token as `id_token_hint` (kept sealed in the session), the gateway's
//!   client id, and `post_logout_redirect_uri` = `<issuer>/logout/return`; the `state`
//!   sent there is sealed and says where to go next. [`returned`] (`GET /logout/return`)
//!   then takes the citizen on to the agency's `post_logout_redirect_uri` with its `state`,
//!   or to the signed-out page. The gateway's `/logout/return` is what to register at the
//!   national IdP as its post-logout redirect URI.
//! - `POST /backchannel-logout/{cc}` ([`receive`]) is the gateway's back-channel logout
//!   URI at each national IdP: a verified logout token (see
//!   `crate::upstream::logout_token`; its `jti` single use through the store) ends the
//!   gateway session opened by that national session — found by its `sid` with no index,
//!   since the session's handle is derived from the national issuer and `sid` — and the
//!   agencies of that session are told (back-channel). A token naming only `sub` is
//!   accepted and ends nothing: the gateway keeps no index by national subject.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::{Session, end, store_key};
use crate::app::Gateway;
use crate::http::params::{self, MAX_FORM, MAX_QUERY};
use crate::http::reject::{OAuthError, Reject};
use crate::http::response;
use crate::ops::{Event, EventKind, Trail};
use crate::pages::logout::LogoutPage;
use crate::pages::{Lang, messages};

/// The gateway's post-logout redirect URI at national IdPs.
pub const RETURN_PATH: &str = "/logout/return";
/// How long the citizen may take at the national IdP's logout.
const RETURN_SECS: i64 = 600;

/// The sealed `state` sent to the national IdP's logout.
#[derive(Debug, Serialize, Deserialize)]
struct Return {
    next: Option<String>,
    lang: String,
    exp: i64,
}

/// Where to send the citizen to end their national session, if their IdP can.
pub fn end_session_redirect(
    gw: &Gateway,
    session: &Session,
    next: Option<&str>,
    lang: Lang,
) -> Option<String> {
    let upstream = gw.upstreams.get(session.origin)?;
    let (endpoint, client_id) = upstream.end_session()?;
    let hint = session.national.id_token.as_deref()?;
    let state = gw.seals.session.logout.seal(&Return {
        next: next.map(str::to_owned),
        lang: lang.tag().to_owned(),
        exp: gw.now() + RETURN_SECS,
    });
    let mut url = url::Url::parse(&endpoint).ok()?;
    url.query_pairs_mut()
        .append_pair("id_token_hint", hint)
        .append_pair("client_id", client_id)
        .append_pair("post_logout_redirect_uri", &gw.url(RETURN_PATH))
        .append_pair("state", &state)
        .append_pair("ui_locales", lang.tag());
    Some(url.into())
}

#[derive(Debug, Deserialize)]
struct ReturnParams {
    state: Option<String>,
}

/// `GET /logout/return`: back from the national IdP's logout.
pub async fn returned(State(gw): State<Arc<Gateway>>, RawQuery(query): RawQuery) -> Response {
    let back: Option<Return> =
        params::parse::<ReturnParams>(query.as_deref().unwrap_or(""), MAX_QUERY)
            .ok()
            .and_then(|p| p.state)
            .and_then(|s| gw.seals.session.logout.open::<Return>(&s))
            .filter(|r| r.exp > gw.now());
    match back {
        Some(Return {
            next: Some(next), ..
        }) => response::redirect(&next),
        other => {
            let lang = Lang::from_ui_locales(other.as_ref().map(|r| r.lang.as_str()));
            let html = crate::pages::logout::render(&LogoutPage {
                lang,
                confirm: None,
                message: messages::LOGGED_OUT,
                next: None,
                frames: &[],
            });
            response::page(html, &[])
        }
    }
}

#[derive(Debug, Deserialize)]
struct LogoutForm {
    logout_token: Option<String>,
}

/// `POST /backchannel-logout/{cc}`: the national IdP of `cc` ends a session.
pub async fn receive(
    State(gw): State<Arc<Gateway>>,
    Path(cc): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let mut trail = Trail::default();
    let result = receive_token(&gw, &cc, &headers, &body, &mut trail).await;
    let mut response = match result {
        Ok(()) => StatusCode::OK.into_response(),
        Err(reject) => {
            gw.record(&Event::refused(&trail, &reject));
            reject.into_response()
        }
    };
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}

fn refuse(why: &'static str, description: impl Into<String>) -> Reject {
    Reject::json(
        StatusCode::BAD_REQUEST,
        OAuthError::InvalidRequest,
        description,
    )
    .because(why)
}

async fn receive_token(
    gw: &Arc<Gateway>,
    cc: &str,
    headers: &HeaderMap,
    body: &str,
    trail: &mut Trail,
) -> Result<(), Reject> {
    let origin = cc
        .to_ascii_uppercase()
        .parse::<jisr_mapping::CountryCode>()
        .ok()
        .filter(|c| gw.upstreams.get(*c).is_some())
        .ok_or_else(|| {
            refuse(
                "unknown_country",
                "no national IdP is configured for this path",
            )
        })?;
    trail.origin = Some(origin);
    let form_encoded = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form_encoded {
        return Err(refuse(
            "bad_parameters",
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let form: LogoutForm =
        params::parse(body, MAX_FORM).map_err(|e| refuse("bad_parameters", e.to_string()))?;
    let token = form
        .logout_token
        .ok_or_else(|| refuse("bad_parameters", "logout_token is missing"))?;
    let upstream = gw.upstreams.get(origin).ok_or_else(|| {
        refuse(
            "unknown_country",
            "no national IdP is configured for this path",
        )
    })?;
    let now = gw.now();
    let verified = upstream
        .verify_logout_token(&token, now)
        .await
        .map_err(|e| refuse(e.reason(), format!("logout_token refused: {e}")))?;
    // Single use: a replayed token is refused (kept a little longer than it may be fresh).
    let unavailable = |_| {
        Reject::json(
            StatusCode::SERVICE_UNAVAILABLE,
            OAuthError::TemporarilyUnavailable,
            "the session store is unavailable",
        )
        .because("store_unavailable")
    };
    let iss = upstream.config.issuer.clone();
    let fresh = gw
        .store
        .insert_if_absent(
            &format!(
                "bcl:{}:{}",
                crate::app::token_key(&iss),
                crate::app::token_key(&verified.jti)
            ),
            b"1",
            Duration::from_secs(2 * crate::upstream::logout_token::MAX_AGE_SECS as u64),
        )
        .await
        .map_err(unavailable)?;
    if !fresh {
        return Err(refuse(
            "logout_token_replayed",
            "logout_token was already used",
        ));
    }
    let Some(sid) = verified.sid else {
        return Ok(());
    };
    let handle = gw.seals.session.handle(&iss, Some(&sid));
    let Some(sealed) = gw
        .store
        .get(&store_key(&handle))
        .await
        .map_err(unavailable)?
    else {
        return Ok(());
    };
    let Some(session) = gw.seals.session.open(&sealed) else {
        return Ok(());
    };
    end(gw, &handle).await.map_err(unavailable)?;
    trail.subject = session.subject.clone();
    gw.record(&Event {
        reason: Some("national"),
        ..Event::ok(EventKind::LoggedOut, trail)
    });
    super::backchannel::notify(gw, &session);
    Ok(())
}
