use super::*;
use crate::verify::{ProblemKind, verify};
use crate::{PublicKey, SigningKey};

fn key() -> (SigningKey, PublicKey) {
    let pem = SigningKey::generate_pem().unwrap();
    let k = SigningKey::from_pkcs8(pem.as_bytes()).unwrap();
    let p = k.public().clone();
    (k, p)
}

fn config(dir: &Path) -> LogConfig {
    LogConfig {
        dir: Some(dir.to_owned()),
        stdout: false,
        replica: "gw-1".into(),
        checkpoint_every: 5,
        checkpoint_secs: 60,
        max_file_bytes: 1 << 20,
        on_failure: OnFailure::Refuse,
        buffer_records: 3,
        write_behind: 0,
    }
}

fn entry(time: i64, flow: &str) -> Entry<'_> {
    Entry {
        time,
        event: "code_issued",
        outcome: "ok",
        flow: Some(flow),
        client_id: Some("bh-health"),
        sector: Some("health"),
        origin: Some("SA"),
        destination: Some("BH"),
        loa: Some("substantial"),
        subject: Some("ref-1"),
        ..Entry::default()
    }
}

/// Writes `n` records (and whatever checkpoints fall due), closes, returns the files.
fn write(dir: &Path, n: u64, cfg: LogConfig, signer: SigningKey) -> Vec<PathBuf> {
    let log = AuditLog::open(cfg, signer, 1_700_000_000).unwrap();
    for i in 0..n {
        log.append(&entry(1_700_000_000 + i as i64, &format!("f{i}")));
    }
    log.close(1_700_000_100);
    replica_files(dir, "gw-1").unwrap()
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn rewrite(path: &Path, lines: &[String]) {
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

/// Re-seals a line as an attacker without the signing key would: a valid hash for new bytes.
fn reseal(line: &str, edit: impl FnOnce(&mut Record<'static>)) -> String {
    let mut r: Record<'static> = serde_json::from_str(line).unwrap();
    r.hash = None;
    edit(&mut r);
    r.seal().unwrap().0.trim_end().to_owned()
}

#[test]
fn an_untouched_log_verifies_with_its_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let (k, p) = key();
    let files = write(dir.path(), 12, config(dir.path()), k);
    let report = verify(&files, &[p]).unwrap();
    assert!(report.intact(), "{report}");
    // A checkpoint at open, 12 records, checkpoints after 5 and 10, and one at close.
    assert_eq!(report.replicas[0].records, 16);
    assert_eq!(report.replicas[0].checkpoints, 4);
    assert!(report.fully_signed());
    let first: Record = serde_json::from_str(&lines(&files[0])[0]).unwrap();
    assert!(first.is_checkpoint() && first.seq == 0);
    assert_eq!(report.replicas[0].unsigned_tail, 0);
}

#[test]
fn records_after_the_last_checkpoint_are_reported_unsigned() {
    let dir = tempfile::tempdir().unwrap();
    let (k, p) = key();
    let log = AuditLog::open(config(dir.path()), k, 0).unwrap();
    for i in 0..7 {
        log.append(&entry(i, "f"));
    }
    drop(log);
    let files = replica_files(dir.path(), "gw-1").unwrap();
    let report = verify(&files, &[p]).unwrap();
    assert!(report.intact());
    assert_eq!(report.replicas[0].unsigned_tail, 2);
    assert!(
        report
            .to_string()
            .contains("the last 2 records are not yet covered")
    );
}

#[test]
fn a_removed_record_is_reported_as_a_gap_at_the_next_line() {
    let dir = tempfile::tempdir().unwrap();
    let (k, p) = key();
    let files = write(dir.path(), 8, config(dir.path()), k);
    let mut l = lines(&files[0]);
    l.remove(2);
    rewrite(&files[0], &l);
    let problem = verify(&files, &[p]).unwrap().problem.unwrap();
    assert_eq!(problem.kind, ProblemKind::Removed);
    assert_eq!((problem.line, problem.seq), (3, Some(3)));
    assert!(
        problem.detail.contains("record seq 2 is missing"),
        "{problem}"
    );
}

#[test]
fn an_altered_record_is_reported_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let (k, p) = key();
    let files = write(dir.path(), 8, config(dir.path()), k);
    let mut l = lines(&files[0]);
    l[3] = l[3].replace("\"origin\":\"SA\"", "\"origin\":\"OM\"");
    rewrite(&files[0], &l);
    let problem = verify(&files, &[p]).unwrap().problem.unwrap();
    assert_eq!(problem.kind, ProblemKind::Altered);
    assert_eq!(problem.line, 4);
}

#[test]
fn an_altered_and_resealed_record_breaks_the_next_prev() {
    let dir = tempfile::tempdir().unwrap();
    let (k, p) = key();
    let files = write(dir.path(), 8, config(dir.path()), k);
    let mut l = lines(&files[0]);
    l[3] = reseal(&l[3], |r| r.origin = Some("OM".into()));
    rewrite(&files[0], &l);
    let problem = verify(&files, &[p]).unwrap().problem.unwrap();
    assert_eq!(problem.kind, ProblemKind::Inserted);
    assert_eq!(problem.line, 5);
    assert!(problem.detail.contains("prev is not the hash of seq 3"));
}

#[test]
fn reordered_records_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (k, p) = key();
    let files = write(dir.path(), 8, config(dir.path()), k);
    let mut l = lines(&files[0]);
    l.swap(2, 3);
    rewrite(&files[0], &l);
    let problem = verify(&files, &[p]).unwrap().problem.unwrap();
    assert_eq!(problem.kind, ProblemKind::Reordered);
    assert_eq!(problem.line, 4);
    assert!(
        problem.detail.contains("seq 2 comes after seq 3"),
        "{problem}"
    );
}

