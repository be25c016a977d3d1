//! Bounds every backend enforces identically, checked before any IO.

use std::time::Duration;

use crate::StoreError;

/// Longest TTL accepted: flow state is short-lived, and a bound keeps a bug from pinning data.
pub const MAX_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// Largest value accepted (plaintext, before encryption): flow state is small, and a bound
/// caps the memory and bandwidth a single caller can consume.
pub const MAX_VALUE_LEN: usize = 64 * 1024;

/// Longest key accepted (before the backend prefix), so keys stay cheap to hash and log.
pub const MAX_KEY_LEN: usize = 512;

/// Refuses empty or overlong keys.
pub fn check_key(key: &str) -> Result<(), StoreError> {
    if key.is_empty() {
        return Err(StoreError::InvalidKey {
            reason: "key is empty",
        });
    }
    if key.len() > MAX_KEY_LEN {
        return Err(StoreError::InvalidKey {
            reason: "key is longer than 512 bytes",
        });
    }
    Ok(())
}

/// Refuses TTLs below one millisecond (Redis' resolution) or above [`MAX_TTL`].
pub fn check_ttl(ttl: Duration) -> Result<(), StoreError> {
    if ttl < Duration::from_millis(1) || ttl > MAX_TTL {
        return Err(StoreError::InvalidTtl { ttl, max: MAX_TTL });
    }
    Ok(())
}

/// Refuses values above [`MAX_VALUE_LEN`].
pub fn check_value(value: &[u8]) -> Result<(), StoreError> {
    if value.len() > MAX_VALUE_LEN {
        return Err(StoreError::TooLarge {
            len: value.len(),
            max: MAX_VALUE_LEN,
        });
    }
    Ok(())
}

/// TTL in whole milliseconds, rounded up so a value never expires earlier than asked.
pub(crate) fn ttl_millis(ttl: Duration) -> u64 {
    let nanos = ttl.as_nanos();
    u64::try_from(nanos.div_ceil(1_000_000)).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_bounds() {
        assert!(matches!(
            check_ttl(Duration::ZERO),
            Err(StoreError::InvalidTtl { .. })
        ));
        assert!(matches!(
            check_ttl(Duration::from_micros(999)),
            Err(StoreError::InvalidTtl { .. })
        ));
        assert_eq!(check_ttl(Duration::from_millis(1)), Ok(()));
        assert_eq!(check_ttl(MAX_TTL), Ok(()));
        assert!(matches!(
            check_ttl(MAX_TTL + Duration::from_millis(1)),
            Err(StoreError::InvalidTtl { .. })
        ));
    }

    #[test]
    fn ttl_rounds_up() {
        assert_eq!(ttl_millis(Duration::from_micros(1500)), 2);
        assert_eq!(ttl_millis(Duration::from_secs(1)), 1000);
    }

    #[test]
    fn key_and_value_bounds() {
        assert!(matches!(check_key(""), Err(StoreError::InvalidKey { .. })));
        assert_eq!(check_key(&"k".repeat(MAX_KEY_LEN)), Ok(()));
        assert!(check_key(&"k".repeat(MAX_KEY_LEN + 1)).is_err());
        assert_eq!(check_value(&vec![0; MAX_VALUE_LEN]), Ok(()));
        assert_eq!(
            check_value(&vec![0; MAX_VALUE_LEN + 1]),
            Err(StoreError::TooLarge {
                len: MAX_VALUE_LEN + 1,
                max: MAX_VALUE_LEN
            })
        );
    }
}
