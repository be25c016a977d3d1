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
//! Each iteration is a complete login followed by a token exchange (RFC 8693): a national ID
//! token minted at the same origin's development IdP (its real authorize and token
//! endpoints) is exchanged at the gateway's `/token` by a second Bahraini agency registered
//! for it, so the soak covers both paths and the replay records the exchange leaves in Redis.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: a failed unwrap is a failed run

use std::io::Write;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use std::collections::HashMap;

use jisr_demo::DemoOptions;
use jisr_gateway::app::Gateway;
use jisr_gateway::config::StoreSettings;
use jisr_gateway::config::agencies::{Agency, AgencyAuth, BackChannel, Secret};
use jisr_gateway::config::gateway::session::SessionConfig;
use jisr_gateway::upstream::config::ClientAuth;
use jisr_mapping::{CountryCode, Gcc, Policy};
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

/// The agency that exchanges national ID tokens in the soak (Bahrain, another sector than
/// the demo agency's), `client_secret_basic`.
const EXCHANGER: &str = "soak-exchange-agency";
const EXCHANGER_SECRET: &str = "soak-exchange-secret-0123456789abcdef";
const LEGAL_BASIS: &str = "gcc-soak-2026";
const GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";

/// The exchanging agency: for every origin, national ID tokens issued to the gateway's own
/// client at that IdP (`jisr`), which is what the soak can mint without another client.
fn exchanger() -> Agency {
    Agency {
        client_id: EXCHANGER.into(),
        name_en: "Soak exchange agency".into(),
        name_ar: "جهة اختبار التبادل".into(),
        country: Gcc::Bahrain.code(),
        sector: "border".into(),
        redirect_uris: vec!["http://127.0.0.1:9/soak/callback".into()],
        auth: AgencyAuth::ClientSecretBasic(Secret::new(EXCHANGER_SECRET)),
        id_token_signed_response_alg: None,
        notice: Default::default(),
        logout: Default::default(),
        back_channel: BackChannel {
            exchange_audiences: Gcc::ALL
                .iter()
                .map(|g| (g.code(), vec!["jisr".to_owned()]))
                .collect(),
            legal_basis: Some(LEGAL_BASIS.into()),
            introspection_for: Vec::new(),
        },
    }
}

/// The shipped policy with the soak's legal basis accepted for exchange wherever a pair is
/// allowed (every allowed rule of it asks for consent).
fn policy() -> Policy {
    let shipped = include_str!("../../../config/policy.toml");
    let text = shipped.replace(
        "\nconsent = true\n",
        &format!("\nconsent = true\nexchange_legal_bases = [\"{LEGAL_BASIS}\"]\n"),
    );
    Policy::from_toml("policy.toml", &text).expect("the soak's policy")
}

/// What minting a national ID token at each origin's IdP takes, and where to exchange it.
struct Exchange {
    gateway: Arc<Gateway>,
    token_url: String,
    idp_token: HashMap<CountryCode, String>,
}

impl Exchange {
    fn new(demo: &jisr_demo::Demo) -> Self {
        Exchange {
            gateway: demo.gateway.clone(),
            token_url: format!("{}/token", demo.gateway_url),
            idp_token: demo
                .idps
                .iter()
                .map(|(c, idp)| (*c, idp.url("/token")))
                .collect(),
        }
    }

