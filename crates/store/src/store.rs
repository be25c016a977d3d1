//! The `Store` trait every backend implements, and its counters.

use std::time::Duration;

use async_trait::async_trait;

use crate::StoreError;

/// Flow-state storage with per-entry TTLs, used by the gateway as `Arc<dyn Store>`.
///
/// Keys are namespaced by callers (`"code:…"`, `"jti:…"`); backends may add their own prefix.
/// Every method checks the bounds in [`crate::limits`] before doing IO, so both backends
/// refuse the same inputs with the same errors. Single-use guarantees (`take`,
/// `insert_if_absent`, `incr`) hold across all gateway replicas sharing one backend.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Stores `value` under `key` for `ttl`, replacing any previous value and TTL.
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError>;

    /// Reads the value under `key`; expired entries read as `None`.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Atomically reads and deletes the value under `key`.
    ///
    /// Among any number of concurrent callers exactly one receives `Some`: this is what makes
    /// authorization codes and upstream `state` single-use.
    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Stores `value` only if `key` holds nothing live; returns whether this call stored it.
    ///
    /// Replay detection (jti, nonce) relies on exactly one concurrent caller seeing `true`.
    async fn insert_if_absent(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError>;

    /// Deletes `key`; returns whether a live entry was removed.
    async fn delete(&self, key: &str) -> Result<bool, StoreError>;

    /// Atomically increments the counter under `key` and returns the new count (first call: 1).
    ///
    /// The TTL is set when the counter is created and not extended by later increments, which
    /// gives fixed-window rate limits. Reading the counter with `get` is not supported.
    async fn incr(&self, key: &str, ttl: Duration) -> Result<u64, StoreError>;

    /// Checks that the backend answers, within the backend's operation timeout.
    async fn health(&self) -> Result<(), StoreError>;

    /// Counters since construction, so the gateway can measure backend cost per login.
    fn stats(&self) -> StoreStats;
}

/// Cumulative counters of one store instance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Store operations called (including refused ones that reached the backend).
    pub operations: u64,
    /// Network round trips sent to the backend: commands plus pipelines (0 for memory).
    pub round_trips: u64,
    /// Bytes written to the backend: encoded request size for Redis, value bytes for memory.
    pub bytes_written: u64,
}
