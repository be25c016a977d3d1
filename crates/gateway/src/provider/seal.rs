//! Sealed values: state the gateway hands to the browser or the agency and gets back (the
//! flow cookie, access tokens), encrypted and authenticated with AES-256-GCM so they cost no
//! store round trip and reveal nothing. Each purpose has its own key and associated data.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Largest sealed value accepted back (before decoding).
pub const MAX_SEALED: usize = 8192;

/// One sealing key, for one purpose.
pub struct Sealer {
    key: LessSafeKey,
    purpose: &'static str,
}

impl Sealer {
    /// A sealer for `purpose` with a 32-byte key (derived from the gateway's shared secret, so
    /// every replica opens what another sealed).
    pub fn new(purpose: &'static str, key: [u8; 32]) -> Self {
        let unbound = UnboundKey::new(&AES_256_GCM, &key).expect("32-byte AES-256 key");
        Sealer {
            key: LessSafeKey::new(unbound),
            purpose,
        }
    }

    /// `base64url(nonce || ciphertext || tag)` of the JSON of `value`.
    pub fn seal<T: Serialize>(&self, value: &T) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).expect("system randomness");
        let mut data = serde_json::to_vec(value).expect("sealed values serialise");
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(self.purpose.as_bytes()),
                &mut data,
            )
            .expect("AES-GCM seal");
        let mut out = Vec::with_capacity(NONCE_LEN + data.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&data);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// The value, if `sealed` was sealed by this purpose's key and is intact.
    pub fn open<T: DeserializeOwned>(&self, sealed: &str) -> Option<T> {
        if sealed.len() > MAX_SEALED {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        if bytes.len() < NONCE_LEN + 16 {
            return None;
        }
        let (nonce, rest) = bytes.split_at(NONCE_LEN);
        let mut rest = rest.to_vec();
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(self.purpose.as_bytes()), &mut rest)
            .ok()?;
        serde_json::from_slice(plain).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let s = Sealer::new("flow", [1u8; 32]);
        let sealed = s.seal(&("CANARY-Noura", 42));
        assert!(!sealed.contains("CANARY"));
        assert_eq!(
            s.open::<(String, i32)>(&sealed),
            Some(("CANARY-Noura".into(), 42))
        );
        // Another purpose or key cannot open it; a flipped byte fails.
        assert_eq!(
            Sealer::new("at", [1u8; 32]).open::<(String, i32)>(&sealed),
            None
        );
        assert_eq!(
            Sealer::new("flow", [2u8; 32]).open::<(String, i32)>(&sealed),
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
}
