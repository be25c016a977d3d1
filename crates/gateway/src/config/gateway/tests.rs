use super::*;
use crate::provider::keys::{SigningAlg, generate_key_file};

const NO_ENV: [(&str, &str); 0] = [];

fn shipped() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/gateway.toml")
}

const BASE: &str = r#"pairwise_key = { env = "PK" }
[server]
public_url = "https://jisr.example"
[store]
kind = "memory"
[keys]
files = ["keys/a.pem"]
"#;

fn write(dir: &Path, text: &str) -> PathBuf {
    let file = dir.join("gateway.toml");
    std::fs::write(&file, text).unwrap();
    file
}

/// Loads BASE with `from` replaced by `to`; returns the problems as `key: problem`.
fn problems(from: &str, to: &str, env: &[(&str, &str)]) -> Vec<String> {
    assert!(BASE.contains(from), "{from}");
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), &BASE.replacen(from, to, 1));
    let err = GatewayConfig::load_with(&file, env.iter().copied()).unwrap_err();
    err.iter()
        .map(|p| {
            let origin = if p.file.starts_with('$') {
                format!("{}: ", p.file)
            } else {
                assert_eq!(p.file, file.display().to_string());
                String::new()
            };
            format!("{origin}{}: {}", p.key, p.problem)
        })
        .collect()
}

#[test]
fn shipped_gateway_config_loads() {
    let cfg = GatewayConfig::load_with(&shipped(), NO_ENV).unwrap_or_else(|p| panic!("{p:#?}"));
    let dir = shipped().parent().unwrap().to_owned();
    assert_eq!(cfg.base_dir(), dir);
    assert_eq!(cfg.server.listen, "0.0.0.0:8080".parse().unwrap());
    assert_eq!(cfg.server.issuer(), "https://jisr.example");
    assert!(cfg.server.hsts());
    assert!(matches!(
        &cfg.store,
        StoreConfig::Redis { url, prefix, timeout_ms: 1000, encryption_key: SecretSource::Env(v), sentinel: None, cluster: None }
            if url.starts_with("rediss://") && prefix == "jisr:" && v == "JISR_STORE_ENCRYPTION_KEY"
    ));
    assert_eq!(cfg.keys.files, [dir.join("keys/signing-2025-06.pem")]);
    assert_eq!(
        cfg.pairwise_key,
        SecretSource::Env("JISR_PAIRWISE_KEY".into())
    );
    assert_eq!(cfg.paths.countries, dir.join("countries"));
    assert_eq!(cfg.paths.agencies, dir.join("agencies.toml"));
    assert_eq!(cfg.tokens, TokenConfig::default());
}

#[test]
fn defaults_apply_and_relative_paths_resolve_against_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = GatewayConfig::load_with(&write(dir.path(), BASE), NO_ENV).unwrap();
    assert_eq!(cfg.server.listen, "127.0.0.1:8080".parse().unwrap());
    assert_eq!(cfg.server.tls, None);
    assert_eq!(
        cfg.store,
        StoreConfig::Memory {
            max_entries: 100_000
        }
    );
    assert_eq!(cfg.keys.files, [dir.path().join("keys/a.pem")]);
    assert_eq!(cfg.paths.policy, dir.path().join("policy.toml"));
    assert_eq!(cfg.tokens.code_ttl_secs, 60);
    assert_eq!(cfg.tokens.login_ttl_secs, 600);
}

