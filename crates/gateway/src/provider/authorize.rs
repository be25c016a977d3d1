//! The authorization endpoint: validate the agency's request, open a flow, show the country
//! picker (or go straight to the national IdP when the agency hints the country).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jisr_mapping::{CountryCode, Gcc, Loa};

use super::state::Flow;
use crate::app::{Gateway, random_token};
use crate::http::reply::Reject;
use crate::http::{flow_cookie, page_response};
use crate::pages::{self, Agency as PageAgency, CountryOption, Lang, PickerPage};

/// Longest value accepted for any authorization request parameter.
pub const MAX_PARAM: usize = 2048;
/// Longest query string accepted.
pub const MAX_QUERY: usize = 8192;

/// Parses a form or query string, refusing duplicated and oversized parameters (RFC 6749
/// 3.1: parameters must not be included more than once).
pub fn parse_params(raw: &str, max_total: usize) -> Result<HashMap<String, String>, String> {
    if raw.len() > max_total {
        return Err(format!("request is larger than {max_total} bytes"));
    }
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
        if v.len() > MAX_PARAM {
            return Err(format!(
                "parameter `{}` is longer than {MAX_PARAM} characters",
                short(&k)
            ));
        }
        if out.insert(k.to_string(), v.into_owned()).is_some() {
            return Err(format!("parameter `{}` is repeated", short(&k)));
        }
    }
    Ok(out)
}

/// A parameter name, trimmed for messages.
pub fn short(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(40)
        .collect()
}

