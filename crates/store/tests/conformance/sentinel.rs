//! The store on Redis Sentinel: one master, one replica and three Sentinels, private
//! `redis-server` processes on loopback ports (Sentinel is `redis-server --sentinel`, what
//! Debian's `redis-sentinel` runs). The shared suite passes against the master the Sentinels
//! name; when the master is killed, the store follows the failover to the promoted replica by
//! itself, within a bound this test measures; a wrong service name is a clear error naming
//! the setting, never a fallback to some node.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jisr_store::{EncryptionKey, RedisConfig, RedisStore, SentinelSettings, Store, StoreError};

use crate::fault::free_port;

const SERVICE: &str = "jisr-test";

/// Child processes killed when dropped (also when a test panics).
pub(crate) struct Processes(pub(crate) Vec<(u16, Child)>);

impl Processes {
    pub(crate) fn kill(&mut self, port: u16) {
        if let Some(i) = self.0.iter().position(|(p, _)| *p == port) {
            let (_, mut child) = self.0.remove(i);
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for (_, child) in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

struct Topology {
    master: u16,
    replica: u16,
    sentinels: Vec<u16>,
    processes: Processes,
    _dir: tempfile::TempDir,
}

pub(crate) fn redis_server(args: &[String]) -> Child {
    Command::new("redis-server")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "the Sentinel tests need `redis-server` on PATH (scripts/prerequisites \
                 installs it): {e}"
            )
        })
}

pub(crate) fn node_args(port: u16) -> Vec<String> {
    [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ]
    .map(str::to_owned)
    .to_vec()
}

pub(crate) async fn query<T: redis::FromRedisValue>(
    port: u16,
    cmd: &redis::Cmd,
) -> redis::RedisResult<T> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}"))?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    cmd.query_async(&mut conn).await
}

/// Polls `check` every 100 ms for up to `limit`.
pub(crate) async fn until(limit: Duration, what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl Topology {
    async fn start() -> Topology {
        let dir = tempfile::tempdir().unwrap();
        let (master, replica) = (free_port(), free_port());
        let mut processes = Processes(Vec::new());
        processes.0.push((master, redis_server(&node_args(master))));
        let mut args = node_args(replica);
        args.extend(["--replicaof", "127.0.0.1", &master.to_string()].map(str::to_owned));
        processes.0.push((replica, redis_server(&args)));
        let mut sentinels = Vec::new();
        for _ in 0..3 {
            let port = free_port();
            let conf = dir.path().join(format!("sentinel-{port}.conf"));
            std::fs::write(
                &conf,
                format!(
                    "port {port}\nbind 127.0.0.1\ndir {dir}\nsentinel monitor {SERVICE} 127.0.0.1 {master} 2\n\
                     sentinel down-after-milliseconds {SERVICE} 1000\nsentinel failover-timeout {SERVICE} 10000\n\
                     sentinel parallel-syncs {SERVICE} 1\n",
                    dir = dir.path().display()
                ),
            )
            .unwrap();
            let child = redis_server(&[conf.display().to_string(), "--sentinel".to_owned()]);
            processes.0.push((port, child));
            sentinels.push(port);
        }
        let topology = Topology {
            master,
            replica,
            sentinels,
            processes,
            _dir: dir,
        };
        // Ready: the replica has synced and every Sentinel knows the replica and the others.
        until(Duration::from_secs(20), "the replica to sync", async || {
            let info: redis::RedisResult<String> =
                query(replica, redis::cmd("INFO").arg("replication")).await;
            info.is_ok_and(|i| i.contains("master_link_status:up"))
        })
        .await;
        for &s in &topology.sentinels {
            until(
                Duration::from_secs(20),
                "the Sentinels to agree",
                async || {
                    let replicas: redis::RedisResult<Vec<redis::Value>> =
                        query(s, redis::cmd("SENTINEL").arg("REPLICAS").arg(SERVICE)).await;
                    let others: redis::RedisResult<Vec<redis::Value>> =
                        query(s, redis::cmd("SENTINEL").arg("SENTINELS").arg(SERVICE)).await;
                    replicas.is_ok_and(|r| !r.is_empty()) && others.is_ok_and(|o| o.len() == 2)
                },
            )
            .await;
        }
        topology
    }

    fn config(&self, service: &str, prefix: &str) -> RedisConfig {
        // The host in `url` is not used with Sentinel: a port nothing listens on proves it.
        let mut config = RedisConfig::new(
            format!("redis://127.0.0.1:{}", free_port()),
            EncryptionKey::generate(),
        );
        config.prefix = prefix.to_owned();
        config.timeout = Duration::from_millis(500);
        config.sentinel = Some(SentinelSettings {
            service: service.to_owned(),
            nodes: self
                .sentinels
                .iter()
                .map(|p| format!("redis://127.0.0.1:{p}"))
                .collect(),
        });
        config
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_store_on_sentinel_passes_the_suite_and_follows_a_failover() {
    let mut topology = Topology::start().await;
    let store = |service: &str| {
        let prefix = format!("jisr-test:{}:", uuid::Uuid::new_v4().simple());
        RedisStore::new(topology.config(service, &prefix)).unwrap()
    };

    // The shared suite, each case on its own prefix, against the master the Sentinels name.
    crate::suite::every_case_on(|| Arc::new(store(SERVICE)) as Arc<dyn Store>).await;

    // A wrong service name: a clear error naming the setting, never some node.
    let wrong = store("no-such-service");
    let err = wrong.health().await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Unavailable { reason }
            if reason.contains("store.sentinel_service \"no-such-service\"")),
        "{err:?}"
    );

    // The master is killed; the Sentinels promote the replica; the same store carries on.
    let s = Arc::new(store(SERVICE));
    s.put("before", b"1", Duration::from_secs(60))
        .await
        .unwrap();
    let _: i64 = query(topology.master, redis::cmd("WAIT").arg(1).arg(2000))
        .await
        .unwrap();
    let killed = Instant::now();
    topology.processes.kill(topology.master);
    let mut failed = 0u32;
    let recovered = loop {
        match s.put("after", b"2", Duration::from_secs(60)).await {
            Ok(()) => break killed.elapsed(),
            Err(StoreError::Unavailable { .. }) => failed += 1,
            Err(e) => panic!("only Unavailable while failing over, got {e:?}"),
        }
        assert!(
            killed.elapsed() < Duration::from_secs(30),
            "no recovery 30 s after the master died"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    eprintln!(
        "sentinel failover: writes succeed again {:.1} s after SIGKILL of the master ({failed} refused meanwhile)",
        recovered.as_secs_f64()
    );
    assert!(recovered < Duration::from_secs(15), "{recovered:?}");
    // The promoted replica is now the master, and it has what was written before.
    let role: Vec<redis::Value> = query(topology.replica, &redis::cmd("ROLE")).await.unwrap();
    assert!(
        matches!(&role[0], redis::Value::BulkString(b) if b == b"master"),
        "{role:?}"
    );
    assert_eq!(s.get("before").await.unwrap().as_deref(), Some(&b"1"[..]));
    assert_eq!(s.take("after").await.unwrap().as_deref(), Some(&b"2"[..]));
    assert!(s.delete("before").await.unwrap());
}
