//! The one algorithm table: which JWS algorithms Jisr verifies (national ID tokens, client
//! assertions) and which it signs with. `jsonwebtoken::Algorithm` is the only algorithm type;
//! its names are parsed and printed by jsonwebtoken, exactly as RFC 7518 spells them
//! (case-sensitive, RFC 7515 4.1.1).

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm::{
    self, ES256, ES384, EdDSA, PS256, PS384, PS512, RS256, RS384, RS512,
};

/// Every algorithm Jisr verifies: asymmetric only, so `none` and the HMAC algorithms (whose
/// "secret" an attacker could take from a public JWKS) are never accepted.
pub const ACCEPTED: [Algorithm; 9] = [
    RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA,
];

/// The algorithms the gateway signs with: EC P-256, RSA (PKCS#1 v1.5 or PSS, one per key),
/// Ed25519. RS256 is the one every OpenID Provider must offer (OIDC Discovery 1.0 §3).
pub const SIGNING: [Algorithm; 4] = [ES256, RS256, PS256, EdDSA];

/// A name that is not in [`ACCEPTED`] (or no algorithm at all).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{name}` is not an accepted algorithm (asymmetric only: {})", names(&ACCEPTED))]
pub struct NotAccepted {
    /// The refused name, clipped.
    pub name: String,
}

/// Whether Jisr verifies signatures made with `alg`.
pub fn accepts(alg: Algorithm) -> bool {
    ACCEPTED.contains(&alg)
}

/// Parses the exact name of an accepted algorithm: `none`, `HS256`, `es256` are refused.
pub fn parse(name: &str) -> Result<Algorithm, NotAccepted> {
    name.parse::<Algorithm>()
        .ok()
        .filter(|alg| accepts(*alg))
        .ok_or_else(|| NotAccepted {
            name: name.chars().take(32).collect(),
        })
}

/// The JOSE name of `alg` (jsonwebtoken's spelling, which is RFC 7518's).
pub fn name(alg: Algorithm) -> String {
    format!("{alg:?}")
}

/// `RS256, PS256, …`: names for messages.
pub fn names(algs: &[Algorithm]) -> String {
    algs.iter().map(|a| name(*a)).collect::<Vec<_>>().join(", ")
}

/// Makes aws-lc-rs jsonwebtoken's crypto provider for the process, unless one is in place.
///
/// jsonwebtoken 12 picks it by itself while `aws_lc_rs` is its only backend feature; this
/// keeps signing working should another crate in the build ever turn on `rust_crypto` too.
/// Idempotent; called before the gateway's keys are built.
pub fn install_crypto_provider() {
    use jsonwebtoken::crypto::{CryptoProvider, aws_lc};
    if CryptoProvider::try_get_default().is_none() {
        // Err only if another thread installed one meanwhile, which is as good.
        let _ = aws_lc::DEFAULT_PROVIDER.install_default();
    }
}

/// OIDC Core 3.1.3.6 `at_hash`/`c_hash`: base64url of the left half of the hash `alg` uses
/// (SHA-384 for the 384 algorithms, SHA-512 for the 512 ones and for EdDSA with Ed25519).
pub fn token_hash(alg: Algorithm, value: &str) -> String {
    use Algorithm::{HS384, HS512};
    let hash = match alg {
        RS384 | PS384 | ES384 | HS384 => &digest::SHA384,
        RS512 | PS512 | HS512 | EdDSA => &digest::SHA512,
        _ => &digest::SHA256,
    };
    let digest = digest::digest(hash, value.as_bytes());
    let bytes = digest.as_ref();
    URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_asymmetric_algorithms_parse_and_names_round_trip() {
        for alg in ACCEPTED {
            assert_eq!(parse(&name(alg)), Ok(alg));
            assert_eq!(serde_json::to_value(alg).unwrap(), name(alg));
        }
        for refused in [
            "none", "None", "HS256", "HS512", "es256", "ES512", "RSA-OAEP", "",
        ] {
            assert_eq!(
                parse(refused),
                Err(NotAccepted {
                    name: refused.into()
                }),
                "{refused}"
            );
        }
        assert!(SIGNING.iter().all(|alg| accepts(*alg)));
        assert_eq!(
            parse("HS256").unwrap_err().to_string(),
            "`HS256` is not an accepted algorithm (asymmetric only: RS256, RS384, RS512, \
             PS256, PS384, PS512, ES256, ES384, EdDSA)"
        );
        assert_eq!(parse(&"x".repeat(100)).unwrap_err().name.len(), 32);
    }

    #[test]
    fn token_hash_is_the_left_half_of_the_alg_digest() {
        // OIDC Core appendix A.4: c_hash of the example code (SHA-256).
        let code = "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk";
        assert_eq!(token_hash(ES256, code), "LDktKdoQak3Pk0cnXxCltA");
        assert_eq!(token_hash(PS256, code), "LDktKdoQak3Pk0cnXxCltA");
        assert_eq!(token_hash(RS256, code), "LDktKdoQak3Pk0cnXxCltA");
        // SHA-512 for Ed25519, as computed by Python's hashlib.
        let at = "jHkWEdUXMU1BwAsC4vtUsZwnNnsMM3VTvNZOOGPJ5KBcfMODs3p5vLA4JQIrO5QnM8TmsaU9Xh98JaGr6vzOxeLtyhHC6Q";
        assert_eq!(
            token_hash(EdDSA, at),
            "H0oufdR2L7KCRsFgoJsHwZtvOMRBUFwwIZ4B_KMs3c4"
        );
        assert_eq!(token_hash(ES256, at), "1S-bDhTJWyEw2MWAPbkiDg");
        // Half of SHA-384 and SHA-512.
        assert_eq!(token_hash(ES384, at).len(), 32);
        assert_eq!(token_hash(RS512, at), token_hash(EdDSA, at));
    }
}
