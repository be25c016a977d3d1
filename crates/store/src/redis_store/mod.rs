//! `RedisStore`: the shared backend for multi-replica deployments.

mod config;
mod fleet;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, ErrorKind, FromRedisValue, RedisError, RedisResult, ServerErrorKind, Value};
use tokio::time::error::Elapsed;

pub use config::{
    DEFAULT_PREFIX, DEFAULT_TIMEOUT, ENCRYPTION_KEY_LEN, EncryptionKey, MAX_TIMEOUT, RedisConfig,
    SentinelSettings, check_cluster, validate_encryption_key, validate_url,
};

use crate::limits::{check_key, check_ttl, check_value, ttl_millis};
use crate::seal::{SealError, Sealer};
use crate::{Store, StoreError, StoreStats};

/// Creates a counter with its expiry in one atomic step; re-arms a counter that lost its TTL
/// so a rate-limit key can never become immortal.
const INCR_SCRIPT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return n
";

/// After this many consecutive `Unavailable` results the connection manager is rebuilt, as a
/// backstop for connection failures the manager does not treat as reconnectable.
const REBUILD_AFTER_FAILURES: u64 = 3;
/// Minimum spacing between two rebuilds, so an outage does not churn connection tasks.
const REBUILD_INTERVAL: Duration = Duration::from_secs(2);

/// A `Store` on Redis: atomic commands, bounded latency, values encrypted at rest.
///
/// Every operation is one round trip (GETDEL, SET NX PX, a cached Lua script for counters)
/// bounded by the configured timeout, so an unreachable Redis yields
/// [`StoreError::Unavailable`] quickly and the gateway fails closed. The connection is a
/// reconnecting `ConnectionManager` created lazily: a store built while Redis is down starts
/// working once Redis is back, without restarting the process. Values are sealed with
/// AES-256-GCM bound to their full Redis key; rate-limit counters are stored in clear (they
/// are integers with no personal data, and Redis must be able to increment them).
pub struct RedisStore {
    source: Source,
    /// `None` until a Sentinel names the master or the cluster's slots are read (and again
    /// after a failover is suspected).
    manager: RwLock<Option<Conn>>,
    prefix: String,
    timeout: Duration,
    sealer: Sealer,
    incr_sha: String,
    redacted_url: String,
    operations: AtomicU64,
    round_trips: AtomicU64,
    bytes_written: AtomicU64,
    consecutive_failures: AtomicU64,
    last_rebuild: Mutex<Instant>,
}

/// Where the connection goes: one node, or the master the Sentinels name.
enum Source {
    Direct(redis::Client),
    /// Asked for the master when there is no connection yet and after repeated failures (a
    /// failover): one resolution at a time.
    Sentinel {
        client: tokio::sync::Mutex<redis::sentinel::SentinelClient>,
        service: String,
    },
    /// Redis Cluster: commands go to the node of their key's slot (MOVED and ASK followed).
    Cluster {
        client: redis::cluster::ClusterClient,
        /// One connection attempt at a time.
        connecting: tokio::sync::Mutex<()>,
    },
}

/// A connection to one node (reconnecting) or to a cluster.
#[derive(Clone)]
enum Conn {
    Node(ConnectionManager),
    Cluster(redis::cluster_async::ClusterConnection),
}

