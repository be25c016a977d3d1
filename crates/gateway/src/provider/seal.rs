//! Sealed values: state the gateway hands to the browser or the agency and gets back (the
//! flow cookie, access tokens), so they cost no store round trip and reveal nothing.
//!
//! The JSON of the value is sealed with the one AEAD of the workspace,
//! [`jisr_store::seal::Sealer`] (AES-256-GCM, version byte, random nonce), under a key of its
//! own per purpose and with the purpose as associated data, then written as base64url so it
//! fits a cookie or a bearer token.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jisr_store::seal;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Largest sealed value accepted back (before decoding).
pub const MAX_SEALED: usize = 8192;

/// One sealing key, for one purpose, speaking text.
pub struct TextSealer {
    sealer: seal::Sealer,
    purpose: &'static str,
}

impl TextSealer {
    /// A sealer for `purpose` with a 32-byte key (derived from the gateway's shared secret, so
    /// every replica opens what another sealed).
    pub fn new(purpose: &'static str, key: [u8; seal::KEY_LEN]) -> Self {
        TextSealer {
            sealer: seal::Sealer::new(&key),
            purpose,
        }
    }

    /// `base64url(version || nonce || ciphertext || tag)` of the JSON of `value`.
    #[allow(clippy::expect_used)] // our values always serialise; AES-GCM fails only without randomness, which aborts in aws-lc
    pub fn seal<T: Serialize>(&self, value: &T) -> String {
        let json = serde_json::to_vec(value).expect("sealed values serialise to JSON");
        let sealed = self
            .sealer
            .seal(self.purpose.as_bytes(), &json)
            .expect("AES-256-GCM seals any value under 8 KiB");
        URL_SAFE_NO_PAD.encode(sealed)
    }

    /// The value, if `sealed` was sealed by this purpose's key and is intact.
    pub fn open<T: DeserializeOwned>(&self, sealed: &str) -> Option<T> {
        if sealed.len() > MAX_SEALED {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        let plain = self.sealer.open(self.purpose.as_bytes(), &bytes).ok()?;
        serde_json::from_slice(&plain).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let s = TextSealer::new("flow", [1u8; 32]);
        let sealed = s.seal(&("CANARY-Noura", 42));
        assert!(!sealed.contains("CANARY"));
        assert_eq!(
            s.open::<(String, i32)>(&sealed),
            Some(("CANARY-Noura".into(), 42))
        );
        // Another purpose or key cannot open it; a flipped byte fails.
        assert_eq!(
            TextSealer::new("at", [1u8; 32]).open::<(String, i32)>(&sealed),
            None
        );
        assert_eq!(
            TextSealer::new("flow", [2u8; 32]).open::<(String, i32)>(&sealed),
            None
        );
        let mut bytes = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        bytes[20] ^= 1;
        assert_eq!(
            s.open::<(String, i32)>(&URL_SAFE_NO_PAD.encode(bytes)),
            None
        );
        assert_eq!(s.open::<(String, i32)>("garbage"), None);
        assert_eq!(s.open::<(String, i32)>(&"A".repeat(MAX_SEALED + 1)), None);
    }

    #[test]
    fn sealed_values_carry_the_format_version_and_other_versions_do_not_open() {
        let s = TextSealer::new("flow", [1u8; 32]);
        let mut bytes = URL_SAFE_NO_PAD.decode(s.seal(&7)).unwrap();
        assert_eq!(bytes[0], seal::VERSION);
        bytes[0] = seal::VERSION + 1;
        assert_eq!(s.open::<i32>(&URL_SAFE_NO_PAD.encode(&bytes)), None);
        // A value the JSON of which is not of the asked type is refused too.
        assert_eq!(s.open::<String>(&s.seal(&7)), None);
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// What is sealed opens to itself; a sealed value with any one bit changed, or any one
        /// character of its text replaced, does not open.
        #[test]
        fn open_inverts_seal_and_refuses_any_change(
            value in ".{0,300}",
            number in any::<i64>(),
            bit in any::<prop::sample::Index>(),
            at in any::<prop::sample::Index>(),
            replacement in "[A-Za-z0-9_-]",
        ) {
            let s = TextSealer::new("flow", [9u8; 32]);
            let sealed = s.seal(&(value.clone(), number));
            prop_assert_eq!(s.open::<(String, i64)>(&sealed), Some((value, number)));
            let mut bytes = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
            let bit = bit.index(bytes.len() * 8);
            bytes[bit / 8] ^= 1 << (bit % 8);
            prop_assert_eq!(s.open::<(String, i64)>(&URL_SAFE_NO_PAD.encode(&bytes)), None);
            let at = at.index(sealed.len());
            let mut text = sealed.clone();
            text.replace_range(at..at + 1, &replacement);
            if text != sealed {
                prop_assert_eq!(s.open::<(String, i64)>(&text), None);
            }
        }
    }
}
