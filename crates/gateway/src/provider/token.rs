//! The token endpoint: authorization_code with PKCE, client_secret_basic, client_secret_post
//! or private_key_jwt (RFC 7523). Codes are single use; a reused code revokes what it issued.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use super::keys::token_hash;
use super::state::{self, AccessToken, CodeGrant, keys};
use crate::app::{Gateway, token_key};
use crate::config::agencies::{Agency, AgencyAuth};
use crate::http::reply::Reject;

/// Clock skew tolerated on client assertions, seconds.
const ASSERTION_LEEWAY: i64 = 30;
/// Longest client assertion lifetime accepted (its jti is remembered that long), seconds.
const MAX_ASSERTION_LIFETIME: i64 = 3600;

const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn invalid_client(description: &str, basic: bool) -> Reject {
    Reject::Json {
        status: StatusCode::UNAUTHORIZED,
        error: "invalid_client",
        description: description.to_owned(),
        challenge: basic.then_some("Basic realm=\"jisr\""),
    }
}

fn bad(error: &'static str, description: impl Into<String>) -> Reject {
    Reject::json(StatusCode::BAD_REQUEST, error, description)
}

/// `POST /token`.
pub async fn token(State(gw): State<Arc<Gateway>>, headers: HeaderMap, body: String) -> Response {
    match exchange(&gw, &headers, &body).await {
        Ok(r) => r,
        Err(r) => r.into_response(),
    }
}

async fn exchange(gw: &Gateway, headers: &HeaderMap, body: &str) -> Result<Response, Reject> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(bad(
            "invalid_request",
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let form =
        super::authorize::parse_params(body, 16 * 1024).map_err(|e| bad("invalid_request", e))?;
    let agency = authenticate(gw, headers, &form).await?;

    match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {}
        None => return Err(bad("invalid_request", "grant_type is missing")),
        Some(_) => {
            return Err(bad(
                "unsupported_grant_type",
                "only authorization_code is supported",
            ));
        }
    }
    let code = form
        .get("code")
        .filter(|c| !c.is_empty())
        .ok_or_else(|| bad("invalid_request", "code is missing"))?;
    let redirect_uri = form
        .get("redirect_uri")
        .ok_or_else(|| bad("invalid_request", "redirect_uri is missing"))?;
    let verifier = form
        .get("code_verifier")
        .ok_or_else(|| bad("invalid_request", "code_verifier is missing (PKCE)"))?;

    // A code is either the stored code itself, or, where the citizen had to consent, the
    // stored code with the gateway's approval (`<code>.<time>.<mac>`).
    let approval = gw.seals.approved(code);
    let stored = approval.as_ref().map_or(code.as_str(), |(c, _)| c.as_str());
    let code_key = token_key(stored);
    let now = gw.now();
    let grant: Option<CodeGrant> = state::take(gw.store.as_ref(), &keys::code(&code_key))
        .await
        .map_err(|e| Reject::store_json(&e))?;
    let Some(grant) = grant else {
        // Unknown, expired or already used. If it was used, the tokens issued from it must
        // stop working: their live marker goes (userinfo requires it, so losing store data
        // also fails closed).
        let revoked = gw
            .store
            .delete(&keys::live_grant(&code_key))
            .await
            .map_err(|e| Reject::store_json(&e))?;
        if revoked {
            tracing::warn!(target: "audit", client_id = %agency.client_id, "authorization code reused; tokens issued from it revoked");
            return Err(bad(
                "invalid_grant",
                "authorization code was already used; tokens issued from it are revoked",
            ));
        }
        return Err(bad(
            "invalid_grant",
            "authorization code is unknown, expired or already used",
        ));
    };
    match (grant.consent, approval) {
        (false, None) => {}
        (true, Some((_, approved_at)))
            if now - approved_at <= gw.ttls.code.as_secs() as i64 && approved_at <= now + 5 => {}
        (true, Some(_)) => return Err(bad("invalid_grant", "authorization code has expired")),
        _ => return Err(bad("invalid_grant", "authorization code is not valid")),
    }
    if grant.client_id != agency.client_id {
        return Err(bad(
            "invalid_grant",
            "authorization code was issued to another client",
        ));
    }
    if &grant.redirect_uri != redirect_uri {
        return Err(bad(
            "invalid_grant",
            "redirect_uri does not match the authorization request",
        ));
    }
    if !pkce_matches(verifier, &grant.code_challenge) {
        return Err(bad(
            "invalid_grant",
            "code_verifier does not match the code_challenge",
        ));
    }

    // The access token is sealed; the grant's live marker is what userinfo checks, so a
    // reused code (or lost store data) ends it.
    gw.store
        .put(
            &keys::live_grant(&code_key),
            agency.client_id.as_bytes(),
            gw.ttls.access_token,
        )
        .await
        .map_err(|e| Reject::store_json(&e))?;
    let access_token = gw.seals.access_token.seal(&AccessToken {
        grant: code_key,
        client_id: agency.client_id.clone(),
        exp: now + gw.ttls.access_token.as_secs() as i64,
        assertion: grant.assertion.clone(),
    });

    let mut claims = grant.assertion;
    claims.iss = Some(gw.issuer.clone());
    claims.aud = Some(agency.client_id.clone());
    claims.iat = Some(now);
    claims.exp = Some(now + gw.ttls.id_token.as_secs() as i64);
    claims.nonce = grant.nonce;
    let mut id_claims = serde_json::to_value(&claims).map_err(|_| {
        Reject::json(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "could not encode the ID token",
        )
    })?;
    if let Value::Object(map) = &mut id_claims {
        map.insert("azp".into(), json!(agency.client_id));
        map.insert(
            "at_hash".into(),
            json!(token_hash(gw.keys.active_alg(), &access_token)),
        );
    }
    let id_token = gw.keys.sign("JWT", &id_claims).map_err(|_| {
        Reject::json(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "could not sign the ID token",
        )
    })?;
    tracing::info!(target: "audit", client_id = %agency.client_id, origin = %claims.origin_country, destination = %claims.destination_country, "tokens issued");

    let body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": gw.ttls.access_token.as_secs(),
        "id_token": id_token,
        "scope": "openid",
    });
    let mut response = (StatusCode::OK, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
        .headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// RFC 7636 S256: BASE64URL(SHA256(verifier)) == challenge, verifier of the right form.
fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    let computed = URL_SAFE_NO_PAD.encode(digest.as_ref());
    well_formed
        && aws_lc_rs::constant_time::verify_slices_are_equal(
            computed.as_bytes(),
            challenge.as_bytes(),
        )
        .is_ok()
}

