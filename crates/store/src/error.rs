//! The one error type callers of the store see.

use std::time::Duration;

/// Why a store operation failed; backend types (redis, aws-lc-rs, postcard) never appear here.
///
/// The gateway maps `Unavailable` to 503 `temporarily_unavailable` and fails closed; the other
/// variants are programming or data errors that retrying will not fix.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend could not be reached or did not answer within the operation timeout.
    ///
    /// A write that timed out is in an unknown state (Redis may still run it), so callers
    /// must fail closed: a code or state whose `take` failed is treated as spent.
    #[error("store unavailable: {reason}")]
    Unavailable {
        /// Non-sensitive description (never contains credentials or values).
        reason: String,
    },
    /// A stored value failed to decrypt or decode, or a key holds the wrong kind of value.
    #[error("stored value is corrupt: {reason}")]
    Corrupt {
        /// What failed (authentication tag, encoding, kind), never the value itself.
        reason: String,
    },
    /// The value exceeds [`crate::MAX_VALUE_LEN`].
    #[error("value of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Size of the refused value in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// The TTL is zero, below one millisecond, or above [`crate::MAX_TTL`].
    #[error("ttl {ttl:?} is outside the allowed range (1 ms ..= {max:?})")]
    InvalidTtl {
        /// The refused TTL.
        ttl: Duration,
        /// The upper bound.
        max: Duration,
    },
    /// The key is empty or longer than [`crate::MAX_KEY_LEN`].
    #[error("invalid key: {reason}")]
    InvalidKey {
        /// Why the key was refused.
        reason: &'static str,
    },
    /// The in-memory store holds its maximum number of live entries.
    #[error("store is full ({capacity} live entries)")]
    Full {
        /// The configured capacity.
        capacity: usize,
    },
    /// A typed value could not be serialised.
    #[error("value could not be encoded: {reason}")]
    Encode {
        /// The serialiser's message.
        reason: String,
    },
    /// The store configuration is invalid (URL scheme, key length, timeout, no runtime).
    #[error("invalid store configuration: {reason}")]
    Config {
        /// What is wrong with the configuration.
        reason: String,
    },
}

impl StoreError {
    /// Shorthand for [`StoreError::Unavailable`].
    pub fn unavailable(reason: impl Into<String>) -> Self {
        Self::Unavailable {
            reason: reason.into(),
        }
    }

    /// Shorthand for [`StoreError::Corrupt`].
    pub fn corrupt(reason: impl Into<String>) -> Self {
        Self::Corrupt {
            reason: reason.into(),
        }
    }

    /// True when retrying later may succeed (the backend is down or slow).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::Full { .. })
    }
}
