//! Checks audit files: every record's hash, the chain of each replica without gap,
//! duplicate or reordering, and every checkpoint's signature. Stops at the first problem —
//! in chain order, replica by replica — and names it with its file and line.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::keys::PublicKey;
use crate::record::{
    Located, RECORDS_DROPPED, VERSION, checkpoint_message, computed_hash, read_files,
};

/// What kind of tampering (or damage) a problem points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// Not a record: not JSON, unknown keys, no hash.
    Malformed,
    /// Records are missing: the seq jumps.
    Removed,
    /// A record's bytes no longer match its hash.
    Altered,
    /// Records are out of order in their file.
    Reordered,
    /// A record that does not belong: a second record with a seq already taken, or one
    /// whose `prev` is not the hash of the record before.
    Inserted,
    /// A checkpoint whose signature does not verify, or signed by an unknown key.
    BadCheckpoint,
}

impl ProblemKind {
    pub fn name(self) -> &'static str {
        match self {
            ProblemKind::Malformed => "malformed",
            ProblemKind::Removed => "removed",
            ProblemKind::Altered => "altered",
            ProblemKind::Reordered => "reordered",
            ProblemKind::Inserted => "inserted",
            ProblemKind::BadCheckpoint => "bad checkpoint",
        }
    }
}

/// The first problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    pub file: PathBuf,
    /// 1-based line in `file`.
    pub line: usize,
    pub replica: Option<String>,
    pub seq: Option<u64>,
    pub detail: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.file.display(),
            self.line,
            self.kind.name(),
            self.detail
        )
    }
}

/// What was verified per replica (up to the first problem).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplicaReport {
    pub replica: String,
    /// Records whose hash and place in the chain checked out (checkpoints included).
    pub records: u64,
    /// Checkpoints whose signature verified.
    pub checkpoints: u64,
    /// Records after the last good checkpoint: chained, but not yet signed.
    pub unsigned_tail: u64,
    pub last_seq: Option<u64>,
    /// `records_dropped` records: the gateway lost records here (its buffer was full while
    /// the sink failed). The chain is intact, the account of events is not.
    pub drops: Vec<Dropped>,
}

/// A `records_dropped` record: where, how many, between which times.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dropped {
    pub seq: u64,
    pub count: u64,
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub replicas: Vec<ReplicaReport>,
    pub problem: Option<Problem>,
}

impl ReplicaReport {
    /// Whether a signature covers every record: at least one checkpoint and nothing after
    /// the last one.
    pub fn fully_signed(&self) -> bool {
        self.checkpoints > 0 && self.unsigned_tail == 0
    }
}

impl Report {
    /// No tampering or damage found. Says nothing of records no checkpoint covers: see
    /// [`Report::fully_signed`].
    pub fn intact(&self) -> bool {
        self.problem.is_none()
    }

    /// Every record of every replica is covered by a checkpoint signature. Records no
    /// signature covers could have been rewritten (with fresh hashes) or made up entirely
    /// by anyone who can write the files.
    pub fn fully_signed(&self) -> bool {
        self.replicas.iter().all(ReplicaReport::fully_signed)
    }

    /// Replicas without a single checkpoint: nothing of theirs is signed (every chain the
    /// gateway writes starts with one).
    pub fn unsigned_replicas(&self) -> impl Iterator<Item = &ReplicaReport> {
        self.replicas.iter().filter(|r| r.checkpoints == 0)
    }

    /// Records the gateway recorded as lost, over all replicas.
    pub fn dropped(&self) -> u64 {
        self.replicas
            .iter()
            .flat_map(|r| &r.drops)
            .fold(0u64, |n, d| n.saturating_add(d.count))
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for r in &self.replicas {
            write!(
                f,
                "replica {}: {} records verified (seq 0..={}), {} signed checkpoints",
                r.replica,
                r.records,
                r.last_seq.map_or_else(|| "-".into(), |s| s.to_string()),
                r.checkpoints
            )?;
            if r.checkpoints == 0 {
                write!(
                    f,
                    "; NO checkpoint: no signature covers any of these records"
                )?;
            } else if r.unsigned_tail > 0 {
                write!(
                    f,
                    "; the last {} records are not yet covered by a checkpoint",
                    r.unsigned_tail
                )?;
            }
            writeln!(f)?;
            for d in &r.drops {
                writeln!(
                    f,
                    "replica {}: RECORDS DROPPED at seq {}: {} records were lost between {} and {} (the audit sink failed and the buffer was full)",
                    r.replica, d.seq, d.count, d.from, d.to
                )?;
            }
        }
        match &self.problem {
            None => writeln!(f, "intact"),
            Some(p) => writeln!(f, "PROBLEM {p}"),
        }
    }
}

/// Verifies `files` (any order, any replicas) against `keys` (the checkpoint public keys).
pub fn verify(files: &[PathBuf], keys: &[PublicKey]) -> std::io::Result<Report> {
    let (records, unreadable) = read_files(files)?;
    let mut report = Report::default();
    if let Some(u) = unreadable.into_iter().next() {
        report.problem = Some(Problem {
            kind: ProblemKind::Malformed,
            file: u.file,
            line: u.line,
            replica: None,
            seq: None,
            detail: format!("not an audit record ({})", u.why),
        });
        return Ok(report);
    }
    let mut by_replica: BTreeMap<String, Vec<Located>> = BTreeMap::new();
    for r in records {
        by_replica
            .entry(r.record.replica.to_string())
            .or_default()
            .push(r);
    }
    for (replica, items) in by_replica {
        let (summary, problem) = verify_replica(&replica, items, keys);
        report.replicas.push(summary);
        if problem.is_some() {
            report.problem = problem;
            break;
        }
    }
    Ok(report)
}

