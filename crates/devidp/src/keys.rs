//! Signing keys generated at start with aws-lc-rs, their public JWKs, and the key ring that
//! rotation and same-kid replacement faults act on.

use std::collections::HashMap;
use std::sync::Arc;

use aws_lc_rs::encoding::{AsBigEndian, AsDer, EcPublicKeyUncompressedBin};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::EncodingKey;
use serde_json::{Value, json};

use crate::config::{Faults, SigningAlg};

/// One private signing key and what the IdP publishes about it.
pub(crate) struct SigningKey {
    pub kid: String,
    pub alg: SigningAlg,
    pub encoding: EncodingKey,
    /// The public JWK, with `kid`, `alg` and `use`.
    pub jwk: Value,
    /// The public key as SPKI PEM text (the HMAC secret of the `hs256_with_public_key` fault).
    pub public_pem: String,
}

impl SigningKey {
    /// A fresh key; `kid: None` names it by its RFC 7638 thumbprint.
    #[allow(clippy::expect_used)] // aws-lc makes and exports fresh keys or aborts; nothing to report
    pub fn generate(alg: SigningAlg, kid: Option<String>) -> Self {
        let (encoding, mut jwk, thumb_input, spki) = match alg {
            SigningAlg::RS256 | SigningAlg::PS256 => {
                let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                    .expect("RSA 2048 key generation");
                let pkcs8 = pair.as_der().expect("RSA PKCS#8 export");
                // jsonwebtoken's RSA signer takes PKCS#1; its PEM reader unwraps PKCS#8.
                let pem = to_pem("PRIVATE KEY", pkcs8.as_ref());
                let encoding = EncodingKey::from_rsa_pem(pem.as_bytes()).expect("RSA PEM import");
                let public = pair.public_key();
                let n = b64(public.modulus().big_endian_without_leading_zero());
                let e = b64(public.exponent().big_endian_without_leading_zero());
                let thumb = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
                let spki = public.as_der().expect("RSA SPKI export");
                let jwk = json!({"kty": "RSA", "n": n, "e": e});
                (encoding, jwk, thumb, spki.as_ref().to_vec())
            }
            SigningAlg::ES256 => {
                let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                    .expect("P-256 key generation");
                let pkcs8 = pair.to_pkcs8v1().expect("P-256 PKCS#8 export");
                let encoding = EncodingKey::from_ec_der(pkcs8.as_ref());
                let point: EcPublicKeyUncompressedBin =
                    pair.public_key().as_be_bytes().expect("P-256 point export");
                let point = point.as_ref();
                let (x, y) = (b64(&point[1..33]), b64(&point[33..65]));
                let thumb = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
                let spki = pair.public_key().as_der().expect("P-256 SPKI export");
                let jwk = json!({"kty": "EC", "crv": "P-256", "x": x, "y": y});
                (encoding, jwk, thumb, spki.as_ref().to_vec())
            }
            SigningAlg::EdDSA => {
                let pair = Ed25519KeyPair::generate().expect("Ed25519 key generation");
                let pkcs8 = pair.to_pkcs8v1().expect("Ed25519 PKCS#8 export");
                let encoding = EncodingKey::from_ed_der(pkcs8.as_ref());
                let x = b64(pair.public_key().as_ref());
                let thumb = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
                let spki = pair.public_key().as_der().expect("Ed25519 SPKI export");
                let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": x});
                (encoding, jwk, thumb, spki.as_ref().to_vec())
            }
        };
        let kid = kid.unwrap_or_else(|| b64(sha256(thumb_input.as_bytes()).as_ref()));
        jwk["kid"] = json!(kid);
        jwk["alg"] = json!(alg.name());
        jwk["use"] = json!("sig");
        SigningKey {
            kid,
            alg,
            encoding,
            jwk,
            public_pem: to_pem("PUBLIC KEY", &spki),
        }
    }
}

