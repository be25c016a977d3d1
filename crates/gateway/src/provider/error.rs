//! Why a citizen's step (country choice, callback, consent) stops, as a type: each variant
//! becomes one [`Reject`] page in one place, with its text from [`messages`]. Refusals the
//! agency can act on go back to it instead ([`crate::http::reject::ReturnTo::refuse`]).

use axum::http::StatusCode;
use jisr_mapping::{CountryCode, MappingError};
use jisr_store::StoreError;

use super::state::Flow;
use crate::app::Gateway;
use crate::config::agencies::Agency;
use crate::http::params::ParamError;
use crate::http::reject::{Back, BackTo, OAuthError, Reject};
use crate::pages::Lang;
use crate::pages::messages::{self, Text};
use crate::upstream::{UpstreamError, VerifyError};

/// A citizen-facing step failed in a way only the citizen can be told about.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error("parameters refused: {0}")]
    Params(#[from] ParamError),
    #[error("no login in progress for this request (expired, used or unknown)")]
    Expired,
    #[error("the request does not belong to this browser's login")]
    Forged,
    #[error("country must be a GCC member state")]
    NotGcc,
    #[error("the national IdP of {0} is not available")]
    IdpUnavailable(CountryCode),
    /// An operator suspended logins from this country (or this pair) for now.
    #[error("logins from {0} are suspended by the operators")]
    Suspended(CountryCode),
    #[error("the state store is unavailable: {0}")]
    Store(#[from] StoreError),
    #[error("national login of {country} failed verification: {error}")]
    Unverified {
        country: CountryCode,
        error: UpstreamError,
    },
    #[error("national claims of {country} could not be mapped: {error}")]
    Unmappable {
        country: CountryCode,
        error: MappingError,
    },
    #[error("decision must be allow or deny")]
    DecisionMissing,
}

impl StepError {
    /// A fixed code for operators (metric label, audit reason).
    pub fn reason(&self) -> &'static str {
        match self {
            StepError::Params(_) => "bad_parameters",
            StepError::Expired => "flow_expired",
            StepError::Forged => "flow_forged",
            StepError::NotGcc => "not_gcc",
            StepError::IdpUnavailable(_) => "idp_unavailable",
            StepError::Suspended(_) => "suspended",
            StepError::Store(_) => "store_unavailable",
            StepError::Unverified { error, .. } => error.reason(),
            StepError::Unmappable { error, .. } => error.reason(),
            StepError::DecisionMissing => "decision_missing",
        }
    }

    fn page(&self) -> (StatusCode, OAuthError, Text) {
        use OAuthError::*;
        match self {
            StepError::Params(_) => (
                StatusCode::BAD_REQUEST,
                InvalidRequest,
                messages::BAD_REQUEST,
            ),
            StepError::Expired => (StatusCode::BAD_REQUEST, InvalidRequest, messages::EXPIRED),
            StepError::Forged => (StatusCode::FORBIDDEN, AccessDenied, messages::FORGED),
            StepError::NotGcc => (StatusCode::BAD_REQUEST, InvalidRequest, messages::NOT_GCC),
            StepError::IdpUnavailable(_) | StepError::Suspended(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                TemporarilyUnavailable,
                messages::IDP_UNAVAILABLE,
            ),
            StepError::Store(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                TemporarilyUnavailable,
                messages::STORE_UNAVAILABLE,
            ),
            StepError::Unverified { error, .. } => match upstream_failure(error) {
                UpstreamFailure::Unreachable => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    TemporarilyUnavailable,
                    messages::IDP_UNAVAILABLE,
                ),
                UpstreamFailure::Ours => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ServerError,
                    messages::SERVER_ERROR,
                ),
                UpstreamFailure::Refused => (
                    StatusCode::BAD_GATEWAY,
                    AccessDenied,
                    messages::NATIONAL_UNVERIFIED,
                ),
            },
            StepError::Unmappable { .. } => (
                StatusCode::BAD_GATEWAY,
                AccessDenied,
                messages::NATIONAL_INCOMPLETE,
            ),
            StepError::DecisionMissing => (
                StatusCode::BAD_REQUEST,
                InvalidRequest,
                messages::DECISION_MISSING,
            ),
        }
    }

    /// The English precision shown after the text: only a malformed request's parameter.
    fn detail(&self) -> Option<String> {
        match self {
            StepError::Params(e) => Some(e.to_string()),
            _ => None,
        }
    }

    /// The technical reason, for the log only (never personal data: upstream and mapping
    /// errors name checks and attributes, not values).
    fn log(&self) -> Option<String> {
        match self {
            StepError::Unverified { country, error } => Some(format!("{country}: {error}")),
            StepError::Unmappable { error, .. } => Some(error.to_string()),
            StepError::IdpUnavailable(_) | StepError::Suspended(_) | StepError::Store(_) => {
                Some(self.to_string())
            }
            _ => None,
        }
    }

    /// The OAuth error the agency hears when the citizen returns to it from this step's page
    /// (RFC 6749 4.1.2.1): `temporarily_unavailable` when the national IdP or the store cannot
    /// be reached, `server_error` for a fault of the gateway's own, else `access_denied`.
    pub fn agency_error(&self) -> OAuthError {
        match self.page().1 {
            e @ (OAuthError::TemporarilyUnavailable | OAuthError::ServerError) => e,
            _ => OAuthError::AccessDenied,
        }
    }
}

