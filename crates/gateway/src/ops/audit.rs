//! The audit log: each flow event becomes one hash-chained JSON record ([`jisr_audit`]),
//! with the agency's sector from configuration and the citizen only as an HMAC reference.
//!
//! Built once from `[audit]` ([`Audit::from_settings`]); without that section events are
//! counted but not written (development only). [`Audit::accepting`] is what `/authorize`
//! asks before starting a login: a log that cannot write refuses new logins rather than let
//! them go unrecorded.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use jisr_audit::{AuditLog, Counters, Entry, LogConfig, SubjectKey};

use super::Event;
use crate::app::Clock;
use crate::config::gateway::audit::{AuditSettings, OnFailure};

/// Why the audit log could not start.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit.signing_key: {0}")]
    SigningKey(jisr_audit::KeyError),
    #[error("audit.subject_key: {0}")]
    SubjectKey(jisr_audit::KeyError),
    #[error("audit: {0}")]
    Log(#[from] jisr_audit::LogError),
}

struct Inner {
    log: AuditLog,
    subjects: SubjectKey,
    /// Agency client id → sector, from `agencies.toml`.
    sectors: HashMap<String, String>,
    /// How often the records collected in memory are written (`None`: each at once).
    flush_every: Option<std::time::Duration>,
    /// Set by the first record after a timed write: a write is due `flush_every` later.
    /// The flush timer runs only then, so an idle gateway does not wake every `flush_ms`.
    flush_armed: AtomicBool,
    flush_wanted: tokio::sync::Notify,
}

/// The most the records collected between two timed writes may take in memory before one
/// is written at once (a burst fills this in well under `flush_ms`).
const WRITE_BEHIND_BYTES: usize = 256 * 1024;

/// The gateway's audit writer (a no-op without `[audit]`).
#[derive(Default, Clone)]
pub struct Audit {
    inner: Option<Arc<Inner>>,
}

impl Audit {
    /// Opens the log `settings` describe, continuing this replica's chain. `sectors` maps
    /// each agency's client id to its sector; `now` starts the checkpoint timer.
    pub fn from_settings(
        settings: Option<&AuditSettings>,
        sectors: HashMap<String, String>,
        now: i64,
    ) -> Result<Audit, AuditError> {
        let Some(s) = settings else {
            return Ok(Audit::default());
        };
        let signer =
            jisr_audit::SigningKey::from_pkcs8(&s.signing_key).map_err(AuditError::SigningKey)?;
        let subjects = SubjectKey::new(&s.subject_key).map_err(AuditError::SubjectKey)?;
        let config = LogConfig {
            dir: s.dir.clone(),
            stdout: s.stdout,
            replica: s.replica.clone().unwrap_or_else(host_name),
            checkpoint_every: s.checkpoint_every,
            checkpoint_secs: s.checkpoint_secs,
            max_file_bytes: s.max_file_bytes,
            on_failure: match s.on_failure {
                OnFailure::Refuse => jisr_audit::OnFailure::Refuse,
                OnFailure::Buffer => jisr_audit::OnFailure::Buffer,
            },
            buffer_records: s.buffer_records,
            write_behind: if s.flush_ms > 0 {
                WRITE_BEHIND_BYTES
            } else {
                0
            },
        };
        let log = AuditLog::open(config, signer, now)?;
        tracing::info!(replica = log.replica(), kid = log.public_key().kid(), dir = ?s.dir,
            stdout = s.stdout, "audit log open");
        Ok(Audit {
            inner: Some(Arc::new(Inner {
                log,
                subjects,
                sectors,
                flush_every: (s.flush_ms > 0).then(|| std::time::Duration::from_millis(s.flush_ms)),
                flush_armed: AtomicBool::new(false),
                flush_wanted: tokio::sync::Notify::new(),
            })),
        })
    }

    /// Writes one record for `event`.
    pub fn append(&self, event: &Event<'_>, now: i64) {
        let Some(inner) = &self.inner else {
            return;
        };
        let t = event.trail;
        let client_id = t.client_id.as_deref();
        inner.log.append(&Entry {
            time: now,
            event: event.kind.name(),
            outcome: event.outcome.name(),
            flow: t.flow.as_deref(),
            client_id,
            sector: client_id
                .and_then(|c| inner.sectors.get(c))
                .map(String::as_str),
            origin: t.origin.as_ref().map(|c| c.as_str()),
            destination: t.destination.as_ref().map(|c| c.as_str()),
            loa: t.loa.map(|l| l.name()),
            reason: event.reason,
            error: event.error.map(|e| e.code()),
            subject: t.subject.as_deref(),
            operator: t.operator.as_deref(),
        });
        // The first record since the last timed write arms the timer; the rest find it armed.
        if inner.flush_every.is_some() && !inner.flush_armed.swap(true, Ordering::AcqRel) {
            inner.flush_wanted.notify_one();
        }
    }

    /// The audit reference for a citizen: an HMAC of their country and normalised national
    /// identifier under the audit subject key (never the identifier itself). `None` without
    /// an audit log.
    pub fn subject_ref(
        &self,
        country: jisr_mapping::CountryCode,
        national_id: &str,
    ) -> Option<String> {
        let inner = self.inner.as_ref()?;
        Some(inner.subjects.reference(country.as_str(), national_id))
    }

