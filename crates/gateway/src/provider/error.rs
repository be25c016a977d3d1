//! Why a citizen's step (country choice, callback, consent) stops, as a type: each variant
//! becomes one [`Reject`] page in one place, with its text from [`messages`]. Refusals the
//! agency can act on go back to it instead ([`crate::http::reject::ReturnTo::refuse`]).

use axum::http::StatusCode;
use jisr_mapping::{CountryCode, MappingError};
use jisr_store::StoreError;

use crate::http::params::ParamError;
use crate::http::reject::{OAuthError, Reject};
use crate::pages::Lang;
use crate::pages::messages::{self, Text};
use crate::upstream::UpstreamError;

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
            StepError::Unverified { .. } => (
                StatusCode::BAD_GATEWAY,
                AccessDenied,
                messages::NATIONAL_UNVERIFIED,
            ),
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

    /// The English precision shown after the text (never personal data: upstream and
    /// mapping errors name checks and attributes, not values).
    fn detail(&self) -> Option<String> {
        match self {
            StepError::Params(e) => Some(e.to_string()),
            StepError::Unverified { country, error } => Some(format!("{country}: {error}")),
            StepError::Unmappable { error, .. } => Some(error.to_string()),
            _ => None,
        }
    }
}

impl From<StepError> for Reject {
    fn from(e: StepError) -> Reject {
        match &e {
            StepError::Store(_) => tracing::error!(error = %e, "store failure"),
            StepError::IdpUnavailable(country) => {
                tracing::warn!(target: "audit", %country, "national IdP not available")
            }
            StepError::Unverified { .. } | StepError::Unmappable { .. } => {
                tracing::warn!(target: "audit", error = %e, "national login refused")
            }
            _ => {}
        }
        let (status, error, text) = e.page();
        let reject = Reject::page(status, error, text, Lang::default()).because(e.reason());
        match e.detail() {
            Some(d) => reject.with_detail(d),
            None => reject,
        }
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
    #[error("only authorization_code is supported")]
    UnsupportedGrantType,
    #[error("{0}")]
    InvalidGrant(&'static str),
    #[error("the state store is unavailable; retry later")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Server(&'static str),
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
        }
    }
}

impl From<BearerError> for Reject {
    fn from(e: BearerError) -> Reject {
        let description = e.to_string();
        let why = e.reason();
        let (status, error, challenge) = match &e {
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
