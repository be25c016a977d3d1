//! Why a back-channel request is refused: one type, its fixed reason code for operators,
//! and its one conversion into a JSON error (RFC 6749 5.2, RFC 8693 2.2.2, RFC 7009 2.2.1).
//! Descriptions name the check that failed, never a token, claim value or secret.

use axum::http::StatusCode;
use jisr_mapping::{CountryCode, MappingError};
use jisr_store::StoreError;

use crate::http::reject::{OAuthError, Reject};
use crate::provider::error::TokenError;
use crate::upstream::{UpstreamError, VerifyError};

/// A refused token exchange, introspection or revocation.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// Client authentication, a malformed request, the store: as at the code grant.
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error(
        "subject_token_type must be urn:ietf:params:oauth:token-type:id_token or urn:ietf:params:oauth:token-type:jwt"
    )]
    SubjectTokenType,
    #[error("{0}")]
    InvalidTarget(&'static str),
    /// The national token failed a check of the login's verification.
    #[error("subject_token refused: {0}")]
    Subject(VerifyError),
    #[error("the national IdP of {0} is not available; retry later")]
    IdpUnavailable(CountryCode),
    #[error(
        "subject_token refused: the national IdP of {0} issues no ID tokens, so none of its tokens can be exchanged"
    )]
    NoIdTokens(CountryCode),
    #[error(
        "subject_token refused: this agency registered no national client of {0} for token exchange"
    )]
    CountryNotRegistered(CountryCode),
    #[error("subject_token refused: `aud` is not a national client this agency registered for {0}")]
    AudienceNotRegistered(CountryCode),
    #[error("identities from {0} are suspended by the operators; retry later")]
    Suspended(CountryCode),
    /// The pair's policy refuses the release (no rule, or `allow = false`).
    #[error("{0}")]
    PairRefused(MappingError),
    #[error("subject_token refused: {0}")]
    Loa(MappingError),
    #[error("subject_token cannot be mapped: {0}")]
    Unmappable(MappingError),
    #[error(
        "rule {rule} requires the citizen's consent and accepts no legal basis this agency registered for exchange; use the browser sign-in"
    )]
    ConsentRequired { rule: String },
    #[error("subject_token was already exchanged by this agency")]
    Replayed,
    #[error("the token type cannot be revoked: {0}")]
    UnsupportedTokenType(&'static str),
    #[error("{0}")]
    Server(&'static str),
    /// RFC 7009 2.1: a client may revoke only the tokens issued to it.
    #[error("the token was issued to another client")]
    OtherClientsToken,
}

impl From<StoreError> for ExchangeError {
    fn from(e: StoreError) -> Self {
        ExchangeError::Token(TokenError::Store(e))
    }
}

impl From<crate::http::params::ParamError> for ExchangeError {
    fn from(e: crate::http::params::ParamError) -> Self {
        ExchangeError::Token(e.into())
    }
}

impl From<MappingError> for ExchangeError {
    fn from(e: MappingError) -> Self {
        match e {
            MappingError::PairRefused { .. } => ExchangeError::PairRefused(e),
            MappingError::LoaTooLow { .. }
            | MappingError::NoLoa { .. }
            | MappingError::UnknownAcr { .. } => ExchangeError::Loa(e),
            _ => ExchangeError::Unmappable(e),
        }
    }
}

impl ExchangeError {
    /// The refusal for an upstream failure of `country`'s national token.
    pub fn upstream(country: CountryCode, e: UpstreamError) -> Self {
        match e {
            UpstreamError::Verify(VerifyError::JwksUnavailable)
            | UpstreamError::Unavailable { .. }
            | UpstreamError::Http(_)
            | UpstreamError::ServerError { .. } => ExchangeError::IdpUnavailable(country),
            UpstreamError::Verify(VerifyError::AudienceMismatch) => {
                ExchangeError::AudienceNotRegistered(country)
            }
            UpstreamError::Verify(v) => ExchangeError::Subject(v),
            _ => ExchangeError::Server("national token verification failed unexpectedly"),
        }
    }

    /// Whether the national token itself was refused (an event of its own for operators).
    pub fn is_national_token_refusal(&self) -> bool {
        matches!(
            self,
            ExchangeError::Subject(_)
                | ExchangeError::AudienceNotRegistered(_)
                | ExchangeError::NoIdTokens(_)
        )
    }

    /// A fixed code for operators (metric label, audit reason).
    pub fn reason(&self) -> &'static str {
        match self {
            ExchangeError::Token(e) => e.reason(),
            ExchangeError::SubjectTokenType => "subject_token_type_unsupported",
            ExchangeError::InvalidTarget(_) => "exchange_invalid_target",
            ExchangeError::Subject(v) => v.reason(),
            ExchangeError::IdpUnavailable(_) => "idp_unavailable",
            ExchangeError::NoIdTokens(_) => "exchange_no_id_tokens",
            ExchangeError::CountryNotRegistered(_) => "exchange_country_not_registered",
            ExchangeError::AudienceNotRegistered(_) => "exchange_audience_not_registered",
            ExchangeError::Suspended(_) => "suspended",
            ExchangeError::PairRefused(e)
            | ExchangeError::Loa(e)
            | ExchangeError::Unmappable(e) => e.reason(),
            ExchangeError::ConsentRequired { .. } => "consent_required",
            ExchangeError::Replayed => "subject_token_replayed",
            ExchangeError::UnsupportedTokenType(_) => "unsupported_token_type",
            ExchangeError::Server(_) => "server_error",
            ExchangeError::OtherClientsToken => "token_of_another_client",
        }
    }

    fn status_and_code(&self) -> (StatusCode, OAuthError) {
        use OAuthError::*;
        let bad = StatusCode::BAD_REQUEST;
        match self {
            // Converted by TokenError's own mapping before this is asked.
            ExchangeError::Token(_) => (bad, InvalidRequest),
            ExchangeError::SubjectTokenType => (bad, InvalidRequest),
            ExchangeError::InvalidTarget(_) => (bad, InvalidTarget),
            ExchangeError::Subject(_)
            | ExchangeError::NoIdTokens(_)
            | ExchangeError::CountryNotRegistered(_)
            | ExchangeError::AudienceNotRegistered(_)
            | ExchangeError::Loa(_)
            | ExchangeError::Unmappable(_)
            | ExchangeError::Replayed => (bad, InvalidGrant),
            ExchangeError::IdpUnavailable(_) | ExchangeError::Suspended(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, TemporarilyUnavailable)
            }
            ExchangeError::PairRefused(_) => (bad, UnauthorizedClient),
            ExchangeError::ConsentRequired { .. } => (bad, ConsentRequired),
            ExchangeError::UnsupportedTokenType(_) => (bad, UnsupportedTokenType),
            ExchangeError::Server(_) => (StatusCode::INTERNAL_SERVER_ERROR, ServerError),
            ExchangeError::OtherClientsToken => (bad, UnauthorizedClient),
        }
    }
}

