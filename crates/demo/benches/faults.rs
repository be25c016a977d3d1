//! Faults under load: real processes on loopback, a steady stream of complete logins, and one
//! fault per scenario while it runs.
//!
//! Each scenario starts its own topology:
//! - a Sentinel-managed Redis: one master, one replica and three Sentinels
//!   (`redis-server`, Sentinels as `redis-server --sentinel`, which is what Debian's
//!   `redis-sentinel` runs);
//! - the development national IdPs of the six member states (`jisr devidp`), each its own
//!   process, each signing with the algorithm its real counterpart uses;
//! - three gateway replicas (`jisr serve`, one shared configuration written for the run, the
//!   store on the Sentinels' master, an audit log per replica);
//! - HAProxy in front of them, health-checking `/readyz` (see [`haproxy_config`]).
//!
//! A pacer starts complete logins (the login benchmark's driver: picker, country, national
//! IdP, consent, code at `/token` with PKCE, `/userinfo`) at a fixed rate, by default half of
//! the capacity measured on the same topology at the start. Each login's ID token is verified
//! as an agency would (the gateway's `/jwks` through the balancer, fetched again on an unknown
//! `kid`), and its code is redeemed a second time, which must be refused (`invalid_grant`).
//!
//! Scenarios (`--scenario NAME`, repeatable; all by default), the fault at a quarter of the
//! run (`--seconds`, default 60):
//! - `rolling-restart`: every replica in turn gets SIGTERM, exits, is started again and waits
//!   for readiness before the next. Expected: no failed login.
//! - `kill-replica`: SIGKILL one replica; started again at half time. Expected: only logins
//!   with a request in flight on it when it died fail (the balancer's 502/503), none after the
//!   balancer marked it down.
//! - `redis-failover`: SIGKILL the Redis master; the Sentinels promote the replica. Expected:
//!   logins in the failover window are refused with `temporarily_unavailable` (or a code
//!   lost with the old master, `invalid_grant`); no code is redeemed twice; logins succeed
//!   again within the recovery time printed.
//! - `idp-outage`: stop Saudi Arabia's IdP (SIGKILL), start it again at half time (with new
//!   keys, as a restored IdP may have). Expected: only Saudi logins fail while it is down (and
//!   up to 1.5 s after, until every replica's probe has seen it back): the citizen's browser
//!   cannot reach the IdP until the gateway's probes find it silent, then the gateway's page
//!   with `temporarily_unavailable`; every other country keeps its rate.
//! - `key-rotation`: two national IdPs rotate their signing keys (a new `kid`, the old key
//!   withdrawn at once), then the gateway's own key is rotated as the runbook says: a new key
//!   published (rolling restart), then made active (rolling restart). Expected: no failed
//!   login, and ID tokens signed by the new key after the switch.
//!
//! One summary line per scenario: attempted, completed, refused as expected, failed
//! otherwise, wrong (a code redeemed twice, an ID token that does not verify). Exits non-zero
//! if any login failed otherwise or was wrong.
//!
//! `cargo build --release -p jisr-cli && cargo bench -p jisr-demo --bench faults --
//! [--jisr $CARGO_TARGET_DIR/release/jisr] [--scenario NAME]… [--seconds 60] [--rate N] [--fraction 0.5]
//! [--capacity-secs 20] [--workers 32] [--keep]`. `--smoke` is CI's short run: 12 s per
//! scenario at 6 logins/s on the debug binary. Needs `redis-server` and `haproxy` on PATH
//! (`scripts/prerequisites` installs both). Logs of every process go to a directory printed at
//! the start (kept with `--keep` or when a scenario fails).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: a failed unwrap is a failed run

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use jisr_demo::AGENCY_CLIENT_ID;
use jisr_mapping::{CountryCode, Gcc};

mod driver;
use driver::{Done, Site, Target, client, login_code, targets};

const AGENCY_SECRET: &str = "faults-agency-secret-0123456789abcdef";
const IDP_SECRET: &str = "faults-idp-secret-0123456789abcdef";
const SERVICE: &str = "jisr-faults";
const REPLICAS: usize = 3;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Scenario {
    RollingRestart,
    KillReplica,
    RedisFailover,
    IdpOutage,
    KeyRotation,
}

impl Scenario {
    const ALL: [Scenario; 5] = [
        Scenario::RollingRestart,
        Scenario::KillReplica,
        Scenario::RedisFailover,
        Scenario::IdpOutage,
        Scenario::KeyRotation,
    ];

    fn name(self) -> &'static str {
        match self {
            Scenario::RollingRestart => "rolling-restart",
            Scenario::KillReplica => "kill-replica",
            Scenario::RedisFailover => "redis-failover",
            Scenario::IdpOutage => "idp-outage",
            Scenario::KeyRotation => "key-rotation",
        }
    }
}

struct Args {
    jisr: PathBuf,
    scenarios: Vec<Scenario>,
    seconds: f64,
    rate: Option<f64>,
    fraction: f64,
    capacity_secs: f64,
    workers: usize,
    keep: bool,
}

fn args() -> Args {
    let mut args = Args {
        jisr: target_dir().join("release/jisr"),
        scenarios: Vec::new(),
        seconds: 60.0,
        rate: None,
        fraction: 0.5,
        capacity_secs: 20.0,
        workers: 32,
        keep: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value =
            |name: &str| -> String { it.next().unwrap_or_else(|| panic!("{name} takes a value")) };
        let number = |name: &str, v: String| -> f64 {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} takes a number"))
        };
        match a.as_str() {
            "--jisr" => args.jisr = PathBuf::from(value("--jisr")),
            "--scenario" => {
                let name = value("--scenario");
                let s = Scenario::ALL
                    .into_iter()
                    .find(|s| s.name() == name)
                    .unwrap_or_else(|| {
                        panic!(
                            "--scenario: {name} is not one of {:?}",
                            Scenario::ALL.map(Scenario::name)
                        )
                    });
                args.scenarios.push(s);
            }
            "--seconds" => args.seconds = number("--seconds", value("--seconds")),
            "--rate" => args.rate = Some(number("--rate", value("--rate"))),
            "--fraction" => args.fraction = number("--fraction", value("--fraction")),
            "--capacity-secs" => {
                args.capacity_secs = number("--capacity-secs", value("--capacity-secs"))
            }
            "--workers" => args.workers = (number("--workers", value("--workers")) as usize).max(1),
            "--keep" => args.keep = true,
            "--smoke" => {
                args.jisr = target_dir().join("debug/jisr");
                args.seconds = 12.0;
                args.rate = Some(6.0);
                args.workers = 16;
            }
            _ => {} // `--bench` and filters from cargo
        }
    }
    if args.scenarios.is_empty() {
        args.scenarios = Scenario::ALL.to_vec();
    }
    args
}