/// Every key the IdP has made so far, created lazily as faults ask for them, so that
/// repeated JWKS fetches under the same faults see the same keys.
pub(crate) struct KeyRing {
    alg: SigningAlg,
    generations: Vec<Arc<SigningKey>>,
    replacements: HashMap<u32, Arc<SigningKey>>,
    extras: Vec<Arc<SigningKey>>,
}

impl KeyRing {
    /// A ring with the generation-0 key made.
    pub fn new(alg: SigningAlg) -> Self {
        KeyRing {
            alg,
            generations: vec![Arc::new(SigningKey::generate(alg, None))],
            replacements: HashMap::new(),
            extras: Vec::new(),
        }
    }

    fn generation(&mut self, g: u32) -> Arc<SigningKey> {
        let alg = self.alg;
        while self.generations.len() <= g as usize {
            self.generations
                .push(Arc::new(SigningKey::generate(alg, None)));
        }
        self.generations[g as usize].clone()
    }

    /// The key that signs now, per `key_generation` and `replace_key_same_kid`.
    pub fn active(&mut self, faults: &Faults) -> Arc<SigningKey> {
        let g = faults.key_generation;
        let current = self.generation(g);
        if !faults.replace_key_same_kid {
            return current;
        }
        let alg = self.alg;
        self.replacements
            .entry(g)
            .or_insert_with(|| Arc::new(SigningKey::generate(alg, Some(current.kid.clone()))))
            .clone()
    }

    /// The public JWKs the IdP serves now: the active key, earlier generations if asked,
    /// then the unrelated extra keys.
    pub fn published(&mut self, faults: &Faults) -> Vec<Value> {
        let active = self.active(faults);
        let mut keys = vec![active.jwk.clone()];
        if faults.publish_old_keys {
            for g in (0..faults.key_generation).rev() {
                keys.push(self.generation(g).jwk.clone());
            }
        }
        let alg = self.alg;
        while self.extras.len() < usize::from(faults.extra_keys) {
            self.extras.push(Arc::new(SigningKey::generate(alg, None)));
        }
        keys.extend(
            self.extras
                .iter()
                .take(usize::from(faults.extra_keys))
                .map(|k| k.jwk.clone()),
        );
        keys
    }
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn sha256(bytes: &[u8]) -> aws_lc_rs::digest::Digest {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes)
}

fn to_pem(label: &str, der: &[u8]) -> String {
    pem::encode_config(
        &pem::Pem::new(label, der),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_alg_signs_and_verifies_against_its_jwk() {
        for alg in SigningAlg::ALL {
            let key = SigningKey::generate(alg, None);
            let sig = jsonwebtoken::crypto::sign(b"a.b", &key.encoding, alg.jwt()).unwrap();
            let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(key.jwk.clone()).unwrap();
            let dk = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
            assert!(
                jsonwebtoken::crypto::verify(&sig, b"a.b", &dk, alg.jwt()).unwrap(),
                "{alg}"
            );
            assert_eq!(key.kid.len(), 43, "thumbprint-sized kid");
            assert!(key.public_pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        }
    }

    #[test]
    fn rotation_and_replacement_change_what_is_published() {
        let mut ring = KeyRing::new(SigningAlg::ES256);
        let mut faults = Faults::default();
        let k0 = ring.active(&faults);
        assert_eq!(ring.published(&faults), vec![k0.jwk.clone()]);
        faults.replace_key_same_kid = true;
        let r0 = ring.active(&faults);
        assert_eq!(r0.kid, k0.kid);
        assert_ne!(r0.jwk, k0.jwk);
        faults.replace_key_same_kid = false;
        faults.key_generation = 1;
        faults.publish_old_keys = true;
        faults.extra_keys = 2;
        let k1 = ring.active(&faults);
        assert_ne!(k1.kid, k0.kid);
        let published = ring.published(&faults);
        assert_eq!(published.len(), 4);
        assert_eq!(published[0]["kid"], json!(k1.kid));
        assert_eq!(published[1]["kid"], json!(k0.kid));
        assert_eq!(ring.published(&faults), published, "stable across fetches");
    }
}
