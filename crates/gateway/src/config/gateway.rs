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
//! Paths written relative are resolved against the directory of `gateway.toml` when loading;
//! past [`GatewayConfig::load`] every path in the config is usable as is. Secrets are never in
//! the TOML: a [`SecretSource`] names an environment variable or a file, read by
//! [`GatewayConfig::resolve_secrets`] at start.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use figment::Figment;
use figment::providers::Serialized;
use figment::value::Value;
use jisr_mapping::{ConfigProblem, PairwiseKey};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use url::Url;

/// The sections of `gateway.toml`; a `JISR_` variable is an override only under one of them.
const SECTIONS: [&str; 6] = ["server", "store", "keys", "pairwise_key", "paths", "tokens"];

/// Largest secret file accepted: keys and passwords are small; anything bigger is a mistake.
const MAX_SECRET_BYTES: u64 = 64 * 1024;

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
}

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
            } => f
                .debug_struct("Redis")
                .field("url", &redact_url(url))
                .field("prefix", prefix)
                .field("timeout_ms", timeout_ms)
                .field("encryption_key", encryption_key)
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

/// Where a secret lives: `{ env = "VAR" }` or `{ file = "path" }`; never a literal.
///
/// [`SecretSource::read`] returns the bytes as stored: an environment variable's value, or a
/// file's content without one trailing newline. Key material (the pairwise key, the store's
/// encryption key) may be written encoded, with an explicit `base64:` or `hex:` prefix (see
/// [`decode_key_material`]); anything else is used as is. Guessing an encoding would make
/// the same text give different keys in a file and in a variable; a prefix does not.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretSource {
    Env(String),
    File(PathBuf),
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Env(var) => write!(f, "env {var}"),
            SecretSource::File(path) => write!(f, "file {}", path.display()),
        }
    }
}

/// Why a secret could not be read: absent on this machine, or present and unusable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SecretError {
    Absent(String),
    Invalid(String),
}

impl SecretError {
    pub(crate) fn message(self) -> String {
        match self {
            SecretError::Absent(m) | SecretError::Invalid(m) => m,
        }
    }
}

impl SecretSource {
    /// Reads the secret: a relative file under `base_dir`, a variable through `env`.
    /// Errors name the variable or file, never the value.
    pub fn read(
        &self,
        base_dir: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Vec<u8>, String> {
        self.read_classified(base_dir, env)
            .map_err(SecretError::message)
    }

    pub(crate) fn read_classified(
        &self,
        base_dir: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Vec<u8>, SecretError> {
        let what = match self {
            SecretSource::Env(var) => format!("environment variable {var}"),
            SecretSource::File(file) => base_dir.join(file).display().to_string(),
        };
        let bytes = match self {
            SecretSource::Env(var) => env(var)
                .ok_or_else(|| {
                    SecretError::Absent(format!("environment variable {var} is not set"))
                })?
                .into_bytes(),
            SecretSource::File(file) => {
                let path = base_dir.join(file);
                let shown = path.display();
                let meta = std::fs::metadata(&path).map_err(|e| match e.kind() {
                    std::io::ErrorKind::NotFound => {
                        SecretError::Absent(format!("{shown} not found"))
                    }
                    _ => SecretError::Invalid(format!("cannot read {shown}: {e}")),
                })?;
                if !meta.is_file() || meta.len() > MAX_SECRET_BYTES {
                    return Err(SecretError::Invalid(format!(
                        "{shown} is not a file of at most 64 KiB"
                    )));
                }
                let mut bytes = std::fs::read(&path)
                    .map_err(|e| SecretError::Invalid(format!("cannot read {shown}: {e}")))?;
                if bytes.last() == Some(&b'\n') {
                    bytes.pop();
                    if bytes.last() == Some(&b'\r') {
                        bytes.pop();
                    }
                }
                bytes
            }
        };
        if bytes.is_empty() {
            return Err(SecretError::Invalid(format!("{what} is empty")));
        }
        Ok(bytes)
    }

    fn under(self, base_dir: &Path) -> Self {
        match self {
            SecretSource::File(p) => SecretSource::File(base_dir.join(p)),
            env => env,
        }
    }
}

impl<'de> Deserialize<'de> for SecretSource {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct SourceVisitor;
        impl<'de> Visitor<'de> for SourceVisitor {
            type Value = SecretSource;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"`{ env = "VAR" }` or `{ file = "path" }`"#)
            }
            // The value is never echoed: it may be the secret itself.
            fn visit_str<E: de::Error>(self, _: &str) -> Result<SecretSource, E> {
                Err(E::custom(
                    r#"secrets are never written in the config: use `{ env = "VAR" }` or `{ file = "path" }`"#,
                ))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SecretSource, A::Error> {
                let mut found = None;
                while let Some(key) = map.next_key::<String>()? {
                    let source = match key.as_str() {
                        "env" => SecretSource::Env(map.next_value()?),
                        "file" => SecretSource::File(map.next_value()?),
                        other => return Err(de::Error::unknown_field(other, &["env", "file"])),
                    };
                    if found.replace(source).is_some() {
                        return Err(de::Error::custom("set only one of `env` or `file`"));
                    }
                }
                found.ok_or_else(|| de::Error::custom("set one of `env` or `file`"))
            }
        }
        d.deserialize_any(SourceVisitor)
    }
}

/// Decodes key material written as `base64:<standard or url-safe, padding optional>` or
/// `hex:<digits>`; other values are the key bytes themselves.
pub fn decode_key_material(bytes: Vec<u8>) -> Result<Vec<u8>, String> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    let config =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    if let Some(text) = bytes.strip_prefix(b"base64:") {
        let text = text.trim_ascii();
        GeneralPurpose::new(&base64::alphabet::STANDARD, config)
            .decode(text)
            .or_else(|_| GeneralPurpose::new(&base64::alphabet::URL_SAFE, config).decode(text))
            .map_err(|_| "value after `base64:` is not valid base64".to_owned())
    } else if let Some(text) = bytes.strip_prefix(b"hex:") {
        let text = text.trim_ascii();
        let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
        if text.len() % 2 != 0 {
            return Err("value after `hex:` has an odd number of digits".into());
        }
        text.chunks(2)
            .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| "value after `hex:` is not hexadecimal".into())
    } else {
        Ok(bytes)
    }
}