/// Cargo's target directory: `CARGO_TARGET_DIR`, or `target/` in the workspace.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("workspace root")
        .to_owned()
}

/// A port free now, below Linux's ephemeral range (32768 and up): replicas and IdPs that are
/// restarted bind their port again, which a client connection of the load could otherwise
/// have taken as its local port in the meantime.
fn free_port() -> u16 {
    for _ in 0..1000 {
        let mut b = [0u8; 2];
        aws_lc_rs::rand::fill(&mut b).expect("random");
        let port = 20000 + u16::from_le_bytes(b) % 12000;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in 20000..32000");
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut b).expect("random");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

// ---- Processes -----------------------------------------------------------------------------

/// A child process, killed when dropped (also when the run panics).
struct Proc {
    name: String,
    child: Child,
}

impl Proc {
    fn spawn(name: &str, command: &mut Command, logs: &Path) -> Proc {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(logs.join(format!("{name}.log")))
            .expect("log file");
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name} ({command:?}): {e}"));
        Proc {
            name: name.to_owned(),
            child,
        }
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{signal} {}", self.name);
    }

    /// Waits for the process to exit by itself (after SIGTERM), up to `limit`.
    fn wait_exit(mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not exit within {limit:?}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` every 50 ms for up to `limit`.
async fn until(limit: Duration, what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn http_status(http: &reqwest::Client, url: &str) -> Option<u16> {
    http.get(url)
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .ok()
        .map(|r| r.status().as_u16())
}

async fn redis_query<T: redis::FromRedisValue>(port: u16, cmd: &redis::Cmd) -> Option<T> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).ok()?;
    let mut conn = tokio::time::timeout(
        Duration::from_secs(1),
        client.get_multiplexed_async_connection(),
    )
    .await
    .ok()?
    .ok()?;
    tokio::time::timeout(Duration::from_secs(1), cmd.query_async(&mut conn))
        .await
        .ok()?
        .ok()
}

fn redis_server(name: &str, args: &[String], logs: &Path) -> Proc {
    Proc::spawn(name, Command::new("redis-server").args(args), logs)
}

/// A Redis node on `port` keeping nothing on disk; `dir` takes the replica's copy of the
/// master's snapshot during a full sync.
fn node_args(port: u16, dir: &Path) -> Vec<String> {
    let port = port.to_string();
    let dir = dir.display().to_string();
    [
        "--dir",
        &dir,
        "--port",
        &port,
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

// ---- The topology --------------------------------------------------------------------------

struct Gw {
    port: u16,
    proc: Option<Proc>,
}

struct Topology {
    jisr: PathBuf,
    config: PathBuf,
    logs: PathBuf,
    master: (u16, Option<Proc>),
    replica: (u16, Proc),
    sentinels: Vec<(u16, Proc)>,
    idps: BTreeMap<CountryCode, (u16, Option<Proc>)>,
    gateways: Vec<Gw>,
    _haproxy: Proc,
    lb: u16,
    stats: u16,
    env: Vec<(String, String)>,
    http: reqwest::Client,
    starts: usize,
}

/// Each development IdP signs with the algorithm its real counterpart uses (as in the demo).
fn idp_alg(country: CountryCode) -> &'static str {
    match country.gcc() {
        Some(Gcc::SaudiArabia) | Some(Gcc::UnitedArabEmirates) => "RS256",
        Some(Gcc::Oman) => "PS256",
        Some(Gcc::Kuwait) => "EdDSA",
        _ => "ES256",
    }
}

/// The agency's country; citizens of the other five sign in.
fn agency_country() -> CountryCode {
    Gcc::Bahrain.code()
}

/// The shipped country profile with its `[idp]` table pointing at the development IdP on
/// `port` (the gateway is its client `jisr`).
fn country_profile(root: &Path, country: CountryCode, port: u16) -> String {
    let cc = country.as_str().to_ascii_lowercase();
    let text = fs::read_to_string(root.join(format!("config/countries/{cc}.toml"))).unwrap();
    let mut profile: toml::Table = text.parse().unwrap();
    let issuer = format!("http://127.0.0.1:{port}");
    let mut idp = toml::Table::new();
    idp.insert("issuer".into(), issuer.clone().into());
    idp.insert("client_id".into(), "jisr".into());
    let mut auth = toml::Table::new();
    auth.insert("method".into(), "client_secret_basic".into());
    let mut secret = toml::Table::new();
    secret.insert("env".into(), "FAULTS_IDP_SECRET".into());
    auth.insert("secret".into(), secret.into());
    idp.insert("client_auth".into(), auth.into());
    idp.insert("algorithms".into(), vec![idp_alg(country)].into());
    idp.insert(
        "scopes".into(),
        jisr_devidp::claims::scopes_supported(country).into(),
    );
    if jisr_devidp::claims::oauth2_only(country) {
        idp.insert("mode".into(), "oauth2_userinfo".into());
        let mut endpoints = toml::Table::new();
        for (k, path) in [
            ("authorization", "/authorize"),
            ("token", "/token"),
            ("userinfo", "/userinfo"),
        ] {
            endpoints.insert(k.into(), format!("{issuer}{path}").into());
        }
        idp.insert("endpoints".into(), endpoints.into());
    }
    profile.insert("idp".into(), idp.into());
    toml::to_string(&profile).unwrap()
}

impl Topology {
    async fn start(jisr: &Path, logs: &Path) -> Topology {
        let root = workspace_root();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        fs::create_dir_all(logs).unwrap();

        // Redis: master, replica, three Sentinels.
        let (master, replica) = (free_port(), free_port());
        let master_proc = redis_server("redis-master", &node_args(master, logs), logs);
        let mut args = node_args(replica, logs);
        args.extend(["--replicaof", "127.0.0.1", &master.to_string()].map(str::to_owned));
        let replica_proc = redis_server("redis-replica", &args, logs);
        let mut sentinels = Vec::new();
        for i in 0..3 {
            let port = free_port();
            let conf = logs.join(format!("sentinel-{i}.conf"));
            fs::write(
                &conf,
                format!(
                    "port {port}\nbind 127.0.0.1\ndir {dir}\nsentinel monitor {SERVICE} 127.0.0.1 {master} 2\n\
                     sentinel down-after-milliseconds {SERVICE} 1000\nsentinel failover-timeout {SERVICE} 10000\n\
                     sentinel parallel-syncs {SERVICE} 1\n",
                    dir = logs.display()
                ),
            )
            .unwrap();
            let p = redis_server(
                &format!("sentinel-{i}"),
                &[conf.display().to_string(), "--sentinel".to_owned()],
                logs,
            );
            sentinels.push((port, p));
        }
        until(
            Duration::from_secs(20),
            "the Redis replica to sync",
            async || {
                redis_query::<String>(replica, redis::cmd("INFO").arg("replication"))
                    .await
                    .is_some_and(|i| i.contains("master_link_status:up"))
            },
        )
        .await;
        for &(port, _) in &sentinels {
            until(
                Duration::from_secs(20),
                "the Sentinels to agree",
                async || {
                    let replicas: Option<Vec<redis::Value>> =
                        redis_query(port, redis::cmd("SENTINEL").arg("replicas").arg(SERVICE))
                            .await;
                    let others: Option<Vec<redis::Value>> =
                        redis_query(port, redis::cmd("SENTINEL").arg("sentinels").arg(SERVICE))
                            .await;
                    replicas.is_some_and(|r| !r.is_empty()) && others.is_some_and(|s| s.len() == 2)
                },
            )
            .await;
        }

        // The development IdPs, one per member state (the policy names every state; the
        // agency's own citizens do not sign in through the gateway to it).
        let mut idps = BTreeMap::new();
        for g in Gcc::ALL {
            let c = g.code();
            let port = free_port();
            let p = spawn_idp(jisr, c, port, logs);
            idps.insert(c, (port, Some(p)));
        }
        for (c, (port, _)) in &idps {
            let url = format!("http://127.0.0.1:{port}/jwks");
            until(Duration::from_secs(20), &format!("{c}'s IdP"), async || {
                http_status(&http, &url).await == Some(200)
            })
            .await;
        }

        // The gateway's configuration, shared by the replicas.
        let (lb, stats) = (free_port(), free_port());
        let config = logs.join("config");
        for d in ["countries", "keys"] {
            fs::create_dir_all(config.join(d)).unwrap();
        }
        for (c, (port, _)) in &idps {
            let cc = c.as_str().to_ascii_lowercase();
            fs::write(
                config.join(format!("countries/{cc}.toml")),
                country_profile(&root, *c, *port),
            )
            .unwrap();
        }
        fs::copy(root.join("config/policy.toml"), config.join("policy.toml")).unwrap();
        fs::write(
            config.join("agencies.toml"),
            format!(
                "[[agency]]\nclient_id = \"{AGENCY_CLIENT_ID}\"\nname_en = \"Faults test agency\"\n\
                 name_ar = \"جهة اختبار الأعطال\"\ncountry = \"{}\"\nsector = \"health\"\n\
                 redirect_uris = [\"http://127.0.0.1:9/callback\"]\n\
                 auth = {{ method = \"client_secret_basic\", secret = {{ env = \"FAULTS_AGENCY_SECRET\" }} }}\n",
                agency_country()
            ),
        )
        .unwrap();
        let key = generate_key(jisr, &config);
        fs::write(
            config.join("audit-signing.pem"),
            jisr_audit::SigningKey::generate_pem().unwrap(),
        )
        .unwrap();
        fs::write(config.join("audit-subject.key"), random_hex(32)).unwrap();
        let sentinel_list = sentinels
            .iter()
            .map(|(p, _)| format!("\"redis://127.0.0.1:{p}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let limit = "{ per_address = 10000000, per_client = 10000000 }";
        fs::write(
            config.join("gateway.toml"),
            format!(
                "pairwise_key = {{ env = \"FAULTS_PAIRWISE_KEY\" }}\n\
                 [server]\nlisten = \"127.0.0.1:9\"\npublic_url = \"http://127.0.0.1:{lb}\"\n\
                 drain_secs = 2\nshutdown_timeout_secs = 10\n\
                 [store]\nkind = \"redis\"\nurl = \"redis://unused\"\nprefix = \"jisr-faults:{prefix}:\"\n\
                 timeout_ms = 1000\nencryption_key = {{ env = \"FAULTS_STORE_KEY\" }}\n\
                 sentinel_service = \"{SERVICE}\"\nsentinels = [{sentinel_list}]\n\
                 [keys]\nfiles = [\"keys/{key}\"]\n\
                 [audit]\ndir = \"audit\"\nsubject_key = {{ file = \"audit-subject.key\" }}\n\
                 signing_key = {{ file = \"audit-signing.pem\" }}\n\
                 [rate_limits]\ntrusted_proxies = [\"127.0.0.1/32\"]\n\
                 authorize = {limit}\ntoken = {limit}\nintrospect = {limit}\nuserinfo = {limit}\n\
                 pages = {{ per_address = 10000000 }}\n",
                prefix = random_hex(6),
            ),
        )
        .unwrap();
        let env = vec![
            (
                "FAULTS_PAIRWISE_KEY".to_owned(),
                format!("hex:{}", random_hex(32)),
            ),
            (
                "FAULTS_STORE_KEY".to_owned(),
                format!("hex:{}", random_hex(32)),
            ),
            ("FAULTS_AGENCY_SECRET".to_owned(), AGENCY_SECRET.to_owned()),
            ("FAULTS_IDP_SECRET".to_owned(), IDP_SECRET.to_owned()),
            ("RUST_LOG".to_owned(), "warn".to_owned()),
        ];

        let gateways: Vec<Gw> = (0..REPLICAS)
            .map(|_| Gw {
                port: free_port(),
                proc: None,
            })
            .collect();
        let haproxy_cfg = logs.join("haproxy.cfg");
        let ports: Vec<u16> = gateways.iter().map(|g| g.port).collect();
        fs::write(&haproxy_cfg, haproxy_config(lb, stats, &ports)).unwrap();
        let haproxy = Proc::spawn(
            "haproxy",
            Command::new("haproxy")
                .arg("-db")
                .arg("-f")
                .arg(&haproxy_cfg),
            logs,
        );
        let mut topology = Topology {
            jisr: jisr.to_owned(),
            config,
            logs: logs.to_owned(),
            master: (master, Some(master_proc)),
            replica: (replica, replica_proc),
            sentinels,
            idps,
            gateways,
            _haproxy: haproxy,
            lb,
            stats,
            env,
            http,
            starts: 0,
        };
        for i in 0..REPLICAS {
            topology.start_gateway(i).await;
        }
        for i in 0..REPLICAS {
            topology
                .wait_lb_state(i, "UP", Duration::from_secs(20))
                .await;
        }
        topology
    }

    fn public_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.lb)
    }

    fn site(&self) -> Site {
        Site {
            gateway: self.public_url(),
            redirect_uri: "http://127.0.0.1:9/callback".to_owned(),
            agency_secret: AGENCY_SECRET.to_owned(),
            idps: self
                .idps
                .iter()
                .map(|(c, (port, _))| (*c, format!("http://127.0.0.1:{port}")))
                .collect(),
        }
    }

    /// Starts replica `i` (`jisr serve`) and waits until it is ready.
    async fn start_gateway(&mut self, i: usize) {
        self.starts += 1;
        let port = self.gateways[i].port;
        let name = format!("gw{}", i + 1);
        let mut command = Command::new(&self.jisr);
        command
            .arg("serve")
            .arg("--config")
            .arg(&self.config)
            .env("JISR_SERVER__LISTEN", format!("127.0.0.1:{port}"))
            .env("JISR_AUDIT__REPLICA", format!("{name}-{}", self.starts))
            .env("JISR_AUDIT__DIR", self.logs.join(format!("audit-{name}")))
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        let proc = Proc::spawn(&name, &mut command, &self.logs);
        self.gateways[i].proc = Some(proc);
        let url = format!("http://127.0.0.1:{port}/readyz");
        let http = self.http.clone();
        until(
            Duration::from_secs(30),
            &format!("{name} ready"),
            async || http_status(&http, &url).await == Some(200),
        )
        .await;
    }

    /// SIGTERM to replica `i`; waits for it to drain and exit 0, then starts it again.
    async fn restart_gateway(&mut self, i: usize) {
        let proc = self.gateways[i].proc.take().expect("running replica");
        proc.signal("TERM");
        let status = tokio::task::spawn_blocking(move || proc.wait_exit(Duration::from_secs(30)))
            .await
            .unwrap();
        assert!(
            status.success(),
            "gw{} exited with {status} after SIGTERM",
            i + 1
        );
        self.start_gateway(i).await;
        self.wait_lb_state(i, "UP", Duration::from_secs(20)).await;
    }

    async fn rolling_restart(&mut self) {
        for i in 0..REPLICAS {
            self.restart_gateway(i).await;
        }
    }

    /// The balancer's view of replica `i`: `UP`, `DOWN`, … (its stats page as CSV).
    async fn lb_state(&self, i: usize) -> Option<String> {
        let csv = self
            .http
            .get(format!("http://127.0.0.1:{}/stats;csv", self.stats))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        let mut lines = csv.lines();
        let header: Vec<&str> = lines.next()?.trim_start_matches("# ").split(',').collect();
        let col = header.iter().position(|h| *h == "status")?;
        let name = format!("gw{}", i + 1);
        lines
            .map(|l| l.split(',').collect::<Vec<_>>())
            .find(|f| f.first() == Some(&"gateways") && f.get(1) == Some(&name.as_str()))
            .and_then(|f| f.get(col).map(|s| s.to_string()))
    }

    async fn wait_lb_state(&self, i: usize, want: &str, limit: Duration) {
        until(
            limit,
            &format!("the balancer to see gw{} {want}", i + 1),
            async || self.lb_state(i).await.is_some_and(|s| s.starts_with(want)),
        )
        .await;
    }

    /// The master the Sentinels name now.
    async fn sentinel_master(&self) -> Option<u16> {
        let addr: Option<Vec<String>> = redis_query(
            self.sentinels[0].0,
            redis::cmd("SENTINEL")
                .arg("get-master-addr-by-name")
                .arg(SERVICE),
        )
        .await;
        addr.and_then(|a| a.get(1).and_then(|p| p.parse().ok()))
    }

    /// `jisr keys generate` into the run's key directory, added to `[keys] files` after the
    /// current key (published, not active); returns its kid.
    fn publish_new_key(&self) -> String {
        let file = generate_key(&self.jisr, &self.config);
        let path = self.config.join("gateway.toml");
        let text = fs::read_to_string(&path).unwrap();
        let start = text.find("files = [").unwrap();
        let end = start + text[start..].find(']').unwrap();
        let updated = format!("{}, \"keys/{file}\"{}", &text[..end], &text[end..]);
        fs::write(&path, updated).unwrap();
        file.trim_end_matches(".pem").to_owned()
    }

    /// `[keys] active = kid`.
    fn activate_key(&self, kid: &str) {
        let path = self.config.join("gateway.toml");
        let text = fs::read_to_string(&path).unwrap();
        let updated = text.replace("[keys]\n", &format!("[keys]\nactive = \"{kid}\"\n"));
        fs::write(&path, updated).unwrap();
    }

    async fn set_idp_faults(&self, country: CountryCode, faults: serde_json::Value) {
        let url = format!("http://127.0.0.1:{}/admin/faults", self.idps[&country].0);
        let r = self
            .http
            .post(url)
            .body(faults.to_string())
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_success(),
            "{country}'s IdP refused the faults"
        );
    }
}

fn spawn_idp(jisr: &Path, country: CountryCode, port: u16, logs: &Path) -> Proc {
    Proc::spawn(
        &format!("idp-{}", country.as_str().to_ascii_lowercase()),
        Command::new(jisr)
            .args(["devidp", "--country", country.as_str(), "--port"])
            .arg(port.to_string())
            .args(["--alg", idp_alg(country)])
            .env("JISR_DEVIDP_SECRET", IDP_SECRET)
            .env("RUST_LOG", "warn"),
        logs,
    )
}

/// A new signing key in `<config>/keys`; returns its file name (`<kid>.pem`).
fn generate_key(jisr: &Path, config: &Path) -> String {
    let out = Command::new(jisr)
        .args(["keys", "generate", "--out"])
        .arg(config.join("keys"))
        .output()
        .expect("jisr keys generate");
    assert!(out.status.success(), "jisr keys generate failed");
    let path = String::from_utf8(out.stdout).unwrap();
    Path::new(path.trim())
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// The balancer: the shipped example `deploy/haproxy/jisr.cfg` (its comments say what each
/// setting is for), listening on `lb` and pointing at the replicas on loopback, plus a stats
/// page (CSV) on `stats` that shows when the balancer marks a replica down.
fn haproxy_config(lb: u16, stats: u16, replicas: &[u16]) -> String {
    let shipped = fs::read_to_string(workspace_root().join("deploy/haproxy/jisr.cfg"))
        .expect("deploy/haproxy/jisr.cfg");
    assert!(
        shipped.contains("  bind :8080\n"),
        "deploy/haproxy/jisr.cfg: no `bind :8080`"
    );
    let mut config = shipped.replace("  bind :8080\n", &format!("  bind 127.0.0.1:{lb}\n"));
    for (i, port) in replicas.iter().enumerate() {
        let example = format!("10.0.1.1{}:8080", i + 1);
        assert!(
            config.contains(&example),
            "deploy/haproxy/jisr.cfg: no {example}"
        );
        config = config.replace(&example, &format!("127.0.0.1:{port}"));
    }
    config.push_str(&format!(
        "\nfrontend stats\n  bind 127.0.0.1:{stats}\n  stats enable\n  stats uri /stats\n"
    ));
    config
}

// ---- The agency's view: ID tokens verified with the gateway's published keys ---------------

/// The gateway's `/jwks` as an agency keeps it: fetched through the balancer, fetched again
/// when a token names a `kid` it does not hold.
struct AgencyKeys {
    jwks_url: String,
    issuer: String,
    keys: RwLock<HashMap<String, jsonwebtoken::DecodingKey>>,
    http: reqwest::Client,
}

impl AgencyKeys {
    fn new(public_url: &str) -> AgencyKeys {
        AgencyKeys {
            jwks_url: format!("{public_url}/jwks"),
            issuer: public_url.to_owned(),
            keys: RwLock::new(HashMap::new()),
            http: client(false),
        }
    }

    async fn refresh(&self) -> Result<(), String> {
        let mut last = String::new();
        for _ in 0..5 {
            match self.http.get(&self.jwks_url).send().await {
                Ok(r) if r.status() == 200 => {
                    let set: jsonwebtoken::jwk::JwkSet =
                        r.json().await.map_err(|e| format!("/jwks: {e}"))?;
                    let mut keys = HashMap::new();
                    for jwk in &set.keys {
                        let kid = jwk
                            .common
                            .key_id
                            .clone()
                            .ok_or("/jwks: a key without kid")?;
                        let key = jsonwebtoken::DecodingKey::from_jwk(jwk)
                            .map_err(|e| format!("/jwks: {kid}: {e}"))?;
                        keys.insert(kid, key);
                    }
                    *self.keys.write().unwrap() = keys;
                    return Ok(());
                }
                Ok(r) => last = format!("/jwks answered {}", r.status()),
                Err(e) => last = format!("/jwks: {e}"),
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        Err(last)
    }

    /// Verifies the gateway's ID token (signature, `iss`, `aud`, `exp`); returns its `kid`.
    async fn verify(&self, token: &str) -> Result<String, String> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| format!("header: {e}"))?;
        let kid = header.kid.clone().ok_or("ID token without kid")?;
        if !self.keys.read().unwrap().contains_key(&kid) {
            self.refresh().await?;
        }
        let keys = self.keys.read().unwrap();
        let key = keys
            .get(&kid)
            .ok_or_else(|| format!("kid {kid} is not in the gateway's /jwks"))?;
        let mut validation = jsonwebtoken::Validation::new(header.alg);
        validation.set_audience(&[AGENCY_CLIENT_ID]);
        validation.set_issuer(&[&self.issuer]);
        jsonwebtoken::decode::<serde_json::Value>(token, key, &validation)
            .map_err(|e| format!("ID token: {e}"))?;
        Ok(kid)
    }
}

// ---- The load ------------------------------------------------------------------------------

enum Outcome {
    Completed { kid: String },
    Failed(String),
    Wrong(String),
}

struct Attempt {
    /// Seconds since the scenario started.
    start: f64,
    end: f64,
    country: CountryCode,
    outcome: Outcome,
}

struct Load {
    t0: Instant,
    site: Site,
    keys: AgencyKeys,
    attempts: Mutex<Vec<Attempt>>,
    clients: Mutex<Vec<(reqwest::Client, reqwest::Client)>>,
    missed: AtomicU64,
}

impl Load {
    fn new(site: Site, workers: usize, t0: Instant) -> Arc<Load> {
        Arc::new(Load {
            t0,
            keys: AgencyKeys::new(&site.gateway),
            site,
            attempts: Mutex::new(Vec::new()),
            clients: Mutex::new(
                (0..workers)
                    .map(|_| (client(true), client(false)))
                    .collect(),
            ),
            missed: AtomicU64::new(0),
        })
    }

    fn now(&self) -> f64 {
        self.t0.elapsed().as_secs_f64()
    }

    /// One complete login, its ID token verified, its code replayed.
    async fn one(&self, browser: &reqwest::Client, agency: &reqwest::Client, target: &Target) {
        let start = self.now();
        let outcome = match login_code(browser, agency, &self.site, target).await {
            Err(e) => Outcome::Failed(e),
            Ok(done) => self.check(agency, done).await,
        };
        let attempt = Attempt {
            start,
            end: self.now(),
            country: target.country,
            outcome,
        };
        self.attempts.lock().unwrap().push(attempt);
    }

    async fn check(&self, agency: &reqwest::Client, done: Done) -> Outcome {
        let kid = match self.keys.verify(&done.id_token).await {
            Ok(kid) => kid,
            Err(e) => return Outcome::Wrong(e),
        };
        // The replay must be refused with invalid_grant. While the store fails over it may
        // be refused with temporarily_unavailable first (or not reach a replica): asked again
        // until the answer is definite, so that a code the old master had not yet deleted on
        // its replica would show as redeemed twice.
        for _ in 0..40 {
            let replay = agency
                .post(format!("{}/token", self.site.gateway))
                .basic_auth(AGENCY_CLIENT_ID, Some(AGENCY_SECRET))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", done.code.as_str()),
                    ("redirect_uri", self.site.redirect_uri.as_str()),
                    ("code_verifier", done.verifier.as_str()),
                ])
                .send()
                .await;
            let (status, body) = match replay {
                Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
                Err(_) => (0, String::new()),
            };
            match status {
                200..=299 => return Outcome::Wrong("a code was redeemed twice".to_owned()),
                400 if body.contains("\"invalid_grant\"") => return Outcome::Completed { kid },
                0 | 502..=504 => tokio::time::sleep(Duration::from_millis(250)).await,
                _ => {
                    return Outcome::Wrong(format!(
                        "the replayed code was answered {status}: {body:.200}"
                    ));
                }
            }
        }
        Outcome::Wrong("the replayed code got no definite answer within 10 s".to_owned())
    }

    /// Starts logins at `rate` per second until `stop` says so; returns when every login
    /// started has ended.
    async fn run(self: &Arc<Self>, rate: f64, targets: Vec<Target>, stop: Arc<Stop>) {
        let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut running = tokio::task::JoinSet::new();
        let mut next = 0usize;
        while !stop.done() {
            tick.tick().await;
            let Some((browser, agency)) = self.clients.lock().unwrap().pop() else {
                self.missed.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            let target = targets[next % targets.len()].clone();
            next += 1;
            let load = self.clone();
            running.spawn(async move {
                load.one(&browser, &agency, &target).await;
                load.clients.lock().unwrap().push((browser, agency));
            });
            while running.try_join_next().is_some() {}
        }
        while running.join_next().await.is_some() {}
    }
}

/// When the load stops: not before `at` seconds, and not while the scenario's actions run.
struct Stop {
    t0: Instant,
    at: Mutex<f64>,
    acting: std::sync::atomic::AtomicBool,
}

impl Stop {
    fn done(&self) -> bool {
        !self.acting.load(Ordering::Relaxed)
            && self.t0.elapsed().as_secs_f64() >= *self.at.lock().unwrap()
    }
}

/// Logins per second with `workers` logins back to back for `secs`.
async fn capacity(site: Site, workers: usize, secs: f64) -> f64 {
    let load = Load::new(site, workers, Instant::now());
    let all = targets(agency_country());
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let mut set = tokio::task::JoinSet::new();
    for w in 0..workers {
        let load = load.clone();
        let all = all.clone();
        set.spawn(async move {
            let (browser, agency) = (client(true), client(false));
            let mut i = w;
            while Instant::now() < deadline {
                load.one(&browser, &agency, &all[i % all.len()]).await;
                i += workers;
            }
        });
    }
    while set.join_next().await.is_some() {}
    let attempts = load.attempts.lock().unwrap();
    let completed = attempts
        .iter()
        .filter(|a| matches!(a.outcome, Outcome::Completed { .. }))
        .count();
    let failed: Vec<&String> = attempts
        .iter()
        .filter_map(|a| match &a.outcome {
            Outcome::Completed { .. } => None,
            Outcome::Failed(e) | Outcome::Wrong(e) => Some(e),
        })
        .collect();
    assert!(
        failed.is_empty(),
        "{} logins failed while measuring capacity, first: {}",
        failed.len(),
        failed[0]
    );
    completed as f64 / load.t0.elapsed().as_secs_f64()
}

// ---- The scenarios -------------------------------------------------------------------------

/// What happened when, in seconds since the scenario started.
#[derive(Default)]
struct Marks {
    /// The fault.
    fault: f64,
    /// kill-replica: the balancer marked the replica down; redis-failover: the Sentinels
    /// named the promoted replica.
    noticed: Option<f64>,
    /// redis-failover: every replica ready again.
    ready_again: Option<f64>,
    /// kill-replica: the replica back in the balancer; idp-outage: the IdP started again;
    /// rolling-restart: the last replica back.
    restored: Option<f64>,
    /// key-rotation: every replica signs with the new key, and that key.
    switched: Option<(f64, String)>,
}

async fn sleep_until(load: &Load, at: f64) {
    let wait = at - load.now();
    if wait > 0.0 {
        tokio::time::sleep(Duration::from_secs_f64(wait)).await;
    }
}

/// Injects the scenario's fault at a quarter of the run and restores what it broke.
async fn act(s: Scenario, top: &mut Topology, load: &Load, seconds: f64) -> Marks {
    sleep_until(load, seconds * 0.25).await;
    let mut m = Marks {
        fault: load.now(),
        ..Marks::default()
    };
    match s {
        Scenario::RollingRestart => {
            top.rolling_restart().await;
            m.restored = Some(load.now());
        }
        Scenario::KillReplica => {
            let proc = top.gateways[1].proc.take().expect("gw2 runs");
            m.fault = load.now();
            proc.signal("KILL");
            drop(proc);
            top.wait_lb_state(1, "DOWN", Duration::from_secs(10)).await;
            m.noticed = Some(load.now());
            sleep_until(load, seconds * 0.5).await;
            top.start_gateway(1).await;
            top.wait_lb_state(1, "UP", Duration::from_secs(20)).await;
            m.restored = Some(load.now());
        }
        Scenario::RedisFailover => {
            let old = top.master.0;
            m.fault = load.now();
            drop(top.master.1.take()); // SIGKILL
            until(
                Duration::from_secs(30),
                "the Sentinels to promote the replica",
                async || top.sentinel_master().await.is_some_and(|p| p != old),
            )
            .await;
            m.noticed = Some(load.now());
            let ports: Vec<u16> = top.gateways.iter().map(|g| g.port).collect();
            for port in ports {
                let url = format!("http://127.0.0.1:{port}/readyz");
                until(
                    Duration::from_secs(30),
                    "the replicas ready again",
                    async || http_status(&top.http, &url).await == Some(200),
                )
                .await;
            }
            m.ready_again = Some(load.now());
            assert_eq!(top.sentinel_master().await, Some(top.replica.0));
        }
        Scenario::IdpOutage => {
            let sa = Gcc::SaudiArabia.code();
            let port = top.idps[&sa].0;
            m.fault = load.now();
            drop(top.idps.get_mut(&sa).unwrap().1.take()); // SIGKILL
            sleep_until(load, seconds * 0.5).await;
            let restarted = spawn_idp(&top.jisr, sa, port, &top.logs);
            top.idps.get_mut(&sa).unwrap().1 = Some(restarted);
            let url = format!("http://127.0.0.1:{port}/jwks");
            until(Duration::from_secs(20), "SA's IdP back", async || {
                http_status(&top.http, &url).await == Some(200)
            })
            .await;
            m.restored = Some(load.now());
        }
        Scenario::KeyRotation => {
            // Two national IdPs move to a new key and withdraw the old one at once.
            for c in [Gcc::SaudiArabia.code(), Gcc::Kuwait.code()] {
                top.set_idp_faults(c, serde_json::json!({ "key_generation": 1 }))
                    .await;
            }
            // The gateway's own key, as the runbook does it: publish, then switch.
            let kid = top.publish_new_key();
            top.rolling_restart().await;
            top.activate_key(&kid);
            top.rolling_restart().await;
            m.switched = Some((load.now(), kid));
        }
    }
    m
}

/// A failure the balancer or the connection reports (its 502/503/504 page, a reset, a refused
/// connection), not the gateway: the gateway's own refusals carry their error code in
/// brackets (`got 503 … [temporarily_unavailable]`). Only the part before the body counts.
fn transport_or_balancer(e: &str) -> bool {
    let head = e.split(": <").next().unwrap_or(e);
    let head: String = head.chars().take(160).collect();
    let balancer = ["got 502", "got 503", "got 504"]
        .iter()
        .any(|m| head.contains(m))
        && !head.contains(" [");
    balancer || transport(&head)
}

/// reqwest's own failure: the request could not be sent or its answer not read.
fn transport(e: &str) -> bool {
    [
        "error sending request",
        "error decoding response body",
        "connection closed",
    ]
    .iter()
    .any(|m| e.contains(m))
}

#[derive(PartialEq)]
enum Verdict {
    Completed,
    Expected,
    Unexpected,
    Wrong,
}

fn judge(s: Scenario, a: &Attempt, m: &Marks) -> Verdict {
    let e = match &a.outcome {
        Outcome::Completed { .. } => return Verdict::Completed,
        Outcome::Wrong(_) => return Verdict::Wrong,
        Outcome::Failed(e) => e,
    };
    let expected = match s {
        Scenario::RollingRestart | Scenario::KeyRotation => false,
        // In flight when the replica died: started before the kill (50 ms for the signal to
        // land), failed by the time the
        // balancer had noticed (and half a second more). Its request on the dead replica is
        // lost (the balancer's 502, a reset), or the balancer sent it again to another replica
        // after the dead one had already used a single-use step: then the gateway refuses
        // the replayed step (fail closed). A login started after the kill must not fail.
        Scenario::KillReplica => {
            a.start <= m.fault + 0.05
                && a.end >= m.fault - 0.05
                && a.end <= m.noticed.unwrap_or(f64::MAX) + 0.5
                && (transport_or_balancer(e)
                    || e.contains("[invalid_request]")
                    || e.contains("[invalid_grant]"))
        }
        // Refused by the gateway while the store failed over (until a second after every
        // replica was ready again); or a code whose write the old master took with it.
        Scenario::RedisFailover => {
            a.end >= m.fault
                && a.end <= m.ready_again.unwrap_or(f64::MAX) + 1.0
                && (e.contains("[temporarily_unavailable]")
                    || (e.starts_with("token") && e.contains("[invalid_grant]")))
        }
        // Saudi logins while the IdP is down: the browser cannot reach it, or the gateway
        // refuses it (its probes found the IdP silent, or a login was past the IdP already).
        // A replica probes a silent IdP every second, so it offers it again up to a second
        // after it is back.
        Scenario::IdpOutage => {
            a.country == Gcc::SaudiArabia.code()
                && a.end >= m.fault
                && a.start <= m.restored.unwrap_or(f64::MAX) + 1.5
                && ((e.starts_with("idp authorize") && transport(e))
                    || e.contains("[temporarily_unavailable]"))
        }
    };
    if expected {
        Verdict::Expected
    } else {
        Verdict::Unexpected
    }
}

/// Prints the scenario's summary line and what it measured; true if nothing failed
/// unexpectedly and nothing was wrong.
fn report(s: Scenario, load: &Load, m: &Marks, rate: f64) -> bool {
    let attempts = load.attempts.lock().unwrap();
    let verdicts: Vec<Verdict> = attempts.iter().map(|a| judge(s, a, m)).collect();
    let count = |v: Verdict| verdicts.iter().filter(|x| **x == v).count();
    let (completed, expected, unexpected, wrong) = (
        count(Verdict::Completed),
        count(Verdict::Expected),
        count(Verdict::Unexpected),
        count(Verdict::Wrong),
    );
    println!(
        "{}: attempted {}, completed {completed}, refused as expected {expected}, \
         failed otherwise {unexpected}, wrong {wrong} ({rate:.1} logins/s started, {} starts \
         missed, fault at +{:.1} s)",
        s.name(),
        attempts.len(),
        load.missed.load(Ordering::Relaxed),
        m.fault,
    );
    let failed_at: Vec<f64> = attempts
        .iter()
        .zip(&verdicts)
        .filter(|(_, v)| **v == Verdict::Expected)
        .map(|(a, _)| a.end)
        .collect();
    let last_failure = failed_at.iter().copied().fold(None, |acc: Option<f64>, t| {
        Some(acc.map_or(t, |a| a.max(t)))
    });
    match s {
        Scenario::RollingRestart => println!(
            "  three replicas restarted one after another (SIGTERM, drain, exit 0, start, ready) in {:.1} s",
            m.restored.unwrap_or(m.fault) - m.fault
        ),
        Scenario::KillReplica => println!(
            "  the balancer marked gw2 down {:.2} s after SIGKILL; refused logins ended by +{:.2} s after it; gw2 back in at +{:.1} s",
            m.noticed.unwrap_or(f64::NAN) - m.fault,
            last_failure.map_or(0.0, |t| t - m.fault),
            m.restored.unwrap_or(f64::NAN) - m.fault,
        ),
        Scenario::RedisFailover => {
            let first_ok_after = attempts
                .iter()
                .filter(|a| a.start > m.fault && matches!(a.outcome, Outcome::Completed { .. }))
                .map(|a| a.end)
                .fold(f64::MAX, f64::min);
            println!(
                "  the Sentinels promoted the replica {:.2} s after SIGKILL of the master; every replica ready at +{:.2} s; \
                 last refused login ended +{:.2} s after the kill; first login started after the kill completed at +{:.2} s",
                m.noticed.unwrap_or(f64::NAN) - m.fault,
                m.ready_again.unwrap_or(f64::NAN) - m.fault,
                last_failure.map_or(0.0, |t| t - m.fault),
                first_ok_after - m.fault,
            );
        }
        Scenario::IdpOutage => {
            let restored = m.restored.unwrap_or(m.fault);
            let rate_in = |c: CountryCode, from: f64, to: f64| {
                let n = attempts
                    .iter()
                    .filter(|a| {
                        a.country == c
                            && a.start >= from
                            && a.start < to
                            && matches!(a.outcome, Outcome::Completed { .. })
                    })
                    .count();
                n as f64 / (to - from).max(0.001)
            };
            let mut line = String::from("  completed logins/s before → during the outage:");
            for g in Gcc::ALL {
                let c = g.code();
                if c == agency_country() {
                    continue;
                }
                let (before, during) = (
                    rate_in(c, 1.0, m.fault),
                    rate_in(c, m.fault + 0.5, restored),
                );
                line.push_str(&format!(" {c} {before:.2} → {during:.2};"));
            }
            println!("{line} SA's IdP back at +{:.1} s", restored - m.fault);
            // When the gateway took over from the browser's connection error: the last
            // Saudi login sent to the dead IdP, and the first refused at the country choice.
            let sa = Gcc::SaudiArabia.code();
            let ends = |step: &str| -> Vec<f64> {
                attempts
                    .iter()
                    .filter(|a| a.country == sa && a.start >= m.fault)
                    .filter(|a| matches!(&a.outcome, Outcome::Failed(e) if e.starts_with(step)))
                    .map(|a| a.end - m.fault)
                    .collect()
            };
            let at_idp = ends("idp authorize");
            let at_gateway = ends("login/country");
            let back = attempts
                .iter()
                .filter(|a| a.country == sa && a.start > restored)
                .find(|a| matches!(a.outcome, Outcome::Completed { .. }))
                .map_or(f64::NAN, |a| a.end - m.fault);
            println!(
                "  Saudi logins sent to the dead IdP until +{:.2} s; refused by the gateway (probes) from +{:.2} s; completed again from +{back:.2} s",
                at_idp.iter().copied().fold(f64::NAN, f64::max),
                at_gateway.iter().copied().fold(f64::NAN, f64::min),
            );
        }
        Scenario::KeyRotation => {
            if let Some((at, kid)) = &m.switched {
                let after: Vec<&Attempt> = attempts
                    .iter()
                    .filter(|a| a.start > *at && matches!(a.outcome, Outcome::Completed { .. }))
                    .collect();
                let new = after
                    .iter()
                    .filter(|a| matches!(&a.outcome, Outcome::Completed { kid: k } if k == kid))
                    .count();
                println!(
                    "  national keys rotated at +0 s (SA, KW); the gateway's new key published and made active by two rolling \
                     restarts in {:.1} s; {new} of {} completed logins started after the switch carry its kid",
                    at - m.fault,
                    after.len()
                );
                if new != after.len() {
                    println!("  WRONG: a login after the switch was signed by another key");
                    return false;
                }
            }
        }
    }
    // What the expected refusals were: the step, the status and the error code.
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for (a, _) in attempts
        .iter()
        .zip(&verdicts)
        .filter(|(_, v)| **v == Verdict::Expected)
    {
        if let Outcome::Failed(e) = &a.outcome {
            let kind = e.find("]:").map_or_else(
                || e.chars().take(60).collect::<String>(),
                |end| e[..=end].to_owned(),
            );
            *kinds.entry(kind).or_default() += 1;
        }
    }
    for (kind, n) in &kinds {
        println!("  refused as expected: {n} × {kind}");
    }
    for (a, _) in attempts
        .iter()
        .zip(&verdicts)
        .filter(|(_, v)| matches!(v, Verdict::Unexpected | Verdict::Wrong))
        .take(5)
    {
        let (Outcome::Failed(e) | Outcome::Wrong(e)) = &a.outcome else {
            continue;
        };
        println!(
            "  {} at +{:.2}..+{:.2} s: {e:.160}",
            a.country, a.start, a.end
        );
    }
    unexpected == 0 && wrong == 0
}

fn main() -> std::process::ExitCode {
    let args = args();
    assert!(
        args.jisr.exists(),
        "{} not found: build it first (cargo build --release -p jisr-cli), or name it with --jisr",
        args.jisr.display()
    );
    for tool in ["redis-server", "haproxy"] {
        let found = Command::new(tool)
            .arg("-v")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok();
        assert!(
            found,
            "`{tool}` is not on PATH: scripts/prerequisites installs it"
        );
    }
    let run_dir = target_dir().join(format!("faults/{}", random_hex(4)));
    println!(
        "faults: {} on {} cores; logs in {}",
        args.jisr.display(),
        num_cores(),
        run_dir.display()
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let ok = rt.block_on(async {
        let mut rate = args.rate;
        let mut ok = true;
        for &s in &args.scenarios {
            let logs = run_dir.join(s.name());
            let mut top = Topology::start(&args.jisr, &logs).await;
            let rate = match rate {
                Some(r) => r,
                None => {
                    let cap = capacity(top.site(), args.workers, args.capacity_secs).await;
                    let r = (cap * args.fraction).max(1.0);
                    println!(
                        "capacity: {cap:.1} complete logins/s ({} workers, {} s, through HAProxy to three replicas); load: {r:.1}/s",
                        args.workers, args.capacity_secs
                    );
                    rate = Some(r);
                    r
                }
            };
            let t0 = Instant::now();
            let load = Load::new(top.site(), args.workers, t0);
            let stop = Arc::new(Stop {
                t0,
                at: Mutex::new(args.seconds),
                acting: std::sync::atomic::AtomicBool::new(true),
            });
            let runner = {
                let (load, stop) = (load.clone(), stop.clone());
                tokio::spawn(async move { load.run(rate, targets(agency_country()), stop).await })
            };
            let marks = act(s, &mut top, &load, args.seconds).await;
            {
                let mut at = stop.at.lock().unwrap();
                *at = at.max(load.now() + 3.0);
            }
            stop.acting.store(false, Ordering::Relaxed);
            runner.await.unwrap();
            ok &= report(s, &load, &marks, rate);
            drop(top);
        }
        ok
    });
    if ok && !args.keep {
        let _ = fs::remove_dir_all(&run_dir);
    }
    if ok {
        std::process::ExitCode::SUCCESS
    } else {
        println!("faults: FAILED (logs in {})", run_dir.display());
        std::process::ExitCode::FAILURE
    }
}

fn num_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