#[test]
fn env_overrides_layer_over_the_file() {
    let env = [
        ("JISR_SERVER__LISTEN", "0.0.0.0:9443"),
        ("JISR_SERVER__PUBLIC_URL", "http://127.0.0.1:9443"),
        ("jisr_tokens__code_ttl_secs", "30"),
        ("JISR_PAIRWISE_KEY__ENV", "OTHER_PK"),
        // Not overrides: a secret value, the CLI's own variable, an unknown prefix.
        ("JISR_PAIRWISE_KEY", "a secret value, not a table"),
        ("JISR_CONFIG", "config"),
        ("JISR_BH_CLIENT_SECRET", "x"),
        ("JISR_COLOUR__RED", "1"),
        ("OTHER_SERVER__LISTEN", "0.0.0.0:1"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let cfg = GatewayConfig::load_with(&write(dir.path(), BASE), env).unwrap();
    assert_eq!(cfg.server.listen, "0.0.0.0:9443".parse().unwrap());
    assert_eq!(cfg.server.issuer(), "http://127.0.0.1:9443");
    assert!(!cfg.server.hsts());
    assert_eq!(cfg.tokens.code_ttl_secs, 30);
    assert_eq!(cfg.pairwise_key, SecretSource::Env("OTHER_PK".into()));
}

#[test]
fn env_override_switches_the_store_and_problems_name_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), BASE);
    let env = [
        ("JISR_STORE__KIND", "redis"),
        ("JISR_STORE__URL", "rediss://:pw@redis.example:6380/0"),
        ("JISR_STORE__ENCRYPTION_KEY__FILE", "/run/secrets/store.key"),
    ];
    let cfg = GatewayConfig::load_with(&file, env).unwrap();
    assert!(matches!(&cfg.store, StoreConfig::Redis { url, .. } if url.ends_with("6380/0")));
    assert!(!format!("{cfg:?}").contains(":pw@"), "{cfg:?}");

    let env = [
        ("JISR_STORE__KIND", "redis"),
        ("JISR_STORE__URL", "http://redis.example"),
        ("JISR_STORE__ENCRYPTION_KEY__ENV", "K"),
        ("JISR_TOKENS__CODE_TTL_SECS", "61"),
    ];
    assert_eq!(
        problems("", "", &env),
        [
            "$JISR_STORE__URL: store.url: store URL must start with redis:// or rediss://",
            "$JISR_TOKENS__CODE_TTL_SECS: tokens.code_ttl_secs: must be between 1 and 60 seconds",
        ]
    );
    assert_eq!(
        problems("", "", &[("JISR_STORE__COLOUR", "red")]),
        [
            "$JISR_STORE__COLOUR: store.colour: unknown field `colour`, expected one of `kind`, `max_entries`, `url`, `prefix`, `timeout_ms`, `encryption_key`, `sentinel_service`, `sentinels`, `cluster_nodes`"
        ]
    );
}