fn is_pkce_value(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// `GET /authorize`.
pub async fn authorize(State(gw): State<Arc<Gateway>>, RawQuery(query): RawQuery) -> Response {
    match start(&gw, query.as_deref().unwrap_or("")).await {
        Ok(response) => response,
        Err(reject) => reject.into_response(),
    }
}

async fn start(gw: &Arc<Gateway>, query: &str) -> Result<Response, Reject> {
    let early_lang = Lang::default();
    let page = |error: &'static str, en: String, ar: &'static str| {
        Reject::page(StatusCode::BAD_REQUEST, error, en, ar, early_lang)
    };
    let params = parse_params(query, MAX_QUERY)
        .map_err(|e| page("invalid_request", e, "الطلب غير صالح."))?;
    let lang = Lang::from_ui_locales(params.get("ui_locales").map(String::as_str));
    let page = |error: &'static str, en: String, ar: &'static str| {
        Reject::page(StatusCode::BAD_REQUEST, error, en, ar, lang)
    };

    // Until client and redirect URI are known to be good, errors go to a page, never a
    // redirect (no open redirector).
    let client_id = params.get("client_id").ok_or_else(|| {
        page(
            "invalid_request",
            "client_id is missing".into(),
            "معرّف الجهة مفقود.",
        )
    })?;
    let agency = gw.agencies.get(client_id).ok_or_else(|| {
        page(
            "invalid_client",
            "client_id is not a registered agency".into(),
            "الجهة غير مسجلة.",
        )
    })?;
    let redirect_uri = params.get("redirect_uri").ok_or_else(|| {
        page(
            "invalid_request",
            "redirect_uri is missing".into(),
            "عنوان الرجوع مفقود.",
        )
    })?;
    if !agency.redirect_uris.iter().any(|r| r == redirect_uri) {
        return Err(page(
            "invalid_request",
            "redirect_uri is not registered for this agency (exact match required)".into(),
            "عنوان الرجوع غير مسجل لهذه الجهة.",
        ));
    }

    let state = params.get("state").cloned();
    let back = |error: &'static str, description: &str| Reject::Redirect {
        redirect_uri: redirect_uri.clone(),
        error,
        description: description.to_owned(),
        state: state.clone(),
        issuer: gw.issuer.clone(),
    };
    if params.contains_key("request") {
        return Err(back(
            "request_not_supported",
            "request objects are not supported",
        ));
    }
    if params.contains_key("request_uri") {
        return Err(back(
            "request_uri_not_supported",
            "request_uri is not supported",
        ));
    }
    match params.get("response_type").map(String::as_str) {
        Some("code") => {}
        None => return Err(back("invalid_request", "response_type is missing")),
        Some(_) => {
            return Err(back(
                "unsupported_response_type",
                "only response_type=code is supported",
            ));
        }
    }
    if let Some(mode) = params.get("response_mode")
        && mode != "query"
    {
        return Err(back(
            "invalid_request",
            "only response_mode=query is supported",
        ));
    }
    let scope = params.get("scope").map(String::as_str).unwrap_or("");
    if !scope.split(' ').any(|s| s == "openid") {
        return Err(back("invalid_scope", "scope must include openid"));
    }
    let code_challenge = match (
        params.get("code_challenge"),
        params.get("code_challenge_method").map(String::as_str),
    ) {
        (None, _) => {
            return Err(back(
                "invalid_request",
                "code_challenge is required (PKCE S256)",
            ));
        }
        (Some(_), None | Some("plain")) => {
            return Err(back(
                "invalid_request",
                "code_challenge_method must be S256 (plain is not accepted)",
            ));
        }
        (Some(_), Some(m)) if m != "S256" => {
            return Err(back(
                "invalid_request",
                "code_challenge_method must be S256",
            ));
        }
        (Some(c), Some(_)) if !is_pkce_value(c) => {
            return Err(back(
                "invalid_request",
                "code_challenge must be 43-128 characters of [A-Za-z0-9-._~]",
            ));
        }
        (Some(c), Some(_)) => c.clone(),
    };
    if params
        .get("prompt")
        .is_some_and(|p| p.split(' ').any(|v| v == "none"))
    {
        return Err(back(
            "login_required",
            "prompt=none cannot be satisfied: every cross-border login is interactive",
        ));
    }
    let nonce = params.get("nonce").cloned();
    if nonce
        .as_ref()
        .is_some_and(|n| n.is_empty() || n.len() > 512)
    {
        return Err(back("invalid_request", "nonce must be 1-512 characters"));
    }
    if state.as_ref().is_some_and(|s| s.len() > 1024) {
        return Err(back(
            "invalid_request",
            "state must be at most 1024 characters",
        ));
    }
    // acr_values → the lowest level the agency accepts; unknown values are ignored.
    let min_loa = params.get("acr_values").and_then(|v| {
        v.split(' ')
            .filter_map(|a| a.strip_prefix("urn:jisr:loa:"))
            .filter_map(|a| Loa::parse(a).ok())
            .min()
    });
    let hint = match params.get("country") {
        None => None,
        Some(c) => Some(
            c.parse::<CountryCode>()
                .ok()
                .filter(|c| c.gcc().is_some())
                .ok_or_else(|| {
                    back(
                        "invalid_request",
                        "country must be a GCC member state (ISO 3166-1)",
                    )
                })?,
        ),
    };

    let flow = Flow {
        id: random_token(18),
        exp: gw.now() + gw.ttls.login.as_secs() as i64,
        client_id: client_id.clone(),
        redirect_uri: redirect_uri.clone(),
        state,
        nonce,
        code_challenge,
        min_loa,
        lang: lang.tag().to_owned(),
        csrf: random_token(18),
        code: None,
    };
    tracing::info!(target: "audit", client_id = %short(client_id), destination = %agency.country, "authorization request accepted");

    // Nothing is stored yet: the flow travels sealed in the browser's cookie until the
    // citizen picks a country.
    let mut response = match hint {
        Some(country) => super::login::go_upstream(gw, &flow, country).await?,
        None => picker_page(gw, &flow, lang),
    };
    response
        .headers_mut()
        .append(axum::http::header::SET_COOKIE, flow_cookie(gw, &flow));
    Ok(response)
}

/// The countries a citizen may choose for this agency: every GCC state other than the
/// agency's own, available when its IdP is ready and the policy allows the pair.
pub fn country_options(gw: &Gateway, destination: CountryCode) -> Vec<CountryOption> {
    Gcc::ALL
        .into_iter()
        .map(Gcc::code)
        .filter(|c| *c != destination)
        .map(|country| CountryOption {
            country,
            available: gw.upstreams.get(country).is_some_and(|u| u.is_ready())
                && gw.mapping.profile(country).is_some()
                && gw.mapping.policy.rule_for(country, destination).is_some(),
        })
        .collect()
}

pub fn picker_page(gw: &Gateway, flow: &Flow, lang: Lang) -> Response {
    let Some(agency) = gw.agencies.get(&flow.client_id) else {
        return Reject::page(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "agency no longer registered",
            "الجهة غير مسجلة.",
            lang,
        )
        .into_response();
    };
    let html = pages::picker(&PickerPage {
        lang,
        agency: PageAgency {
            name_en: &agency.name_en,
            name_ar: &agency.name_ar,
            country: agency.country,
        },
        countries: country_options(gw, agency.country),
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
    page_response(gw, html, &targets)
}
