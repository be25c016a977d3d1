//! The citizen's side of a login: the country choice, the national IdP's callback (verify,
//! map, apply policy), consent, and the authorization code sent back to the agency.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jisr_mapping::{
    CountryCode, CrossBorderAssertion, Destination, MappingError, SharedClaim, map_claims,
};

use super::state::{self, CodeGrant, Flow, UpstreamLogin, keys};
use crate::app::{Gateway, random_token, token_key};
use crate::http::reply::{Reject, redirect};
use crate::http::{clear_flow_cookie, flow_cookie, flow_from_cookie, page_response};
use crate::pages::{self, Agency as PageAgency, Attribute, ConsentPage, Lang};
use crate::upstream::{AuthorizationResponse, UpstreamError};

fn lang_of(flow: &Flow) -> Lang {
    Lang::from_ui_locales(Some(&flow.lang))
}

fn back(gw: &Gateway, flow: &Flow, error: &'static str, description: impl Into<String>) -> Reject {
    Reject::Redirect {
        redirect_uri: flow.redirect_uri.clone(),
        error,
        description: description.into(),
        state: flow.state.clone(),
        issuer: gw.issuer.clone(),
    }
}

fn expired(lang: Lang) -> Reject {
    Reject::page(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "This sign-in has expired or was already used. Please start again from the agency's website.",
        "انتهت صلاحية عملية الدخول هذه أو سبق استخدامها. يرجى البدء من جديد من موقع الجهة.",
        lang,
    )
}

fn forged(lang: Lang) -> Reject {
    Reject::page(
        StatusCode::FORBIDDEN,
        "access_denied",
        "This step did not come from your sign-in in this browser. Please start again from the agency's website.",
        "لم تصدر هذه الخطوة عن عملية دخولك في هذا المتصفح. يرجى البدء من جديد من موقع الجهة.",
        lang,
    )
}

fn parse_form(body: &str) -> Result<HashMap<String, String>, Reject> {
    super::authorize::parse_params(body, 16 * 1024).map_err(|e| {
        Reject::page(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            e,
            "الطلب غير صالح.",
            Lang::default(),
        )
    })
}

