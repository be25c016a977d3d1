//! Fixed-window counters shared by every replica, for rate limits: each replica adds what it
//! counted since its last call, in one round trip for all its counters, and learns the fleet's
//! totals. Implemented by [`crate::RedisStore`]; with the memory store a replica counts alone
//! and needs none of this.
//!
//! Counter keys are built by the caller from fixed codes, a registered client id or a source
//! address, and a window number: no personal data beyond the address the request came from,
//! stored in clear and gone two windows later.

use std::time::Duration;

use async_trait::async_trait;

use crate::StoreError;

/// At most this many counters in one call (a larger batch is refused as a whole).
pub const MAX_BATCH: usize = 10_000;

/// Counters that every replica adds to.
#[async_trait]
pub trait WindowCounters: Send + Sync + 'static {
    /// Adds each `(key, n)` to its counter and returns the new totals, in order. A counter
    /// created by this call expires after `ttl`; later additions do not extend it, so a key
    /// is never kept beyond its window (plus the `ttl` margin the caller chose).
    async fn add_all(&self, adds: &[(String, u64)], ttl: Duration) -> Result<Vec<u64>, StoreError>;
}
