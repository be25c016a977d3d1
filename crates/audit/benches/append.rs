//! What one audit record costs on the login path: `AuditLog::append` of a typical event
//! (one lock, one serialisation, one SHA-256, one write to a file in a temp dir), with a
//! checkpoint every 1000 records as configured by default.
//! `cargo bench -p jisr-audit --bench append`
#![allow(clippy::unwrap_used, clippy::expect_used)] // benchmark harness

use criterion::{Criterion, criterion_group, criterion_main};
use jisr_audit::{AuditLog, Entry, LogConfig, OnFailure, SigningKey};

fn append(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let pem = SigningKey::generate_pem().unwrap();
    let log = AuditLog::open(
        LogConfig {
            dir: Some(dir.path().to_owned()),
            stdout: false,
            replica: "bench".into(),
            checkpoint_every: 1000,
            checkpoint_secs: 60,
            max_file_bytes: 64 * 1024 * 1024,
            on_failure: OnFailure::Refuse,
            buffer_records: 10_000,
            write_behind: 0,
        },
        SigningKey::from_pkcs8(pem.as_bytes()).unwrap(),
        1_767_225_600,
    )
    .unwrap();
    let entry = Entry {
        time: 1_767_225_600,
        event: "code_issued",
        outcome: "ok",
        flow: Some("Qm3vX0d1nKc7y2TqHq8Z4w9P"),
        client_id: Some("bh-moh"),
        sector: Some("health"),
        origin: Some("SA"),
        destination: Some("BH"),
        loa: Some("substantial"),
        subject: Some("4hX9mJv3n0Kc7y2TqHq8Z4w9Pz1bQe5rT6yU7iO8pAs"),
        ..Entry::default()
    };
    c.bench_function("audit_append", |b| b.iter(|| log.append(&entry)));
}

criterion_group!(benches, append);
criterion_main!(benches);
