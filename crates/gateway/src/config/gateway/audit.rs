//! `[audit]`: where the audit log goes and the keys that make it tamper-evident and
//! pseudonymous.
//!
//! ```toml
//! [audit]
//! dir = "/var/log/jisr/audit"        # rotating files; omit for stdout only
//! stdout = false                     # also one JSON line per record on stdout
//! replica = "gw-1"                   # default: the host name
//! subject_key = { env = "JISR_AUDIT_SUBJECT_KEY" }   # HMAC key for subject references
//! signing_key = { file = "audit-signing.pem" }       # Ed25519 PKCS#8 PEM: signs checkpoints
//! checkpoint_every = 1000            # records between signed checkpoints
//! checkpoint_secs = 60               # and at least this often when records were written
//! max_file_bytes = 67108864          # rotate after this size
//! on_failure = "refuse"              # or "buffer": keep up to buffer_records in memory
//! buffer_records = 10000
//! flush_ms = 10                      # records are written together every flush_ms;
//!                                    # 0: each record is written on its own at once
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::validate::Problems;
use crate::config::secret::{Env, SecretSource, decode_key_material};
use jisr_mapping::ConfigProblem;

/// What to do when no sink can take a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    /// Refuse new logins (`temporarily_unavailable`) until a sink takes records again.
    Refuse,
    /// Keep up to `buffer_records` in memory, then refuse.
    Buffer,
}

/// `[audit]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAudit {
    dir: Option<PathBuf>,
    #[serde(default)]
    stdout: bool,
    replica: Option<String>,
    subject_key: SecretSource,
    signing_key: SecretSource,
    #[serde(default = "default_checkpoint_every")]
    checkpoint_every: u64,
    #[serde(default = "default_checkpoint_secs")]
    checkpoint_secs: u64,
    #[serde(default = "default_max_file_bytes")]
    max_file_bytes: u64,
    #[serde(default = "default_on_failure")]
    on_failure: OnFailure,
    #[serde(default = "default_buffer_records")]
    buffer_records: usize,
    #[serde(default = "default_flush_ms")]
    flush_ms: u64,
}

fn default_checkpoint_every() -> u64 {
    1000
}
fn default_checkpoint_secs() -> u64 {
    60
}
fn default_max_file_bytes() -> u64 {
    64 * 1024 * 1024
}
fn default_on_failure() -> OnFailure {
    OnFailure::Refuse
}
fn default_buffer_records() -> usize {
    10_000
}
fn default_flush_ms() -> u64 {
    10
}
/// The longest `flush_ms`: records may wait this long in memory before their write.
pub const MAX_FLUSH_MS: u64 = 1000;

/// The validated `[audit]` section (keys still sources).
#[derive(Debug, Clone)]
pub struct AuditConfig {
    pub dir: Option<PathBuf>,
    pub stdout: bool,
    pub replica: Option<String>,
    pub subject_key: SecretSource,
    pub signing_key: SecretSource,
    pub checkpoint_every: u64,
    pub checkpoint_secs: u64,
    pub max_file_bytes: u64,
    pub on_failure: OnFailure,
    pub buffer_records: usize,
    /// Records collect in memory and are written together every this many milliseconds
    /// (one `write` for many records); 0: each record is written at once.
    pub flush_ms: u64,
}

/// `[audit]` with its keys read: what the gateway runs on.
#[derive(Clone)]
pub struct AuditSettings {
    pub dir: Option<PathBuf>,
    pub stdout: bool,
    pub replica: Option<String>,
    /// HMAC key for subject references (at least 32 bytes).
    pub subject_key: Vec<u8>,
    /// The checkpoint signing key, PKCS#8 (PEM or DER bytes as read).
    pub signing_key: Vec<u8>,
    pub checkpoint_every: u64,
    pub checkpoint_secs: u64,
    pub max_file_bytes: u64,
    pub on_failure: OnFailure,
    pub buffer_records: usize,
    /// Records collect in memory and are written together every this many milliseconds
    /// (one `write` for many records); 0: each record is written at once.
    pub flush_ms: u64,
}

impl std::fmt::Debug for AuditSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditSettings")
            .field("dir", &self.dir)
            .field("stdout", &self.stdout)
            .field("replica", &self.replica)
            .field("checkpoint_every", &self.checkpoint_every)
            .field("on_failure", &self.on_failure)
            .field("flush_ms", &self.flush_ms)
            .finish_non_exhaustive()
    }
}

