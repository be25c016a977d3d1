//! Pairwise pseudonymous identifiers: stable per (origin, national id, sector), unlinkable
//! across sectors without the key.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::country::CountryCode;

/// Shortest key accepted, in bytes (the HMAC-SHA256 block security level).
pub const MIN_KEY_BYTES: usize = 32;

/// The secret key for pairwise identifiers. It comes from the caller's configuration (a file
/// or environment variable), never from code; `Debug` does not print it.
#[derive(Clone)]
pub struct PairwiseKey(Vec<u8>);

/// A pairwise key shorter than [`MIN_KEY_BYTES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("pairwise key must be at least {MIN_KEY_BYTES} bytes, got {got}")]
pub struct KeyTooShort {
    pub got: usize,
}

impl PairwiseKey {
    /// Wraps key bytes; refuses keys shorter than [`MIN_KEY_BYTES`].
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, KeyTooShort> {
        let bytes = bytes.into();
        if bytes.len() < MIN_KEY_BYTES {
            return Err(KeyTooShort { got: bytes.len() });
        }
        Ok(PairwiseKey(bytes))
    }

    /// The pseudonym for one person toward one sector: HMAC-SHA256 over length-prefixed
    /// origin, national identifier and sector, base64url without padding (43 characters).
    ///
    /// ```
    /// use jisr_mapping::{CountryCode, PairwiseKey};
    /// let key = PairwiseKey::new([7u8; 32]).unwrap();
    /// let sa: CountryCode = "SA".parse().unwrap();
    /// let health = key.pseudonym(sa, "1000000008", "bh:health");
    /// assert_eq!(health, key.pseudonym(sa, "1000000008", "bh:health"));
    /// assert_ne!(health, key.pseudonym(sa, "1000000008", "bh:transport"));
    /// assert_eq!(health.len(), 43);
    /// ```
    pub fn pseudonym(&self, origin: CountryCode, national_id: &str, sector: &str) -> String {
        #[allow(clippy::expect_used)] // HMAC accepts a key of any length: this cannot fail.
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes any key length");
        for part in [origin.as_str(), national_id, sector] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }
}

impl PairwiseKey {
    /// A 32-byte subkey for another purpose, HMAC-SHA256(key, "jisr-subkey:" + label), so
    /// replicas sharing this secret share the subkey without reusing the key itself.
    ///
    /// ```
    /// use jisr_mapping::PairwiseKey;
    /// let key = PairwiseKey::new([7u8; 32]).unwrap();
    /// assert_ne!(key.derive("flow-cookie"), key.derive("access-token"));
    /// assert_eq!(key.derive("flow-cookie"), key.derive("flow-cookie"));
    /// ```
    pub fn derive(&self, label: &str) -> [u8; 32] {
        #[allow(clippy::expect_used)] // HMAC accepts a key of any length: this cannot fail.
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"jisr-subkey:");
        mac.update(label.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

impl std::fmt::Debug for PairwiseKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PairwiseKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cc(s: &str) -> CountryCode {
        s.parse().unwrap()
    }

    #[test]
    fn known_vector() {
        // Computed independently: HMAC-SHA256(key = 32 × 0x01,
        //   u64be(2) "SA" u64be(10) "1000000008" u64be(9) "bh:health"), base64url, no padding.
        let key = PairwiseKey::new([1u8; 32]).unwrap();
        assert_eq!(
            key.pseudonym(cc("SA"), "1000000008", "bh:health"),
            "eBQlPFoX_WiniKV5Ukm-bxm4qGI05tDKdnnV-CKYXDo"
        );
    }

    #[test]
    fn stable_and_unlinkable() {
        let key = PairwiseKey::new(b"0123456789abcdef0123456789abcdef".to_vec()).unwrap();
        let other = PairwiseKey::new(b"fedcba9876543210fedcba9876543210".to_vec()).unwrap();
        let a = key.pseudonym(cc("SA"), "1000000008", "bh:health");
        assert_eq!(a, key.pseudonym(cc("SA"), "1000000008", "bh:health"));
        assert_ne!(a, key.pseudonym(cc("SA"), "1000000008", "bh:education"));
        assert_ne!(a, key.pseudonym(cc("SA"), "1000000016", "bh:health"));
        assert_ne!(a, key.pseudonym(cc("KW"), "1000000008", "bh:health"));
        assert_ne!(a, other.pseudonym(cc("SA"), "1000000008", "bh:health"));
        // Length prefixes keep shifted boundaries apart.
        assert_ne!(
            key.pseudonym(cc("SA"), "12", "3"),
            key.pseudonym(cc("SA"), "1", "23")
        );
        assert!(!a.contains('=') && !a.contains('+') && !a.contains('/'));
        assert!(!a.contains("1000000008"));
    }

    #[test]
    fn short_keys_refused_and_debug_redacted() {
        assert!(
            PairwiseKey::new([0u8; 31])
                .unwrap_err()
                .to_string()
                .contains("at least 32 bytes")
        );
        let key = PairwiseKey::new([9u8; 32]).unwrap();
        assert_eq!(format!("{key:?}"), "PairwiseKey(<redacted>)");
    }
}
