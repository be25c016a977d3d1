//! Step 4: the citizen sees exactly what goes to the agency ([`show`], rendered by the
//! callback) and shares or declines (`POST /consent`, [`decide`]); the agency gets its code
//! ([`code_redirect`]) and redeems it at [`super::token`]. Sharing reads the stored grant
//! once, so a decision replayed after Decline finds nothing to approve.

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use jisr_mapping::{CrossBorderAssertion, Disclosure, SharedClaim};

use super::country::FlowForm;
use super::error::{StepError, refuse_to_agency, restart_at};
use super::session;
use super::state::{Flow, keys};
use crate::app::{Gateway, token_key};
use crate::config::agencies::Agency;
use crate::http::reject::{OAuthError, Reject};
use crate::http::{cookie, response};
use crate::ops::{Event, EventKind, Trail};
use crate::pages::values::{self, Shown};
use crate::pages::{self, Agency as PageAgency, Attribute, ConsentPage};

/// What the consent page says beyond the released values: which identifier goes, and
/// whether the citizen's country keeps dates in the Hijri calendar (the origin's profile).
#[derive(Debug, Clone, Copy)]
pub struct ConsentContext {
    pub identifier: Disclosure,
    pub hijri: bool,
}

/// The consent page: the released claims as they will be shared, from the assertion.
pub fn show(
    agency: &Agency,
    flow: &Flow,
    assertion: &CrossBorderAssertion,
    released: &[SharedClaim],
    idp_name: &str,
    context: ConsentContext,
) -> Response {
    let attributes = released
        .iter()
        .map(|c| Attribute {
            claim: *c,
            value: display_value(assertion, *c, context.hijri),
        })
        .collect();
    let purpose = agency.notice.purpose.as_ref();
    let html = pages::consent(&ConsentPage {
        lang: flow.lang(),
        agency: PageAgency {
            name_en: &agency.name_en,
            name_ar: &agency.name_ar,
            country: agency.country,
        },
        origin: assertion.origin_country,
        idp_name,
        attributes,
        identifier: context.identifier,
        purpose: purpose.map(|p| (p.en.as_str(), p.ar.as_str())),
        privacy_url: agency.notice.privacy_url.as_deref(),
        action: "/consent",
        flow: &flow.id,
        csrf: &flow.csrf,
        switch_url: None,
    });
    let target = url::Url::parse(&flow.redirect_uri)
        .map(|u| u.origin().ascii_serialization())
        .into_iter()
        .collect::<Vec<_>>();
    response::page(html, &target)
}

/// How a released claim reads on the consent page: in words, in both languages where the
/// value has words (see [`values`]).
fn display_value(a: &CrossBorderAssertion, claim: SharedClaim, hijri: bool) -> Shown {
    let c = &a.verified_claims.claims;
    let both = |ar: &Option<String>, en: &Option<String>, default: &str| match (en, ar) {
        (Some(en), Some(ar)) => Shown::Both {
            en: en.clone(),
            ar: ar.clone(),
        },
        _ => Shown::from(default),
    };
    match claim {
        SharedClaim::PersonIdentifier => c.person_identifier.to_string().into(),
        SharedClaim::GivenName => both(&c.given_name_ar, &c.given_name_en, &c.given_name),
        SharedClaim::FamilyName => both(&c.family_name_ar, &c.family_name_en, &c.family_name),
        SharedClaim::Birthdate => values::birthdate(&c.birthdate, hijri),
        SharedClaim::Gender => values::gender(c.gender.as_deref().unwrap_or_default()),
        SharedClaim::Nationalities => {
            values::nationalities(c.nationalities.as_deref().unwrap_or_default())
        }
        SharedClaim::PlaceOfBirth => match &c.place_of_birth {
            None => Shown::from(""),
            Some(p) => {
                let (country_en, country_ar) = p
                    .country
                    .map(values::country_names)
                    .map_or((None, None), |(en, ar)| (Some(en), Some(ar)));
                let join = |parts: [Option<String>; 2], sep: &str| {
                    parts.into_iter().flatten().collect::<Vec<_>>().join(sep)
                };
                match (&p.locality, &country_en) {
                    (_, None) => Shown::from(p.locality.clone().unwrap_or_default()),
                    _ => Shown::Both {
                        en: join([p.locality.clone(), country_en], ", "),
                        ar: join([p.locality.clone(), country_ar], "، "),
                    },
                }
            }
        },
    }
}

