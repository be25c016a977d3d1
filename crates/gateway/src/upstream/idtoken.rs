//! Strict ID token verification (OIDC Core 3.1.3.7) with the issuer's own keys.
//!
//! Order matters: size first, then structure, then the JOSE header against the allow-list,
//! then the key (only from the issuer's JWKS: `jwk`, `jku`, `x5u`, `x5c` headers are never
//! used), then the signature, and only then the claims.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};

use super::config::UpstreamConfig;
use super::error::VerifyError;
use super::jwks::{JwksCache, Key, KeySet, Refresh};
use crate::alg;

/// Largest token accepted; checked before any parsing.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// What the caller expects of the token besides the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    /// The nonce sent in the authorization request (login flow), if any.
    pub nonce: Option<&'a str>,
    /// The access token issued with the ID token, for `at_hash`.
    pub access_token: Option<&'a str>,
    /// Current time, seconds since the epoch.
    pub now: i64,
}

/// A token split and decoded, not yet verified.
pub struct Parsed<'t> {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    signing_input: &'t str,
    signature: &'t str,
}

/// Splits and decodes a compact JWS, refusing anything oversized or malformed.
pub fn parse(token: &str) -> Result<Parsed<'_>, VerifyError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(VerifyError::TooLarge {
            max: MAX_TOKEN_BYTES,
        });
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(VerifyError::Malformed(
            "not three dot-separated parts (JWE and JSON serialisation are not accepted)",
        ));
    };
    let object = |part: &str, what: &'static str| -> Result<Map<String, Value>, VerifyError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| VerifyError::Malformed(what))?;
        match serde_json::from_slice(&bytes) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(VerifyError::Malformed(what)),
        }
    };
    let header = object(h, "header is not base64url-encoded JSON object")?;
    let claims = object(p, "payload is not a base64url-encoded JSON object")?;
    // The signature is decoded once, by the verifier; here only its alphabet is checked.
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(VerifyError::Malformed("signature is not base64url"));
    }
    let signing_input = &token[..h.len() + 1 + p.len()];
    Ok(Parsed {
        header,
        claims,
        signing_input,
        signature: s,
    })
}

/// Checks the header against the configuration: allowed alg (exact, so `none` in any casing
/// and HS256 are refused), no extensions we do not implement, the required `typ`.
pub(super) fn check_header(
    header: &Map<String, Value>,
    cfg: &UpstreamConfig,
) -> Result<(Algorithm, Option<String>), VerifyError> {
    let alg_name = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or(VerifyError::Malformed("header has no `alg`"))?;
    let alg = alg::parse(alg_name)
        .ok()
        .filter(|a| cfg.algorithms.contains(a))
        .ok_or_else(|| VerifyError::AlgNotAllowed {
            alg: alg_name
                .chars()
                .filter(char::is_ascii_graphic)
                .take(16)
                .collect(),
        })?;
    // RFC 7515 4.1.11: we understand no extensions, so any `crit` means refuse; RFC 7797
    // unencoded payloads (`b64`) are refused with or without `crit`.
    if header.contains_key("crit") {
        return Err(VerifyError::UnsupportedHeader("crit"));
    }
    if header.contains_key("b64") {
        return Err(VerifyError::UnsupportedHeader("b64"));
    }
    let typ = header.get("typ").map(|t| {
        t.as_str()
            .ok_or(VerifyError::Malformed("`typ` is not a string"))
    });
    let typ = typ.transpose()?;
    let norm = |t: &str| {
        t.to_ascii_lowercase()
            .trim_start_matches("application/")
            .to_owned()
    };
    match (&cfg.require_typ, typ) {
        (Some(required), Some(t)) if norm(t) == norm(required) => {}
        (Some(required), t) => {
            return Err(VerifyError::WrongType {
                typ: t.unwrap_or("").chars().take(32).collect(),
                required: required.clone(),
            });
        }
        (None, Some(t)) if norm(t) != "jwt" => {
            return Err(VerifyError::WrongType {
                typ: t.chars().filter(char::is_ascii_graphic).take(32).collect(),
                required: "JWT".into(),
            });
        }
        (None, _) => {}
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(k)) if !k.is_empty() && k.len() <= 256 => Some(k.clone()),
        Some(_) => {
            return Err(VerifyError::Malformed(
                "`kid` is not a short non-empty string",
            ));
        }
    };
    Ok((alg, kid))
}

/// Picks the key for (kid, alg) from a set. A kid the set refused (too weak, wrong use …) is
/// refused for that reason; a token without kid needs the set to hold exactly one key.
fn select<'k>(set: &'k KeySet, kid: Option<&str>, alg: Algorithm) -> Result<&'k Key, VerifyError> {
    match kid {
        Some(kid) => {
            let Some(key) = set.keys.iter().find(|k| k.kid.as_deref() == Some(kid)) else {
                return Err(set
                    .refused
                    .iter()
                    .find(|r| r.kid.as_deref() == Some(kid))
                    .map_or(VerifyError::UnknownKid, |r| {
                        VerifyError::KeyRefused(r.why.describe())
                    }));
            };
            if !key.fits(alg) {
                return Err(VerifyError::KeyUnusable(
                    "key type or declared alg does not fit the token's alg",
                ));
            }
            Ok(key)
        }
        None => {
            let mut fitting = set.keys.iter().filter(|k| k.fits(alg));
            match (fitting.next(), fitting.next()) {
                (Some(key), None) if set.keys.len() == 1 => Ok(key),
                (None, _) => Err(VerifyError::UnknownKid),
                _ => Err(VerifyError::KidRequired),
            }
        }
    }
}