#[test]
fn an_inserted_record_is_reported_as_a_duplicate_seq() {
    let dir = tempfile::tempdir().unwrap();
    let (k, p) = key();
    let files = write(dir.path(), 8, config(dir.path()), k);
    let mut l = lines(&files[0]);
    let forged = reseal(&l[2], |r| r.flow = Some("invented".into()));
    l.insert(3, forged);
    rewrite(&files[0], &l);
    let problem = verify(&files, &[p]).unwrap().problem.unwrap();
    assert_eq!(problem.kind, ProblemKind::Inserted);
    assert_eq!((problem.line, problem.seq), (4, Some(2)));
    assert!(problem.detail.contains("a second record with seq 2"));
}

#[test]
fn a_rewritten_chain_is_caught_by_the_next_checkpoint() {
    // Remove a record and renumber and reseal everything after it up to the checkpoint.
    let dir = tempfile::tempdir().unwrap();
    let (k, p) = key();
    let files = write(dir.path(), 8, config(dir.path()), k);
    let mut l = lines(&files[0]);
    l.remove(1);
    let mut prev: String = serde_json::from_str::<Record>(&l[0])
        .unwrap()
        .hash
        .unwrap()
        .into();
    for line in l.iter_mut().skip(1) {
        *line = reseal(line, |r| {
            r.seq -= 1;
            r.prev = prev.clone().into();
        });
        prev = serde_json::from_str::<Record>(line)
            .unwrap()
            .hash
            .unwrap()
            .into();
    }
    rewrite(&files[0], &l);
    let problem = verify(&files, &[p]).unwrap().problem.unwrap();
    assert_eq!(problem.kind, ProblemKind::BadCheckpoint);
    assert_eq!(problem.line, 6);
}

#[test]
fn a_forged_checkpoint_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (k, p) = key();
    let (other, _) = key();
    let files = write(dir.path(), 8, config(dir.path()), k);
    let mut l = lines(&files[0]);
    // Signed by another key under the real kid.
    let r: Record = serde_json::from_str(&l[6]).unwrap();
    let message = crate::record::checkpoint_message(
        "gw-1",
        r.seq,
        &r.prev,
        &r.time,
        r.kid.as_deref().unwrap(),
    );
    l[6] = reseal(&l[6], |r| r.sig = Some(other.sign(&message).into()));
    rewrite(&files[0], &l);
    let problem = verify(&files, std::slice::from_ref(&p))
        .unwrap()
        .problem
        .unwrap();
    assert_eq!(problem.kind, ProblemKind::BadCheckpoint);
    assert_eq!(problem.line, 7);
    assert!(problem.detail.contains("signature does not verify"));
    // Signed by another key under its own kid: not among the keys given.
    l[6] = reseal(&l[6], |r| {
        r.kid = Some(other.public().kid().to_owned().into());
    });
    rewrite(&files[0], &l);
    let problem = verify(&files, &[p]).unwrap().problem.unwrap();
    assert_eq!(problem.kind, ProblemKind::BadCheckpoint);
    assert!(problem.detail.contains("not among the keys given"));
}

