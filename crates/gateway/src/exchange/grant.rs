//! Token exchange (RFC 8693) at `POST /token`: an agency's server presents a national ID
//! token it already holds (a citizen's mobile app signed in at home) and receives the
//! shared assertion, verified, mapped and filtered exactly as a browser login would be.
//!
//! In order: the agency authenticates as at the code grant; the request's parameters are
//! checked; the token is routed by its `iss` to its national IdP and verified by the login's
//! verification, with `aud` held to the national clients the agency registered for that
//! country; operators' suspensions and the pair's policy rule apply (a rule requiring consent
//! only under a legal basis it accepts for exchange); the claims are mapped by the login's
//! mapping ([`Gateway::map_for`]); the token is marked used for this agency until it expires
//! (single use across replicas); then the assertion is signed, or an access token issued.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jisr_mapping::{CrossBorderAssertion, NationalClaims, Source};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::error::ExchangeError;
use super::{ClientCredentials, GRANT_TYPE, TYPE_ACCESS_TOKEN, TYPE_ID_TOKEN, TYPE_JWT};
use crate::app::{Gateway, random_token, token_key};
use crate::config::agencies::Agency;
use crate::http::params;
use crate::http::reject::Reject;
use crate::http::response::no_store;
use crate::ops::{Event, EventKind, Trail};
use crate::provider::error::TokenError;
use crate::provider::state::{AccessToken, keys};
use crate::upstream::idtoken::{self, MAX_TOKEN_BYTES};
use crate::upstream::{Mode, VerifyError};

/// Longest exchange request body: the largest national token accepted plus room for the
/// other parameters and a client assertion.
pub const MAX_EXCHANGE_FORM: usize = MAX_TOKEN_BYTES + 12 * 1024;

/// The token exchange request's parameters (RFC 8693 2.1, with client authentication).
#[derive(Debug, Deserialize)]
struct ExchangeForm {
    grant_type: Option<String>,
    subject_token: Option<String>,
    subject_token_type: Option<String>,
    requested_token_type: Option<String>,
    audience: Option<String>,
    resource: Option<String>,
    actor_token: Option<String>,
    actor_token_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    client_assertion: Option<String>,
    client_assertion_type: Option<String>,
}

/// What the agency asked to receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Issue {
    /// The shared assertion as a JWT signed by the gateway, `aud` the agency.
    Assertion,
    /// A gateway access token for `/userinfo` (and introspection).
    AccessToken,
}

/// The exchanged assertion's claims: an envelope (issuer, audience, lifetime, a unique id)
/// beside the shared assertion's claims, as in the ID token but without `nonce`/`at_hash`.
#[derive(Debug, Serialize)]
struct AssertionClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    azp: &'a str,
    iat: i64,
    exp: i64,
    jti: String,
    #[serde(flatten)]
    assertion: &'a CrossBorderAssertion,
}

/// `POST /token` with `grant_type=urn:ietf:params:oauth:grant-type:token-exchange`.
pub async fn token_exchange(gw: Arc<Gateway>, headers: HeaderMap, body: String) -> Response {
    let mut trail = Trail {
        flow: Some(random_token(12)),
        ..Trail::default()
    };
    match exchange(&gw, &headers, &body, &mut trail).await {
        Ok(r) => r,
        Err(e) => {
            let national = e.is_national_token_refusal();
            let reject = Reject::from(e);
            if national {
                gw.record(&Event {
                    kind: EventKind::NationalTokenRefused,
                    ..Event::refused(&trail, &reject)
                });
            }
            gw.record(&Event::refused(&trail, &reject));
            reject.into_response()
        }
    }
}

