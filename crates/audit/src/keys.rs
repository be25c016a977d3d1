//! The audit keys. The **signing key** (Ed25519, PKCS#8) signs checkpoints; its public half
//! is what an auditor needs to verify, and its `kid` (first 16 characters of the base64url
//! SHA-256 of the raw public key) names it in each checkpoint. The **subject key** (at least
//! 32 random bytes) turns a citizen's country and normalised national identifier into a
//! reference: whoever holds it can find a known person's records, nobody can go back from a
//! reference to the person.

use aws_lc_rs::signature::{self, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the 32-byte key follows.
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// Why a key could not be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("not a PEM document")]
    NotPem,
    #[error("not an Ed25519 PKCS#8 private key")]
    NotEd25519Private,
    #[error("not an Ed25519 public key (SubjectPublicKeyInfo)")]
    NotEd25519Public,
    #[error("the subject key must be at least 32 bytes")]
    SubjectKeyShort,
    #[error("cannot generate a key")]
    Generate,
}

/// The checkpoint signing key.
pub struct SigningKey {
    pair: Ed25519KeyPair,
    public: PublicKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.public.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// From PKCS#8, PEM (`PRIVATE KEY`) or DER.
    pub fn from_pkcs8(bytes: &[u8]) -> Result<Self, KeyError> {
        let der = if bytes.starts_with(b"-----") {
            pem::parse(bytes)
                .map_err(|_| KeyError::NotPem)?
                .into_contents()
        } else {
            bytes.to_vec()
        };
        let pair = Ed25519KeyPair::from_pkcs8(&der).map_err(|_| KeyError::NotEd25519Private)?;
        let public = PublicKey::from_raw(pair.public_key().as_ref())?;
        Ok(SigningKey { pair, public })
    }

    /// A new key as PKCS#8 PEM.
    pub fn generate_pem() -> Result<String, KeyError> {
        let doc = Ed25519KeyPair::generate_pkcs8(&aws_lc_rs::rand::SystemRandom::new())
            .map_err(|_| KeyError::Generate)?;
        Ok(pem::encode(&pem::Pem::new("PRIVATE KEY", doc.as_ref())))
    }

    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// Signs `message`, base64url.
    pub fn sign(&self, message: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(self.pair.sign(message).as_ref())
    }
}

/// A checkpoint verification key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    raw: Vec<u8>,
    kid: String,
}

impl PublicKey {
    fn from_raw(raw: &[u8]) -> Result<Self, KeyError> {
        if raw.len() != 32 {
            return Err(KeyError::NotEd25519Public);
        }
        let kid = crate::record::hash_of(raw)[..16].to_owned();
        Ok(PublicKey {
            raw: raw.to_vec(),
            kid,
        })
    }

    /// From a `PUBLIC KEY` PEM (SubjectPublicKeyInfo), or a private key PEM (its public half).
    pub fn from_pem(bytes: &[u8]) -> Result<Self, KeyError> {
        let doc = pem::parse(bytes).map_err(|_| KeyError::NotPem)?;
        if doc.tag() == "PRIVATE KEY" {
            return SigningKey::from_pkcs8(doc.contents()).map(|k| k.public);
        }
        let der = doc.contents();
        match der.strip_prefix(&SPKI_PREFIX[..]) {
            Some(raw) if doc.tag() == "PUBLIC KEY" => Self::from_raw(raw),
            _ => Err(KeyError::NotEd25519Public),
        }
    }

    /// As a `PUBLIC KEY` PEM document.
    pub fn to_pem(&self) -> String {
        let mut der = SPKI_PREFIX.to_vec();
        der.extend_from_slice(&self.raw);
        pem::encode(&pem::Pem::new("PUBLIC KEY", der))
    }

    /// The key id written in checkpoints.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Whether `sig` (base64url) is this key's signature over `message`.
    pub fn verifies(&self, message: &[u8], sig: &str) -> bool {
        let Ok(sig) = URL_SAFE_NO_PAD.decode(sig) else {
            return false;
        };
        UnparsedPublicKey::new(&signature::ED25519, &self.raw)
            .verify(message, &sig)
            .is_ok()
    }
}

/// The key that turns a person into an audit reference.
#[derive(Clone)]
pub struct SubjectKey(Hmac<Sha256>);

impl std::fmt::Debug for SubjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SubjectKey(..)")
    }
}

impl SubjectKey {
    pub fn new(key: &[u8]) -> Result<Self, KeyError> {
        if key.len() < 32 {
            return Err(KeyError::SubjectKeyShort);
        }
        Hmac::new_from_slice(key)
            .map(SubjectKey)
            .map_err(|_| KeyError::SubjectKeyShort)
    }

    /// The reference for `country` (ISO 3166 alpha-2, e.g. `SA`) and the national identifier
    /// as the country's identifier rule normalises it: HMAC-SHA256 over
    /// `jisr-audit-subject/v1|<country>|<id>`, base64url. The domain prefix keeps these
    /// MACs apart from anything else the key might ever be used for.
    pub fn reference(&self, country: &str, normalised_id: &str) -> String {
        let mut mac = self.0.clone();
        mac.update(b"jisr-audit-subject/v1|");
        mac.update(country.as_bytes());
        mac.update(b"|");
        mac.update(normalised_id.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_signs_and_its_public_pem_verifies() {
        let pem = SigningKey::generate_pem().unwrap();
        let key = SigningKey::from_pkcs8(pem.as_bytes()).unwrap();
        let public = PublicKey::from_pem(key.public().to_pem().as_bytes()).unwrap();
        assert_eq!(&public, key.public());
        assert_eq!(PublicKey::from_pem(pem.as_bytes()).unwrap(), public);
        assert_eq!(public.kid().len(), 16);
        let sig = key.sign(b"head");
        assert!(public.verifies(b"head", &sig));
        assert!(!public.verifies(b"tail", &sig));
        assert!(!public.verifies(b"head", "not base64!"));
    }

    #[test]
    fn the_subject_reference_depends_on_country_and_id_and_hides_both() {
        let key = SubjectKey::new(&[7u8; 32]).unwrap();
        let a = key.reference("SA", "1234567890");
        assert_eq!(a, key.reference("SA", "1234567890"));
        assert_ne!(a, key.reference("BH", "1234567890"));
        assert_ne!(a, key.reference("SA", "1234567891"));
        assert!(!a.contains("1234567890"));
        assert_eq!(a.len(), 43);
        assert_eq!(
            SubjectKey::new(&[1u8; 31]).unwrap_err(),
            KeyError::SubjectKeyShort
        );
    }
}