#[test]
fn the_chain_continues_across_restart_and_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let pem = SigningKey::generate_pem().unwrap();
    let signer = || SigningKey::from_pkcs8(pem.as_bytes()).unwrap();
    let cfg = LogConfig {
        max_file_bytes: 4096,
        ..config(dir.path())
    };
    write(dir.path(), 20, cfg.clone(), signer());
    let files = write(dir.path(), 20, cfg, signer());
    assert!(files.len() > 3, "rotated into {} files", files.len());
    for f in &files {
        // Over by at most the checkpoint that closes the file.
        assert!(std::fs::metadata(f).unwrap().len() <= 4096 + 512);
    }
    let report = verify(&files, &[signer().public().clone()]).unwrap();
    assert!(report.intact(), "{report}");
    // A checkpoint at open, 20 records and a checkpoint after every 5, twice.
    assert_eq!(report.replicas[0].records, 2 * (1 + 20 + 4));
    // The names carry the first seq of each file.
    let last = files.last().unwrap();
    let first: Record = serde_json::from_str(&lines(last)[0]).unwrap();
    assert_eq!(
        last.file_name().unwrap().to_str().unwrap(),
        file_name("gw-1", first.seq)
    );
}

#[test]
fn a_torn_last_line_is_cut_off_on_restart() {
    let dir = tempfile::tempdir().unwrap();
    let pem = SigningKey::generate_pem().unwrap();
    let signer = || SigningKey::from_pkcs8(pem.as_bytes()).unwrap();
    let files = write(dir.path(), 3, config(dir.path()), signer());
    let mut f = OpenOptions::new().append(true).open(&files[0]).unwrap();
    f.write_all(b"{\"v\":1,\"seq\":4,\"ti").unwrap();
    let files = write(dir.path(), 3, config(dir.path()), signer());
    assert!(
        verify(&files, &[signer().public().clone()])
            .unwrap()
            .intact()
    );
}

#[test]
fn the_timer_signs_the_head_when_checkpoint_secs_passed() {
    let dir = tempfile::tempdir().unwrap();
    let (k, p) = key();
    let log = AuditLog::open(config(dir.path()), k, 1000).unwrap();
    assert_eq!(log.counters().checkpoints(), 1, "the checkpoint at open");
    log.append(&entry(1000, "f"));
    log.tick(1059);
    assert_eq!(log.counters().checkpoints(), 1);
    log.tick(1060);
    assert_eq!(log.counters().checkpoints(), 2);
    log.tick(2000); // nothing written since: no new checkpoint
    assert_eq!(log.counters().checkpoints(), 2);
    let report = verify(&replica_files(dir.path(), "gw-1").unwrap(), &[p]).unwrap();
    assert_eq!(report.replicas[0].unsigned_tail, 0);
}

/// A directory that cannot exist: its parent is a regular file.
fn blocked(dir: &Path) -> PathBuf {
    let file = dir.join("not-a-dir");
    std::fs::write(&file, b"").unwrap();
    file.join("audit")
}

#[test]
fn under_refuse_a_failing_sink_stops_logins_until_a_write_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let (k, p) = key();
    let target = blocked(dir.path());
    let log = AuditLog::open(config(&target), k, 0).unwrap();
    assert!(!log.accepting());
    assert!(!log.counters().healthy());
    log.append(&entry(1, "a"));
    log.append(&entry(2, "b"));
    assert_eq!(log.counters().buffered(), 2);
    assert!(!log.accepting());
    std::fs::remove_file(dir.path().join("not-a-dir")).unwrap();
    log.tick(3);
    assert!(log.accepting());
    assert!(log.counters().healthy());
    assert_eq!(log.counters().buffered(), 0);
    assert!(log.counters().failures() >= 3);
    log.close(4);
    let files = replica_files(&target, "gw-1").unwrap();
    let report = verify(&files, &[p]).unwrap();
    assert!(report.intact(), "{report}");
    let flows: Vec<String> = lines(&files[0])
        .iter()
        .filter_map(|l| {
            serde_json::from_str::<Record>(l)
                .unwrap()
                .flow
                .map(|f| f.into_owned())
        })
        .collect();
    assert_eq!(flows, ["a", "b"]);
}