async fn exchange(
    gw: &Gateway,
    headers: &HeaderMap,
    body: &str,
    trail: &mut Trail,
) -> Result<Response, ExchangeError> {
    super::require_form(headers)?;
    let form: ExchangeForm = params::parse_with_long(
        body,
        MAX_EXCHANGE_FORM,
        &["subject_token", "client_assertion"],
    )?;
    let agency = super::authenticate(
        gw,
        headers,
        ClientCredentials {
            client_id: &form.client_id,
            client_secret: &form.client_secret,
            client_assertion: &form.client_assertion,
            client_assertion_type: &form.client_assertion_type,
        },
        crate::http::rate::Route::Token,
    )
    .await?;
    trail.client_id = Some(agency.client_id.clone());
    trail.destination = Some(agency.country);
    let issue = check_request(gw, agency, &form)?;
    let token = form.subject_token.as_deref().unwrap_or_default();
    let now = gw.now();

    // Routed by the (untrusted) issuer to one national IdP, verified with its keys only.
    let parsed = idtoken::parse(token).map_err(ExchangeError::Subject)?;
    let upstream = gw
        .upstreams
        .route(&parsed)
        .map_err(ExchangeError::Subject)?;
    let origin = upstream.config.country;
    trail.origin = Some(origin);
    if upstream.config.mode == Mode::Oauth2Userinfo {
        return Err(ExchangeError::NoIdTokens(origin));
    }
    let audiences = agency.back_channel.audiences(origin);
    if audiences.is_empty() {
        return Err(ExchangeError::CountryNotRegistered(origin));
    }
    let replay_id = idtoken::replay_id(&parsed);
    let verified = upstream
        .verify_presented(parsed, &audiences, now)
        .await
        .map_err(|e| ExchangeError::upstream(origin, e))?;
    gw.record(&Event::ok(EventKind::NationalTokenVerified, trail));

    if gw.ops.fleet.suspensions.blocks(origin, agency.country) {
        return Err(ExchangeError::Suspended(origin));
    }
    let rule = gw.decide(origin, agency.country)?;
    if !rule.exchange_allowed(agency.back_channel.legal_basis.as_deref()) {
        return Err(ExchangeError::ConsentRequired { rule: rule.id() });
    }
    // Without a browser there is no national userinfo call: a profile that reads claims from
    // userinfo reads them from the ID token, which must then carry them.
    let reads_userinfo = gw
        .mapping
        .profile(origin)
        .is_some_and(|p| p.reads(Source::Userinfo));
    let exp = verified.claims.get("exp").and_then(Value::as_i64);
    let claims = NationalClaims {
        userinfo: reads_userinfo.then(|| verified.claims.clone()),
        id_token: Some(verified.claims),
    };
    let mapped = gw.map_for(origin, rule, agency, &claims, &verified.context)?;
    trail.loa = Some(mapped.assertion.acr);
    trail.subject = gw
        .ops
        .audit
        .subject_ref(origin, mapped.national_id.expose());
    gw.record(&Event::ok(EventKind::Mapped, trail));
    gw.record(&Event::ok(EventKind::PolicyDecision, trail));

    // Single use per agency until the national token expires, across replicas: only after
    // it verified (a forged token marks nothing) and was accepted by the policy.
    let exp = exp.ok_or(ExchangeError::Subject(VerifyError::MissingClaim("exp")))?;
    let leeway = upstream.config.leeway.as_secs() as i64;
    let ttl = Duration::from_secs(exp.saturating_add(leeway).saturating_sub(now).max(1) as u64);
    let key = keys::exchanged(
        &agency.client_id,
        &token_key(&format!("{}|{replay_id}", upstream.config.issuer)),
    );
    if !gw.store.insert_if_absent(&key, b"1", ttl).await? {
        return Err(ExchangeError::Replayed);
    }

    let body = match issue {
        Issue::Assertion => {
            let signed = sign_assertion(gw, agency, &mapped.assertion, now)?;
            json!({
                "access_token": signed,
                "issued_token_type": TYPE_JWT,
                "token_type": "N_A",
                "expires_in": gw.ttls.id_token.as_secs(),
            })
        }
        Issue::AccessToken => {
            let grant = token_key(&random_token(32));
            gw.store
                .put(
                    &keys::live_grant(&grant),
                    agency.client_id.as_bytes(),
                    gw.ttls.access_token,
                )
                .await?;
            let access_token = gw.seals.access_token.seal(&AccessToken {
                grant,
                client_id: agency.client_id.clone(),
                exp: now + gw.ttls.access_token.as_secs() as i64,
                assertion: mapped.assertion,
                flow: trail.flow.clone().unwrap_or_default(),
                subject: trail.subject.clone(),
            });
            json!({
                "access_token": access_token,
                "issued_token_type": TYPE_ACCESS_TOKEN,
                "token_type": "Bearer",
                "expires_in": gw.ttls.access_token.as_secs(),
                "scope": crate::provider::discovery::SCOPES_SUPPORTED.join(" "),
            })
        }
    };
    gw.record(&Event::ok(EventKind::TokenExchanged, trail));
    let mut response = (StatusCode::OK, axum::Json(body)).into_response();
    no_store(&mut response);
    Ok(response)
}

