//! Step 2, `POST /login/country`: the citizen picked their country. The pair's policy is
//! decided here, once per flow, and the citizen goes on to their national IdP; the flow is
//! stored under the upstream `state` (one store round trip) until [`super::callback`].

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use jisr_mapping::{CountryCode, Loa, Rule};
use serde::Deserialize;

use super::error::{StepError, expired_unknown_flow, refuse_to_agency};
use super::state::{self, Flow, UpstreamLogin, keys};
use crate::app::Gateway;
use crate::http::params::{self, MAX_FORM};
use crate::http::reject::{OAuthError, Reject};
use crate::http::{cookie, response};
use crate::ops::{Event, EventKind, Trail};
use crate::upstream::{Ask, Freshness};

/// A form of the citizen's pages: bound to the flow cookie by its id and CSRF token.
#[derive(Debug, Deserialize)]
pub struct FlowForm {
    flow: Option<String>,
    csrf: Option<String>,
    /// The picker's choice.
    country: Option<String>,
    /// The consent page's choice: `allow` or `deny`.
    pub decision: Option<String>,
}

impl FlowForm {
    /// Parses the form and returns it with its flow: the sealed cookie's, when the form names
    /// it and carries its CSRF token.
    pub fn read(gw: &Gateway, headers: &HeaderMap, body: &str) -> Result<(Self, Flow), Reject> {
        let form: FlowForm = params::parse(body, MAX_FORM).map_err(StepError::from)?;
        // The form names its flow; that flow's own cookie must come with it.
        let flow = form
            .flow
            .as_deref()
            .and_then(|id| cookie::read_flow(gw, headers, id))
            .ok_or_else(|| expired_unknown_flow(gw, headers))?;
        let csrf = form.csrf.as_deref().map(str::as_bytes).unwrap_or_default();
        if aws_lc_rs::constant_time::verify_slices_are_equal(csrf, flow.csrf.as_bytes()).is_err() {
            return Err(Reject::from(StepError::Forged).lang(flow.lang()));
        }
        Ok((form, flow))
    }
}

/// `POST /login/country`.
pub async fn choose(State(gw): State<Arc<Gateway>>, headers: HeaderMap, body: String) -> Response {
    let (form, flow) = match FlowForm::read(&gw, &headers, &body) {
        Ok(v) => v,
        Err(reject) => {
            gw.record(&Event::refused(&Trail::default(), &reject));
            return reject.into_response();
        }
    };
    let mut trail = flow.trail(&gw);
    let origin = form
        .country
        .and_then(|c| c.parse::<CountryCode>().ok())
        .filter(|c| c.gcc().is_some());
    let result = match origin {
        Some(origin) => go_upstream(&gw, &flow, origin, &mut trail).await,
        None => Err(Reject::from(StepError::NotGcc).lang(flow.lang())),
    };
    result.unwrap_or_else(|reject| {
        gw.record(&Event::refused(&trail, &reject));
        let ends = reject.ends_flow();
        let mut response = reject.into_response();
        if ends {
            cookie::clear_flow(&gw, &mut response, &flow.id);
        }
        response
    })
}

/// Decides the pair (policy rule, the national `acr` values that meet the LoA the agency and
/// the rule require) and sends the citizen to their national IdP, with the agency's
/// `prompt=login` and `max_age`. A country whose IdP cannot reach that level is refused
/// before the citizen signs in there (`unmet_authentication_requirements`).
pub async fn go_upstream(
    gw: &Gateway,
    flow: &Flow,
    origin: CountryCode,
    trail: &mut Trail,
) -> Result<Response, Reject> {
    trail.origin = Some(origin);
    let lang = flow.lang();
    let page = |e: StepError| Reject::from(e).lang(lang);
    let agency = gw
        .agencies
        .get(&flow.client_id)
        .ok_or_else(|| page(StepError::Expired))?;
    let rule = gw.decide(origin, agency.country).map_err(|_| {
        flow.return_to(&gw.issuer)
            .refuse(
                OAuthError::AccessDenied,
                format!(
                    "no agreement allows identities from {origin} for {}",
                    agency.country
                ),
            )
            .because("pair_refused")
    })?;
    // The agency is known good: a failure page offers to return to it with the error.
    let to_agency = |e: StepError| refuse_to_agency(gw, flow, agency, e);
    if gw.ops.fleet.suspensions.blocks(origin, agency.country) {
        return Err(to_agency(StepError::Suspended(origin)));
    }
    // An IdP whose authorization endpoint does not answer: the gateway's page, not a browser
    // sent to an address that does not answer.
    let upstream = gw
        .upstreams
        .get(origin)
        .filter(|u| u.is_available())
        .ok_or_else(|| to_agency(StepError::IdpUnavailable(origin)))?;
    let required = required_loa(flow, rule);
    if !reachable(gw, origin, required) {
        return Err(flow
            .return_to(&gw.issuer)
            .refuse(
                OAuthError::UnmetAuthenticationRequirements,
                format!(
                    "the national IdP of {origin} cannot reach the level of assurance {required}"
                ),
            )
            .because("loa_unreachable"));
    }
    let acr = acr_values(gw, origin, required);
    let ask = Ask {
        acr_values: acr,
        ui_locales: Some(lang.tag()),
        fresh: Freshness {
            max_age: flow.max_age,
            login: flow.prompt_login,
            requested_at: gw.now(),
        },
    };
    let (url, pending) = upstream
        .begin_with(&ask)
        .map_err(|_| to_agency(StepError::IdpUnavailable(origin)))?;
    let key = keys::upstream(&pending.state);
    let login = UpstreamLogin {
        flow: flow.clone(),
        pending,
        rule: rule.id(),
    };
    state::put(gw.store.as_ref(), &key, &login, gw.ttls.login)
        .await
        .map_err(|e| to_agency(e.into()))?;
    gw.record(&Event::ok(EventKind::CountryChosen, trail));
    Ok(response::redirect(&url))
}

/// The level a login must reach: the stricter of the agency's `acr_values` and the pair's
/// minimum.
pub fn required_loa(flow: &Flow, rule: &Rule) -> Loa {
    flow.min_loa
        .map_or(rule.min_loa(), |m| m.max(rule.min_loa()))
}

/// Whether the IdP of `origin` can map a login to `required` at all (its profile's best
/// level, under its cap).
pub fn reachable(gw: &Gateway, origin: CountryCode, required: Loa) -> bool {
    gw.mapping
        .profile(origin)
        .and_then(|p| p.loa.highest())
        .is_some_and(|best| best >= required)
}

/// The national acr values that meet `required`, best first: always sent, since certified
/// IdPs put `acr` in the ID token only when asked for it.
fn acr_values(gw: &Gateway, origin: CountryCode, required: Loa) -> Vec<&str> {
    gw.mapping
        .profile(origin)
        .map(|p| p.loa.acr_values_at_least(required))
        .unwrap_or_default()
}
