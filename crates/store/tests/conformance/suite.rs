//! The behaviour every `Store` backend must show, written once against `Arc<dyn Store>`.
//!
//! Each function deletes the keys it created (taken or expired keys are gone by design), so
//! the Redis harness can assert that nothing is left under the test's prefix.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use jisr_store::{MAX_TTL, MAX_VALUE_LEN, Store, StoreError, StoreExt};
use serde::{Deserialize, Serialize};

const MINUTE: Duration = Duration::from_secs(60);
const RACERS: usize = 50;

pub async fn put_get_delete(store: Arc<dyn Store>, _ttl: Duration) {
    assert_eq!(store.get("session:missing").await, Ok(None));
    store.put("session:a", b"first", MINUTE).await.unwrap();
    assert_eq!(store.get("session:a").await, Ok(Some(b"first".to_vec())));
    // get does not consume.
    assert_eq!(store.get("session:a").await, Ok(Some(b"first".to_vec())));
    store.put("session:a", b"second", MINUTE).await.unwrap();
    assert_eq!(store.get("session:a").await, Ok(Some(b"second".to_vec())));
    assert_eq!(store.delete("session:a").await, Ok(true));
    assert_eq!(store.delete("session:a").await, Ok(false));
    assert_eq!(store.get("session:a").await, Ok(None));
    assert_eq!(store.take("session:a").await, Ok(None));
}

pub async fn binary_and_empty_values(store: Arc<dyn Store>, _ttl: Duration) {
    let binary: Vec<u8> = (0..=255u8).chain([0, 0, 255]).collect();
    store.put("bin:all-bytes", &binary, MINUTE).await.unwrap();
    store.put("bin:empty", b"", MINUTE).await.unwrap();
    let unicode_key = "pending:مرحبا:🙂";
    store.put(unicode_key, b"ar", MINUTE).await.unwrap();
    assert_eq!(store.take("bin:all-bytes").await, Ok(Some(binary)));
    assert_eq!(store.take("bin:empty").await, Ok(Some(Vec::new())));
    assert_eq!(store.take(unicode_key).await, Ok(Some(b"ar".to_vec())));
}

/// OIDC conformance "oidcc-codereuse" at the storage layer: a code redeems exactly once.
pub async fn take_exactly_once_under_concurrency(store: Arc<dyn Store>, _ttl: Duration) {
    for round in 0..3 {
        let key = format!("code:race-{round}");
        store.put(&key, b"code-payload", MINUTE).await.unwrap();
        let takers = (0..RACERS).map(|_| {
            let store = store.clone();
            let key = key.clone();
            tokio::spawn(async move { store.take(&key).await })
        });
        let results: Vec<_> = join_all(takers)
            .await
            .into_iter()
            .map(|r| r.expect("task").expect("take succeeds"))
            .collect();
        let winners: Vec<_> = results.iter().flatten().collect();
        assert_eq!(winners.len(), 1, "round {round}: {} winners", winners.len());
        assert_eq!(winners[0], b"code-payload");
        assert_eq!(store.get(&key).await, Ok(None));
    }
}

pub async fn insert_if_absent_one_winner(store: Arc<dyn Store>, _ttl: Duration) {
    let racers = (0..RACERS).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            let value = format!("racer-{i}");
            let won = store
                .insert_if_absent("jti:race", value.as_bytes(), MINUTE)
                .await
                .expect("insert succeeds");
            (won, value)
        })
    });
    let results: Vec<_> = join_all(racers)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect();
    let winners: Vec<_> = results.iter().filter(|(won, _)| *won).collect();
    assert_eq!(winners.len(), 1, "{} winners", winners.len());
    // The stored value is the winner's, not a later loser's.
    assert_eq!(
        store.get("jti:race").await,
        Ok(Some(winners[0].1.as_bytes().to_vec()))
    );
    assert_eq!(
        store.insert_if_absent("jti:race", b"late", MINUTE).await,
        Ok(false)
    );
    assert_eq!(store.delete("jti:race").await, Ok(true));
}

