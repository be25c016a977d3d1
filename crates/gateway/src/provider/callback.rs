//! Step 3, `GET /callback/{cc}`: the national IdP sends the citizen back. The upstream state
//! is taken (single use), the national login verified, its claims mapped under the rule
//! decided at the country choice, and the grant stored; then on to
//! [`super::consent::show`], or straight back to the agency when the rule needs no consent.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use jisr_mapping::MappingError;
use serde::Deserialize;

use super::consent;
use super::error::{StepError, expired_unknown_flow, refuse_to_agency, restart_at};
use super::session;
use super::state::{self, CodeGrant, UpstreamLogin, keys};
use crate::app::{Gateway, random_token, token_key};
use crate::http::cookie;
use crate::http::params::{self, MAX_QUERY};
use crate::http::reject::{OAuthError, Reject};
use crate::ops::{Event, EventKind, Trail};
use crate::upstream::{AuthorizationResponse, UpstreamError};

/// The national IdP's authorization response (RFC 6749 4.1.2, RFC 9207 `iss`).
#[derive(Debug, Deserialize)]
struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /callback/{cc}`.
pub async fn callback(
    State(gw): State<Arc<Gateway>>,
    Path(cc): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let mut trail = Trail::default();
    let result = match params::parse::<CallbackParams>(query.as_deref().unwrap_or(""), MAX_QUERY) {
        Ok(p) => {
            let response = AuthorizationResponse {
                code: p.code,
                state: p.state,
                iss: p.iss,
                error: p.error,
                error_description: p.error_description,
            };
            complete(&gw, &cc, &headers, response, &mut trail).await
        }
        Err(e) => Err(StepError::from(e).into()),
    };
    if let Err(reject) = &result {
        gw.record(&Event::refused(&trail, reject));
    }
    match result {
        Ok(r) => r,
        // The flow is over (the agency hears why, or will from the page's button): the
        // cookie goes too.
        Err(r) if r.ends_flow() => {
            let mut r = r.into_response();
            if let Some(id) = &trail.flow {
                cookie::clear_flow(&gw, &mut r, id);
            }
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
    trail: &mut Trail,
) -> Result<Response, Reject> {
    let state_param = response
        .state
        .clone()
        .filter(|s| !s.is_empty() && s.len() <= 512)
        .ok_or_else(|| expired_unknown_flow(gw, headers))?;
    // Single use, across replicas: the upstream state is consumed before anything else.
    let login: UpstreamLogin = state::take(gw.store.as_ref(), &keys::upstream(&state_param))
        .await
        .map_err(StepError::from)?
        .ok_or_else(|| expired_unknown_flow(gw, headers))?;
    let origin = login.pending.country;
    let flow = login.flow;
    *trail = flow.trail(gw);
    trail.origin = Some(origin);
    let lang = flow.lang();
    let page = |e: StepError| Reject::from(e).lang(lang);
    let back = flow.return_to(&gw.issuer);
    // The flow is gone, or not this browser's: a way to start again at the agency's site.
    let restart =
        |e: StepError| restart_at(gw, page(e), Some(&flow.client_id), Some(&flow.redirect_uri));
    if !cc.eq_ignore_ascii_case(origin.as_str()) || flow.exp <= gw.now() {
        return Err(restart(StepError::Expired));
    }
    // The browser that started the flow must be the one finishing it.
    if cookie::read_flow(gw, headers, &flow.id).is_none() {
        return Err(restart(StepError::Forged));
    }
    let agency = gw
        .agencies
        .get(&flow.client_id)
        .ok_or_else(|| page(StepError::Expired))?;
    // From here the agency is known good: a failure page offers to return to it, and the
    // agency hears the error (RFC 6749 4.1.2.1).
    let to_agency = |e: StepError| refuse_to_agency(gw, &flow, agency, e);
    let upstream = gw
        .upstreams
        .get(origin)
        .ok_or_else(|| to_agency(StepError::IdpUnavailable(origin)))?;

    let verified = match upstream.complete(&login.pending, &response, gw.now()).await {
        Ok(v) => v,
        Err(UpstreamError::IdpError { error }) => {
            // The citizen cancelled or the IdP refused: the agency hears access_denied.
            return Err(back
                .refuse(
                    OAuthError::AccessDenied,
                    format!("the national IdP of {origin} ended the sign-in ({error})"),
                )
                .because("idp_ended_sign_in"));
        }
        Err(UpstreamError::AuthTime(error)) => {
            // OIDC Core 3.1.2.1: max_age or prompt=login could not be met; the agency hears
            // login_required (it may ask again) and the national token counts as refused.
            let refusal = back
                .refuse(
                    OAuthError::LoginRequired,
                    format!("the national IdP of {origin}: {error}"),
                )
                .because(error.reason());
            gw.record(&Event {
                kind: EventKind::NationalTokenRefused,
                ..Event::refused(trail, &refusal)
            });
            return Err(refusal);
        }
        Err(error) => {
            let error_kind = if matches!(error, UpstreamError::Verify(_)) {
                ErrorKind::Verify
            } else {
                ErrorKind::Other
            };
            let refusal = to_agency(StepError::Unverified {
                country: origin,
                error,
            });
            // A refused national token (not a transport failure: that is only a refusal).
            if matches!(error_kind, ErrorKind::Verify) {
                gw.record(&Event {
                    kind: EventKind::NationalTokenRefused,
                    ..Event::refused(trail, &refusal)
                });
            }
            return Err(refusal);
        }
    };
    gw.record(&Event::ok(EventKind::NationalTokenVerified, trail));
    // The rule decided at the country choice; a policy reloaded since no longer naming it
    // refuses the pair rather than mapping under another rule.
    let (Some(profile), Some(rule)) = (
        gw.mapping.profile(origin),
        gw.mapping.policy.rule(&login.rule),
    ) else {
        let refused = MappingError::PairRefused {
            origin,
            destination: agency.country,
        };
        return Err(back
            .refuse(OAuthError::AccessDenied, refused.to_string())
            .because(refused.reason()));
    };
    let mapped = gw
        .map_for(origin, rule, agency, &verified.claims, &verified.context)
        .map_err(|error| match refusal_for_agency(&error) {
            Some(code) => back.refuse(code, error.to_string()).because(error.reason()),
            None => to_agency(StepError::Unmappable {
                country: origin,
                error,
            }),
        })?;
    trail.loa = Some(mapped.assertion.acr);
    trail.subject = gw
        .ops
        .audit
        .subject_ref(origin, mapped.national_id.expose());
    gw.record(&Event::ok(EventKind::Mapped, trail));
    if let Some(min) = flow.min_loa
        && mapped.assertion.acr < min
    {
        return Err(back
            .refuse(
                OAuthError::UnmetAuthenticationRequirements,
                format!(
                    "level of assurance {} is below the requested {min}",
                    mapped.assertion.acr
                ),
            )
            .because("loa_below_requested"));
    }
    gw.record(&Event::ok(EventKind::PolicyDecision, trail));

    // The browser's gateway session (one store write), for single sign-on and logout.
    let national_sid = verified
        .claims
        .id_token
        .as_ref()
        .and_then(|c| c.get("sid"))
        .and_then(serde_json::Value::as_str)
        .filter(|s| !s.is_empty() && s.len() <= 255)
        .map(str::to_owned);
    let session::OpenSession {
        handle,
        session,
        sid,
        joined,
        replaced,
    } = session::open(
        gw,
        headers,
        session::Opened {
            origin,
            loa: mapped.assertion.acr,
            auth_time: mapped.assertion.auth_time.unwrap_or_else(|| gw.now()),
            subject: trail.subject.clone(),
            national: session::National {
                iss: verified.context.issuer,
                sid: national_sid,
                id_token: verified.id_token,
                id_token_claims: verified.claims.id_token,
                userinfo: verified.claims.userinfo,
                acr: verified.context.acr,
                amr: verified.context.amr,
                auth_time: verified.context.auth_time,
            },
            client_id: &flow.client_id,
            sub: &mapped.assertion.sub,
        },
    )
    .await
    .map_err(|e| to_agency(e.into()))?;
    if let Some(old) = replaced {
        // Another citizen's session in this browser ended: its agencies hear it.
        gw.record(&Event {
            reason: Some("replaced"),
            ..Event::ok(
                EventKind::LoggedOut,
                &Trail {
                    origin: Some(old.origin),
                    subject: old.subject.clone(),
                    ..Trail::default()
                },
            )
        });
        session::backchannel::notify(gw, &old);
    }

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
        flow: flow.id.clone(),
        subject: trail.subject.clone(),
        sid: Some(sid),
    };
    state::put(
        gw.store.as_ref(),
        &keys::code(&token_key(&code)),
        &grant,
        ttl,
    )
    .await
    .map_err(|e| to_agency(e.into()))?;
    if !mapped.consent_required {
        gw.record(&Event::ok(EventKind::CodeIssued, trail));
        let mut response = consent::code_redirect(gw, &flow, &code);
        cookie::clear_flow(gw, &mut response, &flow.id);
        session::set_cookie(gw, &mut response, &handle, &session);
        return Ok(response);
    }
    let mut flow = flow;
    flow.code = Some(code);
    flow.subject = trail.subject.clone();
    flow.origin = Some(origin);
    flow.loa = trail.loa;
    flow.joined_session = joined;
    let idp_name = profile.idp_name.as_str();
    let context = consent::ConsentContext {
        identifier: rule.disclosure(),
        hijri: profile.birthdate.calendar == jisr_mapping::dates::Calendar::HijriUmmAlQura,
    };
    let mut response = consent::show(
        agency,
        &flow,
        &grant.assertion,
        &mapped.released,
        idp_name,
        context,
    );
    cookie::set_flow(gw, headers, &mut response, &flow);
    session::set_cookie(gw, &mut response, &handle, &session);
    Ok(response)
}

/// Mapping refusals the agency can act on (it asked for too much, or the pair is closed) go
/// back to it; the others (the national IdP sent too little) are the citizen's to see.
fn refusal_for_agency(error: &MappingError) -> Option<OAuthError> {
    OAuthError::parse(error.oauth_error()).filter(|code| {
        matches!(
            code,
            OAuthError::UnmetAuthenticationRequirements | OAuthError::AccessDenied
        )
    })
}

/// Whether an upstream failure was the national token refused, or the call itself failing.
enum ErrorKind {
    Verify,
    Other,
}
