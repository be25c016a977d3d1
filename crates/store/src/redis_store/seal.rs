//! AEAD for values at rest: AES-256-GCM, random nonce, the full Redis key as associated data.

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};

use super::config::EncryptionKey;
use crate::StoreError;

/// Format version, first byte of every sealed value, so the format can change later.
const VERSION: u8 = 1;
const TAG_LEN: usize = 16;
/// Bytes a sealed value adds to its plaintext.
pub(crate) const OVERHEAD: usize = 1 + NONCE_LEN + TAG_LEN;

/// Seals and opens values; binding each to its key stops a ciphertext moved to another key
/// (say, a pending login replayed as a code) from opening.
pub(crate) struct Sealer {
    key: RandomizedNonceKey,
}

impl Sealer {
    pub(crate) fn new(key: &EncryptionKey) -> Self {
        let key = RandomizedNonceKey::new(&AES_256_GCM, &key.0)
            .expect("a 32-byte key is valid for AES-256-GCM");
        Self { key }
    }

    /// `VERSION || nonce || ciphertext || tag`, authenticated together with `redis_key`.
    pub(crate) fn seal(&self, redis_key: &str, plaintext: &[u8]) -> Result<Vec<u8>, StoreError> {
        let mut body = Vec::with_capacity(plaintext.len() + TAG_LEN);
        body.extend_from_slice(plaintext);
        let nonce = self
            .key
            .seal_in_place_append_tag(Aad::from(aad(redis_key)), &mut body)
            .map_err(|_| StoreError::unavailable("encryption failed"))?;
        let mut out = Vec::with_capacity(OVERHEAD + plaintext.len());
        out.push(VERSION);
        out.extend_from_slice(nonce.as_ref());
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Opens a sealed value read from `redis_key`; any mismatch is `Corrupt`.
    pub(crate) fn open(&self, redis_key: &str, sealed: &[u8]) -> Result<Vec<u8>, StoreError> {
        if sealed.len() < OVERHEAD {
            return Err(StoreError::corrupt("sealed value too short"));
        }
        if sealed[0] != VERSION {
            return Err(StoreError::corrupt("unknown sealed value version"));
        }
        let nonce = Nonce::try_assume_unique_for_key(&sealed[1..1 + NONCE_LEN])
            .map_err(|_| StoreError::corrupt("bad nonce"))?;
        let mut body = sealed[1 + NONCE_LEN..].to_vec();
        let plain_len = self
            .key
            .open_in_place(nonce, Aad::from(aad(redis_key)), &mut body)
            .map_err(|_| {
                StoreError::corrupt("authentication failed (wrong key, tampered, or moved)")
            })?
            .len();
        body.truncate(plain_len);
        Ok(body)
    }
}

fn aad(redis_key: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(1 + redis_key.len());
    aad.push(VERSION);
    aad.extend_from_slice(redis_key.as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_binding() {
        let sealer = Sealer::new(&EncryptionKey::generate());
        let sealed = sealer.seal("jisr:code:a", b"CANARY").unwrap();
        assert_eq!(sealed.len(), OVERHEAD + 6);
        assert_eq!(sealer.open("jisr:code:a", &sealed).unwrap(), b"CANARY");
        assert!(matches!(
            sealer.open("jisr:code:b", &sealed),
            Err(StoreError::Corrupt { .. })
        ));
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(matches!(
            sealer.open("jisr:code:a", &tampered),
            Err(StoreError::Corrupt { .. })
        ));
        let other = Sealer::new(&EncryptionKey::generate());
        assert!(other.open("jisr:code:a", &sealed).is_err());
        // Fresh nonce per value: the same plaintext never seals to the same bytes.
        assert_ne!(sealer.seal("jisr:code:a", b"CANARY").unwrap(), sealed);
        assert!(sealer.open("k", b"1").is_err());
    }
}