#[test]
fn every_problem_names_its_key() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "files = [\"keys/a.pem\"]",
            "files = [\"keys/a.pem\"]\nexpires = { k1 = \"30/06/2027\" }",
            "keys.expires.k1: \"30/06/2027\" is not a date (YYYY-MM-DD)",
        ),
        (
            "pairwise_key",
            "colour = 1\npairwise_key",
            "colour: unknown field `colour`, expected one of `server`, `store`, `keys`, `pairwise_key`, `paths`, `tokens`, `admin`, `audit`, `session`, `rate_limits`",
        ),
        (
            "[keys]",
            "[server.extra]\n[keys]",
            "server.extra: unknown field `extra`, expected one of `listen`, `public_url`, `tls`, `drain_secs`, `shutdown_timeout_secs`",
        ),
        (
            "public_url = \"https://jisr.example\"",
            "public_url = \"https://jisr.example\"\ndrain_secs = 301",
            "server.drain_secs: must be at most 300 (seconds)",
        ),
        (
            "public_url = \"https://jisr.example\"",
            "public_url = \"https://jisr.example\"\nshutdown_timeout_secs = 0",
            "server.shutdown_timeout_secs: must be between 1 and 600 (seconds)",
        ),
        (
            "[keys]",
            "[tokens]\ncode_ttl_secs = 0\n[keys]",
            "tokens.code_ttl_secs: must be between 1 and 60 seconds",
        ),
        (
            "[keys]",
            "[tokens]\nlogin_ttl_secs = 30\n[keys]",
            "tokens.login_ttl_secs: must be between 60 and 3600 seconds",
        ),
        (
            "[keys]",
            "[tokens]\ncode_ttl_secs = -1\n[keys]",
            "tokens.code_ttl_secs: invalid value signed int `-1`, expected u64",
        ),
        (
            "[keys]",
            "[tokens]\naccess_token_ttl_secs = 7200\n[keys]",
            "tokens.access_token_ttl_secs: must be between 1 and 3600 seconds",
        ),
        (
            "[keys]",
            "[tokens]\nid_token_ttl_secs = 3601\n[keys]",
            "tokens.id_token_ttl_secs: must be between 1 and 3600 seconds",
        ),
        (
            "https://jisr.example",
            "http://jisr.example",
            "server.public_url: must be https (http only on loopback for development)",
        ),
        (
            "https://jisr.example",
            "https://jisr.example/#x",
            "server.public_url: must not have a query or fragment",
        ),
        (
            "https://jisr.example",
            "jisr.example",
            "server.public_url: not a URL: relative URL without a base",
        ),
        (
            "[server]",
            "[server]\nlisten = \"localhost\"",
            "server.listen: not a socket address such as `0.0.0.0:8080` or `[::]:8080`",
        ),
        (
            "files = [\"keys/a.pem\"]",
            "files = []",
            "keys.files: list at least one signing key",
        ),
        (
            "[keys]\nfiles = [\"keys/a.pem\"]\n",
            "",
            "keys.files: list at least one signing key",
        ),
        (
            "kind = \"memory\"",
            "kind = \"memory\"\nurl = \"redis://x\"",
            "store.url: only for kind = \"redis\"",
        ),
        (
            "kind = \"memory\"",
            "kind = \"memory\"\nmax_entries = 0",
            "store.max_entries: must be at least 1",
        ),
        (
            "kind = \"memory\"",
            "kind = \"sqlite\"",
            "store.kind: unknown variant `sqlite`, expected one of `memory`, `redis`",
        ),
        (
            "kind = \"memory\"",
            "kind = \"redis\"\nurl = \"http://redis\"\nencryption_key = { env = \"K\" }",
            "store.url: store URL must start with redis:// or rediss://",
        ),
        (
            "kind = \"memory\"",
            "kind = \"redis\"\nurl = \"redis://r\"\ntimeout_ms = 30001\nencryption_key = { env = \"K\" }",
            "store.timeout_ms: must be between 1 and 30000",
        ),
        (
            "kind = \"memory\"",
            "kind = \"redis\"\nurl = \"redis://r\"",
            "store.encryption_key: required for kind = \"redis\": values are encrypted at rest",
        ),
        (
            "kind = \"memory\"",
            "kind = \"redis\"\nencryption_key = { env = \"K\" }",
            "store.url: required for kind = \"redis\"",
        ),
        (
            "{ env = \"PK\" }",
            "\"literal-secret-in-toml\"",
            "pairwise_key: secrets are never written in the config: use `{ env = \"VAR\" }` or `{ file = \"path\" }`",
        ),
        (
            "{ env = \"PK\" }",
            "{ env = \"PK\", file = \"pk\" }",
            "pairwise_key: set only one of `env` or `file`",
        ),
        (
            "{ env = \"PK\" }",
            "{ vault = \"PK\" }",
            "pairwise_key: unknown field `vault`, expected one of `env`, `file`",
        ),
        (
            "pairwise_key = { env = \"PK\" }\n",
            "",
            "pairwise_key: missing field `pairwise_key`",
        ),
        ("[keys]", "[keys", "line 6: unclosed table, expected `]`"),
    ];
    for (from, to, expected) in cases {
        let got = problems(from, to, &[]);
        assert_eq!(got, [*expected], "{from} → {to}");
    }
    // A literal secret is never echoed.
    let got = problems("{ env = \"PK\" }", "\"literal-secret-in-toml\"", &[]).join("");
    assert!(!got.contains("literal-secret"), "{got}");
}

#[test]
fn all_validation_problems_are_reported_at_once() {
    let got = problems(
        "[keys]\nfiles = [\"keys/a.pem\"]\n",
        "[tokens]\ncode_ttl_secs = 120\n",
        &[("JISR_SERVER__PUBLIC_URL", "http://jisr.example")],
    );
    assert_eq!(
        got,
        [
            "$JISR_SERVER__PUBLIC_URL: server.public_url: must be https (http only on loopback for development)",
            "keys.files: list at least one signing key",
            "tokens.code_ttl_secs: must be between 1 and 60 seconds",
        ]
    );
}