fn verify_with(key: &Key, parsed: &Parsed<'_>, alg: Algorithm) -> Result<(), VerifyError> {
    let signature = URL_SAFE_NO_PAD
        .decode(parsed.signature.as_bytes())
        .map_err(|_| VerifyError::BadSignature)?;
    if key.verifies(alg, parsed.signing_input.as_bytes(), &signature) {
        Ok(())
    } else {
        Err(VerifyError::BadSignature)
    }
}

/// Verifies the signature with the issuer's JWKS: refresh on an unknown kid (waiting for the
/// next allowed fetch when the last was moments ago), and once more when the signature fails
/// under a cached kid (a key replaced under the same kid). A token without kid is treated as
/// a kid miss whenever no single cached key verifies it: after a rotation the one key it
/// could name is the new one.
pub(super) async fn verify_signature(
    jwks: &JwksCache,
    parsed: &Parsed<'_>,
    alg: Algorithm,
    kid: Option<&str>,
) -> Result<(), VerifyError> {
    let set: Arc<KeySet> = jwks.keys().await?;
    match select(&set, kid, alg) {
        Ok(key) => match verify_with(key, parsed, alg) {
            Err(VerifyError::BadSignature) => {
                let why = if kid.is_none() {
                    Refresh::UnknownKid
                } else {
                    Refresh::BadSignature
                };
                let newer = jwks.refresh(why, Some(set.generation)).await?;
                if !JwksCache::replaced(&set, &newer, kid) {
                    return Err(VerifyError::BadSignature);
                }
                verify_with(select(&newer, kid, alg)?, parsed, alg)
            }
            other => other,
        },
        Err(VerifyError::UnknownKid | VerifyError::KidRequired) => {
            let newer = jwks
                .refresh(Refresh::UnknownKid, Some(set.generation))
                .await?;
            verify_with(select(&newer, kid, alg)?, parsed, alg)
        }
        Err(e) => Err(e),
    }
}

/// Verifies an ID token of the configured issuer and returns its claims.
pub async fn verify(
    cfg: &UpstreamConfig,
    jwks: &JwksCache,
    token: &str,
    expect: &Expect<'_>,
) -> Result<Map<String, Value>, VerifyError> {
    verify_parsed(cfg, jwks, parse(token)?, expect).await
}

/// [`verify`] for a token already split and decoded (routing by `iss` parsed it once).
pub async fn verify_parsed(
    cfg: &UpstreamConfig,
    jwks: &JwksCache,
    parsed: Parsed<'_>,
    expect: &Expect<'_>,
) -> Result<Map<String, Value>, VerifyError> {
    let (alg, kid) = check_header(&parsed.header, cfg)?;
    if parsed.signature.is_empty() {
        return Err(VerifyError::Malformed("signature is empty"));
    }
    // Keys are bound to their issuer: the caller routed by `iss` to this issuer's cache, and
    // the claim must name it exactly.
    if parsed.claims.get("iss").and_then(Value::as_str) != Some(cfg.issuer.as_str()) {
        return Err(VerifyError::IssuerMismatch);
    }
    verify_signature(jwks, &parsed, alg, kid.as_deref()).await?;
    check_claims(&parsed.claims, cfg, alg, expect)?;
    Ok(parsed.claims)
}

/// [`verify_parsed`] for a token an agency presents at token exchange: the same checks in
/// the same order, with `aud` held to `clients` (the national client ids the agency
/// registered for this issuer's country) instead of the gateway's own client id.
pub async fn verify_parsed_for(
    cfg: &UpstreamConfig,
    jwks: &JwksCache,
    parsed: Parsed<'_>,
    clients: &[&str],
    expect: &Expect<'_>,
) -> Result<Map<String, Value>, VerifyError> {
    let (alg, kid) = check_header(&parsed.header, cfg)?;
    if parsed.signature.is_empty() {
        return Err(VerifyError::Malformed("signature is empty"));
    }
    if parsed.claims.get("iss").and_then(Value::as_str) != Some(cfg.issuer.as_str()) {
        return Err(VerifyError::IssuerMismatch);
    }
    verify_signature(jwks, &parsed, alg, kid.as_deref()).await?;
    check_claims_for(&parsed.claims, cfg, clients, alg, expect)?;
    Ok(parsed.claims)
}

