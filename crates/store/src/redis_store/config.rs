//! `RedisConfig` and its validation, shared by `RedisStore` and `jisr check-config`.

use std::fmt;
use std::time::Duration;

use crate::StoreError;

/// Default per-operation timeout: long enough for a healthy Redis across a zone, short enough
/// that a citizen sees a 503 quickly instead of a hung page when Redis is down.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

/// Longest accepted per-operation timeout.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(30);

/// Default key prefix, so Jisr can share a Redis with other applications.
pub const DEFAULT_PREFIX: &str = "jisr:";

/// Length of the AEAD key for values at rest (AES-256-GCM).
pub const ENCRYPTION_KEY_LEN: usize = crate::seal::KEY_LEN;

/// Where and how to reach Redis; build once at start-up from the gateway config.
#[derive(Clone)]
pub struct RedisConfig {
    /// `redis://` or `rediss://` (TLS through rustls) URL, optionally with credentials and db.
    pub url: String,
    /// Prepended to every key; also part of the associated data that binds a value to its key.
    pub prefix: String,
    /// Bound on every operation, including waiting for a (re)connection.
    pub timeout: Duration,
    /// Key that encrypts every value at rest.
    pub encryption_key: EncryptionKey,
    /// Redis Sentinel: the master of `service` as the Sentinels name it, followed through
    /// failovers. `url` then gives only the scheme (TLS or not), credentials and database of
    /// the master; its host is not used.
    pub sentinel: Option<SentinelSettings>,
    /// Redis Cluster: some of its nodes (`redis://host:port`), from which the others and the
    /// slots are learnt. `url` then gives only the scheme, username and password.
    pub cluster: Option<Vec<String>>,
}

/// `[store] sentinel_service` and `sentinels`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentinelSettings {
    /// The master's name in the Sentinels' configuration (`sentinel monitor <name> …`).
    pub service: String,
    /// The Sentinels, as `redis://host:port` (or `rediss://`, with credentials if they
    /// need them).
    pub nodes: Vec<String>,
}

impl RedisConfig {
    /// A config with the default prefix and timeout.
    pub fn new(url: impl Into<String>, encryption_key: EncryptionKey) -> Self {
        Self {
            url: url.into(),
            prefix: DEFAULT_PREFIX.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            encryption_key,
            sentinel: None,
            cluster: None,
        }
    }

    /// Checks the URL scheme and the timeout range (the key is valid by construction).
    pub fn validate(&self) -> Result<(), StoreError> {
        validate_url(&self.url).map_err(|reason| StoreError::Config { reason })?;
        if self.timeout.is_zero() || self.timeout > MAX_TIMEOUT {
            return Err(StoreError::Config {
                reason: format!("timeout must be between 1 ms and {MAX_TIMEOUT:?}"),
            });
        }
        if self.prefix.len() > 128 {
            return Err(StoreError::Config {
                reason: "prefix must be at most 128 bytes".into(),
            });
        }
        if let Some(nodes) = &self.cluster {
            check_cluster(nodes, self.sentinel.is_some(), &self.prefix).map_err(
                |(key, problem)| StoreError::Config {
                    reason: format!("{key}: {problem}"),
                },
            )?;
        }
        if let Some(sentinel) = &self.sentinel {
            sentinel
                .validate()
                .map_err(|(key, problem)| StoreError::Config {
                    reason: format!("{key}: {problem}"),
                })?;
        }
        Ok(())
    }
}

impl SentinelSettings {
    /// The service name and every Sentinel URL; a problem comes with the setting it is in
    /// (`store.sentinels[1]`).
    pub fn validate(&self) -> Result<(), (String, String)> {
        let name_ok = !self.service.is_empty()
            && self.service.len() <= 128
            && self
                .service
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !name_ok {
            return Err((
                "store.sentinel_service".into(),
                "must be 1 to 128 letters, digits, '-', '_' or '.'".into(),
            ));
        }
        if self.nodes.is_empty() {
            return Err((
                "store.sentinels".into(),
                "must list at least one Sentinel".into(),
            ));
        }
        for (i, node) in self.nodes.iter().enumerate() {
            validate_url(node).map_err(|e| (format!("store.sentinels[{i}]"), e))?;
        }
        Ok(())
    }
}