/// Secrets of `gateway.toml`, read and checked at start.
#[derive(Clone)]
pub struct GatewaySecrets {
    pub pairwise_key: PairwiseKey,
    /// Set when the store is Redis.
    pub store_encryption_key: Option<jisr_store::EncryptionKey>,
}

impl fmt::Debug for GatewaySecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GatewaySecrets(<redacted>)")
    }
}

// ---- The file as written -------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGateway {
    server: RawServer,
    store: RawStore,
    #[serde(default)]
    keys: RawKeys,
    pairwise_key: SecretSource,
    #[serde(default)]
    paths: PathsConfig,
    #[serde(default)]
    tokens: TokenConfig,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    #[serde(default = "default_listen")]
    listen: String,
    public_url: String,
    #[serde(default)]
    tls: Option<TlsConfig>,
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
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawKeys {
    #[serde(default)]
    files: Vec<PathBuf>,
    #[serde(default)]
    active: Option<String>,
}

// ---- Loading -------------------------------------------------------------------------------

type Problems = Vec<(String, String)>;

impl GatewayConfig {
    /// Loads `gateway.toml` with the process's `JISR_…` overrides and validates it, reporting
    /// every problem as `file: key: problem` (the file is `$JISR_…` for an overridden key).
    pub fn load(file: &Path) -> Result<Self, Vec<ConfigProblem>> {
        Self::load_with(file, super::process_env())
    }

    /// [`GatewayConfig::load`] with the environment given as `(name, value)` pairs.
    pub fn load_with<K, V>(
        file: &Path,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, Vec<ConfigProblem>>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let text = super::read(file).map_err(|p| vec![p])?;
        let table: toml::Table = super::parse_toml(file, &text).map_err(|p| vec![p])?;
        let overrides = env_overrides(vars);
        let mut figment = Figment::from(Serialized::defaults(table));
        for (key, _, value) in &overrides {
            figment = figment.merge(Serialized::default(key, value));
        }
        let origin = |key: &str| -> String {
            overrides
                .iter()
                .find(|(k, _, _)| key == k || key.starts_with(&format!("{k}.")))
                .map(|(_, var, _)| format!("${var}"))
                .unwrap_or_else(|| file.display().to_string())
        };
        let raw: RawGateway = figment.extract().map_err(|err| {
            err.into_iter()
                .map(|e| {
                    use figment::error::Kind;
                    let mut path = e.path.clone();
                    let one_of = |names: &[&str]| {
                        let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
                        quoted.join(", ")
                    };
                    // serde's wording, as in the other config files.
                    let message = match &e.kind {
                        Kind::UnknownField(f, expected) => {
                            format!("unknown field `{f}`, expected one of {}", one_of(expected))
                        }
                        Kind::UnknownVariant(v, expected) => {
                            format!(
                                "unknown variant `{v}`, expected one of {}",
                                one_of(expected)
                            )
                        }
                        Kind::MissingField(f) => {
                            path.push(f.to_string());
                            format!("missing field `{f}`")
                        }
                        other => other.to_string(),
                    };
                    let key = if path.is_empty() {
                        "(document)".to_owned()
                    } else {
                        path.join(".")
                    };
                    ConfigProblem {
                        file: origin(&key),
                        key,
                        problem: message,
                    }
                })
                .collect::<Vec<_>>()
        })?;
        let base_dir = match file.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        validate(raw, file, &base_dir).map_err(|problems| {
            problems
                .into_iter()
                .map(|(key, problem)| ConfigProblem {
                    file: origin(&key),
                    key,
                    problem,
                })
                .collect()
        })
    }