/// The flow a form belongs to: the sealed cookie's, when the form names it and carries its
/// CSRF token.
fn flow_for_form(
    gw: &Gateway,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<Flow, Reject> {
    let lang = Lang::default();
    let flow = flow_from_cookie(gw, headers).ok_or_else(|| expired(lang))?;
    let csrf = form.get("csrf").map(String::as_bytes).unwrap_or_default();
    let same_flow = form.get("flow").is_some_and(|f| *f == flow.id);
    if !same_flow
        || aws_lc_rs::constant_time::verify_slices_are_equal(csrf, flow.csrf.as_bytes()).is_err()
    {
        return Err(forged(lang_of(&flow)));
    }
    Ok(flow)
}

/// `POST /login/country`: the citizen picked their country.
pub async fn choose_country(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let result = async {
        let form = parse_form(&body)?;
        let flow = flow_for_form(&gw, &headers, &form)?;
        let lang = lang_of(&flow);
        let country = form
            .get("country")
            .and_then(|c| c.parse::<CountryCode>().ok())
            .filter(|c| c.gcc().is_some())
            .ok_or_else(|| {
                Reject::page(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "country must be a GCC member state",
                    "يرجى اختيار دولة خليجية.",
                    lang,
                )
            })?;
        go_upstream(&gw, &flow, country).await
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// Sends the citizen to their national IdP, after checking the pair is allowed at all. The
/// flow is stored under the upstream `state` (one store round trip).
pub async fn go_upstream(
    gw: &Gateway,
    flow: &Flow,
    country: CountryCode,
) -> Result<Response, Reject> {
    let lang = lang_of(flow);
    let agency = gw
        .agencies
        .get(&flow.client_id)
        .ok_or_else(|| expired(lang))?;
    if gw
        .mapping
        .policy
        .rule_for(country, agency.country)
        .is_none()
        || gw.mapping.profile(country).is_none()
    {
        return Err(back(
            gw,
            flow,
            "access_denied",
            format!(
                "no agreement allows identities from {country} for {}",
                agency.country
            ),
        ));
    }
    let upstream = gw.upstreams.get(country).ok_or_else(|| unavailable(lang))?;
    let acr = national_acr_values(gw, country, flow);
    let (url, pending) = upstream
        .begin(acr.as_deref(), Some(lang.tag()))
        .map_err(|e| {
            tracing::warn!(target: "audit", %country, error = %e, "national IdP not available");
            unavailable(lang)
        })?;
    let key = keys::upstream(&pending.state);
    let login = UpstreamLogin {
        flow: flow.clone(),
        pending,
    };
    state::put(gw.store.as_ref(), &key, &login, gw.ttls.login)
        .await
        .map_err(|e| Reject::store_page(&e, lang))?;
    Ok(redirect(&url))
}

/// The national acr values that meet the agency's minimum LoA, best first.
fn national_acr_values(gw: &Gateway, country: CountryCode, flow: &Flow) -> Option<String> {
    let min = flow.min_loa?;
    let profile = gw.mapping.profile(country)?;
    let mut values: Vec<(&String, &jisr_mapping::Loa)> =
        profile.loa.acr.iter().filter(|(_, l)| **l >= min).collect();
    values.sort_by(|a, b| b.1.cmp(a.1));
    let joined = values
        .iter()
        .map(|(a, _)| a.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    (!joined.is_empty()).then_some(joined)
}

fn unavailable(lang: Lang) -> Reject {
    Reject::page(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        "Your country's national digital identity service cannot be reached right now. Please try again later.",
        "تعذر الوصول إلى خدمة الهوية الرقمية الوطنية لدولتك حالياً. يرجى المحاولة لاحقاً.",
        lang,
    )
}

/// `GET /callback/{cc}`: the national IdP sends the citizen back.
pub async fn callback(
    State(gw): State<Arc<Gateway>>,
    Path(cc): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let result = match super::authorize::parse_params(
        query.as_deref().unwrap_or(""),
        super::authorize::MAX_QUERY,
    ) {
        Ok(mut params) => {
            let response = AuthorizationResponse {
                code: params.remove("code"),
                state: params.remove("state"),
                iss: params.remove("iss"),
                error: params.remove("error"),
                error_description: params.remove("error_description"),
            };
            complete(&gw, &cc, &headers, response).await
        }
        Err(e) => Err(Reject::page(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            e,
            "الطلب غير صالح.",
            Lang::default(),
        )),
    };
    match result {
        Ok(r) => r,
        // The flow is over (the agency hears why): the cookie goes too.
        Err(r @ Reject::Redirect { .. }) => {
            let mut r = r.into_response();
            r.headers_mut()
                .append(header::SET_COOKIE, clear_flow_cookie(&gw));
            r
        }
        // A stray or replayed callback must not end the browser's login in progress.
        Err(r) => r.into_response(),
    }
}

async fn complete(
    gw: &Arc<Gateway>,
    cc: &str,
    headers: &HeaderMap,
    response: AuthorizationResponse,
) -> Result<Response, Reject> {
    let lang = Lang::default();
    let state_param = response
        .state
        .clone()
        .filter(|s| !s.is_empty() && s.len() <= 512)
        .ok_or_else(|| expired(lang))?;
    // Single use, across replicas: the upstream state is consumed before anything else.
    let login: UpstreamLogin = state::take(gw.store.as_ref(), &keys::upstream(&state_param))
        .await
        .map_err(|e| Reject::store_page(&e, lang))?
        .ok_or_else(|| expired(lang))?;
    let country = login.pending.country;
    let mut flow = login.flow;
    let lang = lang_of(&flow);
    if !cc.eq_ignore_ascii_case(country.as_str()) || flow.exp <= gw.now() {
        return Err(expired(lang));
    }
    // The browser that started the flow must be the one finishing it.
    if flow_from_cookie(gw, headers).map(|f| f.id) != Some(flow.id.clone()) {
        return Err(forged(lang));
    }
    let agency = gw
        .agencies
        .get(&flow.client_id)
        .ok_or_else(|| expired(lang))?;
    let upstream = gw.upstreams.get(country).ok_or_else(|| unavailable(lang))?;

    let verified = match upstream.complete(&login.pending, &response, gw.now()).await {
        Ok(v) => v,
        Err(UpstreamError::IdpError { error }) => {
            // The citizen cancelled or the IdP refused: the agency hears access_denied.
            return Err(back(
                gw,
                &flow,
                "access_denied",
                format!("the national IdP of {country} ended the sign-in ({error})"),
            ));
        }
        Err(e) => {
            tracing::warn!(target: "audit", %country, error = %e, "national login failed verification");
            return Err(Reject::page(
                StatusCode::BAD_GATEWAY,
                "access_denied",
                format!(
                    "The sign-in with your national identity could not be verified ({country}: {e})."
                ),
                "تعذر التحقق من تسجيل الدخول بهويتك الوطنية.",
                lang,
            ));
        }
    };
    let profile = gw
        .mapping
        .profile(country)
        .ok_or_else(|| unavailable(lang))?;
    let destination = Destination {
        country: agency.country,
        sector: agency.pairwise_sector(),
    };
    let mapped = match map_claims(
        profile,
        &gw.mapping.policy,
        &verified.claims,
        &verified.context,
        &destination,
        &gw.pairwise,
    ) {
        Ok(m) => m,
        Err(
            e @ (MappingError::LoaTooLow { .. }
            | MappingError::UnknownAcr { .. }
            | MappingError::NoLoa { .. }),
        ) => {
            return Err(back(
                gw,
                &flow,
                "unmet_authentication_requirements",
                e.to_string(),
            ));
        }
        Err(e @ MappingError::PairRefused { .. }) => {
            return Err(back(gw, &flow, "access_denied", e.to_string()));
        }
        Err(e) => {
            tracing::warn!(target: "audit", %country, destination = %agency.country, error = %e, "national claims could not be mapped");
            return Err(Reject::page(
                StatusCode::BAD_GATEWAY,
                "access_denied",
                format!("Your national identity provider did not send what is needed: {e}."),
                "لم ترسل جهة الهوية الوطنية البيانات المطلوبة.",
                lang,
            ));
        }
    };
    if let Some(min) = flow.min_loa
        && mapped.assertion.acr < min
    {
        return Err(back(
            gw,
            &flow,
            "unmet_authentication_requirements",
            format!(
                "level of assurance {} is below the requested {min}",
                mapped.assertion.acr
            ),
        ));
    }
    tracing::info!(target: "audit", origin = %country, destination = %agency.country, rule = %mapped.rule, loa = %mapped.assertion.acr, "national login verified and mapped");

    // The grant is stored now (one round trip); with consent pending, only a code carrying
    // the consent approval will redeem it.
    let code = random_token(32);
    let ttl = if mapped.consent_required {
        gw.ttls.login
    } else {
        gw.ttls.code
    };
    let grant = CodeGrant {
        client_id: flow.client_id.clone(),
        redirect_uri: flow.redirect_uri.clone(),
        code_challenge: flow.code_challenge.clone(),
        nonce: flow.nonce.clone(),
        consent: mapped.consent_required,
        assertion: mapped.assertion,
    };
    state::put(
        gw.store.as_ref(),
        &keys::code(&token_key(&code)),
        &grant,
        ttl,
    )
    .await
    .map_err(|e| Reject::store_page(&e, lang))?;
    if !mapped.consent_required {
        let mut response = code_redirect(gw, &flow, &code)?;
        response
            .headers_mut()
            .append(header::SET_COOKIE, clear_flow_cookie(gw));
        return Ok(response);
    }
    flow.code = Some(code);
    let mut response = consent_page(
        gw,
        &flow,
        &grant.assertion,
        &mapped.released,
        country,
        profile.idp_name.as_str(),
    );
    response
        .headers_mut()
        .append(header::SET_COOKIE, flow_cookie(gw, &flow));
    Ok(response)
}

fn consent_page(
    gw: &Gateway,
    flow: &Flow,
    assertion: &CrossBorderAssertion,
    released: &[SharedClaim],
    origin: CountryCode,
    idp_name: &str,
) -> Response {
    let lang = lang_of(flow);
    let Some(agency) = gw.agencies.get(&flow.client_id) else {
        return expired(lang).into_response();
    };
    let attributes = released
        .iter()
        .map(|c| Attribute {
            claim: *c,
            value: display_value(assertion, *c),
        })
        .collect();
    let html = pages::consent(&ConsentPage {
        lang,
        agency: PageAgency {
            name_en: &agency.name_en,
            name_ar: &agency.name_ar,
            country: agency.country,
        },
        origin,
        idp_name,
        attributes,
        action: "/consent",
        flow: &flow.id,
        csrf: &flow.csrf,
        switch_url: None,
    });
    let target = url::Url::parse(&flow.redirect_uri)
        .map(|u| u.origin().ascii_serialization())
        .into_iter()
        .collect::<Vec<_>>();
    page_response(gw, html, &target)
}

/// How a released claim reads on the consent page.
fn display_value(a: &CrossBorderAssertion, claim: SharedClaim) -> String {
    let c = &a.verified_claims.claims;
    let both = |ar: &Option<String>, en: &Option<String>, default: &str| match (en, ar) {
        (Some(en), Some(ar)) => format!("{en} / {ar}"),
        _ => default.to_owned(),
    };
    match claim {
        SharedClaim::PersonIdentifier => c.person_identifier.to_string(),
        SharedClaim::GivenName => both(&c.given_name_ar, &c.given_name_en, &c.given_name),
        SharedClaim::FamilyName => both(&c.family_name_ar, &c.family_name_en, &c.family_name),
        SharedClaim::Birthdate => c.birthdate.clone(),
        SharedClaim::Gender => c.gender.clone().unwrap_or_default(),
        SharedClaim::Nationalities => c
            .nationalities
            .iter()
            .flatten()
            .map(|n| n.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        SharedClaim::PlaceOfBirth => c
            .place_of_birth
            .as_ref()
            .map(|p| {
                [p.locality.clone(), p.country.map(|c| c.to_string())]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default(),
    }
}

/// `POST /consent`: the citizen shares or declines.
pub async fn consent(State(gw): State<Arc<Gateway>>, headers: HeaderMap, body: String) -> Response {
    let result = async {
        let form = parse_form(&body)?;
        let flow = flow_for_form(&gw, &headers, &form)?;
        let lang = lang_of(&flow);
        let code = flow.code.as_deref().ok_or_else(|| expired(lang))?;
        match form.get("decision").map(String::as_str) {
            // The stored grant becomes redeemable with the approval; no store round trip.
            Some("allow") => code_redirect(&gw, &flow, &gw.seals.approve(code, gw.now())),
            Some("deny") => {
                gw.store
                    .delete(&keys::code(&token_key(code)))
                    .await
                    .map_err(|e| Reject::store_page(&e, lang))?;
                Err(back(
                    &gw,
                    &flow,
                    "access_denied",
                    "the citizen declined to share their identity",
                ))
            }
            _ => Err(Reject::page(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "decision must be allow or deny",
                "يرجى الاختيار.",
                lang,
            )),
        }
    }
    .await;
    let mut response = result.unwrap_or_else(IntoResponse::into_response);
    response
        .headers_mut()
        .append(header::SET_COOKIE, clear_flow_cookie(&gw));
    response
}

/// Back to the agency with the code, its `state` and `iss` (RFC 9207).
fn code_redirect(gw: &Gateway, flow: &Flow, code: &str) -> Result<Response, Reject> {
    let mut url = url::Url::parse(&flow.redirect_uri).map_err(|_| expired(lang_of(flow)))?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("code", code);
        if let Some(state) = &flow.state {
            q.append_pair("state", state);
        }
        q.append_pair("iss", &gw.issuer);
    }
    Ok(redirect(url.as_str()))
}
