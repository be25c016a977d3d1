//! The one AEAD sealer of Jisr: Redis values at rest, and the gateway's flow cookie and access
//! tokens. AES-256-GCM from aws-lc-rs with a fresh random nonce per value.
//!
//! A sealed value is `VERSION || nonce (12 bytes) || ciphertext || tag (16 bytes)`. The
//! associated data is `VERSION || context`, where the context names what the value is bound
//! to: its full Redis key, or a purpose such as `jisr-flow-v1`. A value moved to another key
//! or used for another purpose does not open, and a value of an unknown format version is
//! refused before any key is tried on it.

use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};

/// Format version: the first byte of every sealed value.
pub const VERSION: u8 = 1;

/// Length of a sealing key (AES-256).
pub const KEY_LEN: usize = 32;

const TAG_LEN: usize = 16;

/// Bytes a sealed value adds to its plaintext.
pub const OVERHEAD: usize = 1 + NONCE_LEN + TAG_LEN;

/// Why a value could not be sealed or opened. Messages never carry key or value bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The AEAD refused to seal (only on a randomness failure or an absurdly large value).
    #[error("encryption failed")]
    Seal,
    /// Shorter than a version byte, nonce and tag.
    #[error("sealed value too short")]
    TooShort,
    /// The first byte names a format this build does not know.
    #[error("unknown sealed value version {0}")]
    UnknownVersion(u8),
    /// Wrong key, wrong context, or tampered bytes: the tag does not verify.
    #[error("authentication failed (wrong key, tampered, or moved)")]
    Authentication,
}

/// One AES-256-GCM key. Cheap to share behind a reference; its `Debug` shows no key.
pub struct Sealer {
    key: RandomizedNonceKey,
}

impl Sealer {
    /// A sealer for a 32-byte key.
    #[allow(clippy::expect_used)] // aws-lc accepts every 32-byte key for AES-256-GCM
    pub fn new(key: &[u8; KEY_LEN]) -> Self {
        let key = RandomizedNonceKey::new(&AES_256_GCM, key)
            .expect("a 32-byte key is valid for AES-256-GCM");
        Self { key }
    }

    /// Seals `plaintext`, bound to `context`.
    pub fn seal(&self, context: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut body = Vec::with_capacity(plaintext.len() + TAG_LEN);
        body.extend_from_slice(plaintext);
        let nonce = self
            .key
            .seal_in_place_append_tag(Aad::from(aad(context)), &mut body)
            .map_err(|_| SealError::Seal)?;
        let mut out = Vec::with_capacity(OVERHEAD + plaintext.len());
        out.push(VERSION);
        out.extend_from_slice(nonce.as_ref());
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Opens a value sealed under this key for the same `context`.
    pub fn open(&self, context: &[u8], sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        let Some((&version, rest)) = sealed.split_first() else {
            return Err(SealError::TooShort);
        };
        if version != VERSION {
            return Err(SealError::UnknownVersion(version));
        }
        if sealed.len() < OVERHEAD {
            return Err(SealError::TooShort);
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::TooShort)?;
        let mut body = body.to_vec();
        let plain_len = self
            .key
            .open_in_place(nonce, Aad::from(aad(context)), &mut body)
            .map_err(|_| SealError::Authentication)?
            .len();
        body.truncate(plain_len);
        Ok(body)
    }
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealer(<redacted>)")
    }
}

fn aad(context: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(1 + context.len());
    aad.push(VERSION);
    aad.extend_from_slice(context);
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer(byte: u8) -> Sealer {
        Sealer::new(&[byte; KEY_LEN])
    }

    #[test]
    fn round_trip_and_binding() {
        let sealer = sealer(1);
        let sealed = sealer.seal(b"jisr:code:a", b"CANARY").unwrap();
        assert_eq!(sealed.len(), OVERHEAD + 6);
        assert_eq!(sealed[0], VERSION);
        assert!(!sealed.windows(6).any(|w| w == b"CANARY"));
        assert_eq!(sealer.open(b"jisr:code:a", &sealed).unwrap(), b"CANARY");
        assert_eq!(
            sealer.open(b"jisr:code:b", &sealed),
            Err(SealError::Authentication)
        );
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(
            sealer.open(b"jisr:code:a", &tampered),
            Err(SealError::Authentication)
        );
        assert_eq!(
            self::sealer(2).open(b"jisr:code:a", &sealed),
            Err(SealError::Authentication)
        );
        // Fresh nonce per value: the same plaintext never seals to the same bytes.
        assert_ne!(sealer.seal(b"jisr:code:a", b"CANARY").unwrap(), sealed);
        // An empty plaintext still seals and opens.
        let empty = sealer.seal(b"k", b"").unwrap();
        assert_eq!(empty.len(), OVERHEAD);
        assert_eq!(sealer.open(b"k", &empty).unwrap(), b"");
    }

    #[test]
    fn short_values_and_unknown_versions_are_refused_cleanly() {
        let sealer = sealer(1);
        assert_eq!(sealer.open(b"k", b""), Err(SealError::TooShort));
        assert_eq!(sealer.open(b"k", &[VERSION]), Err(SealError::TooShort));
        assert_eq!(
            sealer.open(b"k", &[VERSION; OVERHEAD - 1]),
            Err(SealError::TooShort)
        );
        let mut sealed = sealer.seal(b"k", b"value").unwrap();
        for version in [0, 2, 0xff] {
            sealed[0] = version;
            assert_eq!(
                sealer.open(b"k", &sealed),
                Err(SealError::UnknownVersion(version))
            );
        }
        // A short value with an unknown version names the version.
        assert_eq!(
            sealer.open(b"k", b"1"),
            Err(SealError::UnknownVersion(b'1'))
        );
    }

    #[test]
    fn messages_and_debug_carry_no_secrets() {
        assert_eq!(format!("{:?}", sealer(7)), "Sealer(<redacted>)");
        assert_eq!(
            SealError::UnknownVersion(9).to_string(),
            "unknown sealed value version 9"
        );
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Sealing then opening is the identity, for any value and context; changing any one
        /// bit of the sealed value (version, nonce, ciphertext or tag), or the context, is
        /// refused.
        #[test]
        fn open_inverts_seal_and_refuses_any_single_bit_change(
            plaintext in proptest::collection::vec(any::<u8>(), 0..512),
            context in proptest::collection::vec(any::<u8>(), 0..64),
            bit in any::<prop::sample::Index>(),
        ) {
            let sealer = Sealer::new(&[0x5a; KEY_LEN]);
            let sealed = sealer.seal(&context, &plaintext).unwrap();
            prop_assert_eq!(sealer.open(&context, &sealed).unwrap(), plaintext);
            let bit = bit.index(sealed.len() * 8);
            let mut changed = sealed.clone();
            changed[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(sealer.open(&context, &changed).is_err(), "bit {} flipped still opens", bit);
            let mut other = context.clone();
            other.push(0);
            prop_assert_eq!(sealer.open(&other, &sealed), Err(SealError::Authentication));
        }
    }
}