pub(super) fn validate(
    raw: RawAudit,
    base_dir: &Path,
    problems: &mut Problems,
) -> Option<AuditConfig> {
    let before = problems.len();
    let mut bad = |key: &str, msg: String| problems.push((format!("audit.{key}"), msg));
    if raw.dir.is_none() && !raw.stdout {
        bad(
            "dir",
            "name a directory, or set stdout = true: records must go somewhere".into(),
        );
    }
    if raw.checkpoint_every == 0 {
        bad("checkpoint_every", "must be at least 1".into());
    }
    if raw.checkpoint_secs == 0 {
        bad("checkpoint_secs", "must be at least 1".into());
    }
    if raw.max_file_bytes < 4096 {
        bad("max_file_bytes", "must be at least 4096".into());
    }
    if raw.on_failure == OnFailure::Buffer && raw.buffer_records == 0 {
        bad(
            "buffer_records",
            "must be at least 1 with on_failure = \"buffer\"".into(),
        );
    }
    if raw.flush_ms > MAX_FLUSH_MS {
        bad(
            "flush_ms",
            format!("at most {MAX_FLUSH_MS} (records wait that long in memory before their write)"),
        );
    }
    if raw.replica.as_deref().is_some_and(|r| {
        r.is_empty()
            || r.len() > 64
            || !r
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    }) {
        bad("replica", "1-64 characters of [A-Za-z0-9-_.]".into());
    }
    (problems.len() == before).then(|| AuditConfig {
        dir: raw.dir.map(|d| base_dir.join(d)),
        stdout: raw.stdout,
        replica: raw.replica,
        subject_key: raw.subject_key.under(base_dir),
        signing_key: raw.signing_key.under(base_dir),
        checkpoint_every: raw.checkpoint_every,
        checkpoint_secs: raw.checkpoint_secs,
        max_file_bytes: raw.max_file_bytes,
        on_failure: raw.on_failure,
        buffer_records: raw.buffer_records,
        flush_ms: raw.flush_ms,
    })
}

impl AuditConfig {
    /// Reads the subject and signing keys.
    pub fn resolve(
        &self,
        file: &Path,
        base_dir: &Path,
        env: Env<'_>,
    ) -> Result<AuditSettings, ConfigProblem> {
        let subject_key = self
            .subject_key
            .read_classified(base_dir, env)
            .and_then(|b| {
                decode_key_material(b).map_err(crate::config::secret::SecretError::Invalid)
            })
            .map_err(|e| e.problem(file, "audit.subject_key"))?;
        if subject_key.len() < 32 {
            return Err(ConfigProblem::invalid(
                file.display().to_string(),
                "audit.subject_key",
                "must be at least 32 bytes",
            ));
        }
        let signing_key = self
            .signing_key
            .read_classified(base_dir, env)
            .map_err(|e| e.problem(file, "audit.signing_key"))?;
        if let Err(e) = jisr_audit::SigningKey::from_pkcs8(&signing_key) {
            return Err(ConfigProblem::invalid(
                file.display().to_string(),
                "audit.signing_key",
                e.to_string(),
            ));
        }
        Ok(AuditSettings {
            dir: self.dir.clone(),
            stdout: self.stdout,
            replica: self.replica.clone(),
            subject_key,
            signing_key,
            checkpoint_every: self.checkpoint_every,
            checkpoint_secs: self.checkpoint_secs,
            max_file_bytes: self.max_file_bytes,
            on_failure: self.on_failure,
            buffer_records: self.buffer_records,
            flush_ms: self.flush_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &Path) -> AuditConfig {
        AuditConfig {
            dir: Some(dir.join("audit")),
            stdout: false,
            replica: None,
            subject_key: SecretSource::File(dir.join("subject.key")),
            signing_key: SecretSource::File(dir.join("signing.pem")),
            checkpoint_every: 1000,
            checkpoint_secs: 60,
            max_file_bytes: 1 << 20,
            on_failure: OnFailure::Refuse,
            buffer_records: 10,
            flush_ms: 10,
        }
    }

    #[test]
    fn the_signing_key_must_be_an_ed25519_pkcs8_key() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("subject.key"), [7u8; 32]).unwrap();
        std::fs::write(
            d.join("signing.pem"),
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        let file = d.join("gateway.toml");
        let problem = config(d).resolve(&file, d, &|_| None).err().unwrap();
        assert_eq!(
            problem.to_string(),
            format!(
                "{}: audit.signing_key: not an Ed25519 PKCS#8 private key",
                file.display()
            )
        );
        std::fs::write(
            d.join("signing.pem"),
            jisr_audit::SigningKey::generate_pem().unwrap(),
        )
        .unwrap();
        let settings = config(d).resolve(&file, d, &|_| None).unwrap();
        assert_eq!(settings.subject_key, vec![7u8; 32]);
    }
}
