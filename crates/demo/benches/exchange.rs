//! Load benchmark: RFC 8693 token exchange at the gateway's `/token` over HTTP on loopback,
//! against the release build, reporting exchanges per second and the gateway's CPU time per
//! exchange beside the raw limit measured in the same process in the same run: one national
//! signature verification (aws-lc-rs, key pre-parsed) plus one gateway ES256 signature, per
//! second on the same cores.
//!
//! National ID tokens are minted before the measured window by the development IdPs (SA signs
//! RS256, QA ES256) through their real login and token endpoints, one distinct token per
//! exchange (the gateway refuses a token twice per agency). Workers reuse their HTTP
//! connection (keep-alive); each exchange asks for the signed assertion (`requested_token_type`
//! absent: a JWT signed by the gateway).
//!
//! Three tokio runtimes with named threads keep the CPU apart: `jisr-gw` runs only the
//! gateway's server, `jisr-idp` the development IdPs, `jisr-drv` the load driver. CPU per
//! thread comes from `/proc/self/task/*/schedstat`.
//!
//! `cargo bench -p jisr-demo --bench exchange [-- --exchanges 4000 --workers 16 --redis]`
//!
//! After the table, what stands in the way of the raw limit, measured the same way: a trivial
//! request (`GET /jwks`) and an exchange refused before any signature work (a malformed
//! `subject_token`: HTTP, client authentication, form parsing, the error), so the ceiling that
//! HTTP alone leaves is in the same run. Then bad input under load: SA's valid exchanges
//! measured again while 64 workers flood the gateway with SA tokens naming unknown `kid`s
//! (JWKS fetches counted), and while QA's IdP hangs (every answer 5 s late) and QA tokens with
//! unknown `kid`s keep sending the gateway to it.
//!
//! `--redis`: the gateway's store (and so the replay check) on the shared Redis
//! (`REDIS_URL`, default `redis://127.0.0.1:6379`) under a random key prefix, removed at the end.
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
use jisr_demo::{Demo, DemoOptions};
use jisr_gateway::config::agencies::{Agency, AgencyAuth, BackChannel, Secret};
use jisr_gateway::provider::keys::{SigningAlg, SigningKeys};
use jisr_gateway::upstream::config::ClientAuth;
use jisr_mapping::{CountryCode, Policy};
use jisr_store::{EncryptionKey, RedisConfig, RedisStore, Store};
use serde_json::{Value, json};

/// The exchanging agency (Bahrain), `client_secret_basic`, registered for SA's and QA's
/// national app tokens under a legal basis the policy accepts.
const AGENCY: &str = "bench-exchange-agency";
const SECRET: &str = "bench-exchange-secret-0123456789abcdef";
const LEGAL_BASIS: &str = "gcc-border-2026";
const GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
const COUNTRIES: [(&str, &str); 2] = [("SA", "RS256"), ("QA", "ES256")];

const GATEWAY_THREADS: &str = "jisr-gw";
const IDP_THREADS: &str = "jisr-idp";
const DRIVER_THREADS: &str = "jisr-drv";
/// How long each raw primitive runs (schedstat is updated once per tick: long against a tick).
const BASELINE_WINDOW: Duration = Duration::from_millis(400);

struct Args {
    exchanges: usize,
    workers: usize,
    warmup: usize,
    redis: bool,
}

fn args() -> Args {
    let mut args = Args {
        exchanges: 4000,
        workers: 16,
        warmup: 300,
        redis: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| -> usize {
            it.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name} takes a number"))
        };
        match a.as_str() {
            "--exchanges" => args.exchanges = value("--exchanges").max(1),
            "--workers" => args.workers = value("--workers").max(1),
            "--warmup" => args.warmup = value("--warmup"),
            "--redis" => args.redis = true,
            _ => {} // `--bench` and filters from cargo
        }
    }
    args
}