/// `store.cluster_nodes`: at least one node, each a Redis URL; not with Sentinel; a prefix
/// without `{`/`}` (the store's hash tags must be the first in every key).
pub fn check_cluster(
    nodes: &[String],
    with_sentinel: bool,
    prefix: &str,
) -> Result<(), (String, String)> {
    if with_sentinel {
        return Err((
            "store.cluster_nodes".into(),
            "Redis Cluster and Sentinel exclude each other: name one".into(),
        ));
    }
    if nodes.is_empty() {
        return Err((
            "store.cluster_nodes".into(),
            "must list at least one node".into(),
        ));
    }
    for (i, node) in nodes.iter().enumerate() {
        validate_url(node).map_err(|e| (format!("store.cluster_nodes[{i}]"), e))?;
    }
    if prefix.contains(['{', '}']) {
        return Err((
            "store.prefix".into(),
            "must not contain { or } with Redis Cluster (they would change the keys' slots)".into(),
        ));
    }
    Ok(())
}

/// `store.url` as connection settings: with Sentinel or Cluster only its scheme, credentials
/// and database are used.
fn url_info(config: &RedisConfig) -> Result<redis::ConnectionInfo, StoreError> {
    use redis::IntoConnectionInfo;
    config
        .url
        .as_str()
        .into_connection_info()
        .map_err(|e| invalid("store.url", e))
}

fn invalid(setting: &str, e: redis::RedisError) -> StoreError {
    StoreError::Config {
        reason: format!("invalid {setting} ({})", e.category()),
    }
}

/// The cluster client for `nodes`, with `config.url`'s credentials and the store's timeout.
pub(super) fn cluster_source(
    config: &RedisConfig,
    nodes: &[String],
) -> Result<super::Source, StoreError> {
    let url = url_info(config)?;
    let settings = url.redis_settings();
    let mut builder = redis::cluster::ClusterClient::builder(nodes.iter().map(String::as_str))
        .connection_timeout(config.timeout)
        .response_timeout(config.timeout)
        .retries(2);
    if let Some(user) = settings.username() {
        builder = builder.username(user);
    }
    if let Some(password) = settings.password() {
        builder = builder.password(password);
    }
    let client = builder
        .build()
        .map_err(|e| invalid("store.cluster_nodes", e))?;
    Ok(super::Source::Cluster {
        client,
        connecting: tokio::sync::Mutex::new(()),
    })
}

/// The Sentinel client for `sentinel`: the master is reached with `config.url`'s scheme,
/// credentials and database.
pub(super) fn sentinel_source(
    config: &RedisConfig,
    sentinel: &SentinelSettings,
) -> Result<super::Source, StoreError> {
    use redis::sentinel::{SentinelClient, SentinelNodeConnectionInfo, SentinelServerType};
    let master = url_info(config)?;
    let mut node = SentinelNodeConnectionInfo::default()
        .set_redis_connection_info(master.redis_settings().clone());
    if matches!(master.addr(), redis::ConnectionAddr::TcpTls { .. }) {
        node = node.set_tls_mode(redis::TlsMode::Secure);
    }
    let client = SentinelClient::build(
        sentinel.nodes.iter().map(String::as_str).collect(),
        sentinel.service.as_str(),
        Some(node),
        SentinelServerType::Master,
    )
    .map_err(|e| invalid("store.sentinels", e))?;
    Ok(super::Source::Sentinel {
        client: tokio::sync::Mutex::new(client),
        service: sentinel.service.clone(),
    })
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &redact_url(&self.url))
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("encryption_key", &self.encryption_key)
            .field(
                "cluster",
                &self
                    .cluster
                    .as_ref()
                    .map(|n| n.iter().map(|n| redact_url(n)).collect::<Vec<_>>()),
            )
            .field(
                "sentinel",
                &self.sentinel.as_ref().map(|s| {
                    (
                        &s.service,
                        s.nodes.iter().map(|n| redact_url(n)).collect::<Vec<_>>(),
                    )
                }),
            )
            .finish()
    }
}

