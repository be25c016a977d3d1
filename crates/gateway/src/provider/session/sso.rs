//! Single sign-on at `/authorize`: a browser whose gateway session may serve this agency
//! skips the country picker and the national login. The session may serve it when
//!
//! - the pair's policy rule (the session's origin → the agency's country) says `sso = true`
//!   and the pair is not suspended;
//! - the session's level of assurance meets the agency's `acr_values` and the rule's minimum;
//! - the agency did not ask for `prompt=login`, and `max_age` allows the session's
//!   `auth_time`;
//! - the agency's `country` hint, if any, is the session's origin.
//!
//! The national claims kept sealed in the session are mapped again under the rule, for this
//! agency's destination and sector, so the release is exactly what a fresh login would have
//! released. Consent is asked as the rule says, like after a national login.
//!
//! `prompt=none` (OIDC Core 3.1.2.6) never shows a page: success when the session serves
//! and no consent is needed; otherwise `login_required` (no session, or it does not serve
//! this agency), `consent_required`, or `interaction_required` (the agency named another
//! country than the session's), back to the agency with `state` and `iss`.

use axum::http::HeaderMap;
use axum::response::Response;
use jisr_mapping::{CountryCode, Destination, map_with_rule};

use super::super::consent;
use super::super::country::required_loa;
use super::super::state::{self, CodeGrant, Flow, keys};
use super::{Session, load, save, set_cookie};
use crate::app::{Gateway, random_token, token_key};
use crate::config::agencies::Agency;
use crate::http::cookie;
use crate::http::reject::{OAuthError, Reject};
use crate::ops::{Event, EventKind, Trail};

/// Why the session does not serve this request (fixed reason codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NotServed {
    NoSession,
    OtherCountry,
    PairWithoutSso,
    Fresher,
    LevelTooLow,
    Unmappable,
}

impl NotServed {
    fn reason(self) -> &'static str {
        match self {
            NotServed::NoSession => "no_session",
            NotServed::OtherCountry => "session_other_country",
            NotServed::PairWithoutSso => "pair_without_sso",
            NotServed::Fresher => "session_too_old",
            NotServed::LevelTooLow => "session_loa_too_low",
            NotServed::Unmappable => "session_unmappable",
        }
    }

    fn error(self) -> (OAuthError, &'static str) {
        match self {
            NotServed::OtherCountry => (
                OAuthError::InteractionRequired,
                "the citizen's session is from another country than the one requested",
            ),
            NotServed::NoSession => (
                OAuthError::LoginRequired,
                "the citizen has no active session at the gateway",
            ),
            NotServed::PairWithoutSso => (
                OAuthError::LoginRequired,
                "the policy for this pair does not allow single sign-on",
            ),
            NotServed::Fresher => (
                OAuthError::LoginRequired,
                "the citizen authenticated longer ago than max_age allows",
            ),
            NotServed::LevelTooLow => (
                OAuthError::LoginRequired,
                "the session's level of assurance is below what this request requires",
            ),
            NotServed::Unmappable => (
                OAuthError::LoginRequired,
                "the session cannot serve this agency; a new national login is required",
            ),
        }
    }
}