fn runtime(name: &str) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(name)
        .thread_keep_alive(Duration::from_secs(3600))
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Time on CPU (ns) of a task directory's thread, from `schedstat`.
fn task_cpu_ns(dir: &std::path::Path) -> u64 {
    std::fs::read_to_string(dir.join("schedstat"))
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// CPU (ns) of this process's threads by name prefix.
fn cpu_by_role() -> HashMap<&'static str, u64> {
    let mut by_role = HashMap::new();
    for task in std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
    {
        let dir = task.path();
        let Ok(comm) = std::fs::read_to_string(dir.join("comm")) else {
            continue;
        };
        let role = [GATEWAY_THREADS, IDP_THREADS]
            .into_iter()
            .find(|r| comm.starts_with(r))
            .unwrap_or(DRIVER_THREADS);
        *by_role.entry(role).or_default() += task_cpu_ns(&dir);
    }
    by_role
}

/// CPU per run of `op` on this thread, in µs.
fn cpu_us_per_op(mut op: impl FnMut()) -> f64 {
    for _ in 0..20 {
        op();
    }
    let here = std::path::Path::new("/proc/thread-self");
    let (cpu, wall) = (task_cpu_ns(here), Instant::now());
    let mut n = 0u64;
    while wall.elapsed() < BASELINE_WINDOW {
        for _ in 0..10 {
            op();
        }
        n += 10;
    }
    (task_cpu_ns(here) - cpu) as f64 / n as f64 / 1000.0
}

fn cc(s: &str) -> CountryCode {
    s.parse().unwrap()
}

/// The national app's client id at `country`'s IdP.
fn national_app(country: &str) -> String {
    format!("{}-mobile-app", country.to_ascii_lowercase())
}

fn agency() -> Agency {
    Agency {
        client_id: AGENCY.into(),
        name_en: "Exchange benchmark agency".into(),
        name_ar: "جهة قياس التبادل".into(),
        country: cc("BH"),
        sector: "border".into(),
        redirect_uris: vec!["http://127.0.0.1:9/bench/callback".into()],
        auth: AgencyAuth::ClientSecretBasic(Secret::new(SECRET)),
        id_token_signed_response_alg: None,
        notice: Default::default(),
        logout: Default::default(),
        back_channel: BackChannel {
            exchange_audiences: COUNTRIES
                .iter()
                .map(|(c, _)| (cc(c), vec![national_app(c)]))
                .collect(),
            legal_basis: Some(LEGAL_BASIS.into()),
            introspection_for: Vec::new(),
        },
    }
}

fn policy() -> Policy {
    Policy::from_toml(
        "policy.toml",
        &format!(
            r#"
[[rule]]
origin = "*"
destination = "*"
min_loa = "substantial"
identifier = "pairwise"
consent = true
release = ["nationalities"]
exchange_legal_bases = ["{LEGAL_BASIS}"]
"#
        ),
    )
    .unwrap()
}

/// One national ID token of `country`'s development IdP for its national app: a real login
/// at the IdP (authorize with a `login_hint`, then the code at its token endpoint).
async fn national_token(demo: &Demo, country: &str, browser: &reqwest::Client) -> String {
    let idp = demo.idp(cc(country)).unwrap();
    let up = demo.gateway.upstreams.get(cc(country)).unwrap();
    let strongest = jisr_devidp::claims::acr_values(cc(country))
        .last()
        .copied()
        .unwrap_or("");
    let (url, pending) = up.begin(Some(strongest), Some("en")).unwrap();
    let citizen = jisr_devidp::citizens(cc(country))[0].id;
    let redirect = browser
        .get(format!("{url}&login_hint={citizen}"))
        .send()
        .await
        .unwrap();
    let location = redirect.headers()["location"].to_str().unwrap().to_owned();
    let code = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code from the IdP");
    let ClientAuth::SecretBasic(secret) = &up.config.client_auth else {
        panic!("the demo's IdPs use client_secret_basic");
    };
    let response: Value = browser
        .post(idp.url("/token"))
        .basic_auth(&up.config.client_id, Some(secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", &up.config.redirect_uri),
            ("code_verifier", &pending.pkce_verifier),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    response["id_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no id_token: {response}"))
        .to_owned()
}

/// `n` distinct national ID tokens of `country`, `aud` its national app, minted 8 at a time.
async fn mint(demo: Arc<Demo>, country: &'static str, n: usize) -> Vec<String> {
    let idp = demo.idp(cc(country)).unwrap();
    let citizen = &jisr_devidp::citizens(cc(country))[0];
    let mut claims = jisr_devidp::claims::userinfo_claims(cc(country), citizen, "");
    claims.remove("sub");
    claims.insert("aud".into(), json!(national_app(country)));
    let mut faults = idp.faults();
    faults.claims = Some(claims);
    idp.set_faults(faults);
    let next = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (demo, next) = (demo.clone(), next.clone());
            tokio::spawn(async move {
                let browser = reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .unwrap();
                let mut tokens = Vec::new();
                while next.fetch_add(1, Ordering::Relaxed) < n {
                    tokens.push(national_token(&demo, country, &browser).await);
                }
                tokens
            })
        })
        .collect();
    let mut tokens = Vec::with_capacity(n);
    for task in tasks {
        tokens.extend(task.await.unwrap());
    }
    tokens
}