/// The request's parameters beside the token: what to issue, for whom.
fn check_request(
    gw: &Gateway,
    agency: &Agency,
    form: &ExchangeForm,
) -> Result<Issue, ExchangeError> {
    let bad = |why: &str| ExchangeError::Token(TokenError::InvalidRequest(why.to_owned()));
    if form.grant_type.as_deref() != Some(GRANT_TYPE) {
        return Err(bad(
            "grant_type must be urn:ietf:params:oauth:grant-type:token-exchange",
        ));
    }
    if form.actor_token.is_some() || form.actor_token_type.is_some() {
        return Err(bad(
            "actor_token is not supported: the gateway exchanges a citizen's token for its own caller, not for delegation",
        ));
    }
    if form.subject_token.as_deref().is_none_or(str::is_empty) {
        return Err(bad("subject_token is missing"));
    }
    match form.subject_token_type.as_deref() {
        None => return Err(bad("subject_token_type is missing")),
        Some(TYPE_ID_TOKEN | TYPE_JWT) => {}
        Some(_) => return Err(ExchangeError::SubjectTokenType),
    }
    let issue = match form.requested_token_type.as_deref() {
        None | Some(TYPE_JWT) => Issue::Assertion,
        Some(TYPE_ACCESS_TOKEN) => Issue::AccessToken,
        Some(_) => {
            return Err(bad(
                "requested_token_type must be urn:ietf:params:oauth:token-type:jwt or urn:ietf:params:oauth:token-type:access_token",
            ));
        }
    };
    if form
        .audience
        .as_deref()
        .is_some_and(|a| a != agency.client_id)
    {
        return Err(ExchangeError::InvalidTarget(
            "audience must be the calling agency's own client_id: the assertion is issued to its caller only",
        ));
    }
    if let Some(resource) = form.resource.as_deref()
        && !(issue == Issue::AccessToken && resource == gw.url("/userinfo"))
    {
        return Err(ExchangeError::InvalidTarget(
            "resource may only be the gateway's userinfo endpoint, with an access token requested",
        ));
    }
    Ok(issue)
}

/// Signs the shared assertion for `agency`, with its registered algorithm.
fn sign_assertion(
    gw: &Gateway,
    agency: &Agency,
    assertion: &CrossBorderAssertion,
    now: i64,
) -> Result<String, ExchangeError> {
    let claims = AssertionClaims {
        iss: &gw.issuer,
        aud: &agency.client_id,
        azp: &agency.client_id,
        iat: now,
        exp: now + gw.ttls.id_token.as_secs() as i64,
        jti: random_token(16),
        assertion,
    };
    gw.keys
        .sign_as(agency.id_token_signed_response_alg, "JWT", &claims)
        .map_err(|_| ExchangeError::Server("could not sign the assertion"))
}