/// How an upstream failure reads to the citizen and the agency.
enum UpstreamFailure {
    /// The national IdP did not answer, timed out or answered 5xx: try again later.
    Unreachable,
    /// The gateway's own configuration.
    Ours,
    /// The national login was refused (verification, a malformed or refused response).
    Refused,
}

fn upstream_failure(error: &UpstreamError) -> UpstreamFailure {
    match error {
        UpstreamError::Unavailable { .. }
        | UpstreamError::Http(_)
        | UpstreamError::ServerError { .. }
        | UpstreamError::Verify(VerifyError::JwksUnavailable) => UpstreamFailure::Unreachable,
        UpstreamError::Config(_) | UpstreamError::UnknownCountry(_) => UpstreamFailure::Ours,
        _ => UpstreamFailure::Refused,
    }
}

/// The page refusing `e` once the flow's agency and redirect URI are known good: its button
/// takes the citizen back to the agency with [`StepError::agency_error`], `state` and `iss`.
pub fn refuse_to_agency(gw: &Gateway, flow: &Flow, agency: &Agency, e: StepError) -> Reject {
    let error = e.agency_error();
    let back = Back {
        client_id: agency.client_id.clone(),
        agency_en: agency.name_en.clone(),
        agency_ar: agency.name_ar.clone(),
        to: BackTo::Refuse(flow.return_to(&gw.issuer)),
    };
    Reject::from(e).lang(flow.lang()).back(back, error)
}

/// [`StepError::Expired`] for a request whose flow is unknown (its upstream state already
/// used, its cookie gone): led in the language of the browser's last flow, with a button to
/// start again at that flow's agency when known.
pub fn expired_unknown_flow(gw: &Gateway, headers: &axum::http::HeaderMap) -> Reject {
    let last = crate::http::cookie::last_agency(gw, headers);
    let lang = last.as_ref().map(|(_, l)| *l).unwrap_or_default();
    let reject = Reject::from(StepError::Expired).lang(lang);
    restart_at(gw, reject, last.as_ref().map(|(id, _)| id.as_str()), None)
}

/// A page for a flow that is gone (expired, already finished, e.g. after pressing Back):
/// with a button to start again at the agency's site (its redirect URI's origin), when the
/// agency is known — from the flow, or from the browser's last flow (see
/// [`crate::http::cookie::last_agency`]).
pub fn restart_at(
    gw: &Gateway,
    reject: Reject,
    client_id: Option<&str>,
    redirect_uri: Option<&str>,
) -> Reject {
    let Some(agency) = client_id.and_then(|id| gw.agencies.get(id)) else {
        return reject;
    };
    let site = redirect_uri
        .filter(|u| agency.redirect_uris.iter().any(|r| r == u))
        .or_else(|| agency.redirect_uris.first().map(String::as_str))
        .and_then(|u| url::Url::parse(u).ok())
        .map(|u| u.origin())
        .filter(url::Origin::is_tuple)
        .map(|o| format!("{}/", o.ascii_serialization()));
    let Some(site) = site else {
        return reject;
    };
    let back = Back {
        client_id: agency.client_id.clone(),
        agency_en: agency.name_en.clone(),
        agency_ar: agency.name_ar.clone(),
        to: BackTo::Restart(site),
    };
    reject.back(back, OAuthError::AccessDenied)
}

impl From<StepError> for Reject {
    fn from(e: StepError) -> Reject {
        match &e {
            StepError::Store(_) => tracing::error!(error = %e, "store failure"),
            StepError::IdpUnavailable(country) => {
                tracing::warn!(target: "audit", %country, "national IdP not available")
            }
            _ => {}
        }
        let (status, error, text) = e.page();
        let mut reject = Reject::page(status, error, text, Lang::default()).because(e.reason());
        if let Some(d) = e.detail() {
            reject = reject.with_detail(d);
        }
        if let Some(why) = e.log() {
            reject = reject.with_log(why);
        }
        reject
    }
}