/// Deletes every key under `prefix` on the shared Redis (SCAN, never KEYS), with `redis-cli`.
fn purge_redis(url: &str, prefix: &str) {
    let keys = std::process::Command::new("redis-cli")
        .args(["-u", url, "--scan", "--pattern", &format!("{prefix}*")])
        .output()
        .expect("redis-cli runs");
    let keys = String::from_utf8_lossy(&keys.stdout);
    for chunk in keys.lines().collect::<Vec<_>>().chunks(500) {
        let status = std::process::Command::new("redis-cli")
            .args(["-u", url, "DEL"])
            .args(chunk)
            .output()
            .expect("redis-cli runs");
        assert!(status.status.success(), "redis-cli DEL failed");
    }
}

/// The agency's token exchange request for `subject_token` (a national ID token).
fn exchange(client: &reqwest::Client, url: &str, subject_token: &str) -> reqwest::RequestBuilder {
    client.post(url).basic_auth(AGENCY, Some(SECRET)).form(&[
        ("grant_type", GRANT),
        ("subject_token", subject_token),
        ("subject_token_type", ID_TOKEN),
    ])
}

struct Run {
    ok: usize,
    failed: usize,
    wall: Duration,
    assertion: String,
}

/// Exchanges every token once, `workers` at a time, each worker on its own keep-alive client.
async fn load(token_url: String, tokens: Arc<Vec<String>>, workers: usize) -> Run {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let (url, tokens, next) = (token_url.clone(), tokens.clone(), next.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::builder()
                    .pool_max_idle_per_host(1)
                    .build()
                    .unwrap();
                let (mut ok, mut failed, mut last) = (0, 0, String::new());
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(token) = tokens.get(i) else { break };
                    let response = exchange(&client, &url, token).send().await.unwrap();
                    let status = response.status().as_u16();
                    let body: Value = response.json().await.unwrap_or(Value::Null);
                    if status == 200 {
                        ok += 1;
                        if let Some(t) = body["access_token"].as_str() {
                            last = t.to_owned();
                        }
                    } else {
                        failed += 1;
                        if failed == 1 {
                            eprintln!("exchange refused ({status}): {body}");
                        }
                    }
                }
                (ok, failed, last)
            })
        })
        .collect();
    let mut run = Run {
        ok: 0,
        failed: 0,
        wall: Duration::ZERO,
        assertion: String::new(),
    };
    for task in tasks {
        let (ok, failed, last) = task.await.unwrap();
        run.ok += ok;
        run.failed += failed;
        if !last.is_empty() {
            run.assertion = last;
        }
    }
    run.wall = start.elapsed();
    run
}

/// Answers to a stream of bad requests: count by HTTP status (0: no answer), and the slowest.
#[derive(Default)]
struct Flood {
    by_status: std::collections::BTreeMap<u16, usize>,
    slowest: Duration,
}

impl Flood {
    fn summary(&self) -> String {
        let answers: Vec<String> = self
            .by_status
            .iter()
            .map(|(status, n)| format!("{n} × {status}"))
            .collect();
        format!(
            "{} (slowest answer {:.1} s)",
            answers.join(", "),
            self.slowest.as_secs_f64()
        )
    }
}

