//! Reading the log for people and for numbers. [`find`] answers a lawful request about one
//! person: their records and the whole of every flow they took part in. [`stats`] counts
//! completed logins and refusals for reporting, withholding every count small enough to
//! point at a person.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use chrono::NaiveDate;
use serde::Serialize;

use crate::record::{Located, read_files};

/// What [`find`] found.
#[derive(Debug, Clone)]
pub struct Found {
    pub records: Vec<Located>,
    /// Lines that are not audit records and were skipped (`verify` names them).
    pub unreadable: usize,
}

/// The records with `subject` and every record of the flows they belong to, in time order
/// (then replica and seq), as the lines were written.
pub fn find(files: &[PathBuf], subject: &str) -> std::io::Result<Found> {
    let (records, unreadable) = read_files(files)?;
    let flows: BTreeSet<&str> = records
        .iter()
        .filter(|r| r.record.subject.as_deref() == Some(subject))
        .filter_map(|r| r.record.flow.as_deref())
        .collect();
    let mut found: Vec<&Located> = records
        .iter()
        .filter(|r| {
            r.record.subject.as_deref() == Some(subject)
                || r.record.flow.as_deref().is_some_and(|f| flows.contains(f))
        })
        .collect();
    found.sort_by(|a, b| {
        (&a.record.time, &a.record.replica, a.record.seq).cmp(&(
            &b.record.time,
            &b.record.replica,
            b.record.seq,
        ))
    });
    Ok(Found {
        records: found.into_iter().cloned().collect(),
        unreadable: unreadable.len(),
    })
}

/// A count, or nothing when it is under the minimum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Count {
    /// `None`: suppressed (fewer than `min_count`, withheld).
    pub count: Option<u64>,
    pub suppressed: bool,
}

impl Count {
    fn of(n: u64, min: u64) -> Self {
        let suppressed = n < min;
        Count {
            count: (!suppressed).then_some(n),
            suppressed,
        }
    }

