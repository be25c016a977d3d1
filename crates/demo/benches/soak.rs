//! Soak: complete cross-border logins at a steady rate for a long time, on the release build
//! with the Redis store, to show that nothing accumulates: resident memory, open file
//! descriptors and the flow state in Redis stay flat after warm-up, and no login fails.
//!
//! The demo (gateway, development national IdPs, demo agency) runs in this process on three
//! runtimes as in the login benchmark; its flow state goes to Redis under a random
//! `jisr-soak:<hex>:` prefix, deleted at the end. First the capacity is measured (logins/s
//! with 8 workers for `--capacity-secs`), then logins are started at `--fraction` of it
//! (default half) by a pacer for `--minutes`, each by a free worker (one browser cookie jar
//! and one agency client per worker). Every `--sample-secs` one row: VmRSS
//! (`/proc/self/status`), open fds (`/proc/self/fd`), keys under the prefix (SCAN), logins
//! and errors in the interval, latency p50/p99, and starts the workers could not keep up with.
//!
//! `cargo bench -p jisr-demo --bench soak -- --minutes 30 [--rate N] [--capacity-secs 20]
//! [--fraction 0.5] [--sample-secs 60] [--workers 32]` (Redis at `REDIS_URL`, default
//! `redis://127.0.0.1:6379`). Exits non-zero if any login failed.
//!
//! Token exchange (RFC 8693) is not in the gateway yet: when it is, [`iteration`] is where each
//! soak iteration also exchanges a national ID token, so the soak covers both paths.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: a failed unwrap is a failed run

use std::io::Write;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jisr_demo::DemoOptions;
use jisr_gateway::config::StoreSettings;
use jisr_store::{EncryptionKey, RedisConfig, RedisStore};
use tokio::sync::Semaphore;

mod driver;
use driver::{Site, Target, client, login, targets};

struct Args {
    minutes: f64,
    rate: Option<f64>,
    capacity_secs: u64,
    fraction: f64,
    sample_secs: u64,
    workers: usize,
}

fn args() -> Args {
    let mut args = Args {
        minutes: 30.0,
        rate: None,
        capacity_secs: 20,
        fraction: 0.5,
        sample_secs: 60,
        workers: 32,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| -> f64 {
            it.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name} takes a number"))
        };
        match a.as_str() {
            "--minutes" => args.minutes = value("--minutes"),
            "--rate" => args.rate = Some(value("--rate")),
            "--capacity-secs" => args.capacity_secs = value("--capacity-secs") as u64,
            "--fraction" => args.fraction = value("--fraction"),
            "--sample-secs" => args.sample_secs = value("--sample-secs").max(1.0) as u64,
            "--workers" => args.workers = (value("--workers") as usize).max(1),
            _ => {} // `--bench` and filters from cargo
        }
    }
    args
}

fn runtime(name: &str) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(name)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut b).expect("random");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Resident memory of this process, KiB.
fn vm_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// Keys under `prefix` (SCAN, never KEYS), and optionally deleted.
fn redis_keys(url: &str, prefix: &str, delete: bool) -> redis::RedisResult<usize> {
    let mut conn = redis::Client::open(url)?.get_connection_with_timeout(Duration::from_secs(5))?;
    let mut cursor = 0u64;
    let mut count = 0;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(1000)
            .query(&mut conn)?;
        count += batch.len();
        if delete && !batch.is_empty() {
            redis::cmd("DEL").arg(&batch).query::<u64>(&mut conn)?;
        }
        if next == 0 {
            return Ok(count);
        }
        cursor = next;
    }
}

/// What one soak iteration does: a complete login (and, once the gateway has it, a token
/// exchange of a national ID token).
async fn iteration(
    browser: &reqwest::Client,
    agency: &reqwest::Client,
    site: &Site,
    target: &Target,
) -> Result<(), String> {
    login(browser, agency, site, target).await.map(|_| ())
}