/// `workers` clients send token exchanges with `tokens` (in turn, again and again) until `stop`.
async fn flood(
    token_url: String,
    tokens: Arc<Vec<String>>,
    workers: usize,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> Flood {
    let next = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let (url, tokens, next, stop) = (
                token_url.clone(),
                tokens.clone(),
                next.clone(),
                stop.clone(),
            );
            tokio::spawn(async move {
                let client = reqwest::Client::builder()
                    .pool_max_idle_per_host(1)
                    .timeout(Duration::from_secs(30))
                    .build()
                    .unwrap();
                let mut flood = Flood::default();
                while !stop.load(Ordering::Relaxed) {
                    let token = &tokens[next.fetch_add(1, Ordering::Relaxed) % tokens.len()];
                    let started = Instant::now();
                    let status = exchange(&client, &url, token)
                        .send()
                        .await
                        .map_or(0, |r| r.status().as_u16());
                    flood.slowest = flood.slowest.max(started.elapsed());
                    *flood.by_status.entry(status).or_default() += 1;
                }
                flood
            })
        })
        .collect();
    let mut all = Flood::default();
    for task in tasks {
        let one = task.await.unwrap();
        all.slowest = all.slowest.max(one.slowest);
        for (status, n) in one.by_status {
            *all.by_status.entry(status).or_default() += n;
        }
    }
    all
}

/// `token` with its header's `kid` replaced: a kid the issuer never published.
fn with_unknown_kid(token: &str, i: usize) -> String {
    let (header, rest) = token.split_once('.').unwrap();
    let mut header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    header["kid"] = json!(format!("flood-{i}"));
    format!(
        "{}.{rest}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap())
    )
}