/// Signs the citizen in to `agency` through their session when it may (see the module
/// header). `Ok(None)`: go on with the country picker and a national login.
pub async fn attempt(
    gw: &Gateway,
    headers: &HeaderMap,
    agency: &Agency,
    flow: &Flow,
    hint: Option<CountryCode>,
    trail: &mut Trail,
) -> Result<Option<Response>, Reject> {
    let back = flow.return_to(&gw.issuer);
    let not_served = |why: NotServed| -> Result<Option<Response>, Reject> {
        if flow.prompt_none {
            let (error, description) = why.error();
            Err(back.refuse(error, description).because(why.reason()))
        } else {
            Ok(None)
        }
    };
    if flow.prompt_login {
        // A fresh national login is asked for: never the session (and never silently).
        return not_served(NotServed::Fresher);
    }
    let loaded = match load(gw, headers).await {
        Ok(l) => l,
        // Without the store, no session can be trusted: a fresh login (which needs the
        // store too, and says so) or, for prompt=none, the agency hears it.
        Err(_) if flow.prompt_none => {
            return Err(back
                .refuse(
                    OAuthError::TemporarilyUnavailable,
                    "the session store is unavailable",
                )
                .because("store_unavailable"));
        }
        Err(_) => return Ok(None),
    };
    let Some((handle, mut session)) = loaded else {
        return not_served(NotServed::NoSession);
    };
    let origin = session.origin;
    trail.origin = Some(origin);
    trail.subject = session.subject.clone();
    trail.loa = Some(session.loa);
    if hint.is_some_and(|h| h != origin) {
        return not_served(NotServed::OtherCountry);
    }
    let Ok(rule) = gw.decide(origin, agency.country) else {
        return not_served(NotServed::PairWithoutSso);
    };
    if !rule.sso || gw.ops.fleet.suspensions.blocks(origin, agency.country) {
        return not_served(NotServed::PairWithoutSso);
    }
    let now = gw.now();
    if flow
        .max_age
        .is_some_and(|max| now - session.auth_time > max as i64)
    {
        return not_served(NotServed::Fresher);
    }
    if session.loa < required_loa(flow, rule) {
        return not_served(NotServed::LevelTooLow);
    }
    let Some(profile) = gw.mapping.profile(origin) else {
        return not_served(NotServed::Unmappable);
    };
    let destination = Destination {
        country: agency.country,
        sector: agency.pairwise_sector(),
    };
    let Ok(mapped) = map_with_rule(
        profile,
        rule,
        &session.national.claims(),
        &session.national.context(),
        &destination,
        &gw.pairwise,
    ) else {
        return not_served(NotServed::Unmappable);
    };
    if mapped.consent_required && flow.prompt_none {
        return Err(back
            .refuse(
                OAuthError::ConsentRequired,
                "the citizen must consent before this agency receives their identity",
            )
            .because("consent_required"));
    }

    // Served: the agency joins the session (one write), the grant is stored (one write).
    let (sid, joined) = session.sign_in(gw, &handle, &flow.client_id, &mapped.assertion.sub);
    session.last_used = now;
    let store_failed = |_| {
        back.refuse(
            OAuthError::TemporarilyUnavailable,
            "the session store is unavailable",
        )
        .because("store_unavailable")
    };
    save(gw, &handle, &session).await.map_err(store_failed)?;
    gw.record(&Event::ok(EventKind::SessionReused, trail));
    gw.record(&Event::ok(EventKind::Mapped, trail));
    gw.record(&Event::ok(EventKind::PolicyDecision, trail));
    let code = random_token(32);
    let released = mapped.released;
    let grant = CodeGrant {
        client_id: flow.client_id.clone(),
        redirect_uri: flow.redirect_uri.clone(),
        code_challenge: flow.code_challenge.clone(),
        nonce: flow.nonce.clone(),
        consent: mapped.consent_required,
        assertion: mapped.assertion,
        flow: flow.id.clone(),
        subject: session.subject.clone(),
        sid: Some(sid),
    };
    let ttl = if grant.consent {
        gw.ttls.login
    } else {
        gw.ttls.code
    };
    state::put(
        gw.store.as_ref(),
        &keys::code(&token_key(&code)),
        &grant,
        ttl,
    )
    .await
    .map_err(store_failed)?;
    Ok(Some(if grant.consent {
        consent_page(
            gw,
            headers,
            agency,
            flow,
            &session,
            (grant, code, joined),
            &released,
            rule,
        )
    } else {
        gw.record(&Event::ok(EventKind::CodeIssued, trail));
        let mut response = consent::code_redirect(gw, flow, &code);
        set_cookie(gw, &mut response, &handle, &session);
        response
    }))
}

/// The consent page for a sign-in through the session: the flow cookie carries the code,
/// as after a national login.
#[allow(clippy::too_many_arguments)]
fn consent_page(
    gw: &Gateway,
    headers: &HeaderMap,
    agency: &Agency,
    flow: &Flow,
    session: &Session,
    (grant, code, joined): (CodeGrant, String, bool),
    released: &[jisr_mapping::SharedClaim],
    rule: &jisr_mapping::Rule,
) -> Response {
    let origin = session.origin;
    let profile = gw.mapping.profile(origin);
    let flow = Flow {
        code: Some(code),
        subject: session.subject.clone(),
        origin: Some(origin),
        loa: Some(grant.assertion.acr),
        joined_session: joined,
        ..flow.clone()
    };
    let context = consent::ConsentContext {
        identifier: rule.disclosure(),
        hijri: profile
            .is_some_and(|p| p.birthdate.calendar == jisr_mapping::dates::Calendar::HijriUmmAlQura),
    };
    let idp_name = profile.map_or("", |p| p.idp_name.as_str());
    let mut response = consent::show(agency, &flow, &grant.assertion, released, idp_name, context);
    cookie::set_flow(gw, headers, &mut response, &flow);
    response
}
