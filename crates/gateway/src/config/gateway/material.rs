//! Deployment material `gateway.toml` names: the pairwise key and the store's encryption key
//! (secrets), the signing keys and the TLS files. Read once at load; each problem is tagged
//! absent (not on this machine) or invalid (present but unusable).

use std::fmt;
use std::path::Path;
use std::time::Duration;

use jisr_mapping::{ConfigProblem, PairwiseKey};
use jisr_store::{EncryptionKey, RedisConfig};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::{GatewayConfig, StoreConfig};
use crate::config::secret::{Env, SecretError, SecretSource, decode_key_material, read_material};
use crate::provider::keys::{KeyError, SigningKeys};

/// Secrets of `gateway.toml`, read and checked at load.
#[derive(Clone)]
pub struct GatewaySecrets {
    pub pairwise_key: PairwiseKey,
    /// The store with its encryption key, when it is Redis.
    pub store: StoreSettings,
}

impl fmt::Debug for GatewaySecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GatewaySecrets(<redacted>)")
    }
}

/// The flow-state store to open, with its secret read (see `serve::open_store`).
#[derive(Debug, Clone)]
pub enum StoreSettings {
    /// In-process: `demo` and a single node only.
    Memory { max_entries: usize },
    /// Shared Redis for replicas, values encrypted at rest.
    Redis(RedisConfig),
}

/// The certificate chain and private key the gateway serves TLS with (PEM, checked at load).
#[derive(Clone)]
pub struct TlsPem {
    pub cert_chain: Vec<u8>,
    pub key: Vec<u8>,
}

impl fmt::Debug for TlsPem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TlsPem(<redacted>)")
    }
}

impl GatewayConfig {
    /// Reads the pairwise key and, for Redis, the store's encryption key; checks their sizes.
    pub fn resolve_secrets(&self, env: Env<'_>) -> Result<GatewaySecrets, Vec<ConfigProblem>> {
        let mut problems = Vec::new();
        let mut key = |name: &str, source: &SecretSource| -> Option<Vec<u8>> {
            source
                .read_classified(&self.base_dir, env)
                .and_then(|b| decode_key_material(b).map_err(SecretError::Invalid))
                .map_err(|e| problems.push(e.problem(&self.file, name)))
                .ok()
        };
        let pairwise = key("pairwise_key", &self.pairwise_key);
        let encryption = match &self.store {
            StoreConfig::Redis { encryption_key, .. } => {
                key("store.encryption_key", encryption_key).map(Some)
            }
            StoreConfig::Memory { .. } => Some(None),
        };
        let pairwise = pairwise.and_then(|b| {
            PairwiseKey::new(b)
                .map_err(|e| problems.push(self.invalid("pairwise_key", e.to_string())))
                .ok()
        });
        let store = encryption.and_then(|key| match (&self.store, key) {
            (StoreConfig::Memory { max_entries }, _) => Some(StoreSettings::Memory {
                max_entries: *max_entries,
            }),
            (StoreConfig::Redis { .. }, None) => None,
            (
                StoreConfig::Redis {
                    url,
                    prefix,
                    timeout_ms,
                    sentinel,
                    cluster,
                    ..
                },
                Some(bytes),
            ) => EncryptionKey::from_slice(&bytes)
                .map(|key| {
                    let mut redis = RedisConfig::new(url.clone(), key);
                    redis.prefix = prefix.clone();
                    redis.timeout = Duration::from_millis(*timeout_ms);
                    redis.sentinel = sentinel.clone();
                    redis.cluster = cluster.clone();
                    StoreSettings::Redis(redis)
                })
                .map_err(|e| problems.push(self.invalid("store.encryption_key", e.to_string())))
                .ok(),
        });
        match (pairwise, store) {
            (Some(pairwise_key), Some(store)) if problems.is_empty() => Ok(GatewaySecrets {
                pairwise_key,
                store,
            }),
            _ => Err(problems),
        }
    }

    /// Loads the signing keys of `keys.files` (`keys.active` signs). A file that is not
    /// there is absent; one that does not hold a usable key is invalid.
    pub fn load_signing_keys(&self) -> Result<SigningKeys, Vec<ConfigProblem>> {
        let files = &self.keys.files;
        let problems: Vec<ConfigProblem> = files
            .iter()
            .enumerate()
            .filter_map(|(i, path)| self.exists(&format!("keys.files[{i}]"), path).err())
            .collect();
        if !problems.is_empty() {
            return Err(problems);
        }
        let loaded = SigningKeys::load(files, self.keys.active.as_deref(), &self.keys.algs)
            .and_then(|keys| keys.with_expiry(&self.keys.expires));
        loaded.map_err(|e| {
            let at = |path: &Path| {
                files
                    .iter()
                    .position(|f| f == path)
                    .map(|i| format!("keys.files[{i}]"))
            };
            let key = match &e {
                KeyError::UnknownActiveKid { .. } => Some("keys.active".to_owned()),
                KeyError::UnknownExpiryKid { .. } => Some("keys.expires".to_owned()),
                KeyError::UnknownAlgKid { .. } => Some("keys.algs".to_owned()),
                KeyError::Invalid { path, .. } | KeyError::Read { path, .. } => at(path),
                KeyError::DuplicateKey { second, .. } => at(second),
                _ => None,
            };
            vec![self.invalid(&key.unwrap_or_else(|| "keys.files".into()), e.to_string())]
        })
    }

    /// Reads and checks the TLS certificate chain and key, when `server.tls` is set.
    pub fn load_tls(&self) -> Result<Option<TlsPem>, Vec<ConfigProblem>> {
        let Some(tls) = &self.server.tls else {
            return Ok(None);
        };
        let mut problems = Vec::new();
        let mut read = |key: &str, path: &Path, parses: &dyn Fn(&[u8]) -> bool, what: &str| {
            match read_material(path) {
                Ok(bytes) if parses(&bytes) => Some(bytes),
                Ok(_) => {
                    problems.push(self.invalid(key, format!("{} holds no {what}", path.display())));
                    None
                }
                Err(e) => {
                    problems.push(e.problem(&self.file, key));
                    None
                }
            }
        };
        let cert_chain = read(
            "server.tls.cert_file",
            &tls.cert_file,
            &|b| {
                CertificateDer::pem_slice_iter(b)
                    .collect::<Result<Vec<_>, _>>()
                    .is_ok_and(|certs| !certs.is_empty())
            },
            "PEM certificate",
        );
        let key = read(
            "server.tls.key_file",
            &tls.key_file,
            &|b| PrivateKeyDer::from_pem_slice(b).is_ok(),
            "PEM private key",
        );
        match (cert_chain, key) {
            (Some(cert_chain), Some(key)) => Ok(Some(TlsPem { cert_chain, key })),
            _ => Err(problems),
        }
    }

    /// A file `serve` needs: absent when missing, invalid when it is not a file.
    fn exists(&self, key: &str, path: &Path) -> Result<(), ConfigProblem> {
        let shown = path.display();
        match std::fs::metadata(path) {
            Ok(m) if m.is_file() => Ok(()),
            Ok(_) => Err(self.invalid(key, format!("{shown} is not a file"))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(ConfigProblem::absent(
                self.file.display().to_string(),
                key,
                format!("{shown} not found"),
            )),
            Err(e) => Err(self.invalid(key, format!("cannot read {shown}: {e}"))),
        }
    }

    fn invalid(&self, key: &str, problem: impl Into<String>) -> ConfigProblem {
        ConfigProblem::invalid(self.file.display().to_string(), key, problem)
    }
}