#[test]
fn resolve_secrets_checks_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let redis = BASE.replace(
        "kind = \"memory\"",
        "kind = \"redis\"\nurl = \"redis://r\"\nencryption_key = { file = \"store.key\" }",
    );
    let cfg = GatewayConfig::load_with(&write(dir.path(), &redis), NO_ENV).unwrap();
    let key32 = format!("hex:{}", "ab".repeat(32));
    std::fs::write(dir.path().join("store.key"), format!("{key32}\n")).unwrap();
    let ok = |k: &str| (k == "PK").then(|| format!("base64:{}", "A".repeat(44)));
    let secrets = cfg.resolve_secrets(&ok).unwrap();
    assert!(
        matches!(&secrets.store, StoreSettings::Redis(r) if r.url == "redis://r" && r.prefix == "jisr:")
    );
    assert_eq!(format!("{secrets:?}"), "GatewaySecrets(<redacted>)");

    std::fs::write(dir.path().join("store.key"), "too short").unwrap();
    let short = |k: &str| (k == "PK").then(|| "short".to_owned());
    let lines: Vec<String> = cfg
        .resolve_secrets(&short)
        .unwrap_err()
        .iter()
        .map(|p| format!("{}: {}", p.key, p.problem))
        .collect();
    assert_eq!(
        lines,
        [
            "pairwise_key: pairwise key must be at least 32 bytes, got 5",
            "store.encryption_key: invalid store configuration: encryption key must be exactly 32 bytes, got 9",
        ]
    );
}

#[test]
fn absent_secrets_are_tagged_absent() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = GatewayConfig::load_with(&write(dir.path(), BASE), NO_ENV).unwrap();
    let problems = cfg.resolve_secrets(&|_| None).unwrap_err();
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0].is_absent());
    assert_eq!(
        problems[0].to_string(),
        format!(
            "{}: pairwise_key: absent: environment variable PK is not set",
            dir.path().join("gateway.toml").display()
        )
    );
    let pk = |k: &str| (k == "PK").then(|| "p".repeat(32));
    assert!(matches!(
        cfg.resolve_secrets(&pk).unwrap().store,
        StoreSettings::Memory {
            max_entries: 100_000
        }
    ));
}

#[test]
fn signing_keys_are_loaded_and_each_problem_names_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), BASE);
    let cfg = GatewayConfig::load_with(&file, NO_ENV).unwrap();
    let problems = cfg.load_signing_keys().unwrap_err();
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0].is_absent());
    assert_eq!(problems[0].key, "keys.files[0]");
    assert_eq!(
        problems[0].problem,
        format!("{} not found", dir.path().join("keys/a.pem").display())
    );

    std::fs::create_dir(dir.path().join("keys")).unwrap();
    std::fs::write(dir.path().join("keys/a.pem"), "not a key").unwrap();
    let problems = cfg.load_signing_keys().unwrap_err();
    assert!(!problems[0].is_absent());
    assert_eq!(problems[0].key, "keys.files[0]");
    assert!(
        problems[0].problem.starts_with("signing key file"),
        "{problems:#?}"
    );

    let (path, kid) = generate_key_file(SigningAlg::ES256, &dir.path().join("keys")).unwrap();
    std::fs::rename(path, dir.path().join("keys/a.pem")).unwrap();
    let keys = cfg.load_signing_keys().unwrap();
    assert_eq!(keys.active_kid(), kid);

    let other = BASE.replace("[keys]", "[keys]\nactive = \"nobody\"");
    let cfg = GatewayConfig::load_with(&write(dir.path(), &other), NO_ENV).unwrap();
    let problems = cfg.load_signing_keys().unwrap_err();
    assert_eq!(problems[0].key, "keys.active", "{problems:#?}");
}

