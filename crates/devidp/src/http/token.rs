//! `POST /token`: client authentication (`client_secret_basic`, `private_key_jwt`), then the
//! authorization code grant with PKCE, answering with an access token and an ID token.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Deserialize;
use serde_json::json;

use super::OAuthError;
use super::params::Params;
use crate::claims::{amr_for, id_token_claims, oauth2_only};
use crate::config::{ClientAuth, DevClient};
use crate::jws::{self, IdTokenInput};
use crate::keys::{b64, sha256};
use crate::operators;
use crate::state::{ACCESS_TOKEN_TTL, App, TokenGrant, Who};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

pub(super) async fn token(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: String,
) -> Result<Response, OAuthError> {
    let params = Params::parse(&body, "body").map_err(OAuthError::InvalidRequest)?;
    let get = |name: &str| params.get(name);

    let client = authenticate(&app, &headers, &get)?;
    if get("grant_type") != Some("authorization_code") {
        return Err(OAuthError::UnsupportedGrantType);
    }
    let code = get("code").ok_or_else(|| OAuthError::InvalidRequest("code is missing".into()))?;
    let now = app.clock.now();
    let grant = app.flows().take_code(code).ok_or_else(|| {
        OAuthError::InvalidGrant("the code is unknown or was already used".into())
    })?;
    if grant.expires_at <= now {
        return Err(OAuthError::InvalidGrant("the code has expired".into()));
    }
    if grant.client_id != client.client_id {
        return Err(OAuthError::InvalidGrant(
            "the code was issued to another client".into(),
        ));
    }
    if get("redirect_uri") != Some(grant.redirect_uri.as_str()) {
        return Err(OAuthError::InvalidGrant(
            "redirect_uri differs from the authorization request".into(),
        ));
    }
    let verifier = get("code_verifier")
        .ok_or_else(|| OAuthError::InvalidGrant("code_verifier is missing".into()))?;
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    if !well_formed || b64(sha256(verifier.as_bytes()).as_ref()) != grant.code_challenge {
        return Err(OAuthError::InvalidGrant(
            "code_verifier does not match the code_challenge".into(),
        ));
    }

    let access_token = app
        .flows()
        .issue_token(
            now,
            TokenGrant {
                who: grant.who,
                level: grant.level.clone(),
                expires_at: now + ACCESS_TOKEN_TTL,
            },
        )
        .map_err(|_| OAuthError::Server("no randomness for an access token".into()))?;
    let mut body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_TTL,
    });
    if !oauth2_only(app.country) {
        let faults = app.faults();
        let key = app
            .keys()
            .active(&faults)
            .map_err(|e| OAuthError::Server(e.to_string()))?;
        let amr = amr_for(&grant.level);
        let mut payload = jws::payload(
            app.alg,
            &faults,
            IdTokenInput {
                issuer: &app.issuer,
                client_id: &client.client_id,
                sub: grant.who.sub(),
                nonce: grant.nonce.as_deref(),
                acr: grant.acr_asked.then_some(grant.level.as_str()),
                amr: &amr,
                auth_time: grant.auth_time_asked.then_some(grant.auth_time),
                now,
                access_token: &access_token,
                country_claims: match grant.who {
                    Who::Citizen(c) => id_token_claims(app.country, c),
                    Who::Operator(o) => operators::claims(o),
                },
            },
        );
        // Session logout: the ID token names the IdP's session.
        if let Some(sid) = crate::logout::open_session(&app, grant.who.sub(), &client.client_id) {
            payload.insert("sid".into(), json!(sid));
        }
        let id_token = jws::sign(&key, &faults, &payload)
            .map_err(|e| OAuthError::Server(format!("signing failed: {e}")))?;
        body["id_token"] = json!(id_token);
    }
    let mut response = Json(body).into_response();
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// Finds the client and checks its credentials by its registered method.
fn authenticate<'a>(
    app: &'a App,
    headers: &HeaderMap,
    get: &dyn Fn(&str) -> Option<&'a str>,
) -> Result<&'a DevClient, OAuthError> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        });
    match (basic, get("client_assertion")) {
        (Some(_), Some(_)) => Err(OAuthError::InvalidRequest(
            "use exactly one client authentication method".into(),
        )),
        (None, None) => Err(OAuthError::InvalidClient(
            "client authentication is required".into(),
        )),
        (Some(credentials), None) => {
            let bad = || OAuthError::InvalidClient("malformed HTTP Basic credentials".into());
            let decoded = STANDARD.decode(credentials.trim()).map_err(|_| bad())?;
            let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
            let (raw_id, raw_secret) = decoded.split_once(':').ok_or_else(bad)?;
            // RFC 6749 2.3.1: both parts are form-urlencoded before the Basic encoding.
            let form = format!("i={raw_id}&s={raw_secret}");
            let parts: Vec<(String, String)> =
                serde_urlencoded::from_str(&form).map_err(|_| bad())?;
            let [(_, id), (_, secret)] = parts.as_slice() else {
                return Err(bad());
            };
            let client = app
                .client(id)
                .ok_or_else(|| OAuthError::InvalidClient("unknown client".into()))?;
            let ClientAuth::SecretBasic(expected) = &client.auth else {
                return Err(OAuthError::InvalidClient(
                    "this client must authenticate with private_key_jwt".into(),
                ));
            };
            if aws_lc_rs::constant_time::verify_slices_are_equal(
                expected.as_bytes(),
                secret.as_bytes(),
            )
            .is_err()
            {
                return Err(OAuthError::InvalidClient("wrong client secret".into()));
            }
            if get("client_id").is_some_and(|form_id| form_id != client.client_id) {
                return Err(OAuthError::InvalidRequest(
                    "client_id differs from the authenticated client".into(),
                ));
            }
            Ok(client)
        }
        (None, Some(assertion)) => {
            if get("client_assertion_type") != Some(JWT_BEARER) {
                return Err(OAuthError::InvalidClient(format!(
                    "client_assertion_type must be {JWT_BEARER}"
                )));
            }
            private_key_jwt(app, assertion, get("client_id"))
        }
    }
}