/// Why the token endpoint refuses (RFC 6749 5.2): JSON to the agency's back channel.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("{0}")]
    InvalidRequest(String),
    /// Client authentication failed; `basic` asks for Basic credentials again (401 with a
    /// `WWW-Authenticate` challenge).
    #[error("{why}")]
    InvalidClient { why: String, basic: bool },
    #[error(
        "only authorization_code and urn:ietf:params:oauth:grant-type:token-exchange are supported"
    )]
    UnsupportedGrantType,
    #[error("{0}")]
    InvalidGrant(&'static str),
    #[error("the state store is unavailable; retry later")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Server(&'static str),
    #[error("{0}")]
    RateLimited(#[from] crate::http::rate::Limited),
}

impl From<ParamError> for TokenError {
    fn from(e: ParamError) -> Self {
        TokenError::InvalidRequest(e.to_string())
    }
}

impl TokenError {
    /// A fixed code for operators (metric label, audit reason).
    pub fn reason(&self) -> &'static str {
        match self {
            TokenError::InvalidRequest(_) => "token_bad_request",
            TokenError::InvalidClient { .. } => "client_authentication_failed",
            TokenError::UnsupportedGrantType => "unsupported_grant_type",
            TokenError::InvalidGrant(_) => "grant_invalid",
            TokenError::Store(_) => "store_unavailable",
            TokenError::Server(_) => "server_error",
            TokenError::RateLimited(_) => crate::http::rate::REASON,
        }
    }
}

impl From<TokenError> for Reject {
    fn from(e: TokenError) -> Reject {
        let description = e.to_string();
        let reason = e.reason();
        let reject = match e {
            TokenError::InvalidRequest(_) => Reject::json(
                StatusCode::BAD_REQUEST,
                OAuthError::InvalidRequest,
                description,
            ),
            TokenError::InvalidClient { basic, .. } => Reject::Json {
                status: StatusCode::UNAUTHORIZED,
                error: OAuthError::InvalidClient,
                description,
                challenge: basic.then_some("Basic realm=\"jisr\""),
                reason: None,
            },
            TokenError::UnsupportedGrantType => Reject::json(
                StatusCode::BAD_REQUEST,
                OAuthError::UnsupportedGrantType,
                description,
            ),
            TokenError::InvalidGrant(_) => Reject::json(
                StatusCode::BAD_REQUEST,
                OAuthError::InvalidGrant,
                description,
            ),
            TokenError::Store(store) => {
                tracing::error!(error = %store, "store failure");
                Reject::json(
                    StatusCode::SERVICE_UNAVAILABLE,
                    OAuthError::TemporarilyUnavailable,
                    description,
                )
            }
            TokenError::Server(_) => Reject::json(
                StatusCode::INTERNAL_SERVER_ERROR,
                OAuthError::ServerError,
                description,
            ),
            TokenError::RateLimited(limited) => return limited.into(),
        };
        reject.because(reason)
    }
}

/// Why a bearer access token is refused (RFC 6750 3.1).
#[derive(Debug, thiserror::Error)]
pub enum BearerError {
    #[error("a Bearer access token is required")]
    Missing,
    /// RFC 6750 3.1 `invalid_request`: a token sent badly (empty, in two places, a form
    /// that does not parse).
    #[error("{0}")]
    Malformed(String),
    #[error("the access token is not valid or has expired")]
    Invalid,
    #[error("the access token was revoked")]
    Revoked,
    #[error("the state store is unavailable; retry later")]
    Store(#[from] StoreError),
    #[error("{0}")]
    RateLimited(#[from] crate::http::rate::Limited),
}

impl BearerError {
    /// A fixed code for operators (metric label, audit reason).
    pub fn reason(&self) -> &'static str {
        match self {
            BearerError::Missing => "bearer_missing",
            BearerError::Malformed(_) => "bearer_malformed",
            BearerError::Invalid => "bearer_invalid",
            BearerError::Revoked => "bearer_revoked",
            BearerError::Store(_) => "store_unavailable",
            BearerError::RateLimited(_) => crate::http::rate::REASON,
        }
    }
}

impl From<BearerError> for Reject {
    fn from(e: BearerError) -> Reject {
        let description = e.to_string();
        let why = e.reason();
        let (status, error, challenge) = match &e {
            BearerError::RateLimited(limited) => return (*limited).into(),
            // RFC 6750 3.1: no credentials at all get the challenge without an error code.
            BearerError::Missing => {
                return Reject::Challenge {
                    challenge: "Bearer realm=\"jisr\"",
                    reason: Some(why),
                };
            }
            BearerError::Malformed(_) => (
                StatusCode::BAD_REQUEST,
                OAuthError::InvalidRequest,
                Some("Bearer realm=\"jisr\", error=\"invalid_request\""),
            ),
            BearerError::Invalid | BearerError::Revoked => (
                StatusCode::UNAUTHORIZED,
                OAuthError::InvalidToken,
                Some("Bearer realm=\"jisr\", error=\"invalid_token\""),
            ),
            BearerError::Store(store) => {
                tracing::error!(error = %store, "store failure");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    OAuthError::TemporarilyUnavailable,
                    None,
                )
            }
        };
        Reject::Json {
            status,
            error,
            description,
            challenge,
            reason: Some(why),
        }
    }
}
