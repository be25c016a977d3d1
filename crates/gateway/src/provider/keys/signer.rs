//! The private half of a signing key, parsed once: aws-lc-rs key pairs kept for the key's
//! lifetime, so a signature costs the signature alone (jsonwebtoken's `encode` parses the
//! PKCS#8 key again for every token it signs).

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, RSA_PKCS1_SHA256,
    RSA_PSS_SHA256, RsaEncoding, RsaKeyPair,
};
use jsonwebtoken::Algorithm;
use jsonwebtoken::errors::{Error, ErrorKind};

/// A parsed private key that signs exactly one algorithm.
pub(super) enum Signer {
    Es256(EcdsaKeyPair),
    EdDsa(Ed25519KeyPair),
    Rs256(RsaKeyPair),
    Ps256(RsaKeyPair),
}

impl Signer {
    /// The key pair of PKCS#8 `der` for `alg`, or `None` if `der` is not a key of `alg`.
    pub fn from_pkcs8(der: &[u8], alg: Algorithm) -> Option<Signer> {
        match alg {
            Algorithm::ES256 => EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                .ok()
                .map(Signer::Es256),
            Algorithm::EdDSA => Ed25519KeyPair::from_pkcs8(der).ok().map(Signer::EdDsa),
            Algorithm::RS256 => RsaKeyPair::from_pkcs8(der).ok().map(Signer::Rs256),
            Algorithm::PS256 => RsaKeyPair::from_pkcs8(der).ok().map(Signer::Ps256),
            _ => None,
        }
    }

    /// The raw JWS signature of `message` (RFC 7518: R || S for ES256).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        let rng = SystemRandom::new();
        match self {
            Signer::Es256(pair) => pair
                .sign(&rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| ErrorKind::InvalidEcdsaKey.into()),
            Signer::EdDsa(pair) => Ok(pair.sign(message).as_ref().to_vec()),
            Signer::Rs256(pair) | Signer::Ps256(pair) => {
                let padding: &'static dyn RsaEncoding = match self {
                    Signer::Rs256(_) => &RSA_PKCS1_SHA256,
                    _ => &RSA_PSS_SHA256,
                };
                let mut signature = vec![0u8; pair.public_modulus_len()];
                pair.sign(padding, &rng, message, &mut signature)
                    .map_err(|_| Error::from(ErrorKind::RsaFailedSigning))?;
                Ok(signature)
            }
        }
    }
}
