//! A national IdP's back-channel logout token (OpenID Connect Back-Channel Logout 1.0,
//! section 2.6), verified with the same machinery as its ID tokens: size and structure, the
//! header against the country's allowed algorithms, the key from its JWKS cache (refreshed
//! on an unknown kid), the signature, then the claims — `iss` exactly, `aud` naming the
//! gateway's client, `iat` recent, `exp` (if sent) not passed, a `jti`, the back-channel
//! logout event, `sid` or `sub`, and no `nonce`. Replay (a `jti` seen before) is the
//! caller's to refuse, with the store.

use serde_json::{Map, Value};

use super::Upstream;
use super::error::VerifyError;
use super::idtoken::{check_header, parse, verify_signature};

/// The event a logout token must carry.
pub const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// How old a logout token's `iat` may be.
pub const MAX_AGE_SECS: i64 = 300;

/// Why a national logout token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogoutTokenError {
    #[error("{0}")]
    Verify(#[from] VerifyError),
    #[error("the national IdP is not ready (discovery pending)")]
    NotReady,
    #[error("token type is not logout+jwt")]
    WrongType,
    #[error("`events` does not carry the back-channel logout event")]
    NoEvent,
    #[error("a logout token must not carry a nonce")]
    Nonce,
    #[error("neither `sid` nor `sub` is present")]
    NoSubject,
    #[error("`iat` is missing or too old")]
    Stale,
    #[error("`jti` is missing")]
    NoJti,
}

impl LogoutTokenError {
    /// Fixed reason code for metrics and the audit log.
    pub const fn reason(&self) -> &'static str {
        match self {
            LogoutTokenError::Verify(v) => match v {
                VerifyError::BadSignature => "logout_token_bad_signature",
                VerifyError::AudienceMismatch => "logout_token_audience_mismatch",
                VerifyError::IssuerMismatch => "logout_token_issuer_mismatch",
                VerifyError::Expired => "logout_token_expired",
                VerifyError::IssuedInFuture => "logout_token_issued_in_future",
                VerifyError::AlgNotAllowed { .. } => "logout_token_alg_not_allowed",
                _ => "logout_token_invalid",
            },
            LogoutTokenError::NotReady => "idp_unavailable",
            LogoutTokenError::WrongType => "logout_token_wrong_type",
            LogoutTokenError::NoEvent => "logout_token_no_event",
            LogoutTokenError::Nonce => "logout_token_nonce",
            LogoutTokenError::NoSubject => "logout_token_no_sid_or_sub",
            LogoutTokenError::Stale => "logout_token_stale",
            LogoutTokenError::NoJti => "logout_token_no_jti",
        }
    }
}

/// What a verified logout token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutToken {
    pub sid: Option<String>,
    pub sub: Option<String>,
    pub jti: String,
    pub iat: i64,
}

fn string(claims: &Map<String, Value>, name: &str) -> Option<String> {
    claims
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && s.len() <= 255)
        .map(str::to_owned)
}

impl Upstream {
    /// Verifies a logout token of this IdP at `now`.
    pub async fn verify_logout_token(
        &self,
        token: &str,
        now: i64,
    ) -> Result<LogoutToken, LogoutTokenError> {
        if !self.is_ready() {
            return Err(LogoutTokenError::NotReady);
        }
        let cfg = &self.config;
        let mut parsed = parse(token)?;
        // BCL 1.0 2.4: `typ` is `logout+jwt` where sent; the rest of the header is checked
        // as for an ID token.
        match parsed.header.remove("typ") {
            None => {}
            Some(Value::String(t))
                if t.eq_ignore_ascii_case("logout+jwt")
                    || t.eq_ignore_ascii_case("application/logout+jwt")
                    || t.eq_ignore_ascii_case("JWT") => {}
            Some(_) => return Err(LogoutTokenError::WrongType),
        }
        let mut header_cfg = cfg.clone();
        header_cfg.require_typ = None;
        let (alg, kid) = check_header(&parsed.header, &header_cfg)?;
        if parsed.claims.get("iss").and_then(Value::as_str) != Some(cfg.issuer.as_str()) {
            return Err(VerifyError::IssuerMismatch.into());
        }
        verify_signature(&self.jwks, &parsed, alg, kid.as_deref()).await?;
        let claims = &parsed.claims;
        let audiences: Vec<&str> = match claims.get("aud") {
            Some(Value::String(a)) => vec![a.as_str()],
            Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
            _ => return Err(VerifyError::MissingClaim("aud").into()),
        };
        if !audiences.contains(&cfg.client_id.as_str()) {
            return Err(VerifyError::AudienceMismatch.into());
        }
        let leeway = cfg.leeway.as_secs() as i64;
        let iat = claims
            .get("iat")
            .and_then(Value::as_i64)
            .ok_or(LogoutTokenError::Stale)?;
        if iat > now + leeway {
            return Err(VerifyError::IssuedInFuture.into());
        }
        if now - iat > MAX_AGE_SECS + leeway {
            return Err(LogoutTokenError::Stale);
        }
        if let Some(exp) = claims.get("exp") {
            let exp = exp.as_i64().ok_or(VerifyError::MissingClaim("exp"))?;
            if exp + leeway <= now {
                return Err(VerifyError::Expired.into());
            }
        }
        let jti = string(claims, "jti").ok_or(LogoutTokenError::NoJti)?;
        let event = claims
            .get("events")
            .and_then(Value::as_object)
            .and_then(|e| e.get(BACKCHANNEL_EVENT));
        if !event.is_some_and(Value::is_object) {
            return Err(LogoutTokenError::NoEvent);
        }
        if claims.contains_key("nonce") {
            return Err(LogoutTokenError::Nonce);
        }
        let (sid, sub) = (string(claims, "sid"), string(claims, "sub"));
        if sid.is_none() && sub.is_none() {
            return Err(LogoutTokenError::NoSubject);
        }
        Ok(LogoutToken { sid, sub, jti, iat })
    }
}
