//! Configuration: read once at start, parsed into typed values, cross-checked, secrets and
//! key files read. Past [`Config::load`] nothing reads a file or the environment again.
//!
//! Layout (what users write):
//! - `gateway.toml` ([`gateway`]): server, store, signing keys, the pairwise key, where the
//!   other files are, token lifetimes; `JISR_<SECTION>__<KEY>` variables override it.
//! - `countries/<cc>.toml` ([`mapping`]): one file per national IdP, split at load into the
//!   mapping profile (for `jisr-mapping`) and the gateway's `[idp]` table ([`idp`]).
//! - `policy.toml`: the release policy, cross-checked against the profiles.
//! - `agencies.toml` ([`agencies`]): the OIDC clients.
//!
//! Secrets are written one way everywhere, `{ env = "VAR" }` or `{ file = "path" }`
//! ([`SecretSource`]). A relative path resolves against the directory of the file that names
//! it. [`Config::load`] is the one loader: `jisr serve` runs on the [`Config`] it returns and
//! `jisr check-config` prints what the same loader finds ([`check`]). Every problem is
//! reported as `file: key: problem`, all at once, tagged absent (deployment material not on
//! this machine) or invalid ([`jisr_mapping::ProblemKind`]).

pub mod agencies;
mod check;
mod files;
pub mod gateway;
pub mod idp;
mod load;
pub mod mapping;
pub mod secret;

#[cfg(test)]
mod tests;

use std::path::Path;

use jisr_mapping::{ConfigProblem, PairwiseKey};

use crate::provider::keys::SigningKeys;
use crate::upstream::UpstreamConfig;
use agencies::Agencies;

pub use check::{CheckReport, check};
pub use gateway::{ServerConfig, StoreSettings, TlsPem, TokenConfig};
pub use mapping::{CountryFile, MappingConfig, load_country_file, load_policy, parse_country_file};
pub use secret::{SecretSource, decode_key_material, env_lookup, process_env};

/// Everything the gateway runs on, validated, with secrets and keys loaded.
///
/// [`Config::load`] builds it from files; the demo builds one in code (development IdPs,
/// generated keys, built-in profiles). [`crate::app::Gateway::from_config`] turns it into the
/// running state; it is `Clone` so a second replica can be built with another store.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listen address, public URL (the issuer) and the TLS file names.
    pub server: ServerConfig,
    /// The TLS certificate chain and key, read from `server.tls` at load.
    pub tls: Option<TlsPem>,
    /// The flow-state store to open (see `serve::open_store`).
    pub store: StoreSettings,
    /// The gateway's signing keys; the active one signs.
    pub keys: SigningKeys,
    /// Pairwise subjects, and the seals derived from it.
    pub pairwise_key: PairwiseKey,
    pub tokens: TokenConfig,
    pub mapping: MappingConfig,
    pub agencies: Agencies,
    /// One per country file with an `[idp]` table; `userinfo` already decided from the
    /// country's profile ([`crate::upstream::needs_userinfo`]).
    pub upstreams: Vec<UpstreamConfig>,
    /// The operators' listener and dashboard sign-in (`[admin]`), if configured.
    pub admin: Option<gateway::admin::AdminSettings>,
    /// The audit log (`[audit]`), if configured.
    pub audit: Option<gateway::audit::AuditSettings>,
    /// The single sign-on session's lifetimes (`[session]`).
    pub session: gateway::session::SessionConfig,
    /// Requests per window per source address and per agency (`[rate_limits]`).
    pub rate_limits: gateway::rate::RateLimitConfig,
}

impl Config {
    /// Loads `path` (the config directory, or its `gateway.toml`) with the environment
    /// `vars`: `JISR_…` overrides, secrets, and every file `gateway.toml` names. Returns every
    /// problem, absent or invalid, when there is any.
    pub fn load(path: &Path, vars: &[(String, String)]) -> Result<Self, Vec<ConfigProblem>> {
        load::load(path, vars).into_config()
    }

    /// The issuer agencies see: `server.public_url` without a trailing `/`.
    pub fn issuer(&self) -> &str {
        self.server.issuer()
    }
}