/// The token's `jti` and the signing input's digest, for replay checks: `jti` when the
/// token has a usable one, else a SHA-256 of the whole token.
pub fn replay_id(parsed: &Parsed<'_>) -> String {
    match parsed.claims.get("jti").and_then(Value::as_str) {
        Some(jti) if !jti.is_empty() && jti.len() <= 256 => format!("jti:{jti}"),
        _ => {
            let digest = aws_lc_rs::digest::digest(
                &aws_lc_rs::digest::SHA256,
                parsed.signing_input.as_bytes(),
            );
            format!("sha256:{}", URL_SAFE_NO_PAD.encode(digest.as_ref()))
        }
    }
}

fn number(claims: &Map<String, Value>, name: &'static str) -> Result<Option<i64>, VerifyError> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_f64().map(|f| f as i64))
            .map(Some)
            .ok_or(VerifyError::MissingClaim(name)),
    }
}

/// The claim checks of OIDC Core 3.1.3.7 (2–3, 9–11) plus `nbf` and `at_hash`.
pub fn check_claims(
    claims: &Map<String, Value>,
    cfg: &UpstreamConfig,
    alg: Algorithm,
    expect: &Expect<'_>,
) -> Result<(), VerifyError> {
    check_claims_for(claims, cfg, &[cfg.client_id.as_str()], alg, expect)
}

/// [`check_claims`] with `aud` (and `azp`) held to `clients` instead of the gateway's own
/// client id: token exchange accepts the national clients an agency registered.
fn check_claims_for(
    claims: &Map<String, Value>,
    cfg: &UpstreamConfig,
    clients: &[&str],
    alg: Algorithm,
    expect: &Expect<'_>,
) -> Result<(), VerifyError> {
    if claims.get("iss").and_then(Value::as_str) != Some(cfg.issuer.as_str()) {
        return Err(VerifyError::IssuerMismatch);
    }
    if claims
        .get("sub")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(VerifyError::MissingClaim("sub"));
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => return Err(VerifyError::MissingClaim("aud")),
    };
    if !audiences.iter().any(|a| clients.contains(a)) {
        return Err(VerifyError::AudienceMismatch);
    }
    match claims.get("azp") {
        Some(azp) if !azp.as_str().is_some_and(|azp| clients.contains(&azp)) => {
            return Err(VerifyError::AuthorizedPartyMismatch);
        }
        None if audiences.len() > 1 => return Err(VerifyError::AuthorizedPartyMismatch),
        _ => {}
    }
    let leeway = cfg.leeway.as_secs() as i64;
    let exp = number(claims, "exp")?.ok_or(VerifyError::MissingClaim("exp"))?;
    if expect.now > exp.saturating_add(leeway) {
        return Err(VerifyError::Expired);
    }
    let iat = number(claims, "iat")?.ok_or(VerifyError::MissingClaim("iat"))?;
    if iat > expect.now.saturating_add(leeway) {
        return Err(VerifyError::IssuedInFuture);
    }
    if let Some(nbf) = number(claims, "nbf")?
        && nbf > expect.now.saturating_add(leeway)
    {
        return Err(VerifyError::NotYetValid);
    }
    if let Some(nonce) = expect.nonce
        && claims.get("nonce").and_then(Value::as_str) != Some(nonce)
    {
        return Err(VerifyError::NonceMismatch);
    }
    if let (Some(at_hash), Some(access_token)) = (claims.get("at_hash"), expect.access_token) {
        let at_hash = at_hash
            .as_str()
            .ok_or(VerifyError::MissingClaim("at_hash"))?;
        if at_hash != alg::token_hash(alg, access_token) {
            return Err(VerifyError::AtHashMismatch);
        }
    }
    Ok(())
}

/// The `iss` of a parsed, unverified token: only for routing to the issuer that verifies it.
pub fn issuer_of<'p>(parsed: &'p Parsed<'_>) -> Result<&'p str, VerifyError> {
    parsed
        .claims
        .get("iss")
        .and_then(Value::as_str)
        .ok_or(VerifyError::MissingClaim("iss"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::jwks::{KeySet, parse_key_set};
    use serde_json::json;

    #[test]
    fn a_kid_the_jwks_refused_is_refused_for_its_reason_not_as_unknown() {
        let n1024 = URL_SAFE_NO_PAD.encode([0xC5u8; 128]);
        let n2048 = URL_SAFE_NO_PAD.encode([0xC5u8; 256]);
        let (keys, refused) = parse_key_set(&json!({"keys": [
            {"kty": "RSA", "kid": "weak", "n": n1024, "e": "AQAB"},
            {"kty": "RSA", "kid": "ok", "n": n2048, "e": "AQAB"},
        ]}))
        .unwrap();
        let set = KeySet::for_tests(keys, refused);
        assert_eq!(
            select(&set, Some("weak"), Algorithm::RS256).unwrap_err(),
            VerifyError::KeyRefused("RSA modulus shorter than 2048 bits")
        );
        assert_eq!(
            VerifyError::KeyRefused("x").reason(),
            "id_token_key_refused"
        );
        assert_eq!(
            select(&set, Some("gone"), Algorithm::RS256).unwrap_err(),
            VerifyError::UnknownKid
        );
        assert!(select(&set, Some("ok"), Algorithm::RS256).is_ok());
        // Without kid, the one usable key is used even beside a refused one.
        assert!(select(&set, None, Algorithm::RS256).is_ok());
    }
}
