//! The record format: one JSON object per line, keys in a fixed order, `hash` last.
//!
//! **What a hash covers.** A line is written as `P,"hash":"H"}` followed by `\n`, where `P`
//! is the record serialised as compact JSON without `hash` and without its closing brace
//! (it begins with `{"v":1,"seq":…`). `H` is SHA-256 over the bytes of `P`, base64url
//! without padding. The verifier takes a line, splits it at the last `,"hash":"`, hashes
//! what comes before and compares: the bytes as written are what is hashed, so no JSON
//! canonicalisation is needed to check a record and any change to any byte shows.
//!
//! **The chain.** `prev` is the `hash` of the previous record of the same replica (`""` for
//! the first one, `seq` 0). `seq` counts records of the replica from 0 without gaps, across
//! restarts and file rotation.
//!
//! **Checkpoints** are records of the chain with `event` = `"checkpoint"`, `kid` and `sig`:
//! an Ed25519 signature over [`checkpoint_message`] — the replica, the checkpoint's `seq`
//! and its `prev` (the head of the chain it closes), its `time` and its `kid`.

use std::borrow::Cow;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The record format version in `v`.
pub const VERSION: u32 = 1;

/// The `event` of a checkpoint record.
pub const CHECKPOINT: &str = "checkpoint";

/// The `event` of the record that marks records lost while the sink failed.
pub const RECORDS_DROPPED: &str = "records_dropped";

/// Between `P` and the hash on every line.
const HASH_MARK: &str = ",\"hash\":\"";

/// One audit record, as written (the writer borrows, the reader owns).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record<'a> {
    pub v: u32,
    pub seq: u64,
    /// RFC 3339, UTC, seconds (`2026-12-02T08:55:24Z`).
    pub time: Cow<'a, str>,
    pub replica: Cow<'a, str>,
    /// The step (`authorization_accepted`, …, `code_issued`, `refused`, `operator_action`)
    /// or `checkpoint`.
    pub event: Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<Cow<'a, str>>,
    /// The agency's sector (from configuration), for statistics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sector: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loa: Option<Cow<'a, str>>,
    /// `ok` or `refused` (none on checkpoints).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Cow<'a, str>>,
    /// A fixed code: why a refusal happened, or which operator action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Cow<'a, str>>,
    /// The OAuth error a refusal was answered with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Cow<'a, str>>,
    /// The citizen's reference: HMAC under the subject key (see [`crate::SubjectKey`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Cow<'a, str>>,
    /// For operator actions: the operator's subject at the operator IdP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<Cow<'a, str>>,
    /// `records_dropped`: how many records were lost (the buffer was full).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropped: Option<u64>,
    /// `records_dropped`: the time of the first record lost (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropped_from: Option<Cow<'a, str>>,
    /// `records_dropped`: the time of the last record lost (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropped_to: Option<Cow<'a, str>>,
    pub prev: Cow<'a, str>,
    /// Checkpoints: the signing key's id (see [`crate::PublicKey::kid`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<Cow<'a, str>>,
    /// Checkpoints: Ed25519 over [`checkpoint_message`], base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sig: Option<Cow<'a, str>>,
    /// Absent while writing (the writer appends it), present on every line read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<Cow<'a, str>>,
}

impl Record<'_> {
    pub fn is_checkpoint(&self) -> bool {
        self.event == CHECKPOINT
    }

    /// The line for this record (without `hash`), its hash appended, ending in `\n`; and
    /// the hash. One allocation for the line, one SHA-256.
    pub fn seal(&self) -> Result<(String, String), serde_json::Error> {
        let mut bytes = serde_json::to_vec(self)?;
        bytes.pop(); // the closing brace: what remains is P
        let hash = hash_of(&bytes);
        bytes.extend_from_slice(HASH_MARK.as_bytes());
        bytes.extend_from_slice(hash.as_bytes());
        bytes.extend_from_slice(b"\"}\n");
        // serde_json writes UTF-8 and we appended ASCII.
        let line = String::from_utf8(bytes).unwrap_or_default();
        Ok((line, hash))
    }
}