impl redis::aio::ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> redis::RedisFuture<'a, Value> {
        match self {
            Conn::Node(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Node(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Node(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

impl RedisStore {
    /// Builds the store without contacting Redis, so start-up does not depend on Redis.
    ///
    /// Fails only on invalid configuration, or when called outside a Tokio runtime (the
    /// connection manager spawns its reconnect task there).
    pub fn new(config: RedisConfig) -> Result<Self, StoreError> {
        config.validate()?;
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(StoreError::Config {
                reason: "RedisStore must be created inside a Tokio runtime".into(),
            });
        }
        let client = redis::Client::open(config.url.as_str()).map_err(|e| StoreError::Config {
            reason: format!("invalid Redis URL ({})", e.category()),
        })?;
        let (source, manager) = match (&config.sentinel, &config.cluster) {
            (Some(sentinel), _) => (config::sentinel_source(&config, sentinel)?, None),
            (None, Some(nodes)) => (config::cluster_source(&config, nodes)?, None),
            (None, None) => {
                let manager = build_manager(&client, config.timeout)?;
                (Source::Direct(client), Some(Conn::Node(manager)))
            }
        };
        Ok(Self {
            source,
            manager: RwLock::new(manager),
            prefix: config.prefix,
            timeout: config.timeout,
            sealer: Sealer::new(&config.encryption_key.0),
            incr_sha: redis::Script::new(INCR_SCRIPT).get_hash().to_owned(),
            redacted_url: config::redact_url(&config.url),
            operations: AtomicU64::new(0),
            round_trips: AtomicU64::new(0),
            bytes_written: AtomicU64::new(0),
            consecutive_failures: AtomicU64::new(0),
            last_rebuild: Mutex::new(Instant::now()),
        })
    }

    /// Builds the store and checks Redis answers, failing fast if it does not.
    pub async fn connect(config: RedisConfig) -> Result<Self, StoreError> {
        let store = Self::new(config)?;
        store.health().await?;
        Ok(store)
    }

    /// The key prefix in use.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Round trips sent to Redis so far (commands plus pipelines); see also [`Store::stats`].
    pub fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::Relaxed)
    }

    fn full_key(&self, key: &str) -> String {
        let mut full = String::with_capacity(self.prefix.len() + key.len());
        full.push_str(&self.prefix);
        full.push_str(key);
        full
    }

    /// The connection in use, if there is one.
    fn current(&self) -> Option<Conn> {
        self.manager
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The connection: the one in use, or with Sentinel a new one to the master they name,
    /// or with Cluster a new one to the cluster. One attempt at a time.
    async fn connection(&self) -> Result<Conn, StoreError> {
        if let Some(conn) = self.current() {
            return Ok(conn);
        }
        match &self.source {
            Source::Direct(_) => Err(StoreError::unavailable("no Redis connection")),
            Source::Cluster { client, connecting } => {
                let _one = connecting.lock().await;
                // Another operation may have connected while this one waited.
                if let Some(conn) = self.current() {
                    return Ok(conn);
                }
                self.install("the cluster of store.cluster_nodes", async {
                    let conn = client.get_async_connection().await.map_err(unreached)?;
                    Ok(Conn::Cluster(conn))
                })
                .await
            }
            Source::Sentinel { client, service } => {
                let mut sentinel = client.lock().await;
                if let Some(conn) = self.current() {
                    return Ok(conn);
                }
                let what = format!("the master of store.sentinel_service \"{service}\"");
                self.install(&what, async {
                    let master = sentinel.async_get_client().await.map_err(unreached)?;
                    tracing::info!(
                        service = %service,
                        master = %master.get_connection_info().addr(),
                        "redis store: connected to the master named by Sentinel"
                    );
                    Ok(Conn::Node(build_manager(&master, self.timeout)?))
                })
                .await
            }
        }
    }

    /// Runs `connect` within the timeout and keeps the connection it makes; errors name
    /// `what` (the setting that points there).
    async fn install(
        &self,
        what: &str,
        connect: impl std::future::Future<Output = Result<Conn, StoreError>>,
    ) -> Result<Conn, StoreError> {
        let conn = match tokio::time::timeout(self.timeout, connect).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => {
                return Err(StoreError::unavailable(format!("cannot reach {what}: {e}")));
            }
            Err(_) => {
                return Err(StoreError::unavailable(format!(
                    "no answer from {what} within {:?}",
                    self.timeout
                )));
            }
        };
        *self.manager.write().unwrap_or_else(|e| e.into_inner()) = Some(conn.clone());
        Ok(conn)
    }

    /// Sends one command, bounded by the timeout, counting it as one round trip.
    async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, StoreError> {
        let outcome = self.send(cmd).await;
        self.settle(outcome)
    }

    /// Sends one command within the timeout and counts it; the caller settles the outcome.
    async fn send<T: FromRedisValue>(&self, cmd: &Cmd) -> Sent<T> {
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        self.bytes_written
            .fetch_add(cmd.get_packed_command().len() as u64, Ordering::Relaxed);
        let mut conn = self.connection().await.map_err(Unsent::Store)?;
        tokio::time::timeout(self.timeout, cmd.query_async::<T>(&mut conn))
            .await
            .map_err(Unsent::Elapsed)
    }

    /// Sends one pipeline within the timeout, counting it as one round trip.
    async fn query_pipe<T: FromRedisValue>(&self, pipe: &redis::Pipeline) -> Result<T, StoreError> {
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        self.bytes_written
            .fetch_add(pipe.get_packed_pipeline().len() as u64, Ordering::Relaxed);
        let outcome = match self.connection().await {
            Ok(mut conn) => tokio::time::timeout(self.timeout, pipe.query_async::<T>(&mut conn))
                .await
                .map_err(Unsent::Elapsed),
            Err(e) => Err(Unsent::Store(e)),
        };
        self.settle(outcome)
    }

    /// Turns a sent command's outcome into the store's error vocabulary and tracks outages.
    fn settle<T>(&self, outcome: Sent<T>) -> Result<T, StoreError> {
        let result = match outcome {
            Err(Unsent::Elapsed(_)) => Err(StoreError::unavailable(format!(
                "no answer from Redis within {:?}",
                self.timeout
            ))),
            Err(Unsent::Store(e)) => Err(e),
            Ok(result) => result.map_err(map_error),
        };
        self.observe(&result);
        result
    }

    /// Tracks consecutive outages and rebuilds the connection manager as a backstop.
    fn observe<T>(&self, result: &Result<T, StoreError>) {
        match result {
            Err(StoreError::Unavailable { reason }) => {
                let failures = self.consecutive_failures.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::warn!(url = %self.redacted_url, %reason, failures, "redis store unavailable");
                if failures >= REBUILD_AFTER_FAILURES {
                    self.maybe_rebuild();
                }
            }
            _ => {
                self.consecutive_failures.store(0, Ordering::Relaxed);
            }
        }
    }

    fn maybe_rebuild(&self) {
        let mut last = self.last_rebuild.lock().unwrap_or_else(|e| e.into_inner());
        if last.elapsed() < REBUILD_INTERVAL {
            return;
        }
        *last = Instant::now();
        match &self.source {
            Source::Direct(client) => {
                if let Ok(manager) = build_manager(client, self.timeout) {
                    *self.manager.write().unwrap_or_else(|e| e.into_inner()) =
                        Some(Conn::Node(manager));
                    tracing::info!(url = %self.redacted_url, "rebuilt redis connection manager");
                }
            }
            // Perhaps a failover: the next operation asks the Sentinels for the master.
            Source::Sentinel { service, .. } => {
                *self.manager.write().unwrap_or_else(|e| e.into_inner()) = None;
                tracing::info!(%service, "redis store: asking Sentinel for the master again");
            }
            // The cluster connection follows slot moves itself; a new one re-reads the slots
            // from the nodes that answer.
            Source::Cluster { .. } => {
                *self.manager.write().unwrap_or_else(|e| e.into_inner()) = None;
                tracing::info!("redis store: connecting to the cluster again");
            }
        }
    }

    /// Seals a value bound to its full Redis key, so a ciphertext moved to another key (say,
    /// a pending login replayed as a code) does not open.
    fn seal(&self, full_key: &str, value: &[u8]) -> Result<Vec<u8>, StoreError> {
        self.sealer
            .seal(full_key.as_bytes(), value)
            .map_err(|e| StoreError::unavailable(e.to_string()))
    }

    /// Opens a value read from `full_key`; any mismatch is `Corrupt`.
    fn open(&self, full_key: &str, sealed: Option<Vec<u8>>) -> Result<Option<Vec<u8>>, StoreError> {
        sealed
            .map(|s| self.sealer.open(full_key.as_bytes(), &s).map_err(corrupt))
            .transpose()
    }

    fn count_op(&self) {
        self.operations.fetch_add(1, Ordering::Relaxed);
    }
}

/// What [`RedisStore::send`] gives back: Redis' answer, or why nothing was sent or answered.
type Sent<T> = Result<RedisResult<T>, Unsent>;

enum Unsent {
    Elapsed(Elapsed),
    Store(StoreError),
}

fn build_manager(
    client: &redis::Client,
    timeout: Duration,
) -> Result<ConnectionManager, StoreError> {
    // Few, quick retries inside one reconnect attempt: our own timeout bounds each operation,
    // and the next operation after a failed attempt triggers a fresh one.
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout))
        .set_number_of_retries(1)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_millis(500));
    ConnectionManager::new_lazy_with_config(client.clone(), config).map_err(|e| {
        StoreError::Config {
            reason: format!("cannot create Redis connection manager ({})", e.category()),
        }
    })
}

