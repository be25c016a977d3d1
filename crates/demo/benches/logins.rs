//! Load benchmark: complete cross-border logins through the gateway on loopback, against the
//! release build, reporting logins per second and the gateway's CPU time per login beside the
//! bare cost of the cryptography a login needs, measured in the same process in the same run.
//!
//! One login is what a browser and an agency do (as `tests/e2e/downstream.rs` does it; the
//! driver is `benches/driver`, shared with the soak):
//! GET /authorize (picker) → POST /login/country → GET the national IdP's /authorize with a
//! `login_hint` → GET the gateway's /callback/<cc> (consent page) → POST /consent allow →
//! POST /token (client_secret_basic, PKCE) → GET /userinfo. Citizens rotate over the five
//! origin countries so every upstream flavour occurs (SA RS256, OM PS256, KW EdDSA, QA ES256,
//! AE OAuth 2.0 + userinfo without an ID token).
//!
//! Three tokio runtimes with named threads keep the CPU apart: `jisr-gw` runs only the
//! gateway's server (and its calls to the IdPs), `jisr-idp` the development IdPs and the demo
//! agency, `jisr-drv` the load driver. CPU per thread comes from `/proc/self/task/*/schedstat`.
//!
//! `cargo bench -p jisr-demo --bench logins [-- --logins 2000 --workers 8 --scrape-ms 0]`
//!
//! The gateway writes its audit log (to a temporary directory, removed at the end) and counts
//! its metrics, as in production.
//!
//! What the operators' features cost: `benches/ops-off.patch` switches them off for a second
//! build, compared with `--no-audit` (docs/performance.md, "The same code with the operators'
//! features switched off").
//!
//! `--scrape-ms N` (N > 0) also has an operator's tools read the admin listener every N ms
//! during the measured run (`/metrics` and `/readyz`, as Prometheus and a load balancer
//! would), to show what watching the gateway costs the logins.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, KeyPair, ParsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jisr_demo::DemoOptions;
use jisr_gateway::provider::keys::{SigningAlg, SigningKeys};
use jisr_mapping::Gcc;
use serde_json::Value;

mod driver;
use driver::{Site, Target, client, login, targets};

const GATEWAY_THREADS: &str = "jisr-gw";
const IDP_THREADS: &str = "jisr-idp";
const DRIVER_THREADS: &str = "jisr-drv";
/// The whole measured run stops by itself after this, finished or not.
const TIME_LIMIT: Duration = Duration::from_secs(180);
/// How long each baseline primitive runs (thread CPU time is read from schedstat, which a
/// running thread updates once per tick, so the window must be long against a tick).
const BASELINE_WINDOW: Duration = Duration::from_millis(400);

struct Args {
    logins: usize,
    workers: usize,
    warmup: usize,
    scrape_ms: usize,
    /// `--no-audit`: without the audit log, to see what it costs.
    audit: bool,
}

fn args() -> Args {
    let mut args = Args {
        logins: 2000,
        workers: 8,
        warmup: 300,
        scrape_ms: 0,
        audit: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| -> usize {
            it.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name} takes a number"))
        };
        match a.as_str() {
            "--logins" => args.logins = value("--logins"),
            "--workers" => args.workers = value("--workers").max(1),
            "--warmup" => args.warmup = value("--warmup"),
            "--scrape-ms" => args.scrape_ms = value("--scrape-ms"),
            "--no-audit" => args.audit = false,
            _ => {} // `--bench` and filters from cargo
        }
    }
    args
}

fn runtime(name: &str) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(name)
        // Blocking-pool threads that exit between two readings would take their CPU with them.
        .thread_keep_alive(Duration::from_secs(3600))
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// CPU of this process's threads by thread name: (ns on CPU, user ticks, system ticks).
fn cpu_by_thread_name() -> HashMap<String, (u64, u64, u64)> {
    let mut by_name: HashMap<String, (u64, u64, u64)> = HashMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return by_name;
    };
    for task in tasks.flatten() {
        let dir = task.path();
        let Ok(comm) = std::fs::read_to_string(dir.join("comm")) else {
            continue;
        };
        let (user, system) = task_ticks(&dir);
        let e = by_name.entry(comm.trim().to_owned()).or_default();
        e.0 += task_cpu_ns(&dir);
        e.1 += user;
        e.2 += system;
    }
    by_name
}