/// `POST /consent`: the citizen shares or declines. Either way the flow ends here.
pub async fn decide(State(gw): State<Arc<Gateway>>, headers: HeaderMap, body: String) -> Response {
    let mut trail = Trail::default();
    let mut response = decision(&gw, &headers, &body, &mut trail)
        .await
        .unwrap_or_else(|reject| {
            gw.record(&Event::refused(&trail, &reject));
            reject.into_response()
        });
    if let Some(id) = &trail.flow {
        cookie::clear_flow(&gw, &mut response, id);
    }
    response
}

async fn decision(
    gw: &Gateway,
    headers: &HeaderMap,
    body: &str,
    trail: &mut Trail,
) -> Result<Response, Reject> {
    let (form, flow) = FlowForm::read(gw, headers, body)?;
    *trail = flow.trail(gw);
    let page = |e: StepError| Reject::from(e).lang(flow.lang());
    // Expired or replayed: offer to start again at the agency. A store failure: tell the
    // agency (its client and redirect URI were checked when the flow began).
    let restart = |r: Reject| restart_at(gw, r, Some(&flow.client_id), Some(&flow.redirect_uri));
    let agency = gw.agencies.get(&flow.client_id);
    let unavailable = |e: jisr_store::StoreError| match agency {
        Some(a) => refuse_to_agency(gw, &flow, a, e.into()),
        None => page(e.into()),
    };
    let code = flow
        .code
        .as_deref()
        .ok_or_else(|| restart(page(StepError::Expired)))?;
    match form.decision.as_deref() {
        // The stored grant becomes redeemable with the approval. It must still be there: a
        // form replayed with a saved cookie after the citizen declined (which deleted it),
        // or after the code was redeemed, is refused here rather than sending the agency a
        // code that cannot work.
        Some("allow") => {
            let grant = gw
                .store
                .get(&keys::code(&token_key(code)))
                .await
                .map_err(unavailable)?;
            if grant.is_none() {
                return Err(restart(
                    page(StepError::Expired).because("consent_replayed"),
                ));
            }
            gw.record(&Event::ok(EventKind::ConsentGiven, trail));
            gw.record(&Event::ok(EventKind::CodeIssued, trail));
            Ok(code_redirect(gw, &flow, &gw.seals.approve(code, gw.now())))
        }
        Some("deny") => {
            gw.store
                .delete(&keys::code(&token_key(code)))
                .await
                .map_err(unavailable)?;
            if flow.joined_session {
                session::leave(gw, headers, &flow.client_id).await;
            }
            gw.record(&Event::ok(EventKind::ConsentDeclined, trail));
            Err(flow
                .return_to(&gw.issuer)
                .refuse(
                    OAuthError::AccessDenied,
                    "the citizen declined to share their identity",
                )
                .because("consent_declined"))
        }
        _ => Err(page(StepError::DecisionMissing)),
    }
}

/// Back to the agency with the code, its `state` and `iss` (RFC 9207).
pub fn code_redirect(gw: &Gateway, flow: &Flow, code: &str) -> Response {
    let Ok(mut url) = url::Url::parse(&flow.redirect_uri) else {
        return Reject::from(StepError::Expired)
            .lang(flow.lang())
            .into_response();
    };
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("code", code);
        if let Some(state) = &flow.state {
            q.append_pair("state", state);
        }
        q.append_pair("iss", &gw.issuer);
    }
    response::redirect(url.as_str())
}