impl From<ExchangeError> for Reject {
    fn from(e: ExchangeError) -> Reject {
        if let ExchangeError::Token(t) = e {
            return t.into();
        }
        let reason = e.reason();
        let (status, code) = e.status_and_code();
        Reject::json(status, code, e.to_string()).because(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(e: ExchangeError) -> (u16, &'static str, &'static str, String) {
        let description = e.to_string();
        let reject = Reject::from(e);
        let status = match &reject {
            Reject::Json { status, .. } => status.as_u16(),
            _ => 0,
        };
        (status, reject.error().code(), reject.reason(), description)
    }

    #[test]
    fn each_refusal_has_its_rfc_code_and_a_fixed_reason() {
        let sa: CountryCode = "SA".parse().unwrap();
        let cases = [
            (
                ExchangeError::Subject(VerifyError::Expired),
                (
                    400,
                    "invalid_grant",
                    "id_token_expired",
                    "subject_token refused: token has expired",
                ),
            ),
            (
                ExchangeError::upstream(sa, UpstreamError::Verify(VerifyError::AudienceMismatch)),
                (
                    400,
                    "invalid_grant",
                    "exchange_audience_not_registered",
                    "subject_token refused: `aud` is not a national client this agency registered for SA",
                ),
            ),
            (
                ExchangeError::upstream(sa, UpstreamError::Verify(VerifyError::JwksUnavailable)),
                (
                    503,
                    "temporarily_unavailable",
                    "idp_unavailable",
                    "the national IdP of SA is not available; retry later",
                ),
            ),
            (
                ExchangeError::from(MappingError::PairRefused {
                    origin: sa,
                    destination: "KW".parse().unwrap(),
                }),
                (
                    400,
                    "unauthorized_client",
                    "pair_refused",
                    "no policy rule allows releasing identities from SA to KW",
                ),
            ),
            (
                ExchangeError::ConsentRequired {
                    rule: "*→*".into()
                },
                (
                    400,
                    "consent_required",
                    "consent_required",
                    "rule *→* requires the citizen's consent and accepts no legal basis this agency registered for exchange; use the browser sign-in",
                ),
            ),
            (
                ExchangeError::Replayed,
                (
                    400,
                    "invalid_grant",
                    "subject_token_replayed",
                    "subject_token was already exchanged by this agency",
                ),
            ),
        ];
        for (e, (status, code, reason, description)) in cases {
            assert_eq!(wire(e), (status, code, reason, description.to_owned()));
        }
        // Client authentication keeps the code grant's answer (401 with a challenge).
        let e = ExchangeError::Token(TokenError::InvalidClient {
            why: "client authentication failed".into(),
            basic: true,
        });
        assert_eq!(wire(e).0, 401);
    }
}
