//! Step 1, `GET /authorize`: validate the agency's request, open a flow, and show the
//! country picker — or, when the agency hints the country, go straight on to
//! [`super::country::go_upstream`].

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jisr_mapping::{CountryCode, Gcc, Loa};
use serde::Deserialize;

use super::country;
use super::state::Flow;
use crate::app::{Gateway, random_token};
use crate::config::agencies::Agency;
use crate::http::params::{self, MAX_QUERY, ParamError};
use crate::http::reject::{OAuthError, Reject};
use crate::http::{cookie, response};
use crate::ops::{Event, EventKind, Trail};
use crate::pages::messages::{self, Text};
use crate::pages::{self, Agency as PageAgency, CountryOption, Lang, PickerPage};

/// The authorization request's parameters (OIDC Core 3.1.2.1); others are ignored.
#[derive(Debug, Default, Deserialize)]
pub struct AuthorizeParams {
    client_id: Option<String>,
    redirect_uri: Option<String>,
    response_type: Option<String>,
    response_mode: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    prompt: Option<String>,
    max_age: Option<String>,
    acr_values: Option<String>,
    ui_locales: Option<String>,
    /// Jisr's extension: the citizen's country, when the agency already knows it.
    country: Option<String>,
    request: Option<String>,
    request_uri: Option<String>,
    /// `state` is not valid UTF-8 once percent-decoded: read from the raw query, since
    /// parsing decodes lossily and would return it altered.
    #[serde(skip)]
    state_not_utf8: bool,
}