/// utime and stime from `stat`, in clock ticks (USER_HZ, 100 on Linux).
fn task_ticks(dir: &std::path::Path) -> (u64, u64) {
    let Ok(stat) = std::fs::read_to_string(dir.join("stat")) else {
        return (0, 0);
    };
    // Fields after the `(comm)`: state is field 3, utime 14 and stime 15.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (ticks(11), ticks(12))
}

/// The first field of `schedstat` (time on CPU, ns); without it, utime + stime from `stat`.
fn task_cpu_ns(dir: &std::path::Path) -> u64 {
    if let Some(ns) = std::fs::read_to_string(dir.join("schedstat"))
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
    {
        return ns;
    }
    let (user, system) = task_ticks(dir);
    (user + system) * 10_000_000
}

/// CPU of the calling thread, ns.
fn own_cpu_ns() -> u64 {
    task_cpu_ns(std::path::Path::new("/proc/thread-self"))
}

/// CPU per run of `op` on this thread, in µs.
fn cpu_us_per_op(mut op: impl FnMut()) -> f64 {
    for _ in 0..20 {
        op();
    }
    let (cpu, wall) = (own_cpu_ns(), Instant::now());
    let mut n = 0u64;
    while wall.elapsed() < BASELINE_WINDOW {
        for _ in 0..10 {
            op();
        }
        n += 10;
    }
    (own_cpu_ns() - cpu) as f64 / n as f64 / 1000.0
}

#[derive(Clone, Copy, Default)]
struct Roles {
    gateway: u64,
    /// The gateway's user and system time, in ticks.
    gateway_user: u64,
    gateway_system: u64,
    idps: u64,
    driver: u64,
}

fn roles() -> Roles {
    let mut r = Roles::default();
    for (name, (ns, user, system)) in cpu_by_thread_name() {
        if name.starts_with(GATEWAY_THREADS) {
            r.gateway += ns;
            r.gateway_user += user;
            r.gateway_system += system;
        } else if name.starts_with(IDP_THREADS) {
            r.idps += ns;
        } else {
            r.driver += ns; // the driver runtime and the main thread waiting on it
        }
    }
    r
}

static SCRAPES: AtomicUsize = AtomicUsize::new(0);