pub async fn incr_counts_atomically(store: Arc<dyn Store>, _ttl: Duration) {
    for expected in 1..=5u64 {
        assert_eq!(store.incr("rate:ip:a", MINUTE).await, Ok(expected));
    }
    let racers = (0..RACERS).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.incr("rate:ip:a", MINUTE).await.expect("incr") })
    });
    let seen: HashSet<u64> = join_all(racers)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect();
    // Every concurrent caller saw a distinct count: no lost updates.
    assert_eq!(seen, (6..=5 + RACERS as u64).collect::<HashSet<_>>());
    // Counters are independent per key.
    assert_eq!(store.incr("rate:ip:b", MINUTE).await, Ok(1));
    assert_eq!(store.delete("rate:ip:a").await, Ok(true));
    assert_eq!(store.delete("rate:ip:b").await, Ok(true));
    assert_eq!(store.incr("rate:ip:a", MINUTE).await, Ok(1));
    assert_eq!(store.delete("rate:ip:a").await, Ok(true));
}

pub async fn limits_are_enforced(store: Arc<dyn Store>, _ttl: Duration) {
    let max = vec![7u8; MAX_VALUE_LEN];
    store.put("big:max", &max, MINUTE).await.unwrap();
    assert_eq!(store.take("big:max").await, Ok(Some(max)));

    let too_big = vec![7u8; MAX_VALUE_LEN + 1];
    let too_large = StoreError::TooLarge {
        len: MAX_VALUE_LEN + 1,
        max: MAX_VALUE_LEN,
    };
    assert_eq!(
        store.put("big:over", &too_big, MINUTE).await,
        Err(too_large.clone())
    );
    assert_eq!(
        store.insert_if_absent("big:over", &too_big, MINUTE).await,
        Err(too_large)
    );

    for bad in [
        Duration::ZERO,
        Duration::from_micros(500),
        MAX_TTL + Duration::from_secs(1),
    ] {
        let err = StoreError::InvalidTtl {
            ttl: bad,
            max: MAX_TTL,
        };
        assert_eq!(store.put("ttl:bad", b"v", bad).await, Err(err.clone()));
        assert_eq!(
            store.insert_if_absent("ttl:bad", b"v", bad).await,
            Err(err.clone())
        );
        assert_eq!(store.incr("ttl:bad", bad).await, Err(err));
    }
    store.put("ttl:max", b"v", MAX_TTL).await.unwrap();
    assert_eq!(store.delete("ttl:max").await, Ok(true));

    assert!(matches!(
        store.put("", b"v", MINUTE).await,
        Err(StoreError::InvalidKey { .. })
    ));
    assert!(matches!(
        store.get("").await,
        Err(StoreError::InvalidKey { .. })
    ));
    let long = "k".repeat(jisr_store::MAX_KEY_LEN + 1);
    assert!(matches!(
        store.take(&long).await,
        Err(StoreError::InvalidKey { .. })
    ));
    // Nothing was written by refused calls.
    assert_eq!(store.get("big:over").await, Ok(None));
    assert_eq!(store.get("ttl:bad").await, Ok(None));
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingLogin {
    pub origin: String,
    pub destination: String,
    pub nonce: [u8; 16],
    pub pkce_verifier: Option<String>,
    pub scopes: Vec<String>,
    pub loa: Loa,
    pub created_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Loa {
    Low,
    Substantial,
    High,
}

pub fn sample_login(given_name: &str) -> PendingLogin {
    PendingLogin {
        origin: "SA".into(),
        destination: format!("BH/{given_name}"),
        nonce: [9; 16],
        pkce_verifier: Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into()),
        scopes: vec!["openid".into(), "profile".into()],
        loa: Loa::Substantial,
        created_ms: 1_700_000_000_000,
    }
}

pub async fn typed_values_round_trip(store: Arc<dyn Store>, _ttl: Duration) {
    let login = sample_login("نورة Noura");
    store.put_value("pending:t1", &login, MINUTE).await.unwrap();
    assert_eq!(
        store.get_value::<PendingLogin>("pending:t1").await,
        Ok(Some(login.clone()))
    );
    assert_eq!(
        store.take_value::<PendingLogin>("pending:t1").await,
        Ok(Some(login.clone()))
    );
    assert_eq!(
        store.take_value::<PendingLogin>("pending:t1").await,
        Ok(None)
    );

    assert_eq!(
        store
            .insert_value_if_absent("nonce:t1", &42u64, MINUTE)
            .await,
        Ok(true)
    );
    assert_eq!(
        store
            .insert_value_if_absent("nonce:t1", &43u64, MINUTE)
            .await,
        Ok(false)
    );
    assert_eq!(store.take_value::<u64>("nonce:t1").await, Ok(Some(42)));

    // postcard is compact: no field names on the wire.
    let encoded = postcard::to_stdvec(&login).unwrap();
    assert!(encoded.len() < 120, "{} bytes", encoded.len());

    // Bytes that do not decode as the requested type are Corrupt, and still consumed.
    store
        .put("pending:garbage", &[0xff; 3], MINUTE)
        .await
        .unwrap();
    assert!(matches!(
        store.take_value::<PendingLogin>("pending:garbage").await,
        Err(StoreError::Corrupt { .. })
    ));
    assert_eq!(store.get("pending:garbage").await, Ok(None));
}

pub async fn kind_mismatch_is_corrupt(store: Arc<dyn Store>, _ttl: Duration) {
    store
        .put("mixed:value", b"not a number", MINUTE)
        .await
        .unwrap();
    assert!(matches!(
        store.incr("mixed:value", MINUTE).await,
        Err(StoreError::Corrupt { .. })
    ));
    assert_eq!(store.incr("mixed:counter", MINUTE).await, Ok(1));
    assert!(matches!(
        store.get("mixed:counter").await,
        Err(StoreError::Corrupt { .. })
    ));
    assert_eq!(store.delete("mixed:value").await, Ok(true));
    assert_eq!(store.delete("mixed:counter").await, Ok(true));
}

pub async fn stats_count_operations(store: Arc<dyn Store>, _ttl: Duration) {
    let before = store.stats();
    store.put("stats:a", &[1; 100], MINUTE).await.unwrap();
    store.get("stats:a").await.unwrap();
    store.take("stats:a").await.unwrap();
    let after = store.stats();
    assert_eq!(after.operations - before.operations, 3);
    assert!(after.bytes_written - before.bytes_written >= 100);
}

pub async fn values_expire(store: Arc<dyn Store>, ttl: Duration) {
    store.put("state:short", b"s", ttl).await.unwrap();
    store.put("state:long", b"l", ttl * 3).await.unwrap();
    assert_eq!(store.get("state:short").await, Ok(Some(b"s".to_vec())));
    tokio::time::sleep(ttl + ttl / 5).await;
    assert_eq!(store.get("state:short").await, Ok(None));
    assert_eq!(store.take("state:short").await, Ok(None));
    assert_eq!(store.delete("state:short").await, Ok(false));
    assert_eq!(store.take("state:long").await, Ok(Some(b"l".to_vec())));
}

/// Fixed window: later increments do not push the expiry out.
pub async fn incr_window_is_fixed_at_creation(store: Arc<dyn Store>, ttl: Duration) {
    assert_eq!(store.incr("rate:window", ttl).await, Ok(1));
    tokio::time::sleep(ttl * 3 / 5).await;
    assert_eq!(store.incr("rate:window", ttl).await, Ok(2));
    tokio::time::sleep(ttl * 3 / 5).await;
    assert_eq!(store.incr("rate:window", ttl).await, Ok(1));
    assert_eq!(store.delete("rate:window").await, Ok(true));
}

pub async fn replay_window_reopens_after_expiry(store: Arc<dyn Store>, ttl: Duration) {
    assert_eq!(store.insert_if_absent("jti:abc", b"1", ttl).await, Ok(true));
    assert_eq!(
        store.insert_if_absent("jti:abc", b"2", ttl).await,
        Ok(false)
    );
    tokio::time::sleep(ttl + ttl / 5).await;
    assert_eq!(store.insert_if_absent("jti:abc", b"3", ttl).await, Ok(true));
    assert_eq!(store.get("jti:abc").await, Ok(Some(b"3".to_vec())));
    assert_eq!(store.delete("jti:abc").await, Ok(true));
}

/// Every case above except `stats_count_operations` (it needs a store no other case used),
/// each on a fresh store from `store` (its own prefix), with Redis' 1 s expiry floor: for
/// topologies started once per test (Sentinel, Cluster).
pub async fn every_case_on(store: impl Fn() -> Arc<dyn Store>) {
    let ttl = Duration::from_secs(1);
    put_get_delete(store(), ttl).await;
    binary_and_empty_values(store(), ttl).await;
    take_exactly_once_under_concurrency(store(), ttl).await;
    insert_if_absent_one_winner(store(), ttl).await;
    incr_counts_atomically(store(), ttl).await;
    limits_are_enforced(store(), ttl).await;
    typed_values_round_trip(store(), ttl).await;
    kind_mismatch_is_corrupt(store(), ttl).await;
    values_expire(store(), ttl).await;
    incr_window_is_fixed_at_creation(store(), ttl).await;
    replay_window_reopens_after_expiry(store(), ttl).await;
}