#[derive(Default)]
struct Counters {
    started: AtomicUsize,
    done: AtomicUsize,
    errors: AtomicUsize,
    /// Pacer ticks dropped because every worker was busy and the backlog full.
    missed: AtomicU64,
    latencies: Mutex<Vec<Duration>>,
    first_errors: Mutex<Vec<String>>,
}

/// `workers` workers each taking one start permit per login until `stop`.
fn spawn_workers(
    rt: &tokio::runtime::Runtime,
    workers: usize,
    site: &Arc<Site>,
    targets: &Arc<Vec<Target>>,
    permits: &Arc<Semaphore>,
    counters: &Arc<Counters>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..workers)
        .map(|_| {
            let (site, targets, permits, counters) = (
                site.clone(),
                targets.clone(),
                permits.clone(),
                counters.clone(),
            );
            rt.spawn(async move {
                let (browser, agency) = (client(true), client(false));
                while let Ok(permit) = permits.acquire().await {
                    permit.forget();
                    let i = counters.started.fetch_add(1, Ordering::Relaxed);
                    let target = &targets[i % targets.len()];
                    let t = Instant::now();
                    match iteration(&browser, &agency, &site, target).await {
                        Ok(()) => {
                            counters.latencies.lock().unwrap().push(t.elapsed());
                            counters.done.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => {
                            counters.errors.fetch_add(1, Ordering::Relaxed);
                            let mut first = counters.first_errors.lock().unwrap();
                            if first.len() < 5 {
                                first.push(format!("{} {}: {e}", target.country, target.citizen));
                            }
                        }
                    }
                }
            })
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e3
}

/// Runs as fast as 8 workers go for `secs`; returns logins/s.
fn capacity(
    rt: &tokio::runtime::Runtime,
    site: &Arc<Site>,
    targets: &Arc<Vec<Target>>,
    secs: u64,
) -> (f64, usize) {
    let permits = Arc::new(Semaphore::new(Semaphore::MAX_PERMITS / 2));
    let counters = Arc::new(Counters::default());
    let start = Instant::now();
    let tasks = spawn_workers(rt, 8, site, targets, &permits, &counters);
    std::thread::sleep(Duration::from_secs(secs));
    permits.close();
    for t in tasks {
        let _ = rt.block_on(t);
    }
    let done = counters.done.load(Ordering::Relaxed);
    (
        done as f64 / start.elapsed().as_secs_f64(),
        counters.errors.load(Ordering::Relaxed),
    )
}

fn main() {
    let args = args();
    let redis_url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("jisr-soak:{}:", random_hex(8));
    let mut config = RedisConfig::new(redis_url.clone(), EncryptionKey::generate());
    config.prefix = prefix.clone();

    let idp_rt = runtime("jisr-idp");
    let gateway_rt = runtime("jisr-gw");
    let driver_rt = runtime("jisr-drv");
    // The store's connection lives on the gateway's runtime.
    let store = {
        let _on = gateway_rt.enter();
        Arc::new(RedisStore::new(config.clone()).expect("Redis store"))
    };
    let audit_dir = std::env::temp_dir().join(format!("jisr-soak-audit-{}", std::process::id()));
    let demo = idp_rt
        .block_on(jisr_demo::start(DemoOptions {
            gateway_port: 0,
            agency_port: 0,
            admin_port: 0,
            store: Some(store),
            store_settings: Some(StoreSettings::Redis(config)),
            audit_dir: Some(audit_dir.clone()),
            gateway_runtime: Some(gateway_rt.handle().clone()),
            ..DemoOptions::default()
        }))
        .expect("demo starts");
    let site = Arc::new(Site::new(&demo));
    let targets = Arc::new(targets(DemoOptions::default().agency_country));

    let (capacity, capacity_errors) = capacity(&driver_rt, &site, &targets, args.capacity_secs);
    let rate = args.rate.unwrap_or(capacity * args.fraction).max(0.1);
    println!(
        "jisr soak: Redis store (prefix {prefix}), {} cores; capacity {capacity:.0} logins/s \
         ({} s, 8 workers, {capacity_errors} errors); soak at {rate:.0} logins/s for {} min, \
         {} workers, a sample every {} s",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        args.capacity_secs,
        args.minutes,
        args.workers,
        args.sample_secs
    );

    let counters = Arc::new(Counters::default());
    let permits = Arc::new(Semaphore::new(0));
    let workers = spawn_workers(
        &driver_rt,
        args.workers,
        &site,
        &targets,
        &permits,
        &counters,
    );
    let pacer = {
        let (permits, counters) = (permits.clone(), counters.clone());
        let backlog = args.workers * 4;
        driver_rt.spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            loop {
                tick.tick().await;
                if permits.available_permits() < backlog {
                    permits.add_permits(1);
                } else {
                    counters.missed.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };

    println!();
    println!(
        "| minute | VmRSS MiB | open fds | Redis keys | logins | errors | p50 ms | p99 ms | missed starts |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let start = Instant::now();
    let total = Duration::from_secs_f64(args.minutes * 60.0);
    let mut rows = Vec::new();
    let (mut last_done, mut last_errors, mut last_missed) = (0, 0, 0);
    while start.elapsed() < total {
        let next = Duration::from_secs(args.sample_secs * (rows.len() as u64 + 1));
        std::thread::sleep(next.min(total).saturating_sub(start.elapsed()));
        let mut window = std::mem::take(&mut *counters.latencies.lock().unwrap());
        window.sort();
        let (done, errors, missed) = (
            counters.done.load(Ordering::Relaxed),
            counters.errors.load(Ordering::Relaxed),
            counters.missed.load(Ordering::Relaxed),
        );
        let keys = redis_keys(&redis_url, &prefix, false).map_or(-1, |n| n as i64);
        let row = (
            start.elapsed().as_secs_f64() / 60.0,
            vm_rss_kib() as f64 / 1024.0,
            open_fds(),
            keys,
            done - last_done,
            errors - last_errors,
            percentile(&window, 0.5),
            percentile(&window, 0.99),
            missed - last_missed,
        );
        (last_done, last_errors, last_missed) = (done, errors, missed);
        println!(
            "| {:.1} | {:.1} | {} | {} | {} | {} | {:.1} | {:.1} | {} |",
            row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7, row.8
        );
        let _ = std::io::stdout().flush();
        rows.push(row);
    }
    pacer.abort();
    permits.close();
    for w in workers {
        let _ = driver_rt.block_on(w);
    }
    let elapsed = start.elapsed().as_secs_f64();
    drop(demo);
    let deleted = redis_keys(&redis_url, &prefix, true).unwrap_or(0);
    let _ = std::fs::remove_dir_all(&audit_dir);

    let done = counters.done.load(Ordering::Relaxed);
    let errors = counters.errors.load(Ordering::Relaxed);
    println!();
    println!(
        "{done} logins in {:.1} min ({:.1}/s, target {rate:.1}/s), {errors} errors, {} missed \
         starts; {deleted} keys removed under {prefix}",
        elapsed / 60.0,
        done as f64 / elapsed,
        counters.missed.load(Ordering::Relaxed),
    );
    // Flat after warm-up: from the sample a fifth of the way in (at least the second) to the last.
    if rows.len() >= 2 {
        let from = &rows[(rows.len() / 5).clamp(1, rows.len() - 1)];
        let last = &rows[rows.len() - 1];
        println!(
            "after warm-up (minute {:.1} → {:.1}): VmRSS {:+.1} MiB, open fds {:+}, Redis keys {:+}",
            from.0,
            last.0,
            last.1 - from.1,
            last.2 as i64 - from.2 as i64,
            last.3 - from.3,
        );
    }
    for e in counters.first_errors.lock().unwrap().iter() {
        println!("error: {e}");
    }
    if errors > 0 {
        std::process::exit(1);
    }
}
