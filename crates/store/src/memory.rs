//! `MemoryStore`: a bounded, single-process backend for `demo` and single-node deployments.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use crate::limits::{check_key, check_ttl, check_value};
use crate::{Store, StoreError, StoreStats};

/// Default maximum number of live entries.
pub const DEFAULT_MAX_ENTRIES: usize = 100_000;

/// A `Store` held in process memory, with a hard cap on live entries.
///
/// When full it refuses new keys with [`StoreError::Full`] instead of evicting: the entries
/// are single-use codes, upstream state and replay ids, and silently evicting a still-valid
/// one would break a login in flight or, worse, forget a jti and let a replay through.
/// Refusing turns memory pressure into a visible, retryable error. Expired entries are
/// invisible immediately and reclaimed on the next operation through an expiry index, so
/// memory never grows past the cap. Time is `tokio::time::Instant`, so tests can pause it.
pub struct MemoryStore {
    inner: Mutex<Inner>,
    max_entries: usize,
    operations: AtomicU64,
    bytes_written: AtomicU64,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    /// (expiry, insertion sequence, key): the earliest expiry first, for reclamation.
    expiries: BTreeSet<(Instant, u64, String)>,
    seq: u64,
}

struct Entry {
    data: Data,
    expires_at: Instant,
    seq: u64,
}

enum Data {
    Bytes(Vec<u8>),
    Counter(u64),
}

impl MemoryStore {
    /// Creates a store holding at most `max_entries` live entries (at least 1).
    pub fn new(max_entries: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            max_entries: max_entries.max(1),
            operations: AtomicU64::new(0),
            bytes_written: AtomicU64::new(0),
        }
    }

    /// Number of live entries (expired ones are reclaimed first).
    pub fn len(&self) -> usize {
        let mut inner = self.lock();
        inner.reclaim(Instant::now());
        inner.entries.len()
    }

    /// True when no live entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave `Inner` half-updated in a way that
        // breaks invariants callers rely on, so recover from poisoning instead of panicking.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn count(&self, written: usize) {
        self.operations.fetch_add(1, Ordering::Relaxed);
        self.bytes_written
            .fetch_add(written as u64, Ordering::Relaxed);
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_ENTRIES)
    }
}

impl Inner {
    /// Drops every entry whose expiry has passed; amortised O(log n) per expired entry.
    fn reclaim(&mut self, now: Instant) {
        while self.expiries.first().is_some_and(|first| first.0 <= now) {
            let Some((_, seq, key)) = self.expiries.pop_first() else {
                break;
            };
            if self.entries.get(&key).is_some_and(|e| e.seq == seq) {
                self.entries.remove(&key);
            }
        }
    }

    fn remove(&mut self, key: &str) -> Option<Entry> {
        let entry = self.entries.remove(key)?;
        self.expiries
            .remove(&(entry.expires_at, entry.seq, key.to_owned()));
        Some(entry)
    }

    /// Inserts or replaces `key`, refusing a new key when `max` live entries are held.
    fn insert(
        &mut self,
        key: &str,
        data: Data,
        expires_at: Instant,
        max: usize,
    ) -> Result<(), StoreError> {
        let replacing = self.remove(key).is_some();
        if !replacing && self.entries.len() >= max {
            return Err(StoreError::Full { capacity: max });
        }
        self.seq += 1;
        let seq = self.seq;
        self.expiries.insert((expires_at, seq, key.to_owned()));
        self.entries.insert(
            key.to_owned(),
            Entry {
                data,
                expires_at,
                seq,
            },
        );
        Ok(())
    }
}

