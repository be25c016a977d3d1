//! The agencies' back channel: what an agency's server asks of the gateway without a
//! browser.
//!
//! - [`grant`]: token exchange (RFC 8693) at `POST /token`: a national ID token the agency
//!   already holds, verified by the login's own upstream verification, mapped and filtered by
//!   the same policy, becomes the shared assertion (a signed JWT) or a gateway access token.
//! - [`introspect`]: `POST /introspect` (RFC 7662) for the gateway's access tokens.
//! - [`revoke`]: `POST /revoke` (RFC 7009).
//! - [`error`]: why a back-channel request is refused, as one type converted into
//!   [`crate::http::reject::Reject`] in one place.
//!
//! Callers authenticate exactly as at the code grant ([`crate::provider::client_auth`]).
//! Access tokens are the sealed ones of [`crate::provider::token`]; each has a live marker in
//! the store (written at issue, read at userinfo and introspection, deleted at revocation).

pub mod error;
pub mod grant;
pub mod introspect;
pub mod revoke;

use axum::http::{HeaderMap, header};

use crate::app::Gateway;
use crate::config::agencies::Agency;
use crate::provider::error::TokenError;
use crate::provider::token::TokenForm;

/// RFC 8693 2.1 `grant_type`.
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// RFC 8693 3 token type identifiers.
pub const TYPE_ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
pub const TYPE_JWT: &str = "urn:ietf:params:oauth:token-type:jwt";
pub const TYPE_ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";

/// Whether a `/token` body asks for token exchange (its `grant_type`, read without parsing
/// the rest; the exchange handler parses it strictly, refusing a repeated `grant_type`).
pub fn is_exchange(body: &str) -> bool {
    url::form_urlencoded::parse(body.as_bytes())
        .any(|(name, value)| name == "grant_type" && value == GRANT_TYPE)
}

/// Client authentication fields of a back-channel form.
pub struct ClientCredentials<'a> {
    pub client_id: &'a Option<String>,
    pub client_secret: &'a Option<String>,
    pub client_assertion: &'a Option<String>,
    pub client_assertion_type: &'a Option<String>,
}

/// Authenticates the calling agency exactly as the code grant does, with the method it
/// registered.
pub async fn authenticate<'a>(
    gw: &'a Gateway,
    headers: &HeaderMap,
    credentials: ClientCredentials<'_>,
    route: crate::http::rate::Route,
) -> Result<&'a Agency, TokenError> {
    let form = TokenForm {
        grant_type: None,
        code: None,
        redirect_uri: None,
        code_verifier: None,
        client_id: credentials.client_id.clone(),
        client_secret: credentials.client_secret.clone(),
        client_assertion: credentials.client_assertion.clone(),
        client_assertion_type: credentials.client_assertion_type.clone(),
    };
    crate::provider::client_auth::authenticate(gw, headers, &form, route).await
}

/// The response of a back-channel call: its answer, or its refusal, recorded against
/// `trail` (the caller once authenticated) before it is sent.
pub(crate) fn answered(
    gw: &Gateway,
    trail: &crate::ops::Trail,
    result: Result<axum::response::Response, error::ExchangeError>,
) -> axum::response::Response {
    match result {
        Ok(r) => r,
        Err(e) => {
            let reject = crate::http::reject::Reject::from(e);
            gw.record(&crate::ops::Event::refused(trail, &reject));
            axum::response::IntoResponse::into_response(reject)
        }
    }
}

/// The body must be a form (RFC 6749 3.2, RFC 7662 2.1, RFC 7009 2.1).
pub fn require_form(headers: &HeaderMap) -> Result<(), TokenError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/x-www-form-urlencoded") {
        Ok(())
    } else {
        Err(TokenError::InvalidRequest(
            "the body must be application/x-www-form-urlencoded".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exchange_grant_is_recognised_by_its_grant_type_only() {
        let grant = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange";
        assert!(is_exchange(&format!("{grant}&subject_token=x")));
        assert!(is_exchange(&format!("a=1&{grant}")));
        assert!(!is_exchange("grant_type=authorization_code&code=x"));
        assert!(!is_exchange(
            "subject_token=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange"
        ));
        assert!(!is_exchange(""));
    }
}