#[derive(Deserialize)]
struct AssertionClaims {
    sub: Option<String>,
    exp: Option<i64>,
    nbf: Option<i64>,
    jti: Option<String>,
}

/// RFC 7523 client authentication: signature by one of the client's keys, `iss` = `sub` =
/// client_id, `aud` = the issuer or the token endpoint, unexpired, `jti` used once.
fn private_key_jwt<'a>(
    app: &'a App,
    assertion: &str,
    form_client_id: Option<&str>,
) -> Result<&'a DevClient, OAuthError> {
    let bad = |why: &str| OAuthError::InvalidClient(format!("client assertion refused: {why}"));
    // The client is named by client_id, or else by the assertion's (not yet verified) sub.
    let unverified_sub = assertion
        .split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|p| serde_json::from_slice::<AssertionClaims>(&p).ok())
        .and_then(|c| c.sub);
    let client_id = form_client_id
        .map(str::to_owned)
        .or(unverified_sub)
        .ok_or_else(|| bad("no client_id and no sub"))?;
    let client = app
        .client(&client_id)
        .ok_or_else(|| OAuthError::InvalidClient("unknown client".into()))?;
    let ClientAuth::PrivateKeyJwt(jwks) = &client.auth else {
        return Err(OAuthError::InvalidClient(
            "this client must authenticate with client_secret_basic".into(),
        ));
    };
    let header = jsonwebtoken::decode_header(assertion).map_err(|_| bad("unreadable header"))?;
    use jsonwebtoken::Algorithm as A;
    if matches!(header.alg, A::HS256 | A::HS384 | A::HS512) {
        return Err(bad("symmetric algorithms are not accepted"));
    }
    let jwk = match &header.kid {
        Some(kid) => jwks.find(kid),
        None if jwks.keys.len() == 1 => jwks.keys.first(),
        None => None,
    }
    .ok_or_else(|| bad("no registered key matches the kid"))?;
    if let Some(key_alg) = jwk.common.key_algorithm
        && key_alg.to_string() != format!("{:?}", header.alg)
    {
        return Err(bad("alg differs from the registered key's alg"));
    }
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).map_err(|_| bad("unusable key"))?;
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    // Time is checked below against the IdP's own clock.
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["iss", "sub", "aud"]);
    validation.set_issuer(&[&client.client_id]);
    validation.sub = Some(client.client_id.clone());
    validation.set_audience(&[app.issuer.clone(), app.endpoint("/token")]);
    let claims = jsonwebtoken::decode::<AssertionClaims>(assertion, &key, &validation)
        .map_err(|e| bad(&format!("{:?}", e.kind())))?
        .claims;
    let now = app.clock.now();
    let exp = claims.exp.ok_or_else(|| bad("exp is missing"))?;
    if exp <= now {
        return Err(bad("expired"));
    }
    if claims.nbf.is_some_and(|nbf| nbf > now + 5) {
        return Err(bad("not yet valid"));
    }
    let jti = claims.jti.ok_or_else(|| bad("jti is missing"))?;
    if !app.flows().use_jti(&client.client_id, &jti, exp, now) {
        return Err(bad("jti was already used"));
    }
    Ok(client)
}