fn bytes_of(entry: Entry) -> Result<Vec<u8>, StoreError> {
    match entry.data {
        Data::Bytes(b) => Ok(b),
        Data::Counter(_) => Err(StoreError::corrupt("key holds a counter, not a value")),
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError> {
        check_key(key)?;
        check_ttl(ttl)?;
        check_value(value)?;
        self.count(value.len());
        let now = Instant::now();
        let mut inner = self.lock();
        inner.reclaim(now);
        inner.insert(
            key,
            Data::Bytes(value.to_vec()),
            now + ttl,
            self.max_entries,
        )
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        check_key(key)?;
        self.count(0);
        let mut inner = self.lock();
        inner.reclaim(Instant::now());
        match inner.entries.get(key) {
            None => Ok(None),
            Some(Entry {
                data: Data::Bytes(b),
                ..
            }) => Ok(Some(b.clone())),
            Some(_) => Err(StoreError::corrupt("key holds a counter, not a value")),
        }
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        check_key(key)?;
        self.count(0);
        let mut inner = self.lock();
        inner.reclaim(Instant::now());
        inner.remove(key).map(bytes_of).transpose()
    }

    async fn insert_if_absent(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        check_key(key)?;
        check_ttl(ttl)?;
        check_value(value)?;
        self.count(value.len());
        let now = Instant::now();
        let mut inner = self.lock();
        inner.reclaim(now);
        if inner.entries.contains_key(key) {
            return Ok(false);
        }
        inner.insert(
            key,
            Data::Bytes(value.to_vec()),
            now + ttl,
            self.max_entries,
        )?;
        Ok(true)
    }

    async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        check_key(key)?;
        self.count(0);
        let mut inner = self.lock();
        inner.reclaim(Instant::now());
        Ok(inner.remove(key).is_some())
    }

    async fn incr(&self, key: &str, ttl: Duration) -> Result<u64, StoreError> {
        check_key(key)?;
        check_ttl(ttl)?;
        self.count(0);
        let now = Instant::now();
        let mut inner = self.lock();
        inner.reclaim(now);
        match inner.entries.get_mut(key) {
            Some(Entry {
                data: Data::Counter(n),
                ..
            }) => {
                *n = n
                    .checked_add(1)
                    .ok_or_else(|| StoreError::corrupt("counter overflow"))?;
                Ok(*n)
            }
            Some(_) => Err(StoreError::corrupt("key holds a value, not a counter")),
            None => {
                inner.insert(key, Data::Counter(1), now + ttl, self.max_entries)?;
                Ok(1)
            }
        }
    }

    async fn health(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn stats(&self) -> StoreStats {
        StoreStats {
            operations: self.operations.load(Ordering::Relaxed),
            round_trips: 0,
            bytes_written: self.bytes_written.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn full_store_refuses_new_keys_but_keeps_valid_ones() {
        let store = MemoryStore::new(2);
        let ttl = Duration::from_secs(10);
        store.put("code:a", b"a", ttl).await.unwrap();
        store.put("code:b", b"b", ttl).await.unwrap();
        assert_eq!(
            store.put("code:c", b"c", ttl).await,
            Err(StoreError::Full { capacity: 2 })
        );
        // Replacing an existing key is allowed when full; nothing valid was evicted.
        store.put("code:a", b"a2", ttl).await.unwrap();
        assert_eq!(store.take("code:b").await.unwrap(), Some(b"b".to_vec()));
        store.put("code:c", b"c", ttl).await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn expired_entries_are_reclaimed_and_free_capacity() {
        let store = MemoryStore::new(3);
        for i in 0..3 {
            store
                .put(&format!("k{i}"), b"v", Duration::from_secs(1))
                .await
                .unwrap();
        }
        assert_eq!(store.len(), 3);
        tokio::time::advance(Duration::from_millis(1001)).await;
        assert_eq!(store.len(), 0);
        assert!(store.inner.lock().unwrap().expiries.is_empty());
        store.put("k9", b"v", Duration::from_secs(1)).await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn replaced_entry_keeps_only_new_expiry() {
        let store = MemoryStore::new(10);
        store.put("k", b"1", Duration::from_secs(1)).await.unwrap();
        store.put("k", b"2", Duration::from_secs(5)).await.unwrap();
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(store.get("k").await.unwrap(), Some(b"2".to_vec()));
        assert_eq!(store.inner.lock().unwrap().expiries.len(), 1);
    }
}