#[test]
fn under_buffer_logins_continue_until_the_buffer_is_full_and_nothing_is_dropped_silently() {
    let dir = tempfile::tempdir().unwrap();
    let (k, _) = key();
    let target = blocked(dir.path());
    let cfg = LogConfig {
        on_failure: OnFailure::Buffer,
        ..config(&target)
    };
    let log = AuditLog::open(cfg, k, 0).unwrap();
    assert!(log.accepting());
    log.append(&entry(1, "a"));
    log.append(&entry(2, "b"));
    assert!(log.accepting());
    log.append(&entry(3, "c"));
    assert!(!log.accepting(), "buffer of 3 is full");
    log.append(&entry(4, "d"));
    assert_eq!(log.counters().dropped(), 1);
    assert_eq!(log.counters().buffered(), 3);
    std::fs::remove_file(dir.path().join("not-a-dir")).unwrap();
    log.append(&entry(5, "e"));
    assert!(log.accepting());
    assert_eq!(log.counters().buffered(), 0);
    // The loss, the three held records, the new one, and the checkpoint after five.
    assert_eq!(log.counters().written(), 6);
}

#[test]
fn records_dropped_are_written_into_the_chain_before_the_held_records_and_verify_reports_them() {
    let dir = tempfile::tempdir().unwrap();
    let (k, p) = key();
    let target = blocked(dir.path());
    let cfg = LogConfig {
        on_failure: OnFailure::Buffer,
        ..config(&target)
    };
    let log = AuditLog::open(cfg, k, 0).unwrap();
    for (t, f) in [(1, "a"), (2, "b"), (3, "c"), (4, "d"), (5, "e"), (7, "g")] {
        log.append(&entry(t, f));
    }
    assert_eq!(log.counters().dropped(), 3);
    std::fs::remove_file(dir.path().join("not-a-dir")).unwrap();
    log.tick(9);
    log.close(10);
    let files = replica_files(&target, "gw-1").unwrap();
    let records: Vec<Record> = lines(&files[0])
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records[0].event, RECORDS_DROPPED);
    assert_eq!(records[0].dropped, Some(3));
    assert_eq!(
        records[0].dropped_from.as_deref(),
        Some(rfc3339(4).as_str())
    );
    assert_eq!(records[0].dropped_to.as_deref(), Some(rfc3339(7).as_str()));
    assert_eq!(records[0].time, rfc3339(9));
    let flows: Vec<&str> = records.iter().filter_map(|r| r.flow.as_deref()).collect();
    assert_eq!(flows, ["a", "b", "c"]);
    let report = verify(&files, &[p]).unwrap();
    assert!(report.intact(), "{report}");
    assert_eq!(report.dropped(), 3);
    assert_eq!(report.replicas[0].drops[0].seq, 0);
    assert!(
        report
            .to_string()
            .contains("RECORDS DROPPED at seq 0: 3 records were lost between"),
        "{report}"
    );
}

#[test]
fn a_stdout_only_log_writes_nothing_to_disk() {
    let (k, _) = key();
    let cfg = LogConfig {
        dir: None,
        stdout: true,
        ..config(Path::new("/nonexistent"))
    };
    let log = AuditLog::open(cfg, k, 0).unwrap();
    log.append(&entry(1, "a"));
    assert_eq!(
        log.counters().written(),
        2,
        "the checkpoint at open and the record"
    );
    assert!(log.accepting());
}

#[test]
fn a_stdout_only_log_names_each_run_s_chain_apart() {
    // Each run starts again at seq 0: under one name, two runs would look like inserted
    // records to verify.
    let stdout_only = || LogConfig {
        dir: None,
        stdout: true,
        ..config(Path::new("/nonexistent"))
    };
    let first = AuditLog::open(stdout_only(), key().0, 1_700_000_000).unwrap();
    let second = AuditLog::open(stdout_only(), key().0, 1_700_000_042).unwrap();
    assert_eq!(first.replica(), "gw-1.1700000000");
    assert_eq!(second.replica(), "gw-1.1700000042");
    // With files the chain continues under the configured name.
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(config(dir.path()), key().0, 1_700_000_000).unwrap();
    assert_eq!(log.replica(), "gw-1");
}

