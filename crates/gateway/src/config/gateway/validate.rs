//! Checks on `gateway.toml` beyond its types: addresses, URLs, ranges, what goes with which
//! store; relative paths resolved against the file's directory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use url::Url;

use serde::Deserialize;

use super::{
    GatewayConfig, KeysConfig, PathsConfig, ServerConfig, StoreConfig, TlsConfig, TokenConfig,
};
use crate::config::secret::SecretSource;

/// `gateway.toml` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGateway {
    server: RawServer,
    store: RawStore,
    #[serde(default)]
    keys: RawKeys,
    pairwise_key: SecretSource,
    #[serde(default)]
    paths: PathsConfig,
    #[serde(default)]
    tokens: TokenConfig,
    #[serde(default)]
    admin: Option<super::admin::RawAdmin>,
    #[serde(default)]
    audit: Option<super::audit::RawAudit>,
    #[serde(default)]
    session: super::session::SessionConfig,
    #[serde(default)]
    rate_limits: super::rate::RateLimitConfig,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    #[serde(default = "default_listen")]
    listen: String,
    public_url: String,
    #[serde(default)]
    tls: Option<TlsConfig>,
    #[serde(default)]
    drain_secs: Option<u64>,
    #[serde(default)]
    shutdown_timeout_secs: Option<u64>,
}