/// Authenticates the client with exactly the method it registered.
async fn authenticate<'a>(
    gw: &'a Gateway,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<&'a Agency, Reject> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "));
    let assertion = form.get("client_assertion");
    let methods = usize::from(basic.is_some())
        + usize::from(form.contains_key("client_secret"))
        + usize::from(assertion.is_some());
    if methods > 1 {
        return Err(bad(
            "invalid_request",
            "use exactly one client authentication method",
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
        if form.get("client_id").is_some_and(|c| *c != id) {
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
    if let Some(secret) = form.get("client_secret") {
        let id = form
            .get("client_id")
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
        if form.get("client_assertion_type").map(String::as_str) != Some(CLIENT_ASSERTION_TYPE) {
            return Err(invalid_client(
                "client_assertion_type must be jwt-bearer",
                false,
            ));
        }
        return private_key_jwt(gw, form.get("client_id"), assertion).await;
    }
    Err(invalid_client("client authentication is required", false))
}

/// RFC 7523 client assertion: signed by a key in the agency's registered JWKS, iss = sub =
/// client_id, aud = this issuer or the token endpoint, unexpired, jti used once.
async fn private_key_jwt<'a>(
    gw: &'a Gateway,
    client_id: Option<&String>,
    assertion: &str,
) -> Result<&'a Agency, Reject> {
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
    use jsonwebtoken::Algorithm::*;
    if !matches!(
        header.alg,
        RS256 | RS384 | RS512 | PS256 | PS384 | PS512 | ES256 | ES384 | EdDSA
    ) {
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
    if now > exp + ASSERTION_LEEWAY {
        return Err(fail("expired"));
    }
    if claims
        .get("nbf")
        .and_then(Value::as_i64)
        .is_some_and(|nbf| nbf > now + ASSERTION_LEEWAY)
    {
        return Err(fail("not valid yet"));
    }
    if exp - now > MAX_ASSERTION_LIFETIME {
        return Err(fail("exp is too far in the future"));
    }
    let ttl = std::time::Duration::from_secs(
        (exp - now).clamp(1, MAX_ASSERTION_LIFETIME) as u64 + ASSERTION_LEEWAY as u64,
    );
    let fresh = gw
        .store
        .insert_if_absent(
            &keys::client_assertion(&agency.client_id, &token_key(jti)),
            b"1",
            ttl,
        )
        .await
        .map_err(|e| Reject::store_json(&e))?;
    if !fresh {
        return Err(fail("jti was already used"));
    }
    Ok(agency)
}
