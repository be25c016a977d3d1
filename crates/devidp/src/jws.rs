//! ID tokens assembled by hand (header, payload, signature) so that faults can put anything
//! in any part: `alg: none`, foreign header members, zeroed or flipped signatures.

use aws_lc_rs::digest;
use serde_json::{Map, Value, json};

use crate::config::{Faults, SigningAlg};
use crate::keys::{SigningKey, b64};

/// ID token lifetime.
pub const ID_TOKEN_TTL: i64 = 300;

/// What goes in one ID token before faults.
pub(crate) struct IdTokenInput<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub sub: &'a str,
    pub nonce: Option<&'a str>,
    /// `None`: not asked for, left out (as certified OPs do).
    pub acr: Option<&'a str>,
    pub amr: &'a [&'a str],
    pub auth_time: Option<i64>,
    pub now: i64,
    pub access_token: &'a str,
    pub country_claims: Map<String, Value>,
}

/// The standard and country claims, with payload faults applied.
pub(crate) fn payload(
    alg: SigningAlg,
    faults: &Faults,
    input: IdTokenInput<'_>,
) -> Map<String, Value> {
    let iat = if faults.iat_future {
        input.now + 3600
    } else {
        input.now
    };
    let exp = if faults.expired {
        input.now - 60
    } else {
        iat + ID_TOKEN_TTL
    };
    let mut p = Map::new();
    let iss = if faults.wrong_iss {
        format!("{}/not-this-issuer", input.issuer)
    } else {
        input.issuer.to_owned()
    };
    p.insert("iss".into(), json!(iss));
    p.insert("sub".into(), json!(input.sub));
    let aud = if faults.wrong_aud {
        "another-client"
    } else {
        input.client_id
    };
    p.insert("aud".into(), json!(aud));
    p.insert("exp".into(), json!(exp));
    p.insert("iat".into(), json!(iat));
    if let Some(auth_time) = input.auth_time {
        p.insert("auth_time".into(), json!(auth_time));
    }
    if let Some(nonce) = input.nonce {
        let nonce = if faults.nonce_mismatch {
            format!("{nonce}-mismatch")
        } else {
            nonce.to_owned()
        };
        p.insert("nonce".into(), json!(nonce));
    }
    if let Some(acr) = input.acr {
        p.insert("acr".into(), json!(acr));
    }
    p.insert("amr".into(), json!(input.amr));
    p.insert("at_hash".into(), json!(at_hash(alg, input.access_token)));
    p.extend(input.country_claims);
    if faults.pad_id_token_bytes > 0 {
        p.insert(
            "padding".into(),
            json!("x".repeat(faults.pad_id_token_bytes)),
        );
    }
    remove_claims(&mut p, &faults.missing_claims);
    if let Some(extra) = &faults.claims {
        p.extend(extra.clone());
    }
    p
}

/// Removes the top-level claims that the `missing_claims` fault names.
pub(crate) fn remove_claims(claims: &mut Map<String, Value>, names: &[String]) {
    for name in names {
        claims.remove(name);
    }
}

/// Signs `payload` with `key` as a compact JWS, applying header and signature faults.
pub(crate) fn sign(
    key: &SigningKey,
    faults: &Faults,
    payload: &Map<String, Value>,
) -> Result<String, jsonwebtoken::errors::Error> {
    let mut header = Map::new();
    header.insert("alg".into(), json!(key.alg.name()));
    header.insert("typ".into(), json!("JWT"));
    if !faults.omit_kid {
        header.insert("kid".into(), json!(key.kid));
    }
    enum Sig {
        Real,
        Empty,
        Hs256,
        Zero,
    }
    let how = if faults.alg_none {
        header.insert("alg".into(), json!("none"));
        Sig::Empty
    } else if faults.hs256_with_public_key {
        header.insert("alg".into(), json!("HS256"));
        Sig::Hs256
    } else if faults.ecdsa_zero_signature {
        header.insert("alg".into(), json!("ES256"));
        Sig::Zero
    } else {
        Sig::Real
    };
    if let Some(extra) = &faults.header {
        header.extend(extra.clone());
    }
    let header = serde_json::to_vec(&header)?;
    let body = serde_json::to_vec(payload)?;
    let signing_input = format!("{}.{}", b64(&header), b64(&body));
    let signature = match how {
        Sig::Real => {
            let sig =
                jsonwebtoken::crypto::sign(signing_input.as_bytes(), &key.encoding, key.alg.jwt())?;
            if faults.wrong_signature {
                use base64::Engine as _;
                let mut raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(sig)
                    .map_err(|_| jsonwebtoken::errors::ErrorKind::InvalidSignature)?;
                raw.iter_mut().for_each(|b| *b = !*b);
                b64(&raw)
            } else {
                sig
            }
        }
        Sig::Empty => String::new(),
        Sig::Hs256 => {
            let mac_key =
                aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key.public_pem.as_bytes());
            b64(aws_lc_rs::hmac::sign(&mac_key, signing_input.as_bytes()).as_ref())
        }
        Sig::Zero => b64(&[0u8; 64]),
    };
    Ok(format!("{signing_input}.{signature}"))
}

/// OIDC Core 3.1.3.6: the left half of the alg's hash of the access token, base64url.
/// EdDSA (Ed25519) uses SHA-512, as the OpenID Foundation's registration of EdDSA says.
pub fn at_hash(alg: SigningAlg, access_token: &str) -> String {
    let algorithm = match alg {
        SigningAlg::RS256 | SigningAlg::PS256 | SigningAlg::ES256 => &digest::SHA256,
        SigningAlg::EdDSA => &digest::SHA512,
    };
    let d = digest::digest(algorithm, access_token.as_bytes());
    let bytes = d.as_ref();
    b64(&bytes[..bytes.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_matches_the_oidc_core_example() {
        // OIDC Core A.3: access token "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y", RS256.
        assert_eq!(
            at_hash(
                SigningAlg::RS256,
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
            ),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
        assert_eq!(at_hash(SigningAlg::EdDSA, "t").len(), 43);
    }
}
