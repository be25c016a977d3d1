//! The router and its handlers. Every failed step ends in [`AgencyError::page`].

use std::sync::Arc;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use tower_http::set_header::SetResponseHeaderLayer;

use super::Agency;
use super::error::AgencyError;
use super::pages;
use super::session::{cookie, sid_from};

pub(crate) fn router(agency: Arc<Agency>) -> Router {
    // No scripts, styles only from here, no framing; no Referer carrying a code onwards.
    let set =
        |name, value| SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value));
    Router::new()
        .route("/", get(home))
        .route("/login", get(login))
        .route("/callback", get(callback))
        .route("/logout", get(logout).post(logout))
        .route(
            "/backchannel-logout",
            axum::routing::post(backchannel_logout),
        )
        .route("/static/agency.css", get(css))
        .layer(set(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ))
        .layer(set(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(set(header::REFERRER_POLICY, "no-referrer"))
        .layer(set(header::X_FRAME_OPTIONS, "DENY"))
        .with_state(agency)
}

/// `/?lang=ar|en`: the language the page leads with (and its sign-in button asks for).
async fn home(
    State(agency): State<Arc<Agency>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let person =
        sid_from(&headers, &agency.cookie_name).and_then(|sid| agency.sessions.person(&sid));
    let lang = serde_urlencoded::from_str::<LoginQuery>(query.as_deref().unwrap_or(""))
        .ok()
        .and_then(|q| q.lang);
    pages::home(
        &agency.view,
        person.as_deref(),
        pages::Lang::parse(lang.as_deref()),
    )
}

#[derive(Deserialize)]
struct LoginQuery {
    /// `en` puts English first in `ui_locales`; Arabic is first otherwise.
    lang: Option<String>,
}

/// Starts a sign-in: 302 to the gateway's authorization endpoint.
async fn login(
    State(agency): State<Arc<Agency>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = serde_urlencoded::from_str::<LoginQuery>(query.as_deref().unwrap_or("")).ok();
    let locales: [&str; 2] = match query.as_ref().and_then(|q| q.lang.as_deref()) {
        Some("en") => ["en", "ar"],
        _ => ["ar", "en"],
    };
    // `/login` without `lang` keeps Arabic first, as before the switch existed.
    let (url, pending) = match agency.rp.start(&agency.acr_values, &locales).await {
        Ok(started) => started,
        Err(e) => return e.page(&agency.view),
    };
    let sid = agency
        .sessions
        .add_pending(sid_from(&headers, &agency.cookie_name).as_deref(), pending);
    let Ok(location) = HeaderValue::from_str(url.as_str()) else {
        return AgencyError::Unavailable("the authorization URL is not a valid header".into())
            .page(&agency.view);
    };
    (
        StatusCode::FOUND,
        [
            (header::LOCATION, location),
            (
                header::SET_COOKIE,
                cookie(&agency.cookie_name, Some(&sid), agency.secure_cookie),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
    )
        .into_response()
}

/// The authorization response: on success the person is signed in and sent to `/`.
async fn callback(
    State(agency): State<Arc<Agency>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let sid = sid_from(&headers, &agency.cookie_name);
    match finish(&agency, sid.as_deref(), query.as_deref().unwrap_or("")).await {
        Ok(new_sid) => (
            StatusCode::SEE_OTHER,
            [
                (header::LOCATION, HeaderValue::from_static("/")),
                (
                    header::SET_COOKIE,
                    cookie(&agency.cookie_name, Some(&new_sid), agency.secure_cookie),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
        )
            .into_response(),
        Err(e) => e.page(&agency.view),
    }
}

async fn finish(agency: &Agency, sid: Option<&str>, query: &str) -> Result<String, AgencyError> {
    let params = CallbackQuery::parse(query)?;
    // The sign-in in progress is consumed whatever happens next: a response is used once.
    let pending = match (sid, given(&params.state)) {
        (Some(sid), Some(state)) => agency.sessions.take_pending(sid, state),
        _ => None,
    };
    agency.rp.check_iss(given(&params.iss)).await?;
    if let Some(code) = given(&params.error) {
        return Err(AgencyError::Provider {
            code: code.to_owned(),
            description: given(&params.error_description).map(str::to_owned),
        });
    }
    let pending = pending.ok_or(AgencyError::StateMismatch)?;
    let code = given(&params.code)
        .ok_or_else(|| AgencyError::BadCallback("the response carries no code".into()))?;
    let (person, id_token) = agency.rp.finish(code, pending).await?;
    tracing::info!("citizen signed in at the demo agency");
    let new_sid = agency.sessions.sign_in(sid, person);
    if let Some(old) = sid {
        agency.logouts.signed_out(old);
    }
    if let Some(id_token) = id_token {
        agency.logouts.signed_in(&new_sid, id_token);
    }
    Ok(new_sid)
}

/// Ends the local session and, when the gateway has an `end_session_endpoint`, the
/// gateway's too (RP-Initiated Logout, back to this agency's home page).
async fn logout(State(agency): State<Arc<Agency>>, headers: HeaderMap) -> Response {
    let mut hint = None;
    if let Some(sid) = sid_from(&headers, &agency.cookie_name) {
        agency.sessions.remove(&sid);
        hint = agency.logouts.signed_out(&sid);
    }
    let mut to = String::from("/");
    if let Some(hint) = hint
        && let Some(endpoint) = super::logout::discover(&agency.issuer)
            .await
            .and_then(|g| g.end_session_endpoint)
        && let Ok(mut url) = url::Url::parse(&endpoint)
    {
        url.query_pairs_mut()
            .append_pair("id_token_hint", &hint)
            .append_pair("post_logout_redirect_uri", &format!("{}/", agency.base_url));
        to = url.into();
    }
    let Ok(location) = HeaderValue::from_str(&to) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, location),
            (
                header::SET_COOKIE,
                cookie(&agency.cookie_name, None, agency.secure_cookie),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
    )
        .into_response()
}

#[derive(Deserialize)]
struct LogoutForm {
    logout_token: Option<String>,
}

/// `POST /backchannel-logout`: the gateway ended a session; so do we.
async fn backchannel_logout(State(agency): State<Arc<Agency>>, body: String) -> StatusCode {
    let Some(token) = serde_urlencoded::from_str::<LogoutForm>(&body)
        .ok()
        .and_then(|f| f.logout_token)
    else {
        return StatusCode::BAD_REQUEST;
    };
    let Some(gateway) = super::logout::discover(&agency.issuer).await else {
        return StatusCode::SERVICE_UNAVAILABLE;
    };
    match super::logout::verify(&gateway, &agency.issuer, &agency.client_id, &token).await {
        Some(sid) => {
            for session in agency.logouts.ended(&sid) {
                agency.sessions.remove(&session);
            }
            tracing::info!("the gateway ended a session: signed out at the demo agency");
            StatusCode::OK
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn css() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("max-age=3600"),
            ),
        ],
        pages::CSS,
    )
        .into_response()
}

/// The authorization response (RFC 6749 4.1.2, RFC 9207 `iss`). A repeated parameter is
/// refused by deserialisation (RFC 6749 3.1); unknown ones are ignored.
#[derive(Debug, Default, Deserialize)]
struct CallbackQuery {
    state: Option<String>,
    code: Option<String>,
    iss: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

impl CallbackQuery {
    fn parse(query: &str) -> Result<Self, AgencyError> {
        // serde names the field, never a value: fine to show.
        serde_urlencoded::from_str(query)
            .map_err(|e| AgencyError::BadCallback(format!("the query string is refused: {e}")))
    }
}

/// An empty parameter counts as absent.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_parameters_are_typed_and_repeats_refused() {
        let q = CallbackQuery::parse("code=c&state=s&iss=&other=1").unwrap();
        assert_eq!(
            (given(&q.code), given(&q.state), given(&q.iss)),
            (Some("c"), Some("s"), None)
        );
        match CallbackQuery::parse("state=a&state=b") {
            Err(AgencyError::BadCallback(detail)) => {
                assert_eq!(
                    detail,
                    "the query string is refused: duplicate field `state`"
                )
            }
            other => panic!("{other:?}"),
        }
    }
}