    /// The directory of `gateway.toml`, against which relative paths were resolved.
    pub fn base_dir(&self) -> &Path {
        &self.base_dir
    }

    /// The `gateway.toml` this was loaded from.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Reads the pairwise key and, for Redis, the store's encryption key; checks their sizes.
    pub fn resolve_secrets(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<GatewaySecrets, Vec<ConfigProblem>> {
        let (secrets, problems) = self.secrets_classified(env);
        match secrets {
            Some(s) if problems.is_empty() => Ok(s),
            _ => Err(problems.into_iter().map(|(p, _)| p).collect()),
        }
    }

    /// The secrets, and each problem flagged `true` when it is only an absence (unset
    /// variable, missing file): what `check-config` notes rather than refuses.
    pub(crate) fn secrets_classified(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> (Option<GatewaySecrets>, Vec<(ConfigProblem, bool)>) {
        let mut problems = Vec::new();
        let mut key = |name: &str, source: &SecretSource| -> Option<Vec<u8>> {
            let result = source
                .read_classified(&self.base_dir, env)
                .and_then(|b| decode_key_material(b).map_err(SecretError::Invalid));
            match result {
                Ok(bytes) => Some(bytes),
                Err(e) => {
                    let absent = matches!(e, SecretError::Absent(_));
                    problems.push((self.problem(name, e.message()), absent));
                    None
                }
            }
        };
        let pairwise = key("pairwise_key", &self.pairwise_key);
        let encryption = match &self.store {
            StoreConfig::Redis { encryption_key, .. } => {
                Some(key("store.encryption_key", encryption_key))
            }
            StoreConfig::Memory { .. } => None,
        };
        let pairwise = pairwise.and_then(|b| {
            PairwiseKey::new(b)
                .map_err(|e| problems.push((self.problem("pairwise_key", e.to_string()), false)))
                .ok()
        });
        let encryption = match encryption {
            None => Some(None),
            Some(None) => None,
            Some(Some(b)) => jisr_store::EncryptionKey::from_slice(&b)
                .map(Some)
                .map_err(|e| {
                    problems.push((self.problem("store.encryption_key", e.to_string()), false))
                })
                .ok(),
        };
        let secrets = pairwise
            .zip(encryption)
            .map(|(pairwise_key, store_encryption_key)| GatewaySecrets {
                pairwise_key,
                store_encryption_key,
            });
        (secrets, problems)
    }

    /// Files that must exist for `serve` (signing keys, TLS), each flagged `true` when it is
    /// only missing; a path that exists but is not a file is a problem.
    pub(crate) fn deployment_files(&self) -> Vec<(ConfigProblem, bool)> {
        let mut files: Vec<(String, &Path)> = self
            .keys
            .files
            .iter()
            .enumerate()
            .map(|(i, f)| (format!("keys.files[{i}]"), f.as_path()))
            .collect();
        if let Some(tls) = &self.server.tls {
            files.push(("server.tls.cert_file".into(), &tls.cert_file));
            files.push(("server.tls.key_file".into(), &tls.key_file));
        }
        files
            .into_iter()
            .filter_map(|(key, path)| match std::fs::metadata(path) {
                Ok(m) if m.is_file() => None,
                Ok(_) => Some((
                    self.problem(&key, format!("{} is not a file", path.display())),
                    false,
                )),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some((
                    self.problem(&key, format!("{} not found", path.display())),
                    true,
                )),
                Err(e) => Some((
                    self.problem(&key, format!("cannot read {}: {e}", path.display())),
                    false,
                )),
            })
            .collect()
    }

    fn problem(&self, key: &str, problem: String) -> ConfigProblem {
        ConfigProblem {
            file: self.file.display().to_string(),
            key: key.to_owned(),
            problem,
        }
    }
}

/// `JISR_STORE__URL=v` → (`store.url`, `JISR_STORE__URL`, parsed v), as figment's
/// `Env::prefixed("JISR_").split("__")` would, for variables under a section of the file.
/// Later pairs win.
fn env_overrides<K: AsRef<str>, V: AsRef<str>>(
    vars: impl IntoIterator<Item = (K, V)>,
) -> Vec<(String, String, Value)> {
    let mut out: Vec<(String, String, Value)> = Vec::new();
    for (name, value) in vars {
        let name = name.as_ref().trim();
        let Some(rest) = name
            .get(..5)
            .filter(|p| p.eq_ignore_ascii_case("JISR_"))
            .map(|_| &name[5..])
        else {
            continue;
        };
        let rest = rest.to_ascii_lowercase();
        let segments: Vec<&str> = rest.split("__").collect();
        if segments.len() < 2
            || segments.iter().any(|s| s.is_empty())
            || !SECTIONS.contains(&segments[0])
        {
            continue;
        }
        let key = segments.join(".");
        let value: Value = value.as_ref().parse().unwrap_or_else(|e| match e {});
        out.retain(|(k, _, _)| *k != key);
        out.push((key, name.to_owned(), value));
    }
    out
}

fn validate(raw: RawGateway, file: &Path, base_dir: &Path) -> Result<GatewayConfig, Problems> {
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
            match raw.store.encryption_key {
                Some(key) => Some(StoreConfig::Redis {
                    url,
                    prefix,
                    timeout_ms,
                    encryption_key: key.under(base_dir),
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

    match (listen, public_url, store) {
        (Some(listen), Some(public_url), Some(store)) if problems.is_empty() => Ok(GatewayConfig {
            server: ServerConfig {
                listen,
                public_url,
                tls: raw.server.tls.map(|t| TlsConfig {
                    cert_file: base_dir.join(t.cert_file),
                    key_file: base_dir.join(t.key_file),
                }),
            },
            store,
            keys: KeysConfig {
                files: raw.keys.files.iter().map(|f| base_dir.join(f)).collect(),
                active: raw.keys.active,
            },
            pairwise_key: raw.pairwise_key.under(base_dir),
            paths: PathsConfig {
                countries: base_dir.join(raw.paths.countries),
                policy: base_dir.join(raw.paths.policy),
                agencies: base_dir.join(raw.paths.agencies),
            },
            tokens: t,
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

/// The URL with any credentials replaced, safe for Debug and logs.
fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "<not a url>".into();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://<redacted>@{}", &rest[at + 1..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            StoreConfig::Redis { url, prefix, timeout_ms: 1000, encryption_key: SecretSource::Env(v) }
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
                "$JISR_STORE__COLOUR: store.colour: unknown field `colour`, expected one of `kind`, `max_entries`, `url`, `prefix`, `timeout_ms`, `encryption_key`"
            ]
        );
    }

    #[test]
    fn every_problem_names_its_key() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "pairwise_key",
                "colour = 1\npairwise_key",
                "colour: unknown field `colour`, expected one of `server`, `store`, `keys`, `pairwise_key`, `paths`, `tokens`",
            ),
            (
                "[keys]",
                "[server.extra]\n[keys]",
                "server.extra: unknown field `extra`, expected one of `listen`, `public_url`, `tls`",
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
    fn secrets_come_from_env_or_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pk"), b"file-secret\n").unwrap();
        std::fs::write(dir.path().join("empty"), b"\n").unwrap();
        let env = |k: &str| (k == "PK").then(|| "env-secret".to_owned());
        let read = |s: SecretSource| s.read(dir.path(), &env);
        assert_eq!(read(SecretSource::Env("PK".into())).unwrap(), b"env-secret");
        assert_eq!(
            read(SecretSource::File("pk".into())).unwrap(),
            b"file-secret"
        );
        assert_eq!(
            read(SecretSource::Env("NOPE".into())).unwrap_err(),
            "environment variable NOPE is not set"
        );
        assert_eq!(
            read(SecretSource::File("empty".into())).unwrap_err(),
            format!("{} is empty", dir.path().join("empty").display())
        );
        assert_eq!(
            read(SecretSource::File("missing".into())).unwrap_err(),
            format!("{} not found", dir.path().join("missing").display())
        );
    }

    #[test]
    fn key_material_takes_an_explicit_encoding() {
        let decode = |s: &str| decode_key_material(s.as_bytes().to_vec());
        assert_eq!(decode("hex:00ff10").unwrap(), [0, 255, 16]);
        assert_eq!(decode("base64:AP8Q").unwrap(), [0, 255, 16]);
        assert_eq!(decode("base64:-_8").unwrap(), [251, 255]);
        assert_eq!(decode("base64:+/8=").unwrap(), [251, 255]);
        // Without a prefix the text is the key, even when it looks encoded.
        assert_eq!(decode("00ff10").unwrap(), b"00ff10");
        assert_eq!(
            decode("hex:0g").unwrap_err(),
            "value after `hex:` is not hexadecimal"
        );
        assert_eq!(
            decode("hex:0").unwrap_err(),
            "value after `hex:` has an odd number of digits"
        );
        assert_eq!(
            decode("base64:***").unwrap_err(),
            "value after `base64:` is not valid base64"
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
        assert!(secrets.store_encryption_key.is_some());
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
}