#[cfg(unix)]
#[test]
fn a_full_disk_fails_the_write_and_the_record_waits_for_the_next_file() {
    if !Path::new("/dev/full").exists() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (k, p) = key();
    // The first file of the chain is /dev/full: every write to it fails with ENOSPC.
    let first = dir.path().join(file_name("gw-1", 0));
    std::os::unix::fs::symlink("/dev/full", &first).unwrap();
    let log = AuditLog::open(config(dir.path()), k, 0).unwrap();
    // The checkpoint at open already finds the disk full.
    assert!(!log.accepting());
    log.append(&entry(1, "a"));
    assert!(!log.accepting());
    assert!(!log.counters().healthy());
    assert_eq!(log.counters().buffered(), 1);
    assert_eq!(log.counters().written(), 0);
    std::fs::remove_file(&first).unwrap();
    log.tick(2);
    assert!(log.accepting());
    assert_eq!(log.counters().written(), 1);
    log.close(3);
    let report = verify(&replica_files(dir.path(), "gw-1").unwrap(), &[p]).unwrap();
    assert!(report.intact(), "{report}");
    assert_eq!(report.replicas[0].records, 2);
}

#[test]
fn the_chain_continues_from_the_end_of_a_file_larger_than_the_tail_window() {
    let dir = tempfile::tempdir().unwrap();
    let pem = SigningKey::generate_pem().unwrap();
    let signer = || SigningKey::from_pkcs8(pem.as_bytes()).unwrap();
    let files = write(dir.path(), 400, config(dir.path()), signer());
    assert!(std::fs::metadata(&files[0]).unwrap().len() > 64 * 1024);
    let files = write(dir.path(), 3, config(dir.path()), signer());
    assert_eq!(files.len(), 2);
    let report = verify(&files, &[signer().public().clone()]).unwrap();
    assert!(report.intact(), "{report}");
}

#[test]
fn a_restart_signs_the_head_it_continues_from() {
    // The first run dies without closing: its last records are unsigned. The next start
    // signs the head it continues from, so they are covered from then on.
    let dir = tempfile::tempdir().unwrap();
    let pem = SigningKey::generate_pem().unwrap();
    let signer = || SigningKey::from_pkcs8(pem.as_bytes()).unwrap();
    let log = AuditLog::open(config(dir.path()), signer(), 0).unwrap();
    for i in 0..7 {
        log.append(&entry(i, "f"));
    }
    drop(log);
    let files = replica_files(dir.path(), "gw-1").unwrap();
    let report = verify(&files, &[signer().public().clone()]).unwrap();
    assert_eq!(report.replicas[0].unsigned_tail, 2);
    assert!(!report.fully_signed());
    let log = AuditLog::open(config(dir.path()), signer(), 10).unwrap();
    let files = replica_files(dir.path(), "gw-1").unwrap();
    let report = verify(&files, &[signer().public().clone()]).unwrap();
    assert!(report.intact(), "{report}");
    assert!(report.fully_signed(), "{report}");
    assert_eq!(report.replicas[0].records, 1 + 7 + 1 + 1);
    drop(log);
}

#[test]
fn records_after_the_last_checkpoint_rewritten_with_fresh_hashes_are_not_fully_signed() {
    let dir = tempfile::tempdir().unwrap();
    let (k, p) = key();
    let log = AuditLog::open(config(dir.path()), k, 0).unwrap();
    for i in 0..7 {
        log.append(&entry(i, "f"));
    }
    drop(log);
    let files = replica_files(dir.path(), "gw-1").unwrap();
    let mut l = lines(&files[0]);
    let n = l.len();
    let mut prev: String = serde_json::from_str::<Record>(&l[n - 3])
        .unwrap()
        .hash
        .unwrap()
        .into();
    for line in &mut l[n - 2..] {
        *line = reseal(line, |r| {
            r.origin = Some("OM".into());
            r.prev = prev.clone().into();
        });
        prev = serde_json::from_str::<Record>(line)
            .unwrap()
            .hash
            .unwrap()
            .into();
    }
    rewrite(&files[0], &l);
    let report = verify(&files, &[p]).unwrap();
    // The hashes cannot tell: only the missing signature does.
    assert!(report.intact());
    assert!(!report.fully_signed());
}