#[test]
fn tls_files_are_read_at_load() {
    let dir = tempfile::tempdir().unwrap();
    let tls = BASE.replace(
        "[store]",
        "tls = { cert_file = \"tls.crt\", key_file = \"tls.key\" }\n[store]",
    );
    let cfg = GatewayConfig::load_with(&write(dir.path(), &tls), NO_ENV).unwrap();
    let lines = |p: Vec<jisr_mapping::ConfigProblem>| -> Vec<String> {
        let root = dir.path().display().to_string();
        p.iter()
            .map(|p| format!("{}: {}", p.key, p.problem.replace(&root, "")))
            .collect()
    };
    let problems = cfg.load_tls().unwrap_err();
    assert!(problems.iter().all(|p| p.is_absent()));
    assert_eq!(
        lines(problems),
        [
            "server.tls.cert_file: /tls.crt not found",
            "server.tls.key_file: /tls.key not found",
        ]
    );
    std::fs::write(dir.path().join("tls.crt"), "no certificate here").unwrap();
    std::fs::write(dir.path().join("tls.key"), "no key here").unwrap();
    let problems = cfg.load_tls().unwrap_err();
    assert!(problems.iter().all(|p| !p.is_absent()));
    assert_eq!(
        lines(problems),
        [
            "server.tls.cert_file: /tls.crt holds no PEM certificate",
            "server.tls.key_file: /tls.key holds no PEM private key",
        ]
    );
    let plain = GatewayConfig::load_with(&write(dir.path(), BASE), NO_ENV).unwrap();
    assert!(plain.load_tls().unwrap().is_none());
}

#[test]
fn store_urls_are_redacted_in_debug() {
    assert_eq!(
        validate::redact_url("rediss://user:pw@redis.example:6380/0"),
        "rediss://user:redacted@redis.example:6380/0"
    );
    assert_eq!(
        validate::redact_url("redis://redis.example/0"),
        "redis://redis.example/0"
    );
    assert_eq!(validate::redact_url("not a url"), "<not a url>");
}

#[test]
fn key_expiry_dates_are_utc_midnight() {
    let dir = tempfile::tempdir().unwrap();
    let text = BASE.replace(
        "files = [\"keys/a.pem\"]",
        "files = [\"keys/a.pem\"]\nexpires = { k1 = \"2027-06-30\" }",
    );
    let file = write(dir.path(), &text);
    let cfg = GatewayConfig::load_with(&file, [("PK", "x")]).unwrap_or_else(|p| panic!("{p:#?}"));
    assert_eq!(cfg.keys.expires, [("k1".to_owned(), 1_814_313_600)]);
}

#[test]
fn admin_public_url_is_an_origin_without_a_path() {
    let admin =
        |url: &str| format!("[admin]\nlisten = \"127.0.0.1:9090\"\npublic_url = \"{url}\"\n[keys]");
    let problem = "admin.public_url: must be an http(s) origin such as `https://ops.example`, without a path, query or fragment";
    for bad in [
        "https://ops.example/dashboard",
        "https://ops.example/dashboard/",
        "https://ops.example/?x=1",
        "https://ops.example/#top",
        "ftp://ops.example",
    ] {
        assert!(
            problems("[keys]", &admin(bad), &[("PK", "x")]).contains(&problem.to_owned()),
            "{bad}"
        );
    }
    for good in [
        "https://ops.example",
        "https://ops.example/",
        "http://127.0.0.1:9090",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), &BASE.replacen("[keys]", &admin(good), 1));
        let problems = match GatewayConfig::load_with(&file, NO_ENV) {
            Ok(_) => Vec::new(),
            Err(e) => e
                .iter()
                .map(|p| format!("{}: {}", p.key, p.problem))
                .collect(),
        };
        assert!(
            !problems.iter().any(|p| p.starts_with("admin.")),
            "{good}: {problems:?}"
        );
    }
}