/// SHA-256 of `bytes`, base64url without padding.
pub fn hash_of(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(bytes))
}

/// What the line's hash should be (from its bytes), if the line has the `hash` key last.
pub fn computed_hash(line: &str) -> Option<String> {
    let at = line.rfind(HASH_MARK)?;
    Some(hash_of(&line.as_bytes()[..at]))
}

/// The bytes a checkpoint signs (v2): which replica, which position, which chain head,
/// when (the checkpoint's `time` as written) and under which key (its `kid`). Only v2 is
/// written or accepted.
pub fn checkpoint_message(replica: &str, seq: u64, prev: &str, time: &str, kid: &str) -> Vec<u8> {
    format!("jisr-audit-checkpoint/v2\n{replica}\n{seq}\n{prev}\n{time}\n{kid}").into_bytes()
}

/// Seconds since the epoch as RFC 3339 UTC (`1970-01-01T00:00:00Z` if out of range).
pub fn rfc3339(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// One line of an audit file, parsed, with where it was.
#[derive(Debug, Clone)]
pub struct Located {
    pub file: std::path::PathBuf,
    /// 1-based.
    pub line: usize,
    pub text: String,
    pub record: Record<'static>,
}

/// Why a line could not be read as a record.
#[derive(Debug, Clone)]
pub struct Unreadable {
    pub file: std::path::PathBuf,
    pub line: usize,
    pub why: String,
}

/// Reads every line of `files` in the order given. An unreadable file is an error; an
/// unparseable line is returned in the second list.
pub fn read_files(
    files: &[std::path::PathBuf],
) -> std::io::Result<(Vec<Located>, Vec<Unreadable>)> {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for file in files {
        let text = std::fs::read(file)?;
        let text = String::from_utf8_lossy(&text);
        for (i, line) in text.lines().enumerate() {
            if line.is_empty() {
                continue;
            }
            match serde_json::from_str::<Record<'static>>(line) {
                Ok(record) => ok.push(Located {
                    file: file.clone(),
                    line: i + 1,
                    text: line.to_owned(),
                    record,
                }),
                Err(e) => bad.push(Unreadable {
                    file: file.clone(),
                    line: i + 1,
                    why: e.to_string(),
                }),
            }
        }
    }
    Ok((ok, bad))
}

/// A sealed line of an ordinary record at `seq` (for tests elsewhere in the crate).
#[cfg(test)]
pub(crate) fn tests_sample_line(seq: u64) -> String {
    tests::sample(seq, "").seal().unwrap_or_default().0
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample(seq: u64, prev: &str) -> Record<'static> {
        Record {
            v: VERSION,
            seq,
            time: rfc3339(1_700_000_000).into(),
            replica: "gw-1".into(),
            event: "code_issued".into(),
            flow: Some("f1".into()),
            client_id: Some("bh-health".into()),
            sector: Some("health".into()),
            origin: Some("SA".into()),
            destination: Some("BH".into()),
            loa: Some("substantial".into()),
            outcome: Some("ok".into()),
            reason: None,
            error: None,
            subject: Some("abc".into()),
            operator: None,
            dropped: None,
            dropped_from: None,
            dropped_to: None,
            prev: prev.to_owned().into(),
            kid: None,
            sig: None,
            hash: None,
        }
    }

    #[test]
    fn a_sealed_line_parses_back_and_its_hash_is_over_the_bytes_before_it() {
        let (line, hash) = sample(0, "").seal().unwrap();
        assert!(line.starts_with("{\"v\":1,\"seq\":0,\"time\":\"2023-11-14T22:13:20Z\""));
        assert!(line.ends_with(&format!(",\"hash\":\"{hash}\"}}\n")));
        let back: Record = serde_json::from_str(line.trim_end()).unwrap();
        assert_eq!(back.hash.as_deref(), Some(hash.as_str()));
        assert_eq!(computed_hash(line.trim_end()).unwrap(), hash);
        let p = &line[..line.rfind(",\"hash\"").unwrap()];
        assert_eq!(hash_of(p.as_bytes()), hash);
    }
}
