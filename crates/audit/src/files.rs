//! The files of a replica's chain in the log directory: their names, and where the chain
//! stands on disk when the gateway starts.

use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};

use crate::log::{Chain, LogError};
use crate::record::Record;

/// `audit-<replica>-<first seq, 20 digits>.jsonl`: names sort in chain order.
pub fn file_name(replica: &str, first_seq: u64) -> String {
    format!("audit-{replica}-{first_seq:020}.jsonl")
}

/// The first seq of `name` if it is one of `replica`'s files.
fn seq_of(name: &str, replica: &str) -> Option<u64> {
    let digits = name
        .strip_prefix("audit-")?
        .strip_prefix(replica)?
        .strip_prefix('-')?
        .strip_suffix(".jsonl")?;
    (digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// The files of `replica` in `dir`, in chain order.
pub fn replica_files(dir: &Path, replica: &str) -> io::Result<Vec<PathBuf>> {
    let mut files: Vec<(u64, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if let Some(seq) = entry.file_name().to_str().and_then(|n| seq_of(n, replica)) {
            // Regular files only (a link to a device is not a log file).
            if std::fs::metadata(entry.path()).is_ok_and(|m| m.is_file()) {
                files.push((seq, entry.path()));
            }
        }
    }
    files.sort();
    Ok(files.into_iter().map(|(_, p)| p).collect())
}

pub(crate) enum Tail {
    Chain(Chain),
    Unavailable(io::Error),
}

/// Where this replica's chain stands on disk: after the last complete line of its newest
/// non-empty file. A final line without its newline is the remains of a write cut short (a
/// crash, a full disk): it never became a record and is cut off, with a warning.
pub(crate) fn read_tail(dir: &Path, replica: &str) -> Result<Tail, LogError> {
    if let Err(e) = std::fs::create_dir_all(dir) {
        return Ok(Tail::Unavailable(e));
    }
    let files = match replica_files(dir, replica) {
        Ok(f) => f,
        Err(e) => return Ok(Tail::Unavailable(e)),
    };
    for path in files.iter().rev() {
        let (start, bytes) = match tail_of(path) {
            Ok(t) => t,
            Err(e) => return Ok(Tail::Unavailable(e)),
        };
        let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        if complete < bytes.len() {
            tracing::warn!(file = %path.display(), bytes = bytes.len() - complete,
                "audit: cutting off an incomplete last line (a write cut short)");
            let cut = OpenOptions::new()
                .write(true)
                .open(path)
                .and_then(|f| f.set_len(start + complete as u64));
            if let Err(e) = cut {
                return Ok(Tail::Unavailable(e));
            }
        }
        let text = String::from_utf8_lossy(&bytes[..complete]);
        let Some(last) = text.lines().rev().find(|l| !l.is_empty()) else {
            continue;
        };
        let corrupt = |why: String| LogError::CorruptTail {
            file: path.clone(),
            why,
        };
        let record: Record<'_> = serde_json::from_str(last).map_err(|e| corrupt(e.to_string()))?;
        let computed = crate::record::computed_hash(last);
        if record.replica != replica || computed.as_deref() != record.hash.as_deref() {
            return Err(corrupt("its hash or replica does not match".into()));
        }
        return Ok(Tail::Chain(Chain {
            seq: record.seq.saturating_add(1),
            prev: record.hash.map(|h| h.into_owned()).unwrap_or_default(),
        }));
    }
    Ok(Tail::Chain(Chain {
        seq: 0,
        prev: String::new(),
    }))
}

/// The end of `path`, from `offset`, long enough to hold its last complete line (64 KiB
/// usually does): the whole file need not be read at every start.
fn tail_of(path: &Path) -> io::Result<(u64, Vec<u8>)> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let mut window = 64 * 1024u64;
    loop {
        let start = len.saturating_sub(window);
        file.seek(SeekFrom::Start(start))?;
        let mut bytes = Vec::new();
        (&mut file).take(len - start).read_to_end(&mut bytes)?;
        // Two newlines: the last complete line lies whole in the window.
        if start == 0 || bytes.iter().filter(|&&b| b == b'\n').count() >= 2 {
            return Ok((start, bytes));
        }
        window = window.saturating_mul(4);
    }
}
