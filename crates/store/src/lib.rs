//! Jisr flow-state store: one trait for pending logins, single-use authorization codes,
//! upstream state, replay ids (jti/nonce), sessions and rate limits, with two backends that
//! pass the same test suite. Backend types never leak to callers.
//!
//! - `store`: the object-safe [`Store`] trait (used as `Arc<dyn Store>`) and [`StoreStats`].
//! - `error`: [`StoreError`], the only error callers see; `Unavailable` means "fail closed, 503".
//! - `limits`: bounds on keys, values and TTLs that every backend enforces identically.
//! - `typed`: [`StoreExt`], postcard-encoded typed values on top of any store.
//! - `memory`: [`MemoryStore`], bounded in-process backend for `demo` and single-node use.
//! - `redis_store`: [`RedisStore`] and [`RedisConfig`], the shared backend for replicas: atomic
//!   commands, per-operation timeout, reconnection, AEAD encryption of values at rest.
//! - [`fleet`]: the dashboard's fleet aggregates ([`fleet::Fleet`]): per-minute pair counters,
//!   latest events, suspensions; [`fleet::MemoryFleet`] per replica, `RedisStore` fleet-wide.
//! - [`windows`]: fixed-window counters every replica adds to ([`windows::WindowCounters`]),
//!   for rate limits shared across replicas; implemented by `RedisStore`.
//! - [`seal`]: the one AES-256-GCM [`seal::Sealer`] (version byte, random nonce, context as
//!   associated data), used for Redis values and by the gateway for its cookie and tokens.
#![forbid(unsafe_code)]

mod error;
pub mod fleet;
pub mod limits;
mod memory;
mod redis_store;
pub mod seal;
mod store;
mod typed;
pub mod windows;

pub use error::StoreError;
pub use limits::{MAX_KEY_LEN, MAX_TTL, MAX_VALUE_LEN};
pub use memory::{DEFAULT_MAX_ENTRIES, MemoryStore};
pub use redis_store::{
    DEFAULT_PREFIX, DEFAULT_TIMEOUT, ENCRYPTION_KEY_LEN, EncryptionKey, MAX_TIMEOUT, RedisConfig,
    RedisStore, SentinelSettings, check_cluster, validate_encryption_key, validate_url,
};
pub use store::{Store, StoreStats};
pub use typed::StoreExt;
