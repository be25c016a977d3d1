//! The citizen's side of a login: the country choice, the national IdP's callback (verify,
//! map, apply policy), consent, and the authorization code sent back to the agency.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jisr_mapping::{
    CountryCode, CrossBorderAssertion, Destination, MappingError, SharedClaim, map_claims,
};

use super::state::{self, CodeGrant, Flow, MappedLogin, UpstreamLogin, keys};
use super::{Gateway, random_token, token_key};
use crate::http::reply::{Reject, redirect};
use crate::http::{clear_flow_cookie, flow_cookie_value, page_response};
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

/// Loads the flow a form belongs to, checking the flow cookie and the CSRF token.
async fn flow_for_form(
    gw: &Gateway,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<(String, Flow), Reject> {
    let lang = Lang::default();
    let flow_id = form.get("flow").ok_or_else(|| expired(lang))?;
    if flow_cookie_value(headers).as_deref() != Some(flow_id.as_str()) {
        return Err(forged(lang));
    }
    let flow: Flow = state::get(gw.store.as_ref(), &keys::flow(flow_id))
        .await
        .map_err(|e| Reject::store_page(&e, lang))?
        .ok_or_else(|| expired(lang))?;
    let csrf = form.get("csrf").map(String::as_bytes).unwrap_or_default();
    if aws_lc_rs::constant_time::verify_slices_are_equal(csrf, flow.csrf.as_bytes()).is_err() {
        return Err(forged(lang_of(&flow)));
    }
    Ok((flow_id.clone(), flow))
}

fn forged(lang: Lang) -> Reject {
    Reject::page(
        StatusCode::FORBIDDEN,
        "access_denied",
        "This form did not come from your sign-in in this browser. Please start again from the agency's website.",
        "لم يصدر هذا النموذج عن عملية دخولك في هذا المتصفح. يرجى البدء من جديد من موقع الجهة.",
        lang,
    )
}

/// `POST /login/country`: the citizen picked their country.
pub async fn choose_country(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let result = async {
        let form = super::authorize::parse_params(&body, 16 * 1024).map_err(|e| {
            Reject::page(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                e,
                "الطلب غير صالح.",
                Lang::default(),
            )
        })?;
        let (flow_id, flow) = flow_for_form(&gw, &headers, &form).await?;
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
        go_upstream(&gw, &flow_id, &flow, country).await
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// Sends the citizen to their national IdP, after checking the pair is allowed at all.
pub async fn go_upstream(
    gw: &Gateway,
    flow_id: &str,
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
    let upstream = gw
        .upstreams
        .get(country)
        .ok_or_else(|| unavailable(country, lang))?;
    let acr = national_acr_values(gw, country, flow);
    let (url, pending) = upstream
        .begin(acr.as_deref(), Some(lang.tag()))
        .map_err(|e| {
            tracing::warn!(target: "audit", %country, error = %e, "national IdP not available");
            unavailable(country, lang)
        })?;
    let login = UpstreamLogin {
        flow: flow_id.to_owned(),
        pending,
    };
    state::put(
        gw.store.as_ref(),
        &keys::upstream(&login.pending.state),
        &login,
        gw.ttls.login,
    )
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

fn unavailable(country: CountryCode, lang: Lang) -> Reject {
    let _ = country;
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
    Query(response): Query<AuthorizationResponse>,
) -> Response {
    match complete(&gw, &cc, &headers, response).await {
        Ok(r) => r,
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
    // Single use: the upstream state is consumed before anything else.
    let login: UpstreamLogin = state::take(gw.store.as_ref(), &keys::upstream(&state_param))
        .await
        .map_err(|e| Reject::store_page(&e, lang))?
        .ok_or_else(|| expired(lang))?;
    let country = login.pending.country;
    if !cc.eq_ignore_ascii_case(country.as_str()) {
        return Err(expired(lang));
    }
    // The browser that started the flow must be the one finishing it.
    if flow_cookie_value(headers).as_deref() != Some(login.flow.as_str()) {
        return Err(forged(lang));
    }
    let mut flow: Flow = state::get(gw.store.as_ref(), &keys::flow(&login.flow))
        .await
        .map_err(|e| Reject::store_page(&e, lang))?
        .ok_or_else(|| expired(lang))?;
    let lang = lang_of(&flow);
    let agency = gw
        .agencies
        .get(&flow.client_id)
        .ok_or_else(|| expired(lang))?;
    let upstream = gw
        .upstreams
        .get(country)
        .ok_or_else(|| unavailable(country, lang))?;

    let verified = match upstream.complete(&login.pending, &response, gw.now()).await {
        Ok(v) => v,
        Err(UpstreamError::IdpError { error }) => {
            // The citizen cancelled or the IdP refused: the agency hears access_denied.
            let _ = gw.store.delete(&keys::flow(&login.flow)).await;
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
                    "The sign-in with your national identity could not be verified ({country}: {}).",
                    e
                ),
                "تعذر التحقق من تسجيل الدخول بهويتك الوطنية.",
                lang,
            ));
        }
    };
    let profile = gw
        .mapping
        .profile(country)
        .ok_or_else(|| unavailable(country, lang))?;
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
    if flow.min_loa.is_some_and(|min| mapped.assertion.acr < min) {
        return Err(back(
            gw,
            &flow,
            "unmet_authentication_requirements",
            format!(
                "level of assurance {} is below the requested {}",
                mapped.assertion.acr,
                flow.min_loa.unwrap_or(mapped.assertion.acr)
            ),
        ));
    }
    tracing::info!(target: "audit", origin = %country, destination = %agency.country, rule = %mapped.rule, loa = %mapped.assertion.acr, "national login verified and mapped");

    if !mapped.consent_required {
        let flow_key = keys::flow(&login.flow);
        let _ = gw.store.delete(&flow_key).await;
        let mut response = issue_code(gw, &flow, mapped.assertion).await?;
        response
            .headers_mut()
            .append(axum::http::header::SET_COOKIE, clear_flow_cookie(gw));
        return Ok(response);
    }
    let released = mapped.released.clone();
    flow.mapped = Some(MappedLogin {
        origin: country,
        assertion: mapped.assertion,
    });
    state::put(
        gw.store.as_ref(),
        &keys::flow(&login.flow),
        &flow,
        gw.ttls.login,
    )
    .await
    .map_err(|e| Reject::store_page(&e, lang))?;
    Ok(consent_page(
        gw,
        &login.flow,
        &flow,
        &released,
        profile.idp_name.as_str(),
    ))
}

fn consent_page(
    gw: &Gateway,
    flow_id: &str,
    flow: &Flow,
    released: &[SharedClaim],
    idp_name: &str,
) -> Response {
    let lang = lang_of(flow);
    let (Some(agency), Some(mapped)) = (gw.agencies.get(&flow.client_id), flow.mapped.as_ref())
    else {
        return expired(lang).into_response();
    };
    let attributes = released
        .iter()
        .map(|c| Attribute {
            claim: *c,
            value: display_value(&mapped.assertion, *c),
        })
        .collect();
    let html = pages::consent(&ConsentPage {
        lang,
        agency: PageAgency {
            name_en: &agency.name_en,
            name_ar: &agency.name_ar,
            country: agency.country,
        },
        origin: mapped.origin,
        idp_name,
        attributes,
        action: "/consent",
        flow: flow_id,
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
        let form = super::authorize::parse_params(&body, 16 * 1024).map_err(|e| {
            Reject::page(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                e,
                "الطلب غير صالح.",
                Lang::default(),
            )
        })?;
        let (flow_id, _) = flow_for_form(&gw, &headers, &form).await?;
        // Consume the flow: a consent is given once.
        let flow: Flow = state::take(gw.store.as_ref(), &keys::flow(&flow_id))
            .await
            .map_err(|e| Reject::store_page(&e, Lang::default()))?
            .ok_or_else(|| expired(Lang::default()))?;
        let lang = lang_of(&flow);
        let mapped = flow.mapped.clone().ok_or_else(|| expired(lang))?;
        match form.get("decision").map(String::as_str) {
            Some("allow") => issue_code(&gw, &flow, mapped.assertion).await,
            Some("deny") => Err(back(
                &gw,
                &flow,
                "access_denied",
                "the citizen declined to share their identity",
            )),
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
        .append(axum::http::header::SET_COOKIE, clear_flow_cookie(&gw));
    response
}

/// Stores a single-use code bound to the client, redirect URI, PKCE challenge and nonce, and
/// sends the citizen back to the agency with it (and `iss`, RFC 9207).
async fn issue_code(
    gw: &Gateway,
    flow: &Flow,
    assertion: CrossBorderAssertion,
) -> Result<Response, Reject> {
    let code = random_token(32);
    let grant = CodeGrant {
        client_id: flow.client_id.clone(),
        redirect_uri: flow.redirect_uri.clone(),
        code_challenge: flow.code_challenge.clone(),
        nonce: flow.nonce.clone(),
        assertion,
    };
    state::put(
        gw.store.as_ref(),
        &keys::code(&token_key(&code)),
        &grant,
        gw.ttls.code,
    )
    .await
    .map_err(|e| Reject::store_page(&e, lang_of(flow)))?;
    let mut url = url::Url::parse(&flow.redirect_uri).map_err(|_| expired(lang_of(flow)))?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("code", &code);
        if let Some(state) = &flow.state {
            q.append_pair("state", state);
        }
        q.append_pair("iss", &gw.issuer);
    }
    Ok(redirect(url.as_str()))
}
