//! The flow-state store, measured: a decorator around any `Arc<dyn Store>` that counts each
//! operation by kind and outcome and times it. The gateway wraps its store once, when it is
//! built, so every step's store calls are seen without touching the steps.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use jisr_store::{Store, StoreError, StoreStats};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;

use super::labels::{StoreOp, StoreOutcome};

/// Latency buckets for store operations, in seconds.
pub const STORE_BUCKETS: [f64; 10] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5,
];

/// The operations, as label values.
pub const OPS: [&str; 7] = [
    "get",
    "put",
    "take",
    "insert_if_absent",
    "delete",
    "incr",
    "health",
];

/// Outcomes, as label values.
pub const OUTCOMES: [&str; 3] = ["ok", "unavailable", "error"];

/// The store's counters and latency histogram.
#[derive(Debug)]
pub struct StoreMetrics {
    pub(super) operations: Family<StoreOutcome, Counter>,
    pub(super) duration: Family<StoreOp, Histogram>,
}

impl Default for StoreMetrics {
    fn default() -> Self {
        let me = StoreMetrics {
            operations: Family::default(),
            duration: Family::new_with_constructor(|| Histogram::new(STORE_BUCKETS)),
        };
        // Every series exists from the start, so rates and alerts see zeros, not gaps.
        for op in OPS {
            for outcome in OUTCOMES {
                let _ = me.operations.get_or_create(&StoreOutcome { op, outcome });
            }
            let _ = me.duration.get_or_create(&StoreOp { op });
        }
        me
    }
}

impl StoreMetrics {
    fn record<T>(&self, op: &'static str, started: Instant, result: &Result<T, StoreError>) {
        let outcome = match result {
            Ok(_) => "ok",
            Err(StoreError::Unavailable { .. }) => "unavailable",
            Err(_) => "error",
        };
        self.operations
            .get_or_create(&StoreOutcome { op, outcome })
            .inc();
        self.duration
            .get_or_create(&StoreOp { op })
            .observe(started.elapsed().as_secs_f64());
    }
}

/// A store that reports every call to [`StoreMetrics`] and passes it on unchanged.
pub struct MeteredStore {
    inner: Arc<dyn Store>,
    metrics: Arc<StoreMetrics>,
}

impl MeteredStore {
    pub fn wrap(inner: Arc<dyn Store>, metrics: Arc<StoreMetrics>) -> Arc<dyn Store> {
        Arc::new(MeteredStore { inner, metrics })
    }
}

#[async_trait]
impl Store for MeteredStore {
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError> {
        let t = Instant::now();
        let r = self.inner.put(key, value, ttl).await;
        self.metrics.record("put", t, &r);
        r
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let t = Instant::now();
        let r = self.inner.get(key).await;
        self.metrics.record("get", t, &r);
        r
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let t = Instant::now();
        let r = self.inner.take(key).await;
        self.metrics.record("take", t, &r);
        r
    }

    async fn insert_if_absent(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let t = Instant::now();
        let r = self.inner.insert_if_absent(key, value, ttl).await;
        self.metrics.record("insert_if_absent", t, &r);
        r
    }

    async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        let t = Instant::now();
        let r = self.inner.delete(key).await;
        self.metrics.record("delete", t, &r);
        r
    }

    async fn incr(&self, key: &str, ttl: Duration) -> Result<u64, StoreError> {
        let t = Instant::now();
        let r = self.inner.incr(key, ttl).await;
        self.metrics.record("incr", t, &r);
        r
    }

    async fn health(&self) -> Result<(), StoreError> {
        let t = Instant::now();
        let r = self.inner.health().await;
        self.metrics.record("health", t, &r);
        r
    }

    fn stats(&self) -> StoreStats {
        self.inner.stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jisr_store::MemoryStore;

    #[tokio::test]
    async fn counts_each_operation_by_outcome() {
        let metrics = Arc::new(StoreMetrics::default());
        let store = MeteredStore::wrap(Arc::new(MemoryStore::default()), metrics.clone());
        store.put("k", b"v", Duration::from_secs(5)).await.unwrap();
        assert_eq!(store.take("k").await.unwrap(), Some(b"v".to_vec()));
        assert_eq!(store.take("k").await.unwrap(), None);
        // A zero TTL is refused by every backend: an error, not an outage.
        assert!(matches!(
            store.put("k", b"v", Duration::ZERO).await,
            Err(StoreError::InvalidTtl { .. })
        ));
        let count = |op, outcome| {
            metrics
                .operations
                .get_or_create(&StoreOutcome { op, outcome })
                .get()
        };
        assert_eq!(count("put", "ok"), 1);
        assert_eq!(count("put", "error"), 1);
        assert_eq!(count("take", "ok"), 2);
        assert_eq!(count("get", "ok"), 0);
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register("d_seconds", "d", metrics.duration.clone());
        let mut text = String::new();
        prometheus_client::encoding::text::encode_registry(&mut text, &registry).unwrap();
        assert!(text.contains(r#"d_seconds_count{op="take"} 2"#), "{text}");
    }
}
