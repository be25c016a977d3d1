//! `gateway.toml`: listen address and issuer, flow-state store, signing keys, the pairwise
//! key, where the other config files are, and token lifetimes.
//!
//! Figment layers the file with `JISR_<SECTION>__<KEY>` environment overrides
//! (`JISR_SERVER__LISTEN=0.0.0.0:8080`, `JISR_STORE__URL=rediss://…`). Only variables that name
//! a section of this file are overrides: `JISR_PAIRWISE_KEY` (a secret value), `JISR_CONFIG`
//! and the like are left alone, so unknown-field checking stays strict. The environment is
//! passed in as a list of pairs, read once by the binary ([`super::process_env`]), so tests
//! vary it without touching the process environment.
//!
//! Paths written relative are resolved against the directory of `gateway.toml` when loading
//! (`load.rs`); past [`GatewayConfig::load_with`] every path in the config is usable as is.
//! Secrets are never in the TOML: a [`SecretSource`] names an environment variable or a file.
//! [`material`] reads them, the signing keys and the TLS files, for [`super::Config::load`].

pub mod admin;
pub mod audit;
mod load;
pub mod material;
pub mod rate;
pub mod session;
mod validate;

#[cfg(test)]
mod tests;

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use url::Url;

use super::secret::SecretSource;
pub use material::{GatewaySecrets, StoreSettings, TlsPem};
pub(crate) use validate::is_loopback;

/// The validated `gateway.toml` with environment overrides applied.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    pub server: ServerConfig,
    pub store: StoreConfig,
    pub keys: KeysConfig,
    /// HMAC key for pairwise subject identifiers (at least 32 bytes once read).
    pub pairwise_key: SecretSource,
    pub paths: PathsConfig,
    pub tokens: TokenConfig,
    /// The operators' listener and dashboard sign-in; `None`: no admin listener.
    pub admin: Option<admin::AdminConfig>,
    /// The audit log; `None`: events are counted but not written (development only).
    pub audit: Option<audit::AuditConfig>,
    /// The single sign-on session's lifetimes (`[session]`).
    pub session: session::SessionConfig,
    /// Requests per window per source address and per agency (`[rate_limits]`).
    pub rate_limits: rate::RateLimitConfig,
    file: PathBuf,
    base_dir: PathBuf,
}

/// Where the gateway listens and how agencies reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Socket to bind (default `127.0.0.1:8080`).
    pub listen: SocketAddr,
    /// The public base URL; it is the OpenID Provider issuer (see [`ServerConfig::issuer`]).
    pub public_url: Url,
    /// Certificate and key for TLS terminated by the gateway itself; `None` behind an ingress.
    pub tls: Option<TlsConfig>,
    /// On SIGTERM, how long `/readyz` answers 503 while the listener still serves, so the
    /// load balancer stops sending new requests first (`drain_secs`, default 5).
    pub drain: std::time::Duration,
    /// Then, how long requests in flight may take to finish before their connections are
    /// closed (`shutdown_timeout_secs`, default 20).
    pub shutdown_timeout: std::time::Duration,
}

/// `server.drain_secs` unless set.
pub const DEFAULT_DRAIN_SECS: u64 = 5;
/// `server.shutdown_timeout_secs` unless set.
pub const DEFAULT_SHUTDOWN_TIMEOUT_SECS: u64 = 20;

impl ServerConfig {
    /// The issuer identifier: `public_url` without a trailing `/` (`https://jisr.example`).
    pub fn issuer(&self) -> &str {
        self.public_url.as_str().trim_end_matches('/')
    }

    /// Whether to send `Strict-Transport-Security`: the gateway serves TLS itself or is
    /// reached over https through an ingress.
    pub fn hsts(&self) -> bool {
        self.tls.is_some() || self.public_url.scheme() == "https"
    }
}

/// PEM files for TLS served by the gateway (paths only; rustls loads them).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

/// The flow-state store backend.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// In-process: `demo` and a single node only (no sharing between replicas).
    Memory { max_entries: usize },
    /// Shared Redis for replicas; values are encrypted at rest with `encryption_key`.
    Redis {
        url: String,
        prefix: String,
        timeout_ms: u64,
        encryption_key: SecretSource,
        /// Redis Sentinel (`sentinel_service`, `sentinels`); `None`: `url` is the node.
        sentinel: Option<jisr_store::SentinelSettings>,
        /// Redis Cluster (`cluster_nodes`): some of its nodes.
        cluster: Option<Vec<String>>,
    },
}

impl fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreConfig::Memory { max_entries } => f
                .debug_struct("Memory")
                .field("max_entries", max_entries)
                .finish(),
            StoreConfig::Redis {
                url,
                prefix,
                timeout_ms,
                encryption_key,
                sentinel,
                cluster,
            } => f
                .debug_struct("Redis")
                .field("url", &validate::redact_url(url))
                .field("prefix", prefix)
                .field("timeout_ms", timeout_ms)
                .field("encryption_key", encryption_key)
                .field(
                    "cluster",
                    &cluster.as_ref().map(|nodes| {
                        nodes
                            .iter()
                            .map(|n| validate::redact_url(n))
                            .collect::<Vec<_>>()
                    }),
                )
                .field(
                    "sentinel",
                    &sentinel.as_ref().map(|s| {
                        (
                            &s.service,
                            s.nodes
                                .iter()
                                .map(|n| validate::redact_url(n))
                                .collect::<Vec<_>>(),
                        )
                    }),
                )
                .finish(),
        }
    }
}

/// The gateway's own signing keys (PKCS#8 PEM files; loaded by `provider::keys`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeysConfig {
    /// Resolved paths, in the order written.
    pub files: Vec<PathBuf>,
    /// The `kid` that signs new tokens; `None`: the first key. Others are published for
    /// verification only (rotation).
    pub active: Option<String>,
    /// `[keys] expires`: when each key (by kid) is to be retired, seconds since the epoch
    /// (00:00 UTC of the configured date). Exported as a metric for expiry alerts.
    pub expires: Vec<(String, i64)>,
    /// `[keys] algs`: the algorithm of a key by kid, where its type allows several (an RSA
    /// key signs PS256 unless named here with RS256).
    pub algs: Vec<(String, jsonwebtoken::Algorithm)>,
}

/// Where the other config files are (resolved against the directory of `gateway.toml`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PathsConfig {
    pub countries: PathBuf,
    pub policy: PathBuf,
    pub agencies: PathBuf,
}

impl Default for PathsConfig {
    fn default() -> Self {
        PathsConfig {
            countries: "countries".into(),
            policy: "policy.toml".into(),
            agencies: "agencies.toml".into(),
        }
    }
}

/// Lifetimes, in seconds, of what the gateway issues and of pending flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenConfig {
    /// Authorization code (1–60; OIDC says short-lived and single use).
    pub code_ttl_secs: u64,
    /// Access token (1–3600).
    pub access_token_ttl_secs: u64,
    /// ID token (1–3600).
    pub id_token_ttl_secs: u64,
    /// A pending upstream login, including the consent page (60–3600).
    pub login_ttl_secs: u64,
}

impl Default for TokenConfig {
    fn default() -> Self {
        TokenConfig {
            code_ttl_secs: 60,
            access_token_ttl_secs: 300,
            id_token_ttl_secs: 300,
            login_ttl_secs: 600,
        }
    }
}

impl GatewayConfig {
    /// The directory of `gateway.toml`, against which relative paths were resolved.
    pub fn base_dir(&self) -> &Path {
        &self.base_dir
    }

    /// The `gateway.toml` this was loaded from.
    pub fn file(&self) -> &Path {
        &self.file
    }
}
