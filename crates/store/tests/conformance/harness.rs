//! Builds a fresh store per test; for Redis, a random key prefix and a check that the test
//! left no key behind (SCAN on the prefix), with leftovers removed even if the test panics.

use std::sync::Arc;
use std::time::Duration;

use jisr_store::{EncryptionKey, MemoryStore, RedisConfig, RedisStore, Store};

/// REDIS_URL, or the local default the prerequisites script starts.
pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A unique prefix so parallel tests and CI runs never see each other's keys.
pub fn random_prefix() -> String {
    format!("jisr-test:{}:", uuid::Uuid::new_v4().simple())
}

pub fn redis_config(prefix: &str) -> RedisConfig {
    let mut config = RedisConfig::new(redis_url(), EncryptionKey::generate());
    config.prefix = prefix.to_owned();
    config.timeout = Duration::from_secs(2);
    config
}

pub struct Harness {
    pub store: Arc<dyn Store>,
    /// TTL used by expiry tests: short on paused time, 1 s (Redis' practical floor) on Redis.
    pub short_ttl: Duration,
    pub redis_prefix: Option<PrefixGuard>,
}

impl Harness {
    /// Asserts no key is left under the test's prefix.
    pub fn finish(mut self) {
        if let Some(mut guard) = self.redis_prefix.take() {
            let left = guard.sweep();
            guard.done = true;
            assert!(left.is_empty(), "test left keys behind: {left:?}");
        }
    }
}

pub async fn memory() -> Harness {
    Harness {
        store: Arc::new(MemoryStore::new(10_000)),
        short_ttl: Duration::from_secs(30),
        redis_prefix: None,
    }
}

pub async fn redis() -> Harness {
    let prefix = random_prefix();
    let store = RedisStore::connect(redis_config(&prefix))
        .await
        .unwrap_or_else(|e| {
            panic!(
                "Redis at {} is required (scripts/prerequisites starts it): {e}",
                redis_url()
            )
        });
    Harness {
        store: Arc::new(store),
        short_ttl: Duration::from_secs(1),
        redis_prefix: Some(PrefixGuard::new(prefix)),
    }
}

/// Deletes every key under a prefix when dropped, so a failing test leaves nothing behind.
pub struct PrefixGuard {
    prefix: String,
    done: bool,
}

impl PrefixGuard {
    pub fn new(prefix: String) -> Self {
        Self {
            prefix,
            done: false,
        }
    }

    /// Lists and deletes the keys under the prefix; returns what was found.
    pub fn sweep(&mut self) -> Vec<String> {
        let client = redis::Client::open(redis_url()).expect("valid REDIS_URL");
        let mut conn = client
            .get_connection()
            .expect("connect to Redis for cleanup");
        let keys = scan_prefix(&mut conn, &self.prefix);
        if !keys.is_empty() {
            let _: u64 = redis::cmd("DEL")
                .arg(&keys)
                .query(&mut conn)
                .expect("delete leftovers");
        }
        keys
    }
}

impl Drop for PrefixGuard {
    fn drop(&mut self) {
        if !self.done {
            self.sweep();
        }
    }
}

/// All keys starting with `prefix`, via SCAN (never KEYS on a shared server).
pub fn scan_prefix(conn: &mut redis::Connection, prefix: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut cursor = 0u64;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(1000)
            .query(conn)
            .expect("SCAN");
        keys.extend(batch);
        if next == 0 {
            return keys;
        }
        cursor = next;
    }
}