    /// Whether new logins may start (always, without an audit log).
    pub fn accepting(&self) -> bool {
        self.inner.as_ref().is_none_or(|i| i.log.accepting())
    }

    /// Records written, sink failures, records held, dropped, healthy — for metrics.
    pub fn counters(&self) -> Option<&Counters> {
        self.inner.as_ref().map(|i| i.log.counters())
    }

    /// Writes the records collected in memory now (the timer does it every `flush_ms`).
    pub fn write_pending(&self) {
        if let Some(inner) = &self.inner {
            inner.log.write_pending();
        }
    }

    /// On clean shutdown: writes what waits and signs the chain head.
    pub fn close(&self, now: i64) {
        if let Some(inner) = &self.inner {
            inner.log.close(now);
        }
    }

    /// `flush_ms` after the first record collected in memory: writes what was collected (no
    /// timer runs while nothing waits). Every second: retries held records, probes a
    /// failing sink, and signs the chain head when `checkpoint_secs` passed with records
    /// written. On shutdown: what waits is written and a last checkpoint signed.
    pub fn spawn_checkpoints(
        &self,
        clock: Clock,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        let Some(inner) = self.inner.clone() else {
            return;
        };
        if let Some(delay) = inner.flush_every {
            let inner = inner.clone();
            let mut shutdown = shutdown.clone();
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = inner.flush_wanted.notified() => {}
                        _ = shutdown.wait_for(|v| *v) => break,
                    }
                    tokio::time::sleep(delay).await;
                    // Disarmed before the write: a record appended from here on arms the
                    // next one (and is written by this one or the next, never by none).
                    inner.flush_armed.store(false, Ordering::Release);
                    inner.log.write_pending();
                }
            });
        }
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(1));
            loop {
                tokio::select! {
                    _ = every.tick() => inner.log.tick(clock()),
                    _ = shutdown.wait_for(|v| *v) => break,
                }
            }
            inner.log.close(clock());
        });
    }
}

/// The replica name when `[audit] replica` is not set: the host name, if it is a valid one.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 64
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
        .unwrap_or_else(|| "gateway".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{EventKind, Trail};
    use jisr_mapping::{Gcc, Loa};

    fn settings(dir: &std::path::Path) -> AuditSettings {
        AuditSettings {
            dir: Some(dir.to_owned()),
            stdout: false,
            replica: Some("gw-test".into()),
            subject_key: vec![9u8; 32],
            signing_key: jisr_audit::SigningKey::generate_pem().unwrap().into_bytes(),
            checkpoint_every: 1000,
            checkpoint_secs: 60,
            max_file_bytes: 1 << 20,
            on_failure: OnFailure::Refuse,
            buffer_records: 10,
            flush_ms: 0,
        }
    }

    #[test]
    fn an_event_becomes_a_record_with_the_agency_sector_and_the_subject_reference() {
        let dir = tempfile::tempdir().unwrap();
        let sectors = HashMap::from([("bh-health".to_owned(), "health".to_owned())]);
        let audit =
            Audit::from_settings(Some(&settings(dir.path())), sectors, 1_767_225_600).unwrap();
        let subject = audit
            .subject_ref(Gcc::SaudiArabia.code(), "1234567890")
            .unwrap();
        assert!(!subject.contains("1234567890"));
        let trail = Trail {
            flow: Some("flow-1".into()),
            client_id: Some("bh-health".into()),
            origin: Some(Gcc::SaudiArabia.code()),
            destination: Some(Gcc::Bahrain.code()),
            loa: Some(Loa::Substantial),
            subject: Some(subject.clone()),
            operator: None,
        };
        audit.append(&Event::ok(EventKind::CodeIssued, &trail), 1_767_225_600);
        let files = jisr_audit::log::replica_files(dir.path(), "gw-test").unwrap();
        let text = std::fs::read_to_string(&files[0]).unwrap();
        // The first line is the checkpoint the log signs at open.
        let mut lines = text.lines();
        let first: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
        assert_eq!(first["event"], "checkpoint");
        let record: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
        assert_eq!(record["event"], "code_issued");
        assert_eq!(record["time"], "2026-01-01T00:00:00Z");
        assert_eq!(record["sector"], "health");
        assert_eq!(record["origin"], "SA");
        assert_eq!(record["destination"], "BH");
        assert_eq!(record["loa"], "substantial");
        assert_eq!(record["outcome"], "ok");
        assert_eq!(record["subject"], subject.as_str());
        assert!(audit.accepting());
        assert_eq!(audit.counters().unwrap().written(), 2);
    }

    #[test]
    fn without_audit_settings_nothing_is_written_and_logins_are_accepted() {
        let audit = Audit::from_settings(None, HashMap::new(), 0).unwrap();
        assert!(audit.accepting());
        assert_eq!(audit.subject_ref(Gcc::Oman.code(), "1"), None);
        assert!(audit.counters().is_none());
    }

    #[test]
    fn a_bad_signing_key_is_refused_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let s = AuditSettings {
            signing_key: b"not a key".to_vec(),
            ..settings(dir.path())
        };
        let e = Audit::from_settings(Some(&s), HashMap::new(), 0)
            .err()
            .unwrap();
        assert_eq!(
            e.to_string(),
            "audit.signing_key: not an Ed25519 PKCS#8 private key"
        );
    }
}