#[test]
fn a_fabricated_replica_without_checkpoints_is_not_fully_signed() {
    let dir = tempfile::tempdir().unwrap();
    let (_, p) = key();
    let mut prev = String::new();
    let mut out = Vec::new();
    for seq in 0..3 {
        let mut r = reseal(&crate::record::tests_sample_line(seq), |r| {
            r.prev = prev.clone().into()
        });
        prev = serde_json::from_str::<Record>(&r)
            .unwrap()
            .hash
            .unwrap()
            .into();
        r.push('\n');
        out.push(r);
    }
    let file = dir.path().join(file_name("gw-9", 0));
    std::fs::write(&file, out.concat()).unwrap();
    let report = verify(&[file], &[p]).unwrap();
    assert!(report.intact(), "{report}");
    assert!(!report.fully_signed());
    assert_eq!(report.unsigned_replicas().count(), 1);
    assert!(report.to_string().contains("NO checkpoint"), "{report}");
}

#[test]
fn a_checkpoint_s_time_and_kid_are_signed() {
    let dir = tempfile::tempdir().unwrap();
    let (k, p) = key();
    let files = write(dir.path(), 3, config(dir.path()), k);
    let mut l = lines(&files[0]);
    let last = l.len() - 1;
    let closing = l[last].clone();
    assert!(closing.contains("\"event\":\"checkpoint\""));
    assert!(verify(&files, std::slice::from_ref(&p)).unwrap().intact());
    // The closing checkpoint moved a day later, rehashed (nothing follows it).
    l[last] = reseal(&closing, |r| r.time = rfc3339(1_700_086_500).into());
    rewrite(&files[0], &l);
    let problem = verify(&files, std::slice::from_ref(&p))
        .unwrap()
        .problem
        .unwrap();
    assert_eq!(problem.kind, ProblemKind::BadCheckpoint);
    assert!(
        problem.detail.contains("signature does not verify"),
        "{problem}"
    );
    // A v1 signature (replica, seq, prev only) is not accepted.
    let r: Record = serde_json::from_str(&closing).unwrap();
    let (signer, _) = key();
    let v1 = format!("jisr-audit-checkpoint/v1\ngw-1\n{}\n{}", r.seq, r.prev);
    l[last] = reseal(&closing, |r| {
        r.kid = Some(signer.public().kid().to_owned().into());
        r.sig = Some(signer.sign(v1.as_bytes()).into());
    });
    rewrite(&files[0], &l);
    let problem = verify(&files, &[p, signer.public().clone()])
        .unwrap()
        .problem
        .unwrap();
    assert_eq!(problem.kind, ProblemKind::BadCheckpoint);
    assert_eq!(problem.line, last + 1);
    assert!(
        problem.detail.contains("signature does not verify"),
        "{problem}"
    );
}

#[test]
fn a_rotated_file_ends_with_a_checkpoint_and_verifies_signed_on_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let (k, p) = key();
    let cfg = LogConfig {
        max_file_bytes: 4096,
        checkpoint_every: 1000,
        ..config(dir.path())
    };
    let log = AuditLog::open(cfg, k, 0).unwrap();
    for i in 0..40 {
        log.append(&entry(i, "f"));
    }
    let files = replica_files(dir.path(), "gw-1").unwrap();
    assert!(files.len() >= 3, "rotated into {} files", files.len());
    let closed = &files[..files.len() - 1];
    for f in closed {
        let last: Record = serde_json::from_str(lines(f).last().unwrap()).unwrap();
        assert!(
            last.is_checkpoint(),
            "{} ends with {}",
            f.display(),
            last.event
        );
        assert!(std::fs::metadata(f).unwrap().len() <= 4096 + 512);
    }
    // The rotated files verify fully signed without the live one.
    let report = verify(closed, std::slice::from_ref(&p)).unwrap();
    assert!(report.intact(), "{report}");
    assert!(report.fully_signed(), "{report}");
    // The live file's records after its checkpoint are not signed yet.
    let report = verify(&files, &[p]).unwrap();
    assert!(report.intact(), "{report}");
    assert!(!report.fully_signed());
    drop(log);
}

fn write_behind(dir: &Path, bytes: usize) -> LogConfig {
    LogConfig {
        write_behind: bytes,
        checkpoint_every: 1000,
        ..config(dir)
    }
}