/// A failed connection attempt, with Redis' own words for it.
fn unreached(e: RedisError) -> StoreError {
    StoreError::unavailable(e.detail().unwrap_or(e.category()).to_owned())
}

fn corrupt(e: SealError) -> StoreError {
    StoreError::corrupt(e.to_string())
}

/// Translates a Redis error without leaking its type: data errors are `Corrupt`, everything
/// else (IO, auth, loading, OOM, read-only replica …) is `Unavailable` so the gateway fails
/// closed with 503.
fn map_error(e: RedisError) -> StoreError {
    let detail = e.detail().unwrap_or_default();
    let data_error = matches!(e.kind(), ErrorKind::UnexpectedReturnType | ErrorKind::Parse)
        || e.code() == Some("WRONGTYPE")
        || detail.contains("not an integer")
        || detail.contains("overflow");
    if data_error {
        StoreError::corrupt(format!("Redis refused the value ({})", e.category()))
    } else {
        StoreError::unavailable(format!("Redis {}", e.category()))
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("url", &self.redacted_url)
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Store for RedisStore {
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError> {
        check_key(key)?;
        check_ttl(ttl)?;
        check_value(value)?;
        self.count_op();
        let full = self.full_key(key);
        let sealed = self.seal(&full, value)?;
        let mut cmd = redis::cmd("SET");
        cmd.arg(&full).arg(sealed).arg("PX").arg(ttl_millis(ttl));
        self.query::<()>(&cmd).await
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        check_key(key)?;
        self.count_op();
        let full = self.full_key(key);
        let sealed = self
            .query::<Option<Vec<u8>>>(redis::cmd("GET").arg(&full))
            .await?;
        self.open(&full, sealed)
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        check_key(key)?;
        self.count_op();
        let full = self.full_key(key);
        // If the timeout fires after Redis executed GETDEL, the value is gone and the caller
        // sees Unavailable: single-use items fail closed rather than risk a second use.
        let sealed = self
            .query::<Option<Vec<u8>>>(redis::cmd("GETDEL").arg(&full))
            .await?;
        self.open(&full, sealed)
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
        self.count_op();
        let full = self.full_key(key);
        let sealed = self.seal(&full, value)?;
        let mut cmd = redis::cmd("SET");
        cmd.arg(&full)
            .arg(sealed)
            .arg("PX")
            .arg(ttl_millis(ttl))
            .arg("NX");
        match self.query::<Value>(&cmd).await? {
            Value::Nil => Ok(false),
            Value::Okay => Ok(true),
            Value::SimpleString(s) if s == "OK" => Ok(true),
            _ => Err(StoreError::corrupt("unexpected reply to SET NX")),
        }
    }

    async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        check_key(key)?;
        self.count_op();
        let removed = self
            .query::<u64>(redis::cmd("DEL").arg(self.full_key(key)))
            .await?;
        Ok(removed > 0)
    }

    async fn incr(&self, key: &str, ttl: Duration) -> Result<u64, StoreError> {
        check_key(key)?;
        check_ttl(ttl)?;
        self.count_op();
        let full = self.full_key(key);
        let ms = ttl_millis(ttl);
        let mut evalsha = redis::cmd("EVALSHA");
        evalsha.arg(&self.incr_sha).arg(1).arg(&full).arg(ms);
        // EVALSHA first (small request); the script is sent in full only when this Redis has
        // not seen it yet, e.g. after a restart. That case costs a second round trip.
        let n = match self.send::<i64>(&evalsha).await {
            Ok(Err(e)) if e.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                let mut eval = redis::cmd("EVAL");
                eval.arg(INCR_SCRIPT).arg(1).arg(&full).arg(ms);
                self.query::<i64>(&eval).await?
            }
            other => self.settle(other)?,
        };
        u64::try_from(n).map_err(|_| StoreError::corrupt("negative counter"))
    }

    async fn health(&self) -> Result<(), StoreError> {
        self.count_op();
        let pong = self.query::<String>(&redis::cmd("PING")).await?;
        if pong == "PONG" {
            Ok(())
        } else {
            Err(StoreError::unavailable("unexpected reply to PING"))
        }
    }

    fn stats(&self) -> StoreStats {
        StoreStats {
            operations: self.operations.load(Ordering::Relaxed),
            round_trips: self.round_trips.load(Ordering::Relaxed),
            bytes_written: self.bytes_written.load(Ordering::Relaxed),
        }
    }
}