/// An operator's tools reading the admin listener every `every` until aborted.
async fn scrape(admin: String, every: Duration) {
    let http = client(false);
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        for path in ["/metrics", "/readyz"] {
            let r = http.get(format!("{admin}{path}")).send().await;
            if let Ok(r) = r {
                let _ = r.bytes().await;
                SCRAPES.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}
struct Outcome {
    logins: usize,
    wall: Duration,
    latencies: Vec<Duration>,
    id_token: String,
}

/// `workers` browsers (each with its own cookie jar) and agency back ends doing `total`
/// logins between them, round-robin over `targets`; stops at `TIME_LIMIT` regardless.
async fn load(site: Arc<Site>, targets: Arc<Vec<Target>>, total: usize, workers: usize) -> Outcome {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = start + TIME_LIMIT;
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let (site, targets, next) = (site.clone(), targets.clone(), next.clone());
            tokio::spawn(async move {
                let (browser, agency) = (client(true), client(false));
                let mut latencies = Vec::new();
                let mut id_token = String::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total || Instant::now() > deadline {
                        return Ok::<_, String>((latencies, id_token));
                    }
                    let target = &targets[i % targets.len()];
                    let t = Instant::now();
                    id_token = login(&browser, &agency, &site, target)
                        .await
                        .map_err(|e| format!("{} {}: {e}", target.country, target.citizen))?;
                    latencies.push(t.elapsed());
                }
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut id_token = String::new();
    for task in tasks {
        match task.await.expect("worker panicked") {
            Ok((l, t)) => {
                latencies.extend(l);
                if !t.is_empty() {
                    id_token = t;
                }
            }
            Err(e) => panic!("login failed: {e}"),
        }
    }
    Outcome {
        logins: latencies.len(),
        wall: start.elapsed(),
        latencies,
        id_token,
    }
}

/// `total` GETs of the gateway's `/jwks` (a cached JSON document) from `workers` clients:
/// the floor of one HTTP exchange with the gateway.
async fn trivial_requests(site: Arc<Site>, total: usize, workers: usize) -> usize {
    let next = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + TIME_LIMIT;
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let (site, next) = (site.clone(), next.clone());
            tokio::spawn(async move {
                let http = client(false);
                let mut done = 0;
                while next.fetch_add(1, Ordering::Relaxed) < total && Instant::now() < deadline {
                    let r = http
                        .get(format!("{}/jwks", site.gateway))
                        .send()
                        .await
                        .expect("GET /jwks");
                    assert_eq!(r.status(), 200, "GET /jwks");
                    r.bytes().await.expect("GET /jwks body");
                    done += 1;
                }
                done
            })
        })
        .collect();
    let mut done = 0;
    for task in tasks {
        done += task.await.expect("worker panicked");
    }
    done
}

/// The bare cryptography of one login, µs of this thread's CPU.
struct Baseline {
    /// The gateway's ID token: `SigningKeys::sign` (ES256) of a real ID token's claims.
    gateway_sign: f64,
    /// The ECDSA P-256 signature alone, over the same signing input.
    raw_es256_sign: f64,
    /// Raw aws-lc-rs verification (key pre-parsed) of a 1.3 KB signing input, per upstream alg.
    verify: Vec<(&'static str, f64)>,
}

struct Verifier {
    name: &'static str,
    key: ParsedPublicKey,
    signature: Vec<u8>,
}

fn verifiers(input: &[u8]) -> Vec<Verifier> {
    let rng = SystemRandom::new();
    let rsa = |padding: &'static dyn signature::RsaEncoding,
               verify: &'static dyn signature::VerificationAlgorithm,
               name| {
        let pair = signature::RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA key");
        let mut sig = vec![0u8; pair.public_modulus_len()];
        pair.sign(padding, &rng, input, &mut sig).expect("RSA sign");
        let der = pair.public_key().as_ref().to_vec();
        Verifier {
            name,
            key: ParsedPublicKey::new(verify, der).expect("RSA public key"),
            signature: sig,
        }
    };
    let ec = signature::EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
        .expect("EC key");
    let ed = signature::Ed25519KeyPair::generate().expect("Ed25519 key");
    vec![
        rsa(
            &signature::RSA_PKCS1_SHA256,
            &signature::RSA_PKCS1_2048_8192_SHA256,
            "RS256",
        ),
        rsa(
            &signature::RSA_PSS_SHA256,
            &signature::RSA_PSS_2048_8192_SHA256,
            "PS256",
        ),
        Verifier {
            name: "ES256",
            key: ParsedPublicKey::new(
                &signature::ECDSA_P256_SHA256_FIXED,
                ec.public_key().as_ref(),
            )
            .expect("EC public key"),
            signature: ec.sign(&rng, input).expect("sign").as_ref().to_vec(),
        },
        Verifier {
            name: "EdDSA",
            key: ParsedPublicKey::new(&signature::ED25519, ed.public_key().as_ref())
                .expect("Ed25519 public key"),
            signature: ed.sign(input).as_ref().to_vec(),
        },
    ]
}

fn baseline(id_token: &str) -> Baseline {
    let claims: Value = id_token
        .split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .expect("the gateway's ID token has JSON claims");
    let keys = SigningKeys::generate(SigningAlg::ES256).expect("ES256 key");
    let gateway_sign = cpu_us_per_op(|| {
        std::hint::black_box(keys.sign("JWT", &claims).expect("sign"));
    });
    let input = id_token
        .rsplit_once('.')
        .map_or(id_token, |(input, _)| input)
        .as_bytes();
    let rng = SystemRandom::new();
    let ec = signature::EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
        .expect("EC key");
    let raw_es256_sign = cpu_us_per_op(|| {
        std::hint::black_box(ec.sign(&rng, input).expect("sign"));
    });
    // A national ID token's signing input is about 1.3 KB (see the verify benchmark).
    let national = vec![b'a'; 1300];
    let verify = verifiers(&national)
        .into_iter()
        .map(|v| {
            assert!(
                v.key.verify_sig(&national, &v.signature).is_ok(),
                "{}",
                v.name
            );
            let us = cpu_us_per_op(|| {
                assert!(
                    v.key
                        .verify_sig(std::hint::black_box(&national), &v.signature)
                        .is_ok()
                );
            });
            (v.name, us)
        })
        .collect();
    Baseline {
        gateway_sign,
        raw_es256_sign,
        verify,
    }
}

impl Baseline {
    /// Verification per login over the rotation: SA RS256, OM PS256, KW EdDSA, QA ES256, and
    /// none for AE (OAuth 2.0 + userinfo, no ID token).
    fn verify_per_login(&self, targets: &[Target]) -> f64 {
        let cost = |alg: &str| {
            self.verify
                .iter()
                .find(|(n, _)| *n == alg)
                .map_or(0.0, |(_, us)| *us)
        };
        let total: f64 = targets
            .iter()
            .map(|t| match t.country.gcc() {
                Some(Gcc::SaudiArabia) => cost("RS256"),
                Some(Gcc::Oman) => cost("PS256"),
                Some(Gcc::Kuwait) => cost("EdDSA"),
                Some(Gcc::UnitedArabEmirates) => 0.0,
                _ => cost("ES256"),
            })
            .sum();
        total / targets.len() as f64
    }

    fn per_login(&self, targets: &[Target]) -> f64 {
        self.gateway_sign + self.verify_per_login(targets)
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let args = args();
    let idp_rt = runtime(IDP_THREADS);
    let gateway_rt = runtime(GATEWAY_THREADS);
    let driver_rt = runtime(DRIVER_THREADS);

    // The audit log is on, as in production: every login writes its records to files.
    let audit_dir = std::env::temp_dir().join(format!("jisr-bench-audit-{}", std::process::id()));
    let demo = idp_rt
        .block_on(jisr_demo::start(DemoOptions {
            gateway_port: 0,
            agency_port: 0,
            admin_port: 0,
            audit_dir: args.audit.then(|| audit_dir.clone()),
            // Limits on, as in production, but far above what one load driver on one
            // address sends: every request is counted and none refused.
            rate_limits: jisr_demo::bench_rate_limits(),
            gateway_runtime: Some(gateway_rt.handle().clone()),
            ..DemoOptions::default()
        }))
        .expect("demo starts");
    let site = Arc::new(Site::new(&demo));
    let targets = Arc::new(targets(DemoOptions::default().agency_country));
    println!(
        "jisr logins benchmark: {} logins, {} workers, {} citizens in rotation ({} cores)",
        args.logins,
        args.workers,
        targets.len(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let warm = driver_rt.block_on(load(
        site.clone(),
        targets.clone(),
        args.warmup.max(targets.len()),
        args.workers,
    ));
    let before = baseline(&warm.id_token);

    let idle = roles();
    std::thread::sleep(Duration::from_millis(500));
    let idle_gateway_us = (roles().gateway - idle.gateway) as f64 / 1000.0;

    let scraping = (args.scrape_ms > 0).then(|| {
        let (admin, every) = (
            demo.admin_url.clone(),
            Duration::from_millis(args.scrape_ms as u64),
        );
        driver_rt.spawn(scrape(admin, every))
    });
    let cpu0 = roles();
    let mut run = driver_rt.block_on(load(
        site.clone(),
        targets.clone(),
        args.logins,
        args.workers,
    ));
    let cpu1 = roles();
    let scrapes = scraping.map(|task| {
        task.abort();
        SCRAPES.load(Ordering::Relaxed)
    });
    let after = baseline(&run.id_token);
    let trivial0 = roles();
    let trivial = driver_rt.block_on(trivial_requests(
        site.clone(),
        args.logins * 4,
        args.workers,
    ));
    let trivial_us = (roles().gateway - trivial0.gateway) as f64 / 1000.0 / trivial as f64;
    drop(demo);
    let _ = std::fs::remove_dir_all(&audit_dir);

    let n = run.logins as f64;
    let per = |a: u64, b: u64| (b - a) as f64 / 1000.0 / n;
    let gateway = per(cpu0.gateway, cpu1.gateway);
    let idps = per(cpu0.idps, cpu1.idps);
    let driver = per(cpu0.driver, cpu1.driver);
    let wall = run.wall.as_secs_f64();
    run.latencies.sort();

    let base = [before.per_login(&targets), after.per_login(&targets)];
    let base_mean = (base[0] + base[1]) / 2.0;
    println!();
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| complete logins | {} in {wall:.2} s (warm-up {} before) |",
        run.logins, warm.logins
    );
    println!("| logins/s (wall) | {:.0} |", n / wall);
    println!(
        "| login latency p50 / p99 | {:.1} ms / {:.1} ms |",
        percentile(&run.latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&run.latencies, 0.99).as_secs_f64() * 1e3
    );
    println!(
        "| **gateway CPU per login** | **{gateway:.0} µs** = {:.1} × baseline |",
        gateway / base_mean
    );
    let (user, system) = (
        cpu1.gateway_user - cpu0.gateway_user,
        cpu1.gateway_system - cpu0.gateway_system,
    );
    println!(
        "| gateway user / system time | {:.0}% / {:.0}% |",
        100.0 * user as f64 / (user + system).max(1) as f64,
        100.0 * system as f64 / (user + system).max(1) as f64
    );
    println!(
        "| gateway CPU per trivial request (GET /jwks, {trivial} requests) | {trivial_us:.1} µs; a login costs {:.1} of them |",
        gateway / trivial_us
    );
    println!("| national IdPs + demo agency CPU per login | {idps:.0} µs |");
    println!("| driver (browsers + agency) CPU per login | {driver:.0} µs |");
    println!(
        "| process CPU per login (all threads) | {:.0} µs |",
        gateway + idps + driver
    );
    println!("| gateway CPU while idle, 0.5 s | {idle_gateway_us:.0} µs |");
    if let Some(n) = scrapes {
        println!(
            "| operators' reads during the run (`/metrics` + `/readyz` every {} ms) | {n} |",
            args.scrape_ms
        );
    }
    println!();
    println!("| baseline (this thread's CPU, µs) | before | after |");
    println!("|---|---|---|");
    println!(
        "| ES256 ID token, `SigningKeys::sign` | {:.1} | {:.1} |",
        before.gateway_sign, after.gateway_sign
    );
    println!(
        "| ES256 signature alone (aws-lc-rs) | {:.1} | {:.1} |",
        before.raw_es256_sign, after.raw_es256_sign
    );
    for ((alg, b), (_, a)) in before.verify.iter().zip(&after.verify) {
        println!("| {alg} verify, raw aws-lc-rs, 1.3 KB | {b:.1} | {a:.1} |");
    }
    println!(
        "| upstream verify per login (rotation mean) | {:.1} | {:.1} |",
        before.verify_per_login(&targets),
        after.verify_per_login(&targets)
    );
    println!(
        "| **baseline per login** (sign + verify) | **{:.1}** | **{:.1}** |",
        base[0], base[1]
    );
    println!();
    println!(
        "gateway CPU per login = {gateway:.0} µs = {:.1} × the bare signing + verification cost ({base_mean:.1} µs); target < 300 µs: {}",
        gateway / base_mean,
        if gateway < 300.0 { "met" } else { "NOT met" }
    );
}