/// Checks that `url` is a Redis URL the store can use: `redis://` or `rediss://`, parseable.
///
/// Returns a human-readable reason (never echoing credentials) for `jisr check-config`.
pub fn validate_url(url: &str) -> Result<(), String> {
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("redis" | "rediss") => {}
        _ => {
            return Err("store URL must start with redis:// or rediss://".into());
        }
    }
    redis::Client::open(url)
        .map(|_| ())
        .map_err(|e| format!("store URL is not a valid Redis URL ({})", e.category()))
}

/// Checks that raw key material is usable as [`EncryptionKey`], for `jisr check-config`.
pub fn validate_encryption_key(bytes: &[u8]) -> Result<(), String> {
    EncryptionKey::from_slice(bytes)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The URL with any password replaced, safe to log.
pub(crate) fn redact_url(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return "<invalid url>".into();
    };
    if parsed.password().is_some() && parsed.set_password(Some("redacted")).is_err() {
        return "<invalid url>".into();
    }
    parsed.into()
}

/// A 32-byte AEAD key; its `Debug` never prints the bytes.
#[derive(Clone)]
pub struct EncryptionKey(pub(crate) [u8; ENCRYPTION_KEY_LEN]);

impl EncryptionKey {
    /// Wraps exactly 32 bytes of key material (decode base64/hex before calling).
    pub fn from_slice(bytes: &[u8]) -> Result<Self, StoreError> {
        let key: [u8; ENCRYPTION_KEY_LEN] = bytes.try_into().map_err(|_| StoreError::Config {
            reason: format!(
                "encryption key must be exactly {ENCRYPTION_KEY_LEN} bytes, got {}",
                bytes.len()
            ),
        })?;
        Ok(Self(key))
    }

    /// A fresh random key, for tests and the single-process demo.
    #[allow(clippy::expect_used)] // aws-lc's RAND_bytes aborts rather than return failure
    pub fn generate() -> Self {
        let mut key = [0u8; ENCRYPTION_KEY_LEN];
        aws_lc_rs::rand::fill(&mut key).expect("system random source available");
        Self(key)
    }
}

impl From<[u8; ENCRYPTION_KEY_LEN]> for EncryptionKey {
    fn from(key: [u8; ENCRYPTION_KEY_LEN]) -> Self {
        Self(key)
    }
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EncryptionKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(validate_url("redis://127.0.0.1:6379"), Ok(()));
        assert_eq!(validate_url("redis://:pw@cache.internal:6380/2"), Ok(()));
        assert_eq!(validate_url("rediss://cache.internal"), Ok(()));
        assert_eq!(validate_url("REDIS://localhost"), Ok(()));
        for bad in [
            "http://localhost",
            "redis+unix:///tmp/r.sock",
            "localhost:6379",
            "",
        ] {
            let err = validate_url(bad).unwrap_err();
            assert!(err.contains("redis://"), "{bad}: {err}");
        }
    }

    #[test]
    fn redaction() {
        assert_eq!(
            redact_url("redis://user:secret@h:1/0"),
            "redis://user:redacted@h:1/0"
        );
        assert_eq!(
            redact_url("rediss://:p%40ss@cache.internal:6380"),
            "rediss://:redacted@cache.internal:6380"
        );
        assert_eq!(redact_url("redis://user@h:1"), "redis://user@h:1");
        assert_eq!(redact_url("redis://h:1"), "redis://h:1");
        assert_eq!(redact_url("not a url"), "<invalid url>");
        let config = RedisConfig::new("rediss://:hunter2@h", EncryptionKey::from([7; 32]));
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("7, 7"),
            "{shown}"
        );
    }

    #[test]
    fn key_and_timeout() {
        assert!(
            validate_encryption_key(&[0; 31])
                .unwrap_err()
                .contains("32")
        );
        assert_eq!(validate_encryption_key(&[0; 32]), Ok(()));
        let mut config = RedisConfig::new("redis://h", EncryptionKey::generate());
        assert_eq!(config.validate(), Ok(()));
        config.timeout = Duration::ZERO;
        assert!(matches!(config.validate(), Err(StoreError::Config { .. })));
    }
}