fn problem(kind: ProblemKind, at: &Located, detail: String) -> Problem {
    Problem {
        kind,
        file: at.file.clone(),
        line: at.line,
        replica: Some(at.record.replica.to_string()),
        seq: Some(at.record.seq),
        detail,
    }
}

fn verify_replica(
    replica: &str,
    items: Vec<Located>,
    keys: &[PublicKey],
) -> (ReplicaReport, Option<Problem>) {
    let mut summary = ReplicaReport {
        replica: replica.to_owned(),
        ..Default::default()
    };
    // Reordering: within a file, seq must rise line by line. Noted with the seq where it
    // shows, so it is reported in chain order with everything else.
    let mut reordered: Option<(u64, Problem)> = None;
    for pair in items.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if a.file == b.file && b.record.seq < a.record.seq {
            let p = problem(
                ProblemKind::Reordered,
                b,
                format!(
                    "seq {} comes after seq {} (line {})",
                    b.record.seq, a.record.seq, a.line
                ),
            );
            if reordered.as_ref().is_none_or(|(s, _)| b.record.seq < *s) {
                reordered = Some((b.record.seq, p));
            }
        }
    }
    let mut items = items;
    items.sort_by_key(|i| i.record.seq);
    let mut expected = 0u64;
    let mut prev = String::new();
    let mut since_checkpoint = 0u64;
    let mut i = 0;
    while i < items.len() {
        let seq = items[i].record.seq;
        if let Some((s, p)) = &reordered
            && *s <= seq
        {
            return (summary, Some(p.clone()));
        }
        // All records claiming this seq; the one that chains is the genuine one.
        let same = items[i..]
            .iter()
            .take_while(|x| x.record.seq == seq)
            .count();
        let group = &items[i..i + same];
        let sound = |x: &Located| {
            computed_hash(&x.text).as_deref() == x.record.hash.as_deref() && x.record.prev == prev
        };
        let at = group.iter().find(|x| sound(x)).unwrap_or(&group[0]);
        if seq > expected {
            let detail = if expected.saturating_add(1) == seq {
                format!("record seq {expected} is missing before seq {seq}")
            } else {
                format!(
                    "records seq {expected}..={} are missing before seq {seq}",
                    seq - 1
                )
            };
            return (summary, Some(problem(ProblemKind::Removed, at, detail)));
        }
        if at.record.v != VERSION {
            let d = format!("unknown record version {}", at.record.v);
            return (summary, Some(problem(ProblemKind::Malformed, at, d)));
        }
        if computed_hash(&at.text).as_deref() != at.record.hash.as_deref() {
            let d = format!("seq {seq}: the record does not match its hash (altered)");
            return (summary, Some(problem(ProblemKind::Altered, at, d)));
        }
        if at.record.prev != prev {
            let d = format!(
                "seq {seq}: prev is not the hash of seq {}",
                seq.wrapping_sub(1)
            );
            return (summary, Some(problem(ProblemKind::Inserted, at, d)));
        }
        if let Some(other) = group.iter().find(|x| !std::ptr::eq(*x, at)) {
            let d = format!(
                "a second record with seq {seq} (the genuine one is at line {} of {})",
                at.line,
                at.file.display()
            );
            return (summary, Some(problem(ProblemKind::Inserted, other, d)));
        }
        if at.record.is_checkpoint() {
            let kid = at.record.kid.as_deref().unwrap_or_default();
            let message = checkpoint_message(replica, seq, &prev, &at.record.time, kid);
            let Some(key) = keys.iter().find(|k| k.kid() == kid) else {
                let d = format!(
                    "checkpoint seq {seq} is signed by key {kid}, which is not among the keys given"
                );
                return (summary, Some(problem(ProblemKind::BadCheckpoint, at, d)));
            };
            if !key.verifies(&message, at.record.sig.as_deref().unwrap_or_default()) {
                let d = format!(
                    "checkpoint seq {seq}: the signature does not verify (forged, or records before it were changed)"
                );
                return (summary, Some(problem(ProblemKind::BadCheckpoint, at, d)));
            }
            summary.checkpoints += 1;
            since_checkpoint = 0;
        } else {
            if at.record.event == RECORDS_DROPPED {
                summary.drops.push(Dropped {
                    seq,
                    count: at.record.dropped.unwrap_or_default(),
                    from: at.record.dropped_from.as_deref().unwrap_or("?").to_owned(),
                    to: at.record.dropped_to.as_deref().unwrap_or("?").to_owned(),
                });
            }
            since_checkpoint += 1;
        }
        summary.records += 1;
        summary.last_seq = Some(seq);
        summary.unsigned_tail = since_checkpoint;
        prev = at.record.hash.as_deref().unwrap_or_default().to_owned();
        expected = seq.saturating_add(1);
        i += same;
    }
    (summary, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn verify_never_panics_on_arbitrary_lines(lines in proptest::collection::vec(
            prop_oneof![
                ".*",
                r#"\{"v":1,"seq":([0-9]{1,3}|18446744073709551615|18446744073709551614),"time":"x","replica":"r","event":"(checkpoint|e)","prev":"[a-z]{0,3}"(,"kid":"[a-z]{0,3}")?(,"sig":"[a-z]{0,3}")?,"hash":"[a-z]{0,3}"\}"#,
            ],
            0..20,
        )) {
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("a.jsonl");
            std::fs::write(&file, lines.join("\n")).unwrap();
            let _ = verify(std::slice::from_ref(&file), &[]).unwrap();
            let _ = crate::find(std::slice::from_ref(&file), "x").unwrap();
            let d = chrono::NaiveDate::default();
            let _ = crate::stats(&[file], d, d, 10).unwrap();
        }
    }
}
