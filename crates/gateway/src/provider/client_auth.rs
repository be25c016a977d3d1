//! Client authentication at the token endpoint, with exactly the method the agency
//! registered: client_secret_basic, client_secret_post or private_key_jwt (RFC 7523).

use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use super::error::TokenError;
use super::state::keys;
use super::token::TokenForm;
use crate::app::{Gateway, token_key};
use crate::config::agencies::{Agency, AgencyAuth};
use crate::http::authorization::{Authorization, credentials};

/// Clock skew tolerated on client assertions, seconds.
const ASSERTION_LEEWAY: i64 = 30;
/// Longest client assertion lifetime accepted (its jti is remembered that long), seconds.
const MAX_ASSERTION_LIFETIME: i64 = 3600;

const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn invalid_client(why: &str, basic: bool) -> TokenError {
    TokenError::InvalidClient {
        why: why.to_owned(),
        basic,
    }
}

/// Authenticates the client with exactly the method it registered, then counts the request
/// against the agency's rate limit for `route` (so only an authenticated agency spends its
/// own allowance).
pub async fn authenticate<'a>(
    gw: &'a Gateway,
    headers: &HeaderMap,
    form: &TokenForm,
    route: crate::http::rate::Route,
) -> Result<&'a Agency, TokenError> {
    let agency = authenticated(gw, headers, form).await?;
    gw.rate.client(route, &agency.client_id)?;
    Ok(agency)
}

async fn authenticated<'a>(
    gw: &'a Gateway,
    headers: &HeaderMap,
    form: &TokenForm,
) -> Result<&'a Agency, TokenError> {
    let basic = match credentials(headers, "Basic") {
        Authorization::Credentials(c) => Some(c),
        Authorization::Absent | Authorization::OtherScheme => None,
    };
    let assertion = form.client_assertion.as_deref();
    let methods = usize::from(basic.is_some())
        + usize::from(form.client_secret.is_some())
        + usize::from(assertion.is_some());
    if methods > 1 {
        return Err(TokenError::InvalidRequest(
            "use exactly one client authentication method".into(),
        ));
    }
    if let Some(encoded) = basic {
        let decoded = STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| invalid_client("malformed Basic credentials", true))?;
        let (id, secret) = decoded
            .split_once(':')
            .ok_or_else(|| invalid_client("malformed Basic credentials", true))?;
        // RFC 6749 2.3.1: both parts are form-urlencoded.
        let decode = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        let (id, secret) = (decode(id), decode(secret));
        if form.client_id.as_ref().is_some_and(|c| *c != id) {
            return Err(invalid_client(
                "client_id in the body differs from the Basic credentials",
                true,
            ));
        }
        let agency = gw
            .agencies
            .get(&id)
            .ok_or_else(|| invalid_client("client authentication failed", true))?;
        return match &agency.auth {
            AgencyAuth::ClientSecretBasic(s) if s.matches(&secret) => Ok(agency),
            _ => Err(invalid_client("client authentication failed", true)),
        };
    }
    if let Some(secret) = &form.client_secret {
        let id = form
            .client_id
            .as_ref()
            .ok_or_else(|| invalid_client("client_id is missing", false))?;
        let agency = gw
            .agencies
            .get(id)
            .ok_or_else(|| invalid_client("client authentication failed", false))?;
        return match &agency.auth {
            AgencyAuth::ClientSecretPost(s) if s.matches(secret) => Ok(agency),
            _ => Err(invalid_client("client authentication failed", false)),
        };
    }
    if let Some(assertion) = assertion {
        if form.client_assertion_type.as_deref() != Some(CLIENT_ASSERTION_TYPE) {
            return Err(invalid_client(
                "client_assertion_type must be jwt-bearer",
                false,
            ));
        }
        return private_key_jwt(gw, form.client_id.as_ref(), assertion).await;
    }
    Err(invalid_client("client authentication is required", false))
}

/// RFC 7523 client assertion: signed by a key in the agency's registered JWKS, iss = sub =
/// client_id, aud = this issuer or the token endpoint, unexpired, jti used once.
async fn private_key_jwt<'a>(
    gw: &'a Gateway,
    client_id: Option<&String>,
    assertion: &str,
) -> Result<&'a Agency, TokenError> {
    let fail = |why: &str| invalid_client(&format!("client assertion refused: {why}"), false);
    if assertion.len() > 8192 {
        return Err(fail("too large"));
    }
    let header = jsonwebtoken::decode_header(assertion).map_err(|_| fail("malformed"))?;
    let unverified: Value = jsonwebtoken::dangerous::insecure_decode::<Value>(assertion)
        .map(|t| t.claims)
        .map_err(|_| fail("malformed"))?;
    let iss = unverified
        .get("iss")
        .and_then(Value::as_str)
        .ok_or_else(|| fail("no iss"))?;
    if client_id.is_some_and(|c| c != iss) {
        return Err(fail("client_id differs from iss"));
    }
    let agency = gw.agencies.get(iss).ok_or_else(|| fail("unknown client"))?;
    let AgencyAuth::PrivateKeyJwt(jwks) = &agency.auth else {
        return Err(fail("client is not registered for private_key_jwt"));
    };
    if !crate::alg::accepts(header.alg) {
        return Err(fail("algorithm not allowed"));
    }
    let jwk = match &header.kid {
        Some(kid) => jwks.find(kid),
        None if jwks.keys.len() == 1 => jwks.keys.first(),
        None => None,
    }
    .ok_or_else(|| fail("no registered key matches"))?;
    let key =
        jsonwebtoken::DecodingKey::from_jwk(jwk).map_err(|_| fail("registered key unusable"))?;
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_audience(&[gw.issuer.clone(), gw.url("/token")]);
    validation.set_issuer(std::slice::from_ref(&agency.client_id));
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    // Time is checked below against the gateway's clock, not jsonwebtoken's.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    let data = jsonwebtoken::decode::<Value>(assertion, &key, &validation)
        .map_err(|e| fail(&format!("{:?}", e.kind()).to_lowercase()))?;
    let claims = data.claims;
    if claims.get("sub").and_then(Value::as_str) != Some(agency.client_id.as_str()) {
        return Err(fail("sub must be the client_id"));
    }
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or_else(|| fail("jti is missing"))?;
    let now = gw.now();
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or_else(|| fail("exp is missing"))?;
    if now > exp.saturating_add(ASSERTION_LEEWAY) {
        return Err(fail("expired"));
    }
    if claims
        .get("nbf")
        .and_then(Value::as_i64)
        .is_some_and(|nbf| nbf > now.saturating_add(ASSERTION_LEEWAY))
    {
        return Err(fail("not valid yet"));
    }
    // The same clock allowance as for exp and nbf: an agency whose clock runs ahead by less
    // than the leeway may issue the longest lifetime (Authlib's default is exactly 3600 s).
    if exp.saturating_sub(now) > MAX_ASSERTION_LIFETIME + ASSERTION_LEEWAY {
        return Err(fail("exp is too far in the future"));
    }
    // The jti is remembered until the assertion can no longer be accepted.
    let ttl = std::time::Duration::from_secs(
        (exp.saturating_sub(now)).clamp(1, MAX_ASSERTION_LIFETIME + ASSERTION_LEEWAY) as u64
            + ASSERTION_LEEWAY as u64,
    );
    let fresh = gw
        .store
        .insert_if_absent(
            &keys::client_assertion(&agency.client_id, &token_key(jti)),
            b"1",
            ttl,
        )
        .await?;
    if !fresh {
        return Err(fail("jti was already used"));
    }
    Ok(agency)
}