/// Why a request is refused before its client and redirect URI are trusted: shown to the
/// citizen on a page, never redirected (no open redirector).
#[derive(Debug, thiserror::Error)]
pub enum UntrustedRequest {
    #[error("{0}")]
    Params(#[from] ParamError),
    #[error("client_id is missing")]
    ClientIdMissing,
    #[error("client_id is not a registered agency")]
    UnknownClient,
    #[error("redirect_uri is missing")]
    RedirectUriMissing,
    #[error("redirect_uri is not registered for this agency")]
    RedirectUriUnregistered,
}

impl From<UntrustedRequest> for Reject {
    fn from(e: UntrustedRequest) -> Reject {
        let (error, text): (OAuthError, Text) = match &e {
            UntrustedRequest::Params(_) => (OAuthError::InvalidRequest, messages::BAD_REQUEST),
            UntrustedRequest::ClientIdMissing => {
                (OAuthError::InvalidRequest, messages::CLIENT_ID_MISSING)
            }
            UntrustedRequest::UnknownClient => {
                (OAuthError::InvalidClient, messages::UNKNOWN_CLIENT)
            }
            UntrustedRequest::RedirectUriMissing => {
                (OAuthError::InvalidRequest, messages::REDIRECT_URI_MISSING)
            }
            UntrustedRequest::RedirectUriUnregistered => (
                OAuthError::InvalidRequest,
                messages::REDIRECT_URI_UNREGISTERED,
            ),
        };
        let why = match &e {
            UntrustedRequest::Params(_) => "bad_parameters",
            UntrustedRequest::ClientIdMissing => "client_id_missing",
            UntrustedRequest::UnknownClient => "unknown_client",
            UntrustedRequest::RedirectUriMissing => "redirect_uri_missing",
            UntrustedRequest::RedirectUriUnregistered => "redirect_uri_unregistered",
        };
        let reject =
            Reject::page(StatusCode::BAD_REQUEST, error, text, Lang::default()).because(why);
        match e {
            UntrustedRequest::Params(p) => reject.with_detail(p.to_string()),
            _ => reject,
        }
    }
}

fn is_pkce_value(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// `max_age`: decimal seconds, at most ten digits (OIDC Core 3.1.2.1).
fn parse_max_age(v: &str) -> Option<u64> {
    (!v.is_empty() && v.len() <= 10 && v.bytes().all(|b| b.is_ascii_digit()))
        .then(|| v.parse().ok())
        .flatten()
}

/// `GET /authorize`.
pub async fn authorize(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let mut trail = Trail::default();
    let refused = |trail: &Trail, reject: Reject| {
        gw.record(&Event::refused(trail, &reject));
        reject.into_response()
    };
    let raw = query.as_deref().unwrap_or("");
    let params = match params::parse(raw, MAX_QUERY) {
        Ok(p) => AuthorizeParams {
            state_not_utf8: !params::decodes_to_utf8(raw, "state"),
            ..p
        },
        Err(e) => return refused(&trail, UntrustedRequest::from(e).into()),
    };
    let lang = Lang::from_ui_locales(params.ui_locales.as_deref());
    let (agency, flow, hint) = match validate(&gw, params, lang, &mut trail) {
        Ok(v) => v,
        Err(reject) => return refused(&trail, reject.lang(lang)),
    };
    gw.record(&Event::ok(EventKind::AuthorizationAccepted, &trail));

    // Single sign-on: the browser's gateway session may sign the citizen in at once.
    match super::session::sso::attempt(&gw, &headers, agency, &flow, hint, &mut trail).await {
        Ok(Some(response)) => return response,
        Ok(None) => {}
        Err(reject) => return refused(&trail, reject),
    }

    // Nothing is stored yet: the flow travels sealed in the browser's cookie until the
    // citizen picks a country.
    let mut response = match hint {
        Some(origin) => match country::go_upstream(&gw, &flow, origin, &mut trail).await {
            Ok(r) => r,
            Err(reject) => return refused(&trail, reject),
        },
        None => picker_page(&gw, agency, &flow),
    };
    cookie::set_flow(&gw, &headers, &mut response, &flow);
    response
}

/// Checks the request in the order that decides where errors go: client and redirect URI
/// first (errors to a page), then everything else (errors back to the agency).
fn validate<'g>(
    gw: &'g Gateway,
    params: AuthorizeParams,
    lang: Lang,
    trail: &mut Trail,
) -> Result<(&'g Agency, Flow, Option<CountryCode>), Reject> {
    let client_id = params.client_id.ok_or(UntrustedRequest::ClientIdMissing)?;
    let agency = gw
        .agencies
        .get(&client_id)
        .ok_or(UntrustedRequest::UnknownClient)?;
    gw.rate
        .client(crate::http::rate::Route::Authorize, &agency.client_id)?;
    let redirect_uri = params
        .redirect_uri
        .ok_or(UntrustedRequest::RedirectUriMissing)?;
    trail.client_id = Some(client_id.clone());
    trail.destination = Some(agency.country);
    if !agency.redirect_uris.contains(&redirect_uri) {
        return Err(UntrustedRequest::RedirectUriUnregistered.into());
    }

    let mut flow = Flow {
        id: random_token(18),
        exp: gw.now() + gw.ttls.login.as_secs() as i64,
        client_id,
        redirect_uri,
        state: params.state,
        nonce: params.nonce,
        code_challenge: String::new(),
        min_loa: None,
        lang: lang.tag().to_owned(),
        csrf: random_token(18),
        code: None,
        subject: None,
        origin: None,
        loa: None,
        max_age: None,
        prompt_login: false,
        prompt_none: false,
        joined_session: false,
    };
    trail.flow = Some(flow.id.clone());
    let back = flow.return_to(&gw.issuer);
    use OAuthError::*;
    if params.state_not_utf8 {
        // Told to the agency without `state`: it cannot be returned as it was sent.
        let back = crate::http::reject::ReturnTo {
            state: None,
            ..back
        };
        return Err(back
            .refuse(
                InvalidRequest,
                "state is not valid UTF-8 once percent-decoded, so it cannot be returned \
                 unaltered",
            )
            .because("state_not_utf8"));
    }
    if !gw.ops.audit.accepting() {
        // A login the audit log cannot record does not start.
        return Err(back
            .refuse(
                TemporarilyUnavailable,
                "sign-in is paused: the audit log cannot be written",
            )
            .because("audit_unavailable"));
    }
    if params.request.is_some() {
        return Err(back.refuse(RequestNotSupported, "request objects are not supported"));
    }
    if params.request_uri.is_some() {
        return Err(back.refuse(RequestUriNotSupported, "request_uri is not supported"));
    }
    match params.response_type.as_deref() {
        Some("code") => {}
        None => return Err(back.refuse(InvalidRequest, "response_type is missing")),
        Some(_) => {
            return Err(back.refuse(
                UnsupportedResponseType,
                "only response_type=code is supported",
            ));
        }
    }
    if params
        .response_mode
        .as_deref()
        .is_some_and(|m| m != "query")
    {
        return Err(back.refuse(InvalidRequest, "only response_mode=query is supported"));
    }
    let scope = params.scope.as_deref().unwrap_or("");
    if !scope.split(' ').any(|s| s == "openid") {
        return Err(back.refuse(InvalidScope, "scope must include openid"));
    }
    flow.code_challenge = match (
        params.code_challenge,
        params.code_challenge_method.as_deref(),
    ) {
        (None, _) => {
            return Err(back.refuse(InvalidRequest, "code_challenge is required (PKCE S256)"));
        }
        (Some(_), None | Some("plain")) => {
            return Err(back.refuse(
                InvalidRequest,
                "code_challenge_method must be S256 (plain is not accepted)",
            ));
        }
        (Some(_), Some(m)) if m != "S256" => {
            return Err(back.refuse(InvalidRequest, "code_challenge_method must be S256"));
        }
        (Some(c), Some(_)) if !is_pkce_value(&c) => {
            return Err(back.refuse(
                InvalidRequest,
                "code_challenge must be 43-128 characters of [A-Za-z0-9-._~]",
            ));
        }
        (Some(c), Some(_)) => c,
    };
    let prompts: Vec<&str> = params
        .prompt
        .as_deref()
        .map(|p| p.split(' ').filter(|v| !v.is_empty()).collect())
        .unwrap_or_default();
    // prompt=none: the citizen's session answers (`session::sso`), or the agency hears why
    // not; with any other value it is contradictory (OIDC Core 3.1.2.1).
    flow.prompt_none = prompts.contains(&"none");
    if flow.prompt_none && prompts.len() > 1 {
        return Err(back.refuse(
            InvalidRequest,
            "prompt=none must not be combined with other prompt values",
        ));
    }
    // Forwarded to the national IdP, whose auth_time the callback then holds to them.
    flow.prompt_login = prompts.contains(&"login");
    flow.max_age = match params.max_age.as_deref() {
        None => None,
        Some(v) => Some(parse_max_age(v).ok_or_else(|| {
            back.refuse(
                InvalidRequest,
                "max_age must be a non-negative integer number of seconds",
            )
        })?),
    };
    // max_age=0 asks for a fresh authentication: the same as prompt=login.
    if flow.max_age == Some(0) {
        flow.max_age = None;
        flow.prompt_login = true;
    }
    if flow
        .nonce
        .as_ref()
        .is_some_and(|n| n.is_empty() || n.len() > 512)
    {
        return Err(back.refuse(InvalidRequest, "nonce must be 1-512 characters"));
    }
    if flow.state.as_ref().is_some_and(|s| s.len() > 1024) {
        return Err(back.refuse(InvalidRequest, "state must be at most 1024 characters"));
    }
    // acr_values → the lowest level the agency accepts; unknown values are ignored.
    flow.min_loa = params.acr_values.as_deref().and_then(|v| {
        v.split(' ')
            .filter_map(|a| a.strip_prefix("urn:jisr:loa:"))
            .filter_map(|a| Loa::parse(a).ok())
            .min()
    });
    let hint = match params.country {
        None => None,
        Some(c) => Some(
            c.parse::<CountryCode>()
                .ok()
                .filter(|c| c.gcc().is_some())
                .ok_or_else(|| {
                    back.refuse(
                        InvalidRequest,
                        "country must be a GCC member state (ISO 3166-1)",
                    )
                })?,
        ),
    };
    Ok((agency, flow, hint))
}

/// The countries a citizen may choose for this agency: every GCC state other than the
/// agency's own, available when its IdP is discovered and answers the gateway's probes and
/// the pair is allowed; greyed out with their own note when their IdP cannot reach the level
/// the agency and the pair require.
fn country_options(gw: &Gateway, destination: CountryCode, flow: &Flow) -> Vec<CountryOption> {
    Gcc::ALL
        .into_iter()
        .map(Gcc::code)
        .filter(|c| *c != destination)
        .map(|origin| {
            let rule = gw.decide(origin, destination).ok();
            CountryOption {
                country: origin,
                available: gw.upstreams.get(origin).is_some_and(|u| u.is_available())
                    && rule.is_some()
                    && !gw.ops.fleet.suspensions.blocks(origin, destination),
                below_level: rule.is_some_and(|rule| {
                    !country::reachable(gw, origin, country::required_loa(flow, rule))
                }),
            }
        })
        .collect()
}

fn picker_page(gw: &Gateway, agency: &Agency, flow: &Flow) -> Response {
    let html = pages::picker(&PickerPage {
        lang: flow.lang(),
        agency: PageAgency {
            name_en: &agency.name_en,
            name_ar: &agency.name_ar,
            country: agency.country,
        },
        countries: country_options(gw, agency.country, flow),
        action: "/login/country",
        flow: &flow.id,
        csrf: &flow.csrf,
        switch_url: None,
    });
    // The form posts here and is then redirected to a national IdP (CSP form-action covers
    // redirects after submission).
    let targets: Vec<String> = gw
        .upstreams
        .countries()
        .filter_map(|c| gw.upstreams.get(c))
        .filter_map(|u| u.authorization_origin())
        .collect();
    response::page(html, &targets)
}

#[cfg(test)]
mod tests {
    use super::parse_max_age;

    #[test]
    fn max_age_is_non_negative_decimal_seconds() {
        assert_eq!(parse_max_age("0"), Some(0));
        assert_eq!(parse_max_age("3600"), Some(3600));
        for bad in ["", "-1", "+5", "1.5", "1e3", " 5", "99999999999"] {
            assert_eq!(parse_max_age(bad), None, "{bad:?}");
        }
    }
}
