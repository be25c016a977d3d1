//! The demo's audit log: `[audit]` settings for a directory, with keys generated on first
//! use and kept beside the log (`<dir>/demo-keys/`) so a second run continues the same
//! chain under the same key. A production gateway keeps these keys apart from the log.

use std::io;
use std::path::{Path, PathBuf};

use jisr_gateway::config::gateway::audit::{AuditSettings, OnFailure};

/// Where the demo keeps the public key an auditor verifies with.
pub fn public_key_path(dir: &Path) -> PathBuf {
    dir.join("demo-keys").join("audit-public-key.pem")
}

/// Settings for an audit log in `dir` (created if missing), with the demo's keys.
pub fn settings(dir: &Path) -> io::Result<AuditSettings> {
    let keys = dir.join("demo-keys");
    std::fs::create_dir_all(&keys)?;
    let signing = read_or_make(&keys.join("audit-signing-key.pem"), || {
        jisr_audit::SigningKey::generate_pem()
            .map(String::into_bytes)
            .map_err(io::Error::other)
    })?;
    let subject = read_or_make(&keys.join("audit-subject.key"), || {
        let mut key = vec![0u8; 32];
        aws_lc_rs::rand::fill(&mut key).map_err(|_| io::Error::other("no randomness"))?;
        Ok(key)
    })?;
    let public = jisr_audit::SigningKey::from_pkcs8(&signing)
        .map_err(io::Error::other)?
        .public()
        .to_pem();
    std::fs::write(public_key_path(dir), public)?;
    Ok(AuditSettings {
        dir: Some(dir.to_owned()),
        stdout: false,
        replica: Some("demo".into()),
        subject_key: subject,
        signing_key: signing,
        // As in production (the load benchmark measures this), but signed every 10 s
        // rather than every minute, so a short demo shows checkpoints.
        checkpoint_every: 1000,
        checkpoint_secs: 10,
        max_file_bytes: 16 * 1024 * 1024,
        on_failure: OnFailure::Refuse,
        buffer_records: 1000,
        flush_ms: 10,
    })
}

/// The same settings for another replica: its own chain (`demo-<n>`) in the same directory.
pub fn for_replica(settings: &mut Option<AuditSettings>, n: u16) {
    if let Some(s) = settings {
        s.replica = Some(format!("demo-{n}"));
    }
}

fn read_or_make(path: &Path, make: impl FnOnce() -> io::Result<Vec<u8>>) -> io::Result<Vec<u8>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(bytes),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let bytes = make()?;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            io::Write::write_all(&mut options.open(path)?, &bytes)?;
            Ok(bytes)
        }
        Err(e) => Err(e),
    }
}