#[test]
fn key_algs_name_a_signing_alg_by_kid() {
    let dir = tempfile::tempdir().unwrap();
    let text = BASE.replace(
        "files = [\"keys/a.pem\"]",
        "files = [\"keys/a.pem\"]\nalgs = { k1 = \"RS256\" }",
    );
    let cfg = GatewayConfig::load_with(&write(dir.path(), &text), [("PK", "x")])
        .unwrap_or_else(|p| panic!("{p:#?}"));
    assert_eq!(
        cfg.keys.algs,
        [("k1".to_owned(), jsonwebtoken::Algorithm::RS256)]
    );
    let text = BASE.replace(
        "files = [\"keys/a.pem\"]",
        "files = [\"keys/a.pem\"]\nalgs = { k1 = \"HS256\" }",
    );
    let problems = GatewayConfig::load_with(&write(dir.path(), &text), [("PK", "x")]).unwrap_err();
    assert_eq!(problems[0].key, "keys.algs.k1", "{problems:#?}");
    assert!(
        problems[0]
            .problem
            .starts_with("unknown signing algorithm \"HS256\""),
        "{problems:#?}"
    );
}

/// An RSA key file named in `keys.algs` with RS256 signs RS256; a kid naming no file is
/// refused at `keys.algs`.
#[test]
fn rsa_key_files_sign_rs256_when_keys_algs_says_so() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("keys")).unwrap();
    let (path, kid) = generate_key_file(SigningAlg::RS256, &dir.path().join("keys")).unwrap();
    std::fs::rename(path, dir.path().join("keys/a.pem")).unwrap();
    let load = |algs: &str| {
        let text = BASE.replace(
            "files = [\"keys/a.pem\"]",
            &format!("files = [\"keys/a.pem\"]\nalgs = {{ {algs} }}"),
        );
        GatewayConfig::load_with(&write(dir.path(), &text), [("PK", "x")])
            .unwrap()
            .load_signing_keys()
    };
    let keys = load(&format!("\"{kid}\" = \"RS256\"")).unwrap();
    assert_eq!(keys.active_alg(), SigningAlg::RS256);
    let problems = load("nobody = \"RS256\"").unwrap_err();
    assert_eq!(problems[0].key, "keys.algs", "{problems:#?}");
    let problems = load(&format!("\"{kid}\" = \"ES256\"")).unwrap_err();
    assert_eq!(problems[0].key, "keys.files[0]", "{problems:#?}");
    assert!(
        problems[0]
            .problem
            .ends_with("it is configured for ES256 but holds an RSA key (RS256 or PS256)"),
        "{problems:#?}"
    );
}

#[test]
fn rate_limits_load_from_the_file_and_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{BASE}[rate_limits]\nwindow_secs = 30\ntrusted_proxies = [\"10.0.0.0/8\", \"fd00::/8\"]\nauthorize = {{ per_address = 50, per_client = 500 }}\n"
    );
    let env = [("JISR_RATE_LIMITS__TOKEN__PER_CLIENT", "7")];
    let cfg = GatewayConfig::load_with(&write(dir.path(), &text), env).unwrap();
    let r = &cfg.rate_limits;
    assert!(r.enabled);
    assert_eq!(r.window_secs, 30);
    assert_eq!(r.trusted_proxies.len(), 2);
    assert!(r.trusted_proxies[0].contains(&"10.1.2.3".parse::<std::net::IpAddr>().unwrap()));
    assert_eq!((r.authorize.per_address, r.authorize.per_client), (50, 500));
    // What is left out keeps its default, also inside a group given in part.
    assert_eq!((r.token.per_address, r.token.per_client), (3000, 7));
    assert_eq!(r.pages, rate::RateLimitConfig::default().pages);

    let bad = problems(
        "[store]",
        "[rate_limits]\nwindow_secs = 0\ntrusted_proxies = [\"10.0.0.0/33\"]\n[store]",
        &NO_ENV,
    );
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(bad[0].contains("rate_limits.trusted_proxies"), "{bad:?}");
    assert_eq!(
        problems(
            "[store]",
            "[rate_limits]\nwindow_secs = 0\n[store]",
            &NO_ENV
        ),
        ["rate_limits.window_secs: must be between 1 and 3600 seconds"]
    );
    assert_eq!(
        problems(
            "[store]",
            "[rate_limits]\npages = { per_client = 3 }\n[store]",
            &NO_ENV
        ),
        [
            "rate_limits.pages.per_client: must be 0: the citizen's pages are limited per address only"
        ]
    );
}

