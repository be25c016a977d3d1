//! OpenID Provider metadata (OIDC Discovery 1.0, RFC 8414, RFC 9207, OIDC4IDA) and the JWKS.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use jisr_mapping::SharedClaim;
use serde_json::json;

use crate::alg;
use crate::app::Gateway;

/// The scopes the gateway honours: `openid` only. What an ID token and userinfo carry is
/// decided by the pair's release policy, not by scopes; other values an agency sends are
/// ignored (RFC 6749 3.3), and the token response's `scope` says what was granted.
pub const SCOPES_SUPPORTED: [&str; 1] = ["openid"];

/// `GET /.well-known/openid-configuration`.
pub async fn metadata(State(gw): State<Arc<Gateway>>) -> Response {
    let claims: Vec<&str> = SharedClaim::ALL.iter().map(|c| c.name()).collect();
    let mut body = json!({
        "issuer": gw.issuer,
        "authorization_endpoint": gw.url("/authorize"),
        "token_endpoint": gw.url("/token"),
        "userinfo_endpoint": gw.url("/userinfo"),
        "jwks_uri": gw.url("/jwks"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", crate::exchange::GRANT_TYPE],
        "subject_types_supported": ["pairwise", "public"],
        "id_token_signing_alg_values_supported": gw.keys.algs(),
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": alg::ACCEPTED,
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": SCOPES_SUPPORTED,
        "acr_values_supported": ["urn:jisr:loa:low", "urn:jisr:loa:substantial", "urn:jisr:loa:high"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "origin_country", "destination_country", "verified_claims"],
        "ui_locales_supported": ["ar", "en"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
        "verified_claims_supported": true,
        "trust_frameworks_supported": ["jisr_gcc"],
        "evidence_supported": ["electronic_record"],
        "claims_in_verified_claims_supported": claims,
        // The back channel (RFC 8693, RFC 7662, RFC 7009; RFC 8414 metadata names).
        "introspection_endpoint": gw.url("/introspect"),
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "introspection_endpoint_auth_signing_alg_values_supported": alg::ACCEPTED,
        "revocation_endpoint": gw.url("/revoke"),
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "revocation_endpoint_auth_signing_alg_values_supported": alg::ACCEPTED,
    });
    // Sessions and logout (see `provider::session`).
    if let Some(m) = body.as_object_mut() {
        for (k, v) in super::session::discovery_metadata(&gw) {
            m.insert(k.to_owned(), v);
        }
    }
    cached(axum::Json(body).into_response())
}

/// `GET /jwks`: every signing key, so keys rotate without breaking clients.
pub async fn jwks(State(gw): State<Arc<Gateway>>) -> Response {
    let mut r = cached(axum::Json(gw.keys.jwks()).into_response());
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jwk-set+json"),
    );
    r
}

fn cached(mut r: Response) -> Response {
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    r
}