    /// A fresh national ID token of `target` (a real login at its IdP: authorize with a
    /// `login_hint`, then the code at its token endpoint), exchanged at the gateway.
    async fn run(&self, client: &reqwest::Client, target: &Target) -> Result<(), String> {
        let up = self
            .gateway
            .upstreams
            .get(target.country)
            .ok_or("no upstream")?;
        // An ID token alone cannot be mapped where the profile needs userinfo (the gateway
        // refuses such an exchange, as documented): nothing to exchange for that origin.
        if up.config.userinfo || jisr_devidp::claims::oauth2_only(target.country) {
            return Ok(());
        }
        let strongest = jisr_devidp::claims::acr_values(target.country)
            .last()
            .copied();
        let (url, pending) = up
            .begin(strongest, Some("en"))
            .map_err(|e| format!("exchange: begin: {e}"))?;
        let r = client
            .get(format!("{url}&login_hint={}", target.citizen))
            .send()
            .await
            .map_err(|e| format!("exchange: IdP authorize: {e}"))?;
        let code = r
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .and_then(|l| url::Url::parse(l).ok())
            .and_then(|l| {
                l.query_pairs()
                    .find(|(k, _)| k == "code")
                    .map(|(_, v)| v.into_owned())
            })
            .ok_or("exchange: no code from the IdP")?;
        let ClientAuth::SecretBasic(secret) = &up.config.client_auth else {
            return Err("the demo's IdPs use client_secret_basic".into());
        };
        let minted: serde_json::Value = client
            .post(&self.idp_token[&target.country])
            .basic_auth(&up.config.client_id, Some(secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", &up.config.redirect_uri),
                ("code_verifier", &pending.pkce_verifier),
            ])
            .send()
            .await
            .map_err(|e| format!("exchange: IdP token: {e}"))?
            .json()
            .await
            .map_err(|e| format!("exchange: IdP token body: {e}"))?;
        let national = minted["id_token"]
            .as_str()
            .ok_or("exchange: no national ID token")?;
        let r = client
            .post(&self.token_url)
            .basic_auth(EXCHANGER, Some(EXCHANGER_SECRET))
            .form(&[
                ("grant_type", GRANT),
                ("subject_token", national),
                ("subject_token_type", ID_TOKEN),
            ])
            .send()
            .await
            .map_err(|e| format!("exchange: {e}"))?;
        let status = r.status();
        let body: serde_json::Value = r.json().await.map_err(|e| format!("exchange: body: {e}"))?;
        if status != 200 || body["access_token"].as_str().is_none() {
            return Err(format!(
                "exchange: {status} {}: {}",
                body["error"], body["error_description"]
            ));
        }
        Ok(())
    }
}

/// What the workers share: the demo's login side and its exchange side.
struct Soak {
    site: Site,
    exchange: Exchange,
}

/// What one soak iteration does: a complete login, then a token exchange of a national ID
/// token of the same citizen where the origin's profile maps from the ID token alone (SA,
/// KW, QA: Oman's names come from userinfo, and UAE PASS issues no ID token).
async fn iteration(
    browser: &reqwest::Client,
    agency: &reqwest::Client,
    site: &Site,
    exchange: &Exchange,
    target: &Target,
) -> Result<(), String> {
    login(browser, agency, site, target).await?;
    exchange.run(agency, target).await
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
    site: &Arc<Soak>,
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
                    match iteration(&browser, &agency, &site.site, &site.exchange, target).await {
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
    site: &Arc<Soak>,
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
            // Limits on, as in production, but far above what one load driver on one
            // address sends: every request is counted and none refused.
            rate_limits: jisr_demo::bench_rate_limits(),
            gateway_runtime: Some(gateway_rt.handle().clone()),
            extra_agencies: vec![exchanger()],
            policy: Some(policy()),
            // Sessions end after a minute unused (the shortest `[session]` allows): with
            // every national token and access token gone after 5 minutes, the state in Redis
            // is flat from then on rather than after the default 30-minute idle end.
            session: SessionConfig {
                idle_secs: 60,
                absolute_secs: 300,
            },
            ..DemoOptions::default()
        }))
        .expect("demo starts");
    let site = Arc::new(Soak {
        site: Site::new(&demo),
        exchange: Exchange::new(&demo),
    });
    let targets = Arc::new(targets(DemoOptions::default().agency_country));

    let (capacity, capacity_errors) = capacity(&driver_rt, &site, &targets, args.capacity_secs);
    let rate = args.rate.unwrap_or(capacity * args.fraction).max(0.1);
    println!(
        "jisr soak: Redis store (prefix {prefix}), {} cores; capacity {capacity:.0} iterations/s \
         ({} s, 8 workers, {capacity_errors} errors); soak at {rate:.0} iterations/s (login + exchange) for {} min, \
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
        "| minute | VmRSS MiB | open fds | Redis keys | iterations | errors | p50 ms | p99 ms | missed starts |"
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
        "{done} iterations (login + exchange) in {:.1} min ({:.1}/s, target {rate:.1}/s), {errors} errors, {} missed \
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