#[test]
fn with_write_behind_records_reach_the_file_together_when_written_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let (k, p) = key();
    let log = AuditLog::open(write_behind(dir.path(), 1 << 20), k, 0).unwrap();
    let file = dir.path().join(file_name("gw-1", 0));
    // The checkpoint at open is written at once.
    assert_eq!(lines(&file).len(), 1);
    for (t, f) in [(1, "a"), (2, "b"), (3, "c")] {
        log.append(&entry(t, f));
    }
    assert_eq!(
        lines(&file).len(),
        1,
        "the records wait for the timed write"
    );
    assert_eq!(log.counters().written(), 1);
    assert_eq!(
        log.counters().buffered(),
        0,
        "an early batch is not a backlog"
    );
    log.write_pending();
    assert_eq!(lines(&file).len(), 4);
    assert_eq!(log.counters().written(), 4);
    log.append(&entry(4, "d"));
    log.close(5);
    let report = verify(&replica_files(dir.path(), "gw-1").unwrap(), &[p]).unwrap();
    assert!(report.intact(), "{report}");
    assert!(report.fully_signed(), "{report}");
    assert_eq!(report.replicas[0].records, 6);
}

#[test]
fn with_write_behind_a_full_batch_is_written_without_waiting_for_the_timer() {
    let dir = tempfile::tempdir().unwrap();
    let (k, _) = key();
    let log = AuditLog::open(write_behind(dir.path(), 1000), k, 0).unwrap();
    let file = dir.path().join(file_name("gw-1", 0));
    let mut t = 1;
    while lines(&file).len() == 1 {
        assert!(t < 20, "a 1000-byte batch never written");
        log.append(&entry(t, "f"));
        t += 1;
    }
    let written = lines(&file).len() as u64;
    assert!(written >= 3, "{written}");
    assert_eq!(log.counters().written(), written);
}

#[cfg(unix)]
#[test]
fn with_write_behind_a_batch_the_sink_refuses_is_kept_and_written_in_order_when_it_recovers() {
    if !Path::new("/dev/full").exists() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (k, p) = key();
    // Every file after the first is /dev/full: the first rotation's batch fails (ENOSPC).
    let traps: Vec<PathBuf> = (1..400)
        .map(|seq| dir.path().join(file_name("gw-1", seq)))
        .collect();
    for t in &traps {
        std::os::unix::fs::symlink("/dev/full", t).unwrap();
    }
    let cfg = LogConfig {
        max_file_bytes: 4096,
        ..write_behind(dir.path(), 1 << 20)
    };
    let log = AuditLog::open(cfg, k, 0).unwrap();
    let mut appended = Vec::new();
    let mut t = 1;
    while log.accepting() {
        assert!(t < 200, "the sink never failed");
        let flow = format!("f{t}");
        log.append(&entry(t, &flow));
        appended.push(flow);
        log.write_pending();
        t += 1;
    }
    assert!(!log.counters().healthy());
    // Records of flows under way wait behind the failed batch, up to the buffer.
    for _ in 0..2 {
        let flow = format!("f{t}");
        log.append(&entry(t, &flow));
        appended.push(flow);
        t += 1;
    }
    assert!(
        log.counters().buffered() >= 3,
        "the failed batch and the held records"
    );
    assert_eq!(log.counters().dropped(), 0);
    log.write_pending(); // a failing sink waits for the timer's retry
    assert!(!log.accepting());
    for trap in &traps {
        std::fs::remove_file(trap).unwrap();
    }
    log.tick(t);
    assert!(log.accepting());
    assert_eq!(log.counters().buffered(), 0);
    log.close(t + 1);
    let files = replica_files(dir.path(), "gw-1").unwrap();
    assert!(files.len() >= 2);
    let flows: Vec<String> = files
        .iter()
        .flat_map(|f| lines(f))
        .filter_map(|l| {
            serde_json::from_str::<Record>(&l)
                .unwrap()
                .flow
                .map(|f| f.into_owned())
        })
        .collect();
    assert_eq!(flows, appended, "every record, once, in order");
    let report = verify(&files, &[p]).unwrap();
    assert!(report.intact(), "{report}");
    assert!(report.fully_signed(), "{report}");
}