fn default_listen() -> String {
    "127.0.0.1:8080".into()
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum StoreKind {
    Memory,
    Redis,
}

/// Flat rather than a tagged enum, so a misplaced key is reported with its own name.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    kind: StoreKind,
    max_entries: Option<usize>,
    url: Option<String>,
    prefix: Option<String>,
    timeout_ms: Option<u64>,
    encryption_key: Option<SecretSource>,
    /// Redis Sentinel: the master's service name, and the Sentinels.
    sentinel_service: Option<String>,
    sentinels: Option<Vec<String>>,
    /// Redis Cluster: some of its nodes.
    cluster_nodes: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawKeys {
    #[serde(default)]
    files: Vec<PathBuf>,
    #[serde(default)]
    active: Option<String>,
    /// When each key is to be retired, by kid: `"YYYY-MM-DD"` (00:00 UTC that day).
    #[serde(default)]
    expires: std::collections::BTreeMap<String, String>,
    /// The algorithm of keys whose type allows several (RSA: RS256 or PS256), by kid.
    #[serde(default)]
    algs: std::collections::BTreeMap<String, String>,
}

/// `(key, problem)` pairs; the loader names the file (or the overriding variable).
pub(super) type Problems = Vec<(String, String)>;

pub(super) fn validate(
    raw: RawGateway,
    file: &Path,
    base_dir: &Path,
) -> Result<GatewayConfig, Problems> {
    let mut problems: Problems = Vec::new();
    let mut bad = |key: &str, msg: String| problems.push((key.to_owned(), msg));

    let listen = raw
        .server
        .listen
        .parse::<SocketAddr>()
        .map_err(|_| {
            bad(
                "server.listen",
                "not a socket address such as `0.0.0.0:8080` or `[::]:8080`".into(),
            )
        })
        .ok();
    let public_url = check_public_url(&raw.server.public_url)
        .map_err(|e| bad("server.public_url", e))
        .ok();
    let drain_secs = raw.server.drain_secs.unwrap_or(super::DEFAULT_DRAIN_SECS);
    if drain_secs > 300 {
        bad("server.drain_secs", "must be at most 300 (seconds)".into());
    }
    let shutdown_timeout_secs = raw
        .server
        .shutdown_timeout_secs
        .unwrap_or(super::DEFAULT_SHUTDOWN_TIMEOUT_SECS);
    if !(1..=600).contains(&shutdown_timeout_secs) {
        bad(
            "server.shutdown_timeout_secs",
            "must be between 1 and 600 (seconds)".into(),
        );
    }

    let store = match raw.store.kind {
        StoreKind::Memory => {
            for (key, set) in [
                ("url", raw.store.url.is_some()),
                ("prefix", raw.store.prefix.is_some()),
                ("timeout_ms", raw.store.timeout_ms.is_some()),
                ("encryption_key", raw.store.encryption_key.is_some()),
            ] {
                if set {
                    bad(&format!("store.{key}"), "only for kind = \"redis\"".into());
                }
            }
            let max_entries = raw
                .store
                .max_entries
                .unwrap_or(jisr_store::DEFAULT_MAX_ENTRIES);
            if max_entries == 0 {
                bad("store.max_entries", "must be at least 1".into());
            }
            Some(StoreConfig::Memory { max_entries })
        }
        StoreKind::Redis => {
            if raw.store.max_entries.is_some() {
                bad("store.max_entries", "only for kind = \"memory\"".into());
            }
            let url = raw.store.url.unwrap_or_default();
            if url.is_empty() {
                bad("store.url", "required for kind = \"redis\"".into());
            } else if let Err(e) = jisr_store::validate_url(&url) {
                bad("store.url", e);
            }
            let prefix = raw
                .store
                .prefix
                .unwrap_or_else(|| jisr_store::DEFAULT_PREFIX.to_owned());
            if prefix.len() > 128 {
                bad("store.prefix", "must be at most 128 bytes".into());
            }
            let max_ms = jisr_store::MAX_TIMEOUT.as_millis() as u64;
            let timeout_ms = raw
                .store
                .timeout_ms
                .unwrap_or(jisr_store::DEFAULT_TIMEOUT.as_millis() as u64);
            if !(1..=max_ms).contains(&timeout_ms) {
                bad(
                    "store.timeout_ms",
                    format!("must be between 1 and {max_ms}"),
                );
            }
            let sentinel = match (raw.store.sentinel_service, raw.store.sentinels) {
                (None, None) => None,
                (Some(service), Some(nodes)) => {
                    let sentinel = jisr_store::SentinelSettings { service, nodes };
                    match sentinel.validate() {
                        Ok(()) => Some(sentinel),
                        Err((key, problem)) => {
                            bad(&key, problem);
                            None
                        }
                    }
                }
                (Some(_), None) => {
                    bad(
                        "store.sentinels",
                        "required with store.sentinel_service".into(),
                    );
                    None
                }
                (None, Some(_)) => {
                    bad(
                        "store.sentinel_service",
                        "required with store.sentinels".into(),
                    );
                    None
                }
            };
            let cluster =
                raw.store.cluster_nodes.and_then(|nodes| {
                    match jisr_store::check_cluster(&nodes, sentinel.is_some(), &prefix) {
                        Ok(()) => Some(nodes),
                        Err((key, problem)) => {
                            bad(&key, problem);
                            None
                        }
                    }
                });
            match raw.store.encryption_key {
                Some(key) => Some(StoreConfig::Redis {
                    url,
                    prefix,
                    timeout_ms,
                    encryption_key: key.under(base_dir),
                    sentinel,
                    cluster,
                }),
                None => {
                    bad(
                        "store.encryption_key",
                        "required for kind = \"redis\": values are encrypted at rest".into(),
                    );
                    None
                }
            }
        }
    };

    if raw.keys.files.is_empty() {
        bad("keys.files", "list at least one signing key".into());
    }
    if raw
        .keys
        .active
        .as_deref()
        .is_some_and(|k| k.trim().is_empty())
    {
        bad(
            "keys.active",
            "must not be empty (omit it to use the first key)".into(),
        );
    }

    let mut expires = Vec::new();
    for (kid, date) in &raw.keys.expires {
        match chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d") {
            Ok(day) if !kid.trim().is_empty() => expires.push((
                kid.clone(),
                day.and_hms_opt(0, 0, 0)
                    .map_or(0, |t| t.and_utc().timestamp()),
            )),
            Ok(_) => bad("keys.expires", "a kid must not be empty".into()),
            Err(_) => bad(
                &format!("keys.expires.{kid}"),
                format!("{date:?} is not a date (YYYY-MM-DD)"),
            ),
        }
    }

    let mut algs = Vec::new();
    for (kid, name) in &raw.keys.algs {
        match crate::provider::keys::signing_alg(name) {
            Ok(alg) if !kid.trim().is_empty() => algs.push((kid.clone(), alg)),
            Ok(_) => bad("keys.algs", "a kid must not be empty".into()),
            Err(e) => bad(&format!("keys.algs.{kid}"), e.to_string()),
        }
    }

    let t = raw.tokens;
    for (key, value, range) in [
        ("code_ttl_secs", t.code_ttl_secs, 1..=60),
        ("access_token_ttl_secs", t.access_token_ttl_secs, 1..=3600),
        ("id_token_ttl_secs", t.id_token_ttl_secs, 1..=3600),
        ("login_ttl_secs", t.login_ttl_secs, 60..=3600),
    ] {
        if !range.contains(&value) {
            bad(
                &format!("tokens.{key}"),
                format!(
                    "must be between {} and {} seconds",
                    range.start(),
                    range.end()
                ),
            );
        }
    }

    for (key, problem) in raw.session.problems() {
        bad(key, problem);
    }
    for (key, problem) in raw.rate_limits.problems() {
        bad(key, problem);
    }

    let admin = raw
        .admin
        .and_then(|a| super::admin::validate(a, base_dir, &mut problems));
    let audit = raw
        .audit
        .and_then(|a| super::audit::validate(a, base_dir, &mut problems));

    match (listen, public_url, store) {
        (Some(listen), Some(public_url), Some(store)) if problems.is_empty() => Ok(GatewayConfig {
            server: ServerConfig {
                listen,
                public_url,
                tls: raw.server.tls.map(|t| TlsConfig {
                    cert_file: base_dir.join(t.cert_file),
                    key_file: base_dir.join(t.key_file),
                }),
                drain: std::time::Duration::from_secs(drain_secs),
                shutdown_timeout: std::time::Duration::from_secs(shutdown_timeout_secs),
            },
            store,
            keys: KeysConfig {
                files: raw.keys.files.iter().map(|f| base_dir.join(f)).collect(),
                active: raw.keys.active,
                algs,
                expires,
            },
            pairwise_key: raw.pairwise_key.under(base_dir),
            paths: PathsConfig {
                countries: base_dir.join(raw.paths.countries),
                policy: base_dir.join(raw.paths.policy),
                agencies: base_dir.join(raw.paths.agencies),
            },
            tokens: t,
            admin,
            audit,
            session: raw.session,
            rate_limits: raw.rate_limits,
            file: file.to_owned(),
            base_dir: base_dir.to_owned(),
        }),
        _ => Err(problems),
    }
}

/// The issuer: https, or http toward loopback for development; no query, fragment or
/// credentials (RFC 8414 / OIDC Discovery issuer rules).
fn check_public_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("not a URL: {e}"))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        _ => return Err("must be https (http only on loopback for development)".into()),
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not have a query or fragment".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain credentials".into());
    }
    Ok(url)
}

/// 127.0.0.0/8, `[::1]` or `localhost`: where plain http is tolerated for development.
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// The URL with its password replaced, safe for Debug and logs.
pub(super) fn redact_url(text: &str) -> String {
    match Url::parse(text) {
        Ok(mut url) => {
            if url.password().is_some() {
                // Cannot fail: a URL that has a password can have another.
                let _ = url.set_password(Some("redacted"));
            }
            url.to_string()
        }
        Err(_) => "<not a url>".into(),
    }
}
