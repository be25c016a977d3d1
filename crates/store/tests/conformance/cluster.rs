//! The store on Redis Cluster: six private `redis-server --cluster-enabled yes` nodes on
//! loopback ports (three masters, three replicas, made with `redis-cli --cluster create`). The
//! shared suite, the dashboard's fleet aggregates and the rate-limit counters pass against it
//! (their pipelines stay in one slot through hash tags); the store learns the whole cluster
//! from one node; an unreachable cluster is a clear error naming the setting.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use jisr_store::windows::WindowCounters;
use jisr_store::{EncryptionKey, RedisConfig, RedisStore, Store, StoreError};

use crate::fault::free_port;
use crate::sentinel::{Processes, node_args, query, redis_server, until};

struct Cluster {
    ports: Vec<u16>,
    _processes: Processes,
    _dir: tempfile::TempDir,
}

impl Cluster {
    async fn start() -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let ports: Vec<u16> = (0..6).map(|_| free_port()).collect();
        let mut processes = Processes(Vec::new());
        for &port in &ports {
            let mut args = node_args(port);
            let conf = dir.path().join(format!("nodes-{port}.conf"));
            args.extend(
                [
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    &conf.display().to_string(),
                    "--cluster-node-timeout",
                    "2000",
                    "--dir",
                    &dir.path().display().to_string(),
                ]
                .map(str::to_owned),
            );
            processes.0.push((port, redis_server(&args)));
        }
        for &port in &ports {
            until(Duration::from_secs(10), "a node to start", async || {
                query::<String>(port, &redis::cmd("PING")).await.is_ok()
            })
            .await;
        }
        let status = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(ports.iter().map(|p| format!("127.0.0.1:{p}")))
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("redis-cli (installed with redis-server) makes the cluster");
        assert!(status.success(), "redis-cli --cluster create: {status}");
        for &port in &ports {
            until(
                Duration::from_secs(20),
                "the cluster to be ok",
                async || {
                    query::<String>(port, redis::cmd("CLUSTER").arg("INFO"))
                        .await
                        .is_ok_and(|i| {
                            i.contains("cluster_state:ok") && i.contains("cluster_slots_ok:16384")
                        })
                },
            )
            .await;
        }
        Cluster {
            ports,
            _processes: processes,
            _dir: dir,
        }
    }

    /// A store that knows one node of the cluster (the others are learnt from it).
    fn store(&self, nodes: Vec<String>) -> RedisStore {
        // The host in `url` is not used with Cluster: a port nothing listens on proves it.
        let mut config = RedisConfig::new(
            format!("redis://127.0.0.1:{}", free_port()),
            EncryptionKey::generate(),
        );
        config.prefix = format!("jisr-test:{}:", uuid::Uuid::new_v4().simple());
        config.timeout = Duration::from_secs(2);
        config.cluster = Some(nodes);
        RedisStore::new(config).unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_store_on_a_cluster_passes_the_suite_and_keeps_its_pipelines_in_one_slot() {
    let cluster = Cluster::start().await;
    let one = || vec![format!("redis://127.0.0.1:{}", cluster.ports[0])];

    crate::suite::every_case_on(|| Arc::new(cluster.store(one())) as Arc<dyn Store>).await;

    // The dashboard's aggregates: batches that touch several minutes and the events list.
    crate::fleet::aggregates(Arc::new(cluster.store(one()))).await;
    crate::fleet::capped(Arc::new(cluster.store(one()))).await;

    // Keys really spread over the masters: a hundred values land on more than one node.
    let store = cluster.store(one());
    for i in 0..100 {
        store
            .put(&format!("spread:{i}"), b"x", Duration::from_secs(30))
            .await
            .unwrap();
    }
    let mut holding = 0;
    for &port in &cluster.ports {
        let keys: i64 = query(port, &redis::cmd("DBSIZE")).await.unwrap();
        let role: Vec<redis::Value> = query(port, &redis::cmd("ROLE")).await.unwrap();
        let master = matches!(&role[0], redis::Value::BulkString(b) if b == b"master");
        if master && keys > 0 {
            holding += 1;
        }
    }
    assert!(holding > 1, "every key on one master");

    // Rate-limit counters: many keys, one pipeline, totals back in order.
    let adds: Vec<(String, u64)> = (0..50)
        .map(|i| (format!("rl:t:a:10.0.0.{i}:1"), i))
        .collect();
    let totals = store.add_all(&adds, Duration::from_secs(60)).await.unwrap();
    assert_eq!(totals, (0..50).collect::<Vec<u64>>());
    let totals = store.add_all(&adds, Duration::from_secs(60)).await.unwrap();
    assert_eq!(totals, (0..50).map(|i| 2 * i).collect::<Vec<u64>>());

    // No node answers: an error naming the setting, never a fallback to `url`.
    let nowhere = cluster.store(vec![format!("redis://127.0.0.1:{}", free_port())]);
    let err = nowhere.health().await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Unavailable { reason } if reason.contains("store.cluster_nodes")),
        "{err:?}"
    );
}
