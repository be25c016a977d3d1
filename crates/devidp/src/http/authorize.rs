//! `GET /authorize`: checks the request, then either signs in the citizen named by
//! `login_hint` at once or shows the citizen chooser page.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::page;
use super::params::Params;
use crate::citizens;
use crate::claims::{AE_USER_TYPES, acr_values, default_acr, oauth2_only};
use crate::operators;
use crate::state::{App, CODE_TTL, CodeGrant, Who};

pub(super) async fn authorize(State(app): State<Arc<App>>, RawQuery(query): RawQuery) -> Response {
    let params = match Params::parse(query.as_deref().unwrap_or_default(), "query string") {
        Ok(params) => params,
        Err(description) => return page::error(StatusCode::BAD_REQUEST, &description),
    };
    let get = |name: &str| params.get(name);

    let Some(client_id) = get("client_id") else {
        return page::error(StatusCode::BAD_REQUEST, "client_id is missing");
    };
    let Some(client) = app.client(client_id) else {
        return page::error(StatusCode::BAD_REQUEST, "client_id is not registered");
    };
    let Some(redirect_uri) = get("redirect_uri") else {
        return page::error(StatusCode::BAD_REQUEST, "redirect_uri is missing");
    };
    if !client.allows_redirect(redirect_uri) {
        return page::error(
            StatusCode::BAD_REQUEST,
            "redirect_uri is not registered for this client",
        );
    }
    // From here on the redirect URI is trusted: errors go back to the client.
    let state = get("state");
    let fail = |error: &str, description: &str| {
        redirect(
            &app,
            redirect_uri,
            &[("error", error), ("error_description", description)],
            state,
        )
    };

    if get("response_type") != Some("code") {
        return fail(
            "unsupported_response_type",
            "only response_type=code is supported",
        );
    }
    let scope = get("scope").unwrap_or("");
    if !oauth2_only(app.country) && !scope.split(' ').any(|s| s == "openid") {
        return fail("invalid_scope", "scope must include openid");
    }
    if state.is_none() {
        return fail("invalid_request", "state is required");
    }
    let Some(challenge) = get("code_challenge") else {
        return fail(
            "invalid_request",
            "PKCE is required: code_challenge is missing",
        );
    };
    if get("code_challenge_method") != Some("S256") {
        return fail("invalid_request", "code_challenge_method must be S256");
    }
    if challenge.len() != 43
        || !challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return fail(
            "invalid_request",
            "code_challenge is not a base64url SHA-256 value",
        );
    }

    // OIDC Core 3.1.2.1: max_age=0 is prompt=login; a malformed one is refused.
    let max_age = match get("max_age") {
        None => None,
        Some(v) => match v.parse::<u64>() {
            Ok(n) if v.bytes().all(|b| b.is_ascii_digit()) => Some(n),
            _ => return fail("invalid_request", "max_age must be a non-negative integer"),
        },
    };
    let prompt_login =
        get("prompt").is_some_and(|p| p.split(' ').any(|v| v == "login")) || max_age == Some(0);
    // OIDC Core 5.5, when supported: what the client asks for in the ID token.
    let claims_asked = |name: &str| {
        app.claims_parameter
            && get("claims")
                .and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok())
                .is_some_and(|c| c.get("id_token").and_then(|t| t.get(name)).is_some())
    };
    let acr_asked = get("acr_values").is_some() || claims_asked("acr");
    let auth_time_asked = max_age.is_some() || prompt_login || claims_asked("auth_time");

    let forced = get("loa");
    if let Some(loa) = forced {
        let known = if oauth2_only(app.country) {
            AE_USER_TYPES.contains(&loa)
        } else {
            acr_values(app.country).contains(&loa)
        };
        if !known {
            return fail("invalid_request", "loa is not a level this IdP issues");
        }
    }

    let Some(hint) = get("login_hint") else {
        if get("prompt") == Some("none") {
            return fail("login_required", "no citizen is signed in");
        }
        return page::chooser(app.country, app.operators, params.all());
    };
    let who = if app.operators {
        operators::find(hint).map(Who::Operator)
    } else {
        citizens::find(app.country, hint).map(Who::Citizen)
    };
    let Some(who) = who else {
        return fail(
            "access_denied",
            "login_hint names no synthetic person of this IdP",
        );
    };

    let level = match forced {
        Some(loa) => loa.to_owned(),
        None if oauth2_only(app.country) => match who {
            Who::Citizen(c) => c.user_type.to_owned(),
            Who::Operator(_) => String::new(),
        },
        None => {
            let supported = acr_values(app.country);
            get("acr_values")
                .unwrap_or("")
                .split(' ')
                .find(|a| supported.contains(a))
                .unwrap_or(default_acr(app.country))
                .to_owned()
        }
    };

    let now = app.clock.now();
    // A single sign-on session of that age is reused unless the client demands a fresher
    // authentication (and the IdP honours it).
    let faults = app.faults();
    let session_age = i64::try_from(faults.sso_session_age_secs).unwrap_or(i64::MAX);
    let reauthenticate = !faults.ignore_reauthentication
        && (prompt_login
            || max_age.is_some_and(|m| i64::try_from(m).unwrap_or(i64::MAX) < session_age));
    let auth_time = if session_age > 0 && !reauthenticate {
        now.saturating_sub(session_age)
    } else {
        now
    };
    let issued = app.flows().issue_code(
        now,
        CodeGrant {
            client_id: client_id.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            code_challenge: challenge.to_owned(),
            nonce: get("nonce").map(str::to_owned),
            who,
            level,
            auth_time,
            acr_asked,
            auth_time_asked,
            expires_at: now + CODE_TTL,
        },
    );
    match issued {
        Ok(code) => redirect(&app, redirect_uri, &[("code", &code)], state),
        Err(_) => fail("server_error", "no randomness for a code"),
    }
}

/// 302 to the client with `params`, `state` and `iss` (RFC 9207).
fn redirect(
    app: &App,
    redirect_uri: &str,
    params: &[(&str, &str)],
    state: Option<&str>,
) -> Response {
    let Ok(mut url) = url::Url::parse(redirect_uri) else {
        return page::error(StatusCode::BAD_REQUEST, "redirect_uri is not a URL");
    };
    {
        let mut pairs = url.query_pairs_mut();
        for (k, v) in params {
            pairs.append_pair(k, v);
        }
        if let Some(state) = state {
            pairs.append_pair("state", state);
        }
        pairs.append_pair("iss", &app.issuer);
    }
    let Ok(location) = HeaderValue::from_str(url.as_str()) else {
        return page::error(StatusCode::BAD_REQUEST, "redirect_uri cannot be sent back");
    };
    (
        StatusCode::FOUND,
        [
            (header::LOCATION, location),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
    )
        .into_response()
}
