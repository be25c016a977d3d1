//! Upstream errors: typed, with non-sensitive reasons (never a token, claim value or secret).

use jisr_mapping::CountryCode;
use thiserror::Error;

/// Why a national token was refused. Each variant is one check of OIDC Core 3.1.3.7 or one
/// JOSE attack refused; the text names the check, never the token.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VerifyError {
    #[error("token is larger than {max} bytes")]
    TooLarge { max: usize },
    #[error("token is malformed: {0}")]
    Malformed(&'static str),
    #[error("algorithm `{alg}` is not allowed for this issuer")]
    AlgNotAllowed { alg: String },
    #[error("JOSE header `{0}` is not supported")]
    UnsupportedHeader(&'static str),
    #[error("token type `{typ}` is not the required `{required}`")]
    WrongType { typ: String, required: String },
    #[error("issuer is not a configured national IdP")]
    UnknownIssuer,
    #[error("no key in the issuer's JWKS has this kid")]
    UnknownKid,
    #[error("token has no kid and the issuer publishes several keys")]
    KidRequired,
    #[error("the issuer's key cannot verify this token: {0}")]
    KeyUnusable(&'static str),
    /// The kid names a key of the issuer's JWKS that Jisr refuses to use.
    #[error("the issuer's key with this kid is refused: {0}")]
    KeyRefused(&'static str),
    #[error("signature does not verify with the issuer's key")]
    BadSignature,
    #[error("the issuer's JWKS is unavailable")]
    JwksUnavailable,
    #[error("`iss` does not match the issuer exactly")]
    IssuerMismatch,
    #[error("`aud` does not contain this client")]
    AudienceMismatch,
    #[error("`azp` is not this client")]
    AuthorizedPartyMismatch,
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet (nbf)")]
    NotYetValid,
    #[error("token was issued in the future (iat)")]
    IssuedInFuture,
    #[error("nonce does not match the one sent")]
    NonceMismatch,
    #[error("at_hash does not match the access token")]
    AtHashMismatch,
    #[error("required claim `{0}` is missing or has the wrong type")]
    MissingClaim(&'static str),
}

/// Why an upstream login step failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UpstreamError {
    #[error("{country}: national IdP is not available: {reason}")]
    Unavailable {
        country: CountryCode,
        reason: String,
    },
    /// Transport or protocol failure; the text starts with the step (`discovery: …`).
    #[error("{0}")]
    Http(String),
    #[error("{0}")]
    Verify(#[from] VerifyError),
    #[error("authorization response: {0}")]
    AuthorizationResponse(String),
    #[error("national IdP refused the login: {error}")]
    IdpError { error: String },
    /// The national authentication is not as recent as the agency asked (`max_age`,
    /// `prompt=login`): OIDC Core 3.1.2.1, `login_required` toward the agency.
    #[error("{0}")]
    AuthTime(#[from] super::flow::AuthTimeError),
    #[error("token endpoint: {0}")]
    Token(String),
    #[error("userinfo: {0}")]
    Userinfo(String),
    /// The token or userinfo endpoint answered 5xx: the IdP is failing, not refusing.
    #[error("{}: HTTP {status}", if *.call == Call::Token { "token endpoint" } else { "userinfo" })]
    ServerError { call: Call, status: u16 },
    #[error("{0} is not a configured country")]
    UnknownCountry(CountryCode),
    #[error("configuration: {0}")]
    Config(String),
}

impl VerifyError {
    /// A fixed code naming the check that refused (metric label, audit reason).
    pub const fn reason(&self) -> &'static str {
        match self {
            VerifyError::TooLarge { .. } => "id_token_too_large",
            VerifyError::Malformed(_) => "id_token_malformed",
            VerifyError::AlgNotAllowed { .. } => "id_token_alg_not_allowed",
            VerifyError::UnsupportedHeader(_) => "id_token_header_unsupported",
            VerifyError::WrongType { .. } => "id_token_wrong_type",
            VerifyError::UnknownIssuer => "id_token_unknown_issuer",
            VerifyError::UnknownKid => "id_token_unknown_kid",
            VerifyError::KidRequired => "id_token_kid_required",
            VerifyError::KeyUnusable(_) => "id_token_key_unusable",
            VerifyError::KeyRefused(_) => "id_token_key_refused",
            VerifyError::BadSignature => "id_token_bad_signature",
            VerifyError::JwksUnavailable => "jwks_unavailable",
            VerifyError::IssuerMismatch => "id_token_issuer_mismatch",
            VerifyError::AudienceMismatch => "id_token_audience_mismatch",
            VerifyError::AuthorizedPartyMismatch => "id_token_azp_mismatch",
            VerifyError::Expired => "id_token_expired",
            VerifyError::NotYetValid => "id_token_not_yet_valid",
            VerifyError::IssuedInFuture => "id_token_issued_in_future",
            VerifyError::NonceMismatch => "id_token_nonce_mismatch",
            VerifyError::AtHashMismatch => "id_token_at_hash_mismatch",
            VerifyError::MissingClaim(_) => "id_token_claim_missing",
        }
    }
}

/// Which back-channel call of a national login answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Token,
    Userinfo,
}

impl UpstreamError {
    /// A fixed code naming what failed (metric label, audit reason).
    pub const fn reason(&self) -> &'static str {
        match self {
            UpstreamError::Unavailable { .. } => "idp_unavailable",
            UpstreamError::Http(_) => "idp_http",
            UpstreamError::Verify(v) => v.reason(),
            UpstreamError::AuthorizationResponse(_) => "idp_bad_authorization_response",
            UpstreamError::IdpError { .. } => "idp_ended_sign_in",
            UpstreamError::AuthTime(e) => e.reason(),
            UpstreamError::Token(_)
            | UpstreamError::ServerError {
                call: Call::Token, ..
            } => "idp_token_endpoint",
            UpstreamError::Userinfo(_)
            | UpstreamError::ServerError {
                call: Call::Userinfo,
                ..
            } => "idp_userinfo",
            UpstreamError::UnknownCountry(_) => "unknown_country",
            UpstreamError::Config(_) => "idp_config",
        }
    }
}