#[test]
fn redis_sentinel_is_configured_in_store_and_checked() {
    let redis = "[store]\nkind = \"redis\"\nurl = \"redis://:pw@ignored/2\"\nencryption_key = { env = \"K\" }\n";
    let dir = tempfile::tempdir().unwrap();
    let text = BASE.replace(
        "[store]\nkind = \"memory\"\n",
        &format!("{redis}sentinel_service = \"jisr\"\nsentinels = [\"redis://10.0.0.1:26379\", \"redis://10.0.0.2:26379\"]\n"),
    );
    let cfg = GatewayConfig::load_with(&write(dir.path(), &text), NO_ENV).unwrap();
    let StoreConfig::Redis { sentinel, .. } = &cfg.store else {
        panic!("{:?}", cfg.store)
    };
    let sentinel = sentinel.as_ref().unwrap();
    assert_eq!(sentinel.service, "jisr");
    assert_eq!(sentinel.nodes.len(), 2);
    assert!(!format!("{cfg:?}").contains(":pw@"));

    let with = |extra: &str| {
        problems(
            "[store]\nkind = \"memory\"\n",
            &format!("{redis}{extra}"),
            &NO_ENV,
        )
    };
    assert_eq!(
        with("sentinel_service = \"jisr\"\n"),
        ["store.sentinels: required with store.sentinel_service"]
    );
    assert_eq!(
        with("sentinels = [\"redis://a:26379\"]\n"),
        ["store.sentinel_service: required with store.sentinels"]
    );
    let bad =
        with("sentinel_service = \"jisr\"\nsentinels = [\"redis://a:26379\", \"http://b\"]\n");
    assert_eq!(bad.len(), 1);
    assert!(bad[0].starts_with("store.sentinels[1]: "), "{bad:?}");
    assert_eq!(
        with("sentinel_service = \"my master\"\nsentinels = [\"redis://a:26379\"]\n"),
        ["store.sentinel_service: must be 1 to 128 letters, digits, '-', '_' or '.'"]
    );
}

#[test]
fn redis_cluster_is_configured_in_store_and_checked() {
    let redis = "[store]\nkind = \"redis\"\nurl = \"redis://:pw@ignored\"\nencryption_key = { env = \"K\" }\n";
    let dir = tempfile::tempdir().unwrap();
    let text = BASE.replace(
        "[store]\nkind = \"memory\"\n",
        &format!("{redis}cluster_nodes = [\"redis://10.0.0.1:6379\", \"redis://10.0.0.2:6379\"]\n"),
    );
    let cfg = GatewayConfig::load_with(&write(dir.path(), &text), NO_ENV).unwrap();
    assert!(
        matches!(&cfg.store, StoreConfig::Redis { cluster: Some(nodes), .. } if nodes.len() == 2)
    );
    let with = |extra: &str| {
        problems(
            "[store]\nkind = \"memory\"\n",
            &format!("{redis}{extra}"),
            &NO_ENV,
        )
    };
    assert_eq!(
        with("cluster_nodes = []\n"),
        ["store.cluster_nodes: must list at least one node"]
    );
    assert_eq!(
        with(
            "cluster_nodes = [\"redis://a:1\"]\nsentinel_service = \"s\"\nsentinels = [\"redis://b:2\"]\n"
        ),
        ["store.cluster_nodes: Redis Cluster and Sentinel exclude each other: name one"]
    );
    assert_eq!(
        with("cluster_nodes = [\"redis://a:1\"]\nprefix = \"{jisr}:\"\n"),
        [
            "store.prefix: must not contain { or } with Redis Cluster (they would change the keys' slots)"
        ]
    );
    let bad = with("cluster_nodes = [\"redis://a:1\", \"tcp://b\"]\n");
    assert!(
        bad.len() == 1 && bad[0].starts_with("store.cluster_nodes[1]: "),
        "{bad:?}"
    );
}
