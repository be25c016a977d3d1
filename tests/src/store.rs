//! Redis for the replica and outage tests: every key a test writes goes under a random
//! `jisr-test:<hex>:` prefix and is deleted at the end, also on panic; a private
//! `redis-server` that a test may kill and restart. Missing Redis fails a test, never skips it.

use std::net::TcpListener as StdListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jisr_store::{EncryptionKey, RedisConfig, RedisStore};

/// The shared Redis: `REDIS_URL`, default `redis://127.0.0.1:6379`.
pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// `bytes` random bytes, hex.
pub fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut b).unwrap();
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A random key prefix on one Redis, emptied when the test ends (also on panic).
pub struct Keyspace {
    pub url: String,
    pub prefix: String,
}

impl Keyspace {
    pub fn new(url: &str) -> Self {
        Keyspace {
            url: url.to_owned(),
            prefix: format!("jisr-test:{}:", random_hex(8)),
        }
    }

    pub fn config(&self, key: &EncryptionKey, timeout: Duration) -> RedisConfig {
        let mut config = RedisConfig::new(self.url.clone(), key.clone());
        config.prefix = self.prefix.clone();
        config.timeout = timeout;
        config
    }

    /// A store on this keyspace (one per replica: replicas share Redis, not the instance).
    pub fn store(&self, key: &EncryptionKey, timeout: Duration) -> Arc<RedisStore> {
        Arc::new(RedisStore::new(self.config(key, timeout)).unwrap())
    }

    pub fn connection(&self) -> redis::RedisResult<redis::Connection> {
        redis::Client::open(self.url.as_str())?.get_connection_with_timeout(Duration::from_secs(2))
    }

    /// Every key under the prefix (SCAN, never KEYS).
    pub fn keys(&self) -> redis::RedisResult<Vec<String>> {
        let mut conn = self.connection()?;
        let mut cursor = 0u64;
        let mut keys = Vec::new();
        loop {
            let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(format!("{}*", self.prefix))
                .arg("COUNT")
                .arg(1000)
                .query(&mut conn)?;
            keys.extend(batch);
            if next == 0 {
                return Ok(keys);
            }
            cursor = next;
        }
    }

    pub fn purge(&self) -> redis::RedisResult<usize> {
        let keys = self.keys()?;
        if !keys.is_empty() {
            let mut conn = self.connection()?;
            redis::cmd("DEL").arg(&keys).query::<u64>(&mut conn)?;
        }
        Ok(keys.len())
    }

    /// Deletes everything under the prefix and checks nothing is left.
    pub fn finish(&self) {
        self.purge().expect("Redis reachable for cleanup");
        let left = self.keys().expect("Redis reachable for cleanup");
        assert!(left.is_empty(), "keys left under {}: {left:?}", self.prefix);
    }
}

impl Drop for Keyspace {
    fn drop(&mut self) {
        let _ = self.purge();
    }
}

/// Fails with a clear message when the shared Redis is not running.
pub async fn require_redis(url: &str) {
    let ping = async {
        let client = redis::Client::open(url)?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await
    };
    match tokio::time::timeout(Duration::from_secs(3), ping).await {
        Ok(Ok(_)) => {}
        other => panic!(
            "these tests need Redis at {url} (set REDIS_URL, or start `redis-server`): {other:?}"
        ),
    }
}

/// A private `redis-server` this test can kill and restart; killed when dropped.
pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
}

impl RedisServer {
    pub fn free_port() -> u16 {
        StdListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    pub async fn start(port: u16) -> Self {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "the Redis outage test needs `redis-server` on the PATH \
                     (apt-get install redis-server): {e}"
                )
            });
        let mut server = RedisServer {
            port,
            child: Some(child),
        };
        server.wait_ready().await;
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let url = self.url();
        loop {
            let ping = async {
                let client = redis::Client::open(url.as_str())?;
                let mut conn = client.get_multiplexed_async_connection().await?;
                redis::cmd("PING").query_async::<String>(&mut conn).await
            };
            if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_millis(500), ping).await {
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("redis-server on port {} exited: {status}", self.port);
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not start on {url}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