/// `n` requests made by `request` (a fresh one each time), 16 at a time on keep-alive
/// clients: requests per second and the gateway's CPU per request.
fn floor(
    driver_rt: &tokio::runtime::Runtime,
    n: usize,
    request: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder + Send + Sync + 'static,
) -> (f64, f64) {
    let request = Arc::new(request);
    let run = |count: usize| {
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        driver_rt.block_on(async {
            let tasks: Vec<_> = (0..16)
                .map(|_| {
                    let (next, request) = (next.clone(), request.clone());
                    tokio::spawn(async move {
                        let client = reqwest::Client::builder()
                            .pool_max_idle_per_host(1)
                            .build()
                            .unwrap();
                        while next.fetch_add(1, Ordering::Relaxed) < count {
                            let response = request(&client).send().await.unwrap();
                            let _ = response.bytes().await.unwrap();
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
        });
        started.elapsed()
    };
    run(n / 10);
    let cpu0 = cpu_by_role();
    let wall = run(n);
    let cpu1 = cpu_by_role();
    (
        n as f64 / wall.as_secs_f64(),
        (cpu1[GATEWAY_THREADS] - cpu0[GATEWAY_THREADS]) as f64 / 1000.0 / n as f64,
    )
}

/// Raw costs on this thread, µs: RS256 and ES256 verification of a national token's signing
/// input, the gateway's ES256 signature of an assertion's claims through `SigningKeys::sign`,
/// and the ES256 signature alone.
struct Raw {
    rs256_verify: f64,
    es256_verify: f64,
    gateway_sign: f64,
    es256_sign: f64,
}

fn raw(national_token: &str, assertion: &str) -> Raw {
    let rng = SystemRandom::new();
    let input = national_token
        .rsplit_once('.')
        .map_or(national_token, |(i, _)| i)
        .as_bytes()
        .to_vec();
    let rsa = signature::RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
    let mut rsa_sig = vec![0u8; rsa.public_modulus_len()];
    rsa.sign(&signature::RSA_PKCS1_SHA256, &rng, &input, &mut rsa_sig)
        .unwrap();
    let rsa_pub = ParsedPublicKey::new(
        &signature::RSA_PKCS1_2048_8192_SHA256,
        rsa.public_key().as_ref(),
    )
    .unwrap();
    let ec =
        signature::EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let ec_sig = ec.sign(&rng, &input).unwrap().as_ref().to_vec();
    let ec_pub = ParsedPublicKey::new(
        &signature::ECDSA_P256_SHA256_FIXED,
        ec.public_key().as_ref(),
    )
    .unwrap();
    let claims: Value = assertion
        .split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .expect("the assertion has JSON claims");
    let keys = SigningKeys::generate(SigningAlg::ES256).unwrap();
    let signing_input = assertion.rsplit_once('.').map_or(assertion, |(i, _)| i);
    Raw {
        rs256_verify: cpu_us_per_op(|| {
            assert!(
                rsa_pub
                    .verify_sig(std::hint::black_box(&input), &rsa_sig)
                    .is_ok()
            );
        }),
        es256_verify: cpu_us_per_op(|| {
            assert!(
                ec_pub
                    .verify_sig(std::hint::black_box(&input), &ec_sig)
                    .is_ok()
            );
        }),
        gateway_sign: cpu_us_per_op(|| {
            std::hint::black_box(keys.sign("JWT", &claims).unwrap());
        }),
        es256_sign: cpu_us_per_op(|| {
            std::hint::black_box(ec.sign(&rng, signing_input.as_bytes()).unwrap());
        }),
    }
}

fn main() {
    let args = args();
    let idp_rt = runtime(IDP_THREADS);
    let gateway_rt = runtime(GATEWAY_THREADS);
    let driver_rt = runtime(DRIVER_THREADS);
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());

    let redis_url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let mut random = [0u8; 8];
    aws_lc_rs::rand::fill(&mut random).unwrap();
    let prefix = format!("jisr-bench:{}:", URL_SAFE_NO_PAD.encode(random));
    // The store's connection runs where the gateway runs.
    let entered = gateway_rt.enter();
    let store: Option<Arc<dyn Store>> = args.redis.then(|| {
        let mut config = RedisConfig::new(redis_url.clone(), EncryptionKey::generate());
        config.prefix = prefix.clone();
        config.timeout = Duration::from_secs(2);
        let store: Arc<dyn Store> = Arc::new(RedisStore::new(config).unwrap());
        store
    });
    drop(entered);
    let demo = idp_rt
        .block_on(jisr_demo::start(DemoOptions {
            gateway_port: 0,
            agency_port: 0,
            admin_port: 0,
            extra_agencies: vec![agency()],
            policy: Some(policy()),
            store,
            // Limits on, as in production, but far above what one load driver on one
            // address sends: every request is counted and none refused.
            rate_limits: jisr_demo::bench_rate_limits(),
            gateway_runtime: Some(gateway_rt.handle().clone()),
            ..DemoOptions::default()
        }))
        .expect("demo starts");
    let demo = Arc::new(demo);
    let token_url = format!("{}/token", demo.gateway_url);
    println!(
        "jisr token exchange benchmark: {} exchanges per country, {} workers, {cores} cores, store: {}",
        args.exchanges,
        args.workers,
        if args.redis { "Redis" } else { "memory" }
    );
    println!();
    println!(
        "| national token | exchanges/s | gateway CPU per exchange | raw verify + sign | raw limit ({cores} cores) | ratio (throughput) | ratio (CPU) |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (country, alg) in COUNTRIES {
        let minted = Instant::now();
        let mut tokens =
            driver_rt.block_on(mint(demo.clone(), country, args.warmup + args.exchanges));
        let minted = minted.elapsed();
        let measured = Arc::new(tokens.split_off(args.warmup));
        let warm = driver_rt.block_on(load(token_url.clone(), Arc::new(tokens), args.workers));
        assert_eq!(warm.failed, 0, "warm-up exchanges refused");

        let cpu0 = cpu_by_role();
        let run = driver_rt.block_on(load(token_url.clone(), measured.clone(), args.workers));
        let cpu1 = cpu_by_role();
        assert_eq!(run.failed, 0, "exchanges refused");
        let raw = raw(&measured[0], &run.assertion);

        let n = run.ok as f64;
        let per = |role| (cpu1[role] - cpu0[role]) as f64 / 1000.0 / n;
        let gateway = per(GATEWAY_THREADS);
        let rate = n / run.wall.as_secs_f64();
        let verify = if alg == "RS256" {
            raw.rs256_verify
        } else {
            raw.es256_verify
        };
        let raw_cost = verify + raw.es256_sign;
        let limit = cores as f64 * 1e6 / raw_cost;
        println!(
            "| {country} {alg} | {rate:.0} | {gateway:.0} µs | {raw_cost:.1} µs ({verify:.1} + {:.1}) | {limit:.0}/s | {:.0}% | {:.0}% |",
            raw.es256_sign,
            100.0 * rate / limit,
            100.0 * raw_cost / gateway,
        );
        eprintln!(
            "  {country}: {} exchanges in {:.2} s (minted in {:.1} s); CPU per exchange: driver {:.0} µs, IdPs {:.0} µs; `SigningKeys::sign` {:.1} µs",
            run.ok,
            run.wall.as_secs_f64(),
            minted.as_secs_f64(),
            per(DRIVER_THREADS),
            cpu1.get(IDP_THREADS)
                .unwrap_or(&0)
                .saturating_sub(*cpu0.get(IDP_THREADS).unwrap_or(&0)) as f64
                / 1000.0
                / n,
            raw.gateway_sign,
        );
    }
    println!();
    println!("What HTTP alone costs, same driver, same run:");
    println!();
    println!("| request | requests/s | gateway CPU per request |");
    println!("|---|---|---|");
    let jwks_url = format!("{}/jwks", demo.gateway_url);
    let (rate, cpu) = floor(&driver_rt, args.exchanges, move |c| c.get(&jwks_url));
    println!("| `GET /jwks` | {rate:.0} | {cpu:.0} µs |");
    let url = token_url.clone();
    let (rate, cpu) = floor(&driver_rt, args.exchanges, move |c| {
        exchange(c, &url, "not.a.token")
    });
    println!(
        "| exchange refused before verification (malformed `subject_token`) | {rate:.0} | {cpu:.0} µs |"
    );

    println!();
    println!("Bad input under load: SA's valid exchanges while …");
    println!();
    println!(
        "| while | valid SA exchanges/s | gateway CPU per valid exchange | bad requests answered | JWKS fetches (flood start to last answer) |"
    );
    println!("|---|---|---|---|---|");
    let sa = demo.gateway.upstreams.get(cc("SA")).unwrap();
    let qa = demo.gateway.upstreams.get(cc("QA")).unwrap();
    for case in [
        "nothing else",
        "unknown-kid flood (SA)",
        "QA's IdP hangs, QA unknown-kid tokens",
    ] {
        let valid = Arc::new(driver_rt.block_on(mint(demo.clone(), "SA", args.exchanges)));
        let bad_country = if case.starts_with("QA") { "QA" } else { "SA" };
        let bad: Vec<String> = driver_rt
            .block_on(mint(demo.clone(), bad_country, 64))
            .iter()
            .enumerate()
            .map(|(i, t)| with_unknown_kid(t, i))
            .collect();
        let idp = demo.idp(cc("QA")).unwrap();
        let healthy = idp.faults();
        if case.starts_with("QA") {
            let mut faults = healthy.clone();
            faults.slow_ms = 5000;
            idp.set_faults(faults);
        }
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let fetches0 = sa.jwks().fetch_count() + qa.jwks().fetch_count();
        let flooding = (case != "nothing else")
            .then(|| driver_rt.spawn(flood(token_url.clone(), Arc::new(bad), 64, stop.clone())));
        std::thread::sleep(Duration::from_millis(500));
        let cpu0 = cpu_by_role();
        let run = driver_rt.block_on(load(token_url.clone(), valid, args.workers));
        let cpu1 = cpu_by_role();
        stop.store(true, Ordering::Relaxed);
        let answered = flooding.map_or_else(
            || "—".to_owned(),
            |f| driver_rt.block_on(f).unwrap().summary(),
        );
        let fetches = sa.jwks().fetch_count() + qa.jwks().fetch_count() - fetches0;
        idp.set_faults(healthy);
        assert_eq!(run.failed, 0, "valid exchanges refused during: {case}");
        let n = run.ok as f64;
        println!(
            "| {case} | {:.0} (in {:.2} s) | {:.0} µs | {answered} | {fetches} |",
            n / run.wall.as_secs_f64(),
            run.wall.as_secs_f64(),
            (cpu1[GATEWAY_THREADS] - cpu0[GATEWAY_THREADS]) as f64 / 1000.0 / n,
        );
    }

    drop(demo);
    if args.redis {
        purge_redis(&redis_url, &prefix);
    }
}
