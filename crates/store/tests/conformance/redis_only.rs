//! Properties only the Redis backend has: encryption at rest, key binding, prefixes, round
//! trips, TLS setup, and construction while Redis is unreachable.

use std::time::{Duration, Instant};

use jisr_store::{EncryptionKey, RedisConfig, RedisStore, Store, StoreError, StoreExt};

use crate::harness::{PrefixGuard, random_prefix, redis_config, redis_url};
use crate::suite::sample_login;

const MINUTE: Duration = Duration::from_secs(60);
const CANARY: &str = "CANARY-Noura-1098765439";

fn raw_connection() -> redis::Connection {
    redis::Client::open(redis_url())
        .unwrap()
        .get_connection()
        .expect("plain Redis connection")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn values_are_encrypted_at_rest() {
    let prefix = random_prefix();
    let mut guard = PrefixGuard::new(prefix.clone());
    let store = RedisStore::connect(redis_config(&prefix)).await.unwrap();
    store
        .put_value("pending:canary", &sample_login(CANARY), MINUTE)
        .await
        .unwrap();
    store
        .put("raw:canary", CANARY.as_bytes(), MINUTE)
        .await
        .unwrap();
    store
        .insert_if_absent("jti:canary", CANARY.as_bytes(), MINUTE)
        .await
        .unwrap();

    let mut raw = raw_connection();
    for key in ["pending:canary", "raw:canary", "jti:canary"] {
        let stored: Vec<u8> = redis::cmd("GET")
            .arg(format!("{prefix}{key}"))
            .query(&mut raw)
            .unwrap();
        assert!(!stored.is_empty(), "{key} missing in Redis");
        assert!(
            !contains(&stored, CANARY.as_bytes()) && !contains(&stored, b"Noura"),
            "{key}: plaintext visible in Redis"
        );
        // Stored with a TTL, never immortal.
        let ttl_ms: i64 = redis::cmd("PTTL")
            .arg(format!("{prefix}{key}"))
            .query(&mut raw)
            .unwrap();
        assert!(ttl_ms > 0 && ttl_ms <= 60_000, "{key}: PTTL {ttl_ms}");
    }
    assert_eq!(
        store.get("raw:canary").await,
        Ok(Some(CANARY.as_bytes().to_vec()))
    );
    for key in ["pending:canary", "raw:canary", "jti:canary"] {
        assert_eq!(store.delete(key).await, Ok(true));
    }
    assert_eq!(guard.sweep(), Vec::<String>::new());
}

#[tokio::test]
async fn ciphertext_moved_to_another_key_is_corrupt() {
    let prefix = random_prefix();
    let mut guard = PrefixGuard::new(prefix.clone());
    let store = RedisStore::connect(redis_config(&prefix)).await.unwrap();
    store
        .put("code:victim", b"alice's code", MINUTE)
        .await
        .unwrap();

    let mut raw = raw_connection();
    let sealed: Vec<u8> = redis::cmd("GET")
        .arg(format!("{prefix}code:victim"))
        .query(&mut raw)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg(format!("{prefix}code:attacker"))
        .arg(&sealed)
        .arg("PX")
        .arg(60_000)
        .query(&mut raw)
        .unwrap();
    assert!(matches!(
        store.get("code:attacker").await,
        Err(StoreError::Corrupt { .. })
    ));
    assert!(matches!(
        store.take("code:attacker").await,
        Err(StoreError::Corrupt { .. })
    ));

    // A store with another encryption key (misconfigured replica) cannot open it either.
    let mut other = redis_config(&prefix);
    other.encryption_key = EncryptionKey::generate();
    let other = RedisStore::connect(other).await.unwrap();
    assert!(matches!(
        other.get("code:victim").await,
        Err(StoreError::Corrupt { .. })
    ));
    // The original still opens at its own key.
    assert_eq!(
        store.take("code:victim").await,
        Ok(Some(b"alice's code".to_vec()))
    );
    assert_eq!(guard.sweep(), Vec::<String>::new());
}

#[tokio::test]
async fn prefixes_isolate_stores() {
    let (p1, p2) = (random_prefix(), random_prefix());
    let (mut g1, mut g2) = (PrefixGuard::new(p1.clone()), PrefixGuard::new(p2.clone()));
    let key = EncryptionKey::generate();
    let mut c1 = redis_config(&p1);
    c1.encryption_key = key.clone();
    let mut c2 = redis_config(&p2);
    c2.encryption_key = key;
    let (s1, s2) = (
        RedisStore::connect(c1).await.unwrap(),
        RedisStore::connect(c2).await.unwrap(),
    );
    s1.put("session:x", b"one", MINUTE).await.unwrap();
    assert_eq!(s2.get("session:x").await, Ok(None));
    assert_eq!(
        s2.insert_if_absent("session:x", b"two", MINUTE).await,
        Ok(true)
    );
    assert_eq!(s1.take("session:x").await, Ok(Some(b"one".to_vec())));
    assert_eq!(s2.take("session:x").await, Ok(Some(b"two".to_vec())));
    assert_eq!(g1.sweep(), Vec::<String>::new());
    assert_eq!(g2.sweep(), Vec::<String>::new());
}

/// Each operation is one round trip (the counter script may cost one more the first time a
/// Redis sees it).
#[tokio::test]
async fn every_operation_is_one_round_trip() {
    let prefix = random_prefix();
    let mut guard = PrefixGuard::new(prefix.clone());
    let store = RedisStore::connect(redis_config(&prefix)).await.unwrap();
    let before = store.stats();
    let mut last = store.round_trips();
    let mut step = |name: &str, expected: &[u64]| {
        let now = store.round_trips();
        assert!(
            expected.contains(&(now - last)),
            "{name}: {} round trips",
            now - last
        );
        last = now;
    };
    store.incr("rate:rt", MINUTE).await.unwrap();
    step("first incr", &[1, 2]);
    store.incr("rate:rt", MINUTE).await.unwrap();
    step("incr", &[1]);
    store.put("code:rt", &[0; 200], MINUTE).await.unwrap();
    step("put", &[1]);
    store.get("code:rt").await.unwrap();
    step("get", &[1]);
    store.take("code:rt").await.unwrap();
    step("take", &[1]);
    store
        .insert_if_absent("jti:rt", b"1", MINUTE)
        .await
        .unwrap();
    step("insert_if_absent", &[1]);
    store.delete("jti:rt").await.unwrap();
    step("delete", &[1]);
    store.delete("rate:rt").await.unwrap();
    step("delete", &[1]);
    store.health().await.unwrap();
    step("health", &[1]);
    let stats = store.stats();
    assert_eq!(stats.operations - before.operations, 9);
    // 200-byte value + 29 bytes of AEAD framing + key and command framing.
    assert!(
        stats.bytes_written - before.bytes_written > 229,
        "{stats:?}"
    );
    assert_eq!(guard.sweep(), Vec::<String>::new());
}

/// rediss:// goes through rustls (aws-lc-rs provider); a TLS handshake against a plain-text
/// Redis fails as Unavailable within the timeout instead of panicking or hanging.
#[tokio::test]
async fn rediss_against_plaintext_server_is_unavailable() {
    let plain = redis_url();
    let tls_url = plain.replacen("redis://", "rediss://", 1);
    let mut config = RedisConfig::new(tls_url, EncryptionKey::generate());
    config.timeout = Duration::from_millis(500);
    let store = RedisStore::new(config).unwrap();
    let started = Instant::now();
    assert!(matches!(
        store.health().await,
        Err(StoreError::Unavailable { .. })
    ));
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn construction_does_not_need_redis_but_connect_fails_fast() {
    let port = crate::fault::free_port();
    let mut config = RedisConfig::new(
        format!("redis://127.0.0.1:{port}"),
        EncryptionKey::generate(),
    );
    config.timeout = Duration::from_millis(300);
    let started = Instant::now();
    assert!(matches!(
        RedisStore::connect(config.clone()).await,
        Err(StoreError::Unavailable { .. })
    ));
    assert!(started.elapsed() < Duration::from_secs(3));
    let store = RedisStore::new(config).expect("lazy construction succeeds");
    assert!(matches!(
        store.get("code:x").await,
        Err(StoreError::Unavailable { .. })
    ));
}

#[test]
fn construction_outside_a_runtime_is_a_config_error() {
    let config = RedisConfig::new(redis_url(), EncryptionKey::generate());
    assert!(matches!(
        RedisStore::new(config),
        Err(StoreError::Config { .. })
    ));
}

/// Rough latency of the login hot path (put, then take) on the local Redis; run with
/// `cargo test -p jisr-store --release --test conformance -- --ignored --nocapture latency`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement, not a check"]
async fn latency_of_put_then_take() {
    let prefix = random_prefix();
    let mut guard = PrefixGuard::new(prefix.clone());
    let store = std::sync::Arc::new(RedisStore::connect(redis_config(&prefix)).await.unwrap());
    let value = vec![0x5a; 512];
    let n = 2_000;
    let started = Instant::now();
    for i in 0..n {
        let key = format!("code:{i}");
        store.put(&key, &value, MINUTE).await.unwrap();
        assert!(store.take(&key).await.unwrap().is_some());
    }
    let sequential = started.elapsed();
    let started = Instant::now();
    let tasks: Vec<_> = (0..64)
        .map(|t| {
            let store = store.clone();
            let value = value.clone();
            tokio::spawn(async move {
                for i in 0..n / 64 {
                    let key = format!("code:{t}:{i}");
                    store.put(&key, &value, MINUTE).await.unwrap();
                    assert!(store.take(&key).await.unwrap().is_some());
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let concurrent = started.elapsed();
    let pairs = (n / 64 * 64) as f64;
    eprintln!(
        "latency: sequential put+take {:?} per pair; 64 concurrent tasks {:.0} pairs/s",
        sequential / n as u32,
        pairs / concurrent.as_secs_f64()
    );
    assert_eq!(guard.sweep(), Vec::<String>::new());
}
