//! Outage and recovery against a private `redis-server`: operations fail fast with
//! `Unavailable` while it is down and succeed again on the same store once it is back.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use jisr_store::{EncryptionKey, RedisConfig, RedisStore, Store, StoreError};

const TIMEOUT: Duration = Duration::from_millis(500);
const MINUTE: Duration = Duration::from_secs(60);

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `redis-server` child process, killed when dropped.
struct RedisServer {
    child: Child,
}

impl RedisServer {
    fn start(port: u16) -> Self {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "the fault test needs `redis-server` on PATH (CI installs it via \
                     scripts/prerequisites; locally: apt-get install redis-server): {e}"
                )
            });
        let server = Self { child };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    fn kill(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

type Op<'a> = std::pin::Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send + 'a>>;

/// Runs every operation once; each must be `Unavailable` within the bound.
async fn assert_all_unavailable(store: &RedisStore) {
    let ops: [(&str, Op<'_>); 7] = [
        (
            "put",
            Box::pin(async { store.put("code:f", b"v", MINUTE).await }),
        ),
        (
            "get",
            Box::pin(async { store.get("code:f").await.map(|_| ()) }),
        ),
        (
            "take",
            Box::pin(async { store.take("code:f").await.map(|_| ()) }),
        ),
        (
            "insert_if_absent",
            Box::pin(async {
                store
                    .insert_if_absent("jti:f", b"v", MINUTE)
                    .await
                    .map(|_| ())
            }),
        ),
        (
            "delete",
            Box::pin(async { store.delete("jti:f").await.map(|_| ()) }),
        ),
        (
            "incr",
            Box::pin(async { store.incr("rate:f", MINUTE).await.map(|_| ()) }),
        ),
        ("health", Box::pin(store.health())),
    ];
    for (name, op) in ops {
        let started = Instant::now();
        let result = op.await;
        let elapsed = started.elapsed();
        assert!(
            matches!(result, Err(StoreError::Unavailable { .. })),
            "{name} while Redis is down: {result:?}"
        );
        assert!(elapsed < Duration::from_secs(3), "{name} took {elapsed:?}");
    }
}

/// Polls `health` until it succeeds; returns how long recovery took.
async fn wait_recovered(store: &RedisStore) -> Duration {
    let started = Instant::now();
    loop {
        if store.health().await.is_ok() {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "store did not recover within 10 s of Redis coming back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs every operation on keys tagged `tag`; fresh tags per phase, because requests that
/// timed out against a frozen Redis may still be applied once it thaws.
async fn assert_all_work(store: &RedisStore, tag: &str) {
    let (code, jti, rate) = (
        format!("code:{tag}"),
        format!("jti:{tag}"),
        format!("rate:{tag}"),
    );
    store.put(&code, b"v", MINUTE).await.unwrap();
    assert_eq!(store.take(&code).await, Ok(Some(b"v".to_vec())));
    assert_eq!(store.insert_if_absent(&jti, b"v", MINUTE).await, Ok(true));
    assert_eq!(store.delete(&jti).await, Ok(true));
    assert_eq!(store.incr(&rate, MINUTE).await, Ok(1));
    assert_eq!(store.delete(&rate).await, Ok(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_fails_fast_and_recovers_without_restart() {
    let port = free_port();
    let mut config = RedisConfig::new(
        format!("redis://127.0.0.1:{port}"),
        EncryptionKey::generate(),
    );
    config.timeout = TIMEOUT;

    // Built while Redis is down: construction succeeds, operations are Unavailable.
    let store = RedisStore::new(config).unwrap();
    assert_all_unavailable(&store).await;

    // Redis appears: the same store starts working.
    let server = RedisServer::start(port);
    let first_up = wait_recovered(&store).await;
    assert_all_work(&store, "up").await;
    store.put("code:lost", b"v", MINUTE).await.unwrap();

    // Redis dies: every operation fails fast, twice over (reconnect attempts included).
    server.kill();
    let down = Instant::now();
    assert_all_unavailable(&store).await;
    assert_all_unavailable(&store).await;
    let outage_checks = down.elapsed();

    // Redis comes back on the same port: same instance recovers.
    let _server = RedisServer::start(port);
    let recovered = wait_recovered(&store).await;
    assert_all_work(&store, "back").await;
    // A fresh, non-persistent Redis lost everything: lost codes read as absent, never stale.
    assert_eq!(store.take("code:lost").await, Ok(None));
    eprintln!(
        "fault: first connect after start {first_up:?}; 14 failing ops took {outage_checks:?}; \
         recovered {recovered:?} after restart; stats {:?}",
        store.stats()
    );
}

/// Sends a signal to the child with the `kill` utility (no libc, no unsafe).
fn signal(server: &RedisServer, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &server.child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill {sig} failed");
}

/// A Redis that accepts connections but never answers (frozen with SIGSTOP) is the case where
/// only our own timeout stands between the gateway and a hung request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frozen_redis_times_out_and_recovers_when_thawed() {
    let port = free_port();
    let server = RedisServer::start(port);
    let mut config = RedisConfig::new(
        format!("redis://127.0.0.1:{port}"),
        EncryptionKey::generate(),
    );
    config.timeout = TIMEOUT;
    let store = RedisStore::connect(config).await.unwrap();
    assert_all_work(&store, "before").await;

    signal(&server, "-STOP");
    let frozen = Instant::now();
    assert!(matches!(
        store.insert_if_absent("jti:frozen", b"v", MINUTE).await,
        Err(StoreError::Unavailable { .. })
    ));
    assert_all_unavailable(&store).await;
    let frozen_checks = frozen.elapsed();

    signal(&server, "-CONT");
    let recovered = wait_recovered(&store).await;
    assert_all_work(&store, "thawed").await;
    // A request that timed out is in an unknown state: the thawed server may or may not run
    // it (observed both ways), which is why callers must treat Unavailable as "fail closed"
    // and never as "nothing happened". So jti:frozen is deliberately not asserted.
    eprintln!("fault: 8 ops against frozen Redis took {frozen_checks:?}; recovered {recovered:?}");
}
