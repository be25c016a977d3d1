//! Conformance tests for `jisr-store`, one binary: the shared suite run against both
//! backends (`suite` + `harness`), Redis-only properties such as encryption at rest
//! (`redis_only`), outage/recovery against a private `redis-server` (`fault`), and the suite
//! plus a failover on a private Redis Sentinel setup (`sentinel`), and the suite, the fleet
//! aggregates and the rate-limit counters on a private six-node Redis Cluster (`cluster`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

mod cluster;
mod fault;
mod fleet;
mod harness;
mod redis_only;
mod sentinel;
mod suite;

/// Expands the shared suite for one backend. `timed` is the test attribute for tests that wait
/// for expiry (paused tokio time for memory, real time for Redis); `racing` runs on a
/// multi-threaded runtime so concurrent takers really race.
macro_rules! store_suite {
    ($backend:ident, racing = #[$racing:meta], timed = #[$timed:meta]) => {
        mod $backend {
            store_suite!(@case $backend, #[$racing], put_get_delete);
            store_suite!(@case $backend, #[$racing], binary_and_empty_values);
            store_suite!(@case $backend, #[$racing], take_exactly_once_under_concurrency);
            store_suite!(@case $backend, #[$racing], insert_if_absent_one_winner);
            store_suite!(@case $backend, #[$racing], incr_counts_atomically);
            store_suite!(@case $backend, #[$racing], limits_are_enforced);
            store_suite!(@case $backend, #[$racing], typed_values_round_trip);
            store_suite!(@case $backend, #[$racing], kind_mismatch_is_corrupt);
            store_suite!(@case $backend, #[$racing], stats_count_operations);
            store_suite!(@case $backend, #[$timed], values_expire);
            store_suite!(@case $backend, #[$timed], incr_window_is_fixed_at_creation);
            store_suite!(@case $backend, #[$timed], replay_window_reopens_after_expiry);
        }
    };
    (@case $backend:ident, #[$attr:meta], $name:ident) => {
        #[$attr]
        async fn $name() {
            let h = crate::harness::$backend().await;
            crate::suite::$name(h.store.clone(), h.short_ttl).await;
            h.finish();
        }
    };
}

store_suite!(
    memory,
    racing = #[tokio::test(flavor = "multi_thread", worker_threads = 4)],
    timed = #[tokio::test(start_paused = true)]
);
store_suite!(
    redis,
    racing = #[tokio::test(flavor = "multi_thread", worker_threads = 4)],
    timed = #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
);