    fn csv(&self) -> String {
        self.count
            .map_or_else(|| "suppressed".to_owned(), |n| n.to_string())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoginCell {
    /// `YYYY-MM`.
    pub month: String,
    pub origin: String,
    pub destination: String,
    pub sector: String,
    #[serde(flatten)]
    pub count: Count,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefusalCell {
    pub month: String,
    pub reason: String,
    #[serde(flatten)]
    pub count: Count,
}

/// Completed logins (`code_issued`) per month × origin × destination × sector, and
/// refusals per month × reason, between two dates (inclusive, UTC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub from: String,
    pub to: String,
    pub min_count: u64,
    pub logins: Vec<LoginCell>,
    pub refusals: Vec<RefusalCell>,
    /// Lines that are not audit records and were not counted (`verify` names them).
    #[serde(skip)]
    pub unreadable: usize,
}

impl Stats {
    /// One table: `table,month,origin,destination,sector,reason,count`; a withheld count
    /// reads `suppressed`.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("table,month,origin,destination,sector,reason,count\n");
        for c in &self.logins {
            out.push_str(&format!(
                "logins,{},{},{},{},,{}\n",
                c.month,
                csv_field(&c.origin),
                csv_field(&c.destination),
                csv_field(&c.sector),
                c.count.csv()
            ));
        }
        for c in &self.refusals {
            out.push_str(&format!(
                "refusals,{},,,,{},{}\n",
                c.month,
                csv_field(&c.reason),
                c.count.csv()
            ));
        }
        out
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// Values come from configuration and fixed codes, but a file may have been edited.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// Counts over `files` for `from..=to`; cells under `min_count` are suppressed.
pub fn stats(
    files: &[PathBuf],
    from: NaiveDate,
    to: NaiveDate,
    min_count: u64,
) -> std::io::Result<Stats> {
    let (records, unreadable) = read_files(files)?;
    let mut logins: BTreeMap<(String, String, String, String), u64> = BTreeMap::new();
    let mut refusals: BTreeMap<(String, String), u64> = BTreeMap::new();
    let unknown = || "unknown".to_owned();
    for r in records.iter().map(|l| &l.record) {
        let Ok(time) = chrono::DateTime::parse_from_rfc3339(&r.time) else {
            continue;
        };
        let day = time.naive_utc().date();
        if day < from || day > to {
            continue;
        }
        let month = day.format("%Y-%m").to_string();
        let s = |v: &Option<std::borrow::Cow<'_, str>>| {
            v.as_deref().map_or_else(unknown, str::to_owned)
        };
        match r.event.as_ref() {
            "code_issued" => {
                *logins
                    .entry((month, s(&r.origin), s(&r.destination), s(&r.sector)))
                    .or_default() += 1;
            }
            "refused" => *refusals.entry((month, s(&r.reason))).or_default() += 1,
            _ => {}
        }
    }
    Ok(Stats {
        from: from.to_string(),
        to: to.to_string(),
        min_count,
        logins: logins
            .into_iter()
            .map(|((month, origin, destination, sector), n)| LoginCell {
                month,
                origin,
                destination,
                sector,
                count: Count::of(n, min_count),
            })
            .collect(),
        refusals: refusals
            .into_iter()
            .map(|((month, reason), n)| RefusalCell {
                month,
                reason,
                count: Count::of(n, min_count),
            })
            .collect(),
        unreadable: unreadable.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::{AuditLog, Entry, LogConfig, OnFailure, replica_files};

    fn log(dir: &std::path::Path) -> AuditLog {
        let pem = crate::SigningKey::generate_pem().unwrap();
        let cfg = LogConfig {
            dir: Some(dir.to_owned()),
            stdout: false,
            replica: "gw-1".into(),
            checkpoint_every: 1000,
            checkpoint_secs: 60,
            max_file_bytes: 1 << 20,
            on_failure: OnFailure::Refuse,
            buffer_records: 10,
            write_behind: 0,
        };
        AuditLog::open(
            cfg,
            crate::SigningKey::from_pkcs8(pem.as_bytes()).unwrap(),
            0,
        )
        .unwrap()
    }

    const JAN: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
    const FEB: i64 = JAN + 31 * 86400;

    #[test]
    fn stats_count_logins_and_refusals_and_suppress_small_cells() {
        let dir = tempfile::tempdir().unwrap();
        let log = log(dir.path());
        let login = |time, origin| Entry {
            time,
            event: "code_issued",
            outcome: "ok",
            origin: Some(origin),
            destination: Some("BH"),
            sector: Some("health"),
            ..Entry::default()
        };
        for i in 0..12 {
            log.append(&login(JAN + i, "SA"));
        }
        for i in 0..3 {
            log.append(&login(JAN + i, "OM"));
            log.append(&login(FEB + i, "SA"));
        }
        for i in 0..10 {
            log.append(&Entry {
                time: JAN + i,
                event: "refused",
                outcome: "refused",
                reason: Some("consent_declined"),
                ..Entry::default()
            });
        }
        log.close(FEB + 100);
        let files = replica_files(dir.path(), "gw-1").unwrap();
        let from = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let to = NaiveDate::from_ymd_opt(2026, 2, 28).unwrap();
        let s = stats(&files, from, to, 10).unwrap();
        assert_eq!(
            s.to_csv(),
            "table,month,origin,destination,sector,reason,count\n\
             logins,2026-01,OM,BH,health,,suppressed\n\
             logins,2026-01,SA,BH,health,,12\n\
             logins,2026-02,SA,BH,health,,suppressed\n\
             refusals,2026-01,,,,consent_declined,10\n"
        );
        let json: serde_json::Value = serde_json::from_str(&s.to_json()).unwrap();
        assert_eq!(json["logins"][0]["count"], serde_json::Value::Null);
        assert_eq!(json["logins"][0]["suppressed"], true);
        assert_eq!(json["logins"][1]["count"], 12);
        // January only.
        let s = stats(
            &files,
            from,
            NaiveDate::from_ymd_opt(2026, 1, 31).unwrap(),
            2,
        )
        .unwrap();
        assert_eq!(s.logins.len(), 2);
        assert_eq!(s.logins[0].count.count, Some(3));
    }

    #[test]
    fn find_returns_the_subjects_records_and_the_rest_of_their_flows() {
        let dir = tempfile::tempdir().unwrap();
        let log = log(dir.path());
        let step = |time, flow, event, subject| Entry {
            time,
            event,
            outcome: "ok",
            flow: Some(flow),
            subject,
            ..Entry::default()
        };
        log.append(&step(1, "f1", "authorization_accepted", None));
        log.append(&step(2, "f2", "authorization_accepted", None));
        log.append(&step(3, "f1", "mapped", Some("ref-a")));
        log.append(&step(4, "f2", "mapped", Some("ref-b")));
        log.append(&step(5, "f1", "code_issued", Some("ref-a")));
        log.close(6);
        let files = replica_files(dir.path(), "gw-1").unwrap();
        let found: Vec<(String, String)> = find(&files, "ref-a")
            .unwrap()
            .records
            .into_iter()
            .map(|l| {
                (
                    l.record.flow.unwrap().into_owned(),
                    l.record.event.into_owned(),
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                ("f1".into(), "authorization_accepted".into()),
                ("f1".into(), "mapped".into()),
                ("f1".into(), "code_issued".into())
            ]
        );
        assert!(find(&files, "nobody").unwrap().records.is_empty());
        assert_eq!(find(&files, "ref-a").unwrap().unreadable, 0);
    }

    #[test]
    fn find_and_stats_count_the_lines_they_skip() {
        let dir = tempfile::tempdir().unwrap();
        let log = log(dir.path());
        log.append(&Entry {
            time: 1,
            event: "code_issued",
            outcome: "ok",
            subject: Some("ref-a"),
            flow: Some("f1"),
            ..Entry::default()
        });
        log.close(2);
        let files = replica_files(dir.path(), "gw-1").unwrap();
        let mut text = std::fs::read_to_string(&files[0]).unwrap();
        text.push_str("not a record\n{\"v\":1}\n");
        std::fs::write(&files[0], text).unwrap();
        let found = find(&files, "ref-a").unwrap();
        assert_eq!(found.records.len(), 1);
        assert_eq!(found.unreadable, 2);
        let d = NaiveDate::default();
        assert_eq!(stats(&files, d, d, 10).unwrap().unreadable, 2);
    }
}
