//! The writer: appends records to the chain of one replica and writes each as one line to
//! its sink — rotating files in a directory (the record of truth), and/or stdout for log
//! shipping — with a signed checkpoint every `checkpoint_every` records and, through
//! [`AuditLog::tick`], at least every `checkpoint_secs` while records are written.
//!
//! A record takes its `seq` and `prev` when it is written, not when it is appended: while
//! the sink fails, appended records wait in memory in order (up to `buffer_records`) and
//! join the chain when it recovers, so the chain on disk never has a hole for a record that
//! was only late. Past the buffer a record is dropped — counted and logged as an error,
//! never silently — and the gateway has long stopped taking new logins by then. The loss
//! (how many, first and last time) is written into the chain as a `records_dropped` record
//! when the sink recovers, before the held records, so that verify shows the gap.
//!
//! Cost per append: one mutex, one serialisation, one SHA-256, and one `write` — or, with
//! `write_behind` set, a copy into a memory batch that [`AuditLog::write_pending`] (the
//! gateway's short timer) or the batch filling up writes with one `write` for many records.
//! A record in the batch is already in the chain; a sink failure keeps the batch for the
//! retry, so a record is written late, never lost or written out of order. No fsync: a
//! crash may lose the last records the OS had not written (and, with `write_behind`, the
//! batch not yet written), which the missing checkpoint at the end of the chain shows.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::files::{Tail, read_tail};
use crate::keys::SigningKey;

pub use crate::files::{file_name, replica_files};
use crate::record::{CHECKPOINT, RECORDS_DROPPED, Record, VERSION, rfc3339};

/// What to do when the sink cannot take a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// Stop accepting new logins at the first failure (records of flows already under way
    /// still wait in memory, up to `buffer_records`).
    Refuse,
    /// Keep accepting while up to `buffer_records` wait in memory, then refuse.
    Buffer,
}

/// How the log runs (see the gateway's `[audit]` section).
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// Rotating files here; `None`: stdout is the only sink.
    pub dir: Option<PathBuf>,
    /// Also (or only, without `dir`) one line per record on stdout.
    pub stdout: bool,
    /// This gateway replica's name: 1-64 of `[A-Za-z0-9-_.]`.
    pub replica: String,
    pub checkpoint_every: u64,
    pub checkpoint_secs: u64,
    pub max_file_bytes: u64,
    pub on_failure: OnFailure,
    pub buffer_records: usize,
    /// 0: each record is written at once. Otherwise records collect in memory up to this
    /// many bytes and are written together by [`AuditLog::write_pending`] (call it on a
    /// short timer) or when the batch is full, a rotation comes, a checkpoint is due by
    /// time, or the log closes.
    pub write_behind: usize,
}

/// Why the log could not be opened. A missing or unwritable directory is not one of these:
/// that is a sink failure, handled by the failure policy.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("audit replica name must be 1-64 characters of [A-Za-z0-9-_.]")]
    BadReplica,
    #[error(
        "{file}: the last audit record cannot be read ({why}); the chain cannot be continued — verify the log with `jisr audit verify`"
    )]
    CorruptTail { file: PathBuf, why: String },
}

/// One event to record, as the gateway reports it (the time in seconds since the epoch).
#[derive(Debug, Clone, Copy, Default)]
pub struct Entry<'a> {
    pub time: i64,
    pub event: &'a str,
    pub outcome: &'a str,
    pub flow: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub sector: Option<&'a str>,
    pub origin: Option<&'a str>,
    pub destination: Option<&'a str>,
    pub loa: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub error: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub operator: Option<&'a str>,
}

/// An [`Entry`] waiting in memory for the sink.
#[derive(Debug, Clone)]
struct Held {
    time: i64,
    fields: [Option<String>; 12],
}

impl Held {
    fn from(e: &Entry<'_>) -> Self {
        let o = |s: Option<&str>| s.map(str::to_owned);
        Held {
            time: e.time,
            fields: [
                Some(e.event.to_owned()),
                Some(e.outcome.to_owned()),
                o(e.flow),
                o(e.client_id),
                o(e.sector),
                o(e.origin),
                o(e.destination),
                o(e.loa),
                o(e.reason),
                o(e.error),
                o(e.subject),
                o(e.operator),
            ],
        }
    }

    fn entry(&self) -> Entry<'_> {
        let f = |i: usize| self.fields[i].as_deref();
        Entry {
            time: self.time,
            event: f(0).unwrap_or_default(),
            outcome: f(1).unwrap_or_default(),
            flow: f(2),
            client_id: f(3),
            sector: f(4),
            origin: f(5),
            destination: f(6),
            loa: f(7),
            reason: f(8),
            error: f(9),
            subject: f(10),
            operator: f(11),
        }
    }
}

/// What the metrics read: lock-free counters and gauges.
#[derive(Debug, Default)]
pub struct Counters {
    written: AtomicU64,
    checkpoints: AtomicU64,
    failures: AtomicU64,
    buffered: AtomicU64,
    dropped: AtomicU64,
    unhealthy: AtomicBool,
}

impl Counters {
    /// Records written to the sink since start (checkpoints included).
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }
    /// Checkpoints written since start.
    pub fn checkpoints(&self) -> u64 {
        self.checkpoints.load(Ordering::Relaxed)
    }
    /// Writes the sink refused since start.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }
    /// Records waiting in memory now.
    pub fn buffered(&self) -> u64 {
        self.buffered.load(Ordering::Relaxed)
    }
    /// Records lost because the buffer was full (each also logged as an error).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
    /// Whether the last write went through.
    pub fn healthy(&self) -> bool {
        !self.unhealthy.load(Ordering::Relaxed)
    }
}

/// Where the chain stands: the next `seq` and the last hash.
#[derive(Debug)]
pub(crate) struct Chain {
    pub(crate) seq: u64,
    pub(crate) prev: String,
}

#[derive(Debug)]
struct FileSink {
    file: File,
    size: u64,
}

/// Records lost while the buffer was full, not yet told in the chain.
#[derive(Debug, Clone, Copy)]
struct Gap {
    count: u64,
    from: i64,
    to: i64,
}

#[derive(Debug)]
struct State {
    /// `None` until the directory could be read (the chain continues from its newest file).
    chain: Option<Chain>,
    file: Option<FileSink>,
    held: VecDeque<Held>,
    /// Written into the chain as a `records_dropped` record before the held records.
    gap: Option<Gap>,
    failing: bool,
    since_checkpoint: u64,
    last_checkpoint_at: i64,
    /// With `write_behind`: lines in the chain not yet on the sink, the first at
    /// `pending_seq` (names the file they open if none is open), `pending_records` of them.
    pending: Vec<u8>,
    pending_seq: u64,
    pending_records: u64,
    /// The last record's time and its RFC 3339 text: records come many to a second, and
    /// formatting the time was a measurable part of writing one.
    time_text: (i64, String),
}

impl State {
    /// Makes `time_text` hold `secs` (formatted once per second).
    fn set_time(&mut self, secs: i64) {
        if self.time_text.0 != secs || self.time_text.1.is_empty() {
            self.time_text = (secs, rfc3339(secs));
        }
    }
}

/// The audit log of one gateway replica.
pub struct AuditLog {
    config: LogConfig,
    signer: SigningKey,
    state: Mutex<State>,
    counters: Counters,
    accepting: AtomicBool,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn valid_replica(r: &str) -> bool {
    !r.is_empty()
        && r.len() <= 64
        && r.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

impl AuditLog {
    /// Opens the log, continuing this replica's chain from its newest file. A directory
    /// that cannot be created or read starts the log failing (see [`OnFailure`]), not an
    /// error: it may come back.
    ///
    /// Stdout only (no `dir`), the chain cannot be continued (nothing of it is read back),
    /// so each start begins a new chain at `seq` 0 under its own replica name,
    /// `<replica>.<now>` (seconds since the epoch): the chains of successive runs do not
    /// collide in the shipped log.
    pub fn open(mut config: LogConfig, signer: SigningKey, now: i64) -> Result<Self, LogError> {
        if !valid_replica(&config.replica) {
            return Err(LogError::BadReplica);
        }
        if config.dir.is_none() {
            config.replica = format!("{}.{now}", config.replica);
        }
        let log = AuditLog {
            state: Mutex::new(State {
                chain: None,
                file: None,
                held: VecDeque::new(),
                gap: None,
                failing: false,
                since_checkpoint: 0,
                last_checkpoint_at: now,
                pending: Vec::new(),
                pending_seq: 0,
                pending_records: 0,
                time_text: (0, String::new()),
            }),
            counters: Counters::default(),
            accepting: AtomicBool::new(true),
            config,
            signer,
        };
        {
            let mut st = log.lock();
            match log.config.dir.as_deref() {
                None => {
                    // Stdout only: a new chain each run, under this run's replica name.
                    st.chain = Some(Chain {
                        seq: 0,
                        prev: String::new(),
                    });
                }
                Some(dir) => match read_tail(dir, &log.config.replica)? {
                    Tail::Chain(chain) => st.chain = Some(chain),
                    Tail::Unavailable(e) => log.failed(&mut st, &e),
                },
            }
            // Sign the head at once: every chain has a checkpoint from its first records
            // on (a chain without one is not the gateway's), and a start continuing a
            // chain signs where the previous run left it. A sink failing here is the
            // same failure as at the first append.
            if !st.failing {
                log.checkpoint(&mut st, now);
                log.drain(&mut st);
            }
            log.settle(&st);
        }
        Ok(log)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves at worst a record half-built; the state
        // itself stays consistent (the chain moves only after a write).
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    pub fn replica(&self) -> &str {
        &self.config.replica
    }

    pub fn public_key(&self) -> &crate::PublicKey {
        self.signer.public()
    }

    /// Whether new logins may start: false while the sink fails under
    /// [`OnFailure::Refuse`], or once the buffer is full under [`OnFailure::Buffer`].
    pub fn accepting(&self) -> bool {
        self.accepting.load(Ordering::Relaxed)
    }

    /// Records `entry`: written now, or held until the sink recovers.
    pub fn append(&self, entry: &Entry<'_>) {
        let mut st = self.lock();
        if Self::backlog(&st) {
            self.flush(&mut st, entry.time);
        }
        if !Self::backlog(&st) {
            match self.write_entry(&mut st, entry) {
                Ok(()) => {
                    self.recovered(&mut st);
                    self.checkpoint_if_due(&mut st, entry.time, false);
                    if st.pending.len() >= self.config.write_behind {
                        self.drain(&mut st);
                    }
                }
                Err(e) => {
                    self.failed(&mut st, &e);
                    self.hold(&mut st, entry);
                }
            }
        } else {
            self.hold(&mut st, entry);
        }
        self.settle(&st);
    }

    /// The timer's call (every few seconds): retries held records, probes a failing sink,
    /// and writes a checkpoint when `checkpoint_secs` passed since the last one and records
    /// were written since.
    pub fn tick(&self, now: i64) {
        let mut st = self.lock();
        if Self::backlog(&st) {
            self.flush(&mut st, now);
        } else if st.failing {
            // Nothing held (under refuse with an empty buffer): a checkpoint is the probe.
            self.checkpoint(&mut st, now);
        }
        self.checkpoint_if_due(&mut st, now, false);
        self.drain(&mut st);
        self.settle(&st);
    }

    /// With `write_behind`: writes the records collected in memory (the gateway calls this
    /// every few milliseconds). While the sink fails this waits: the retry, in order with
    /// whatever is held, is [`AuditLog::tick`]'s.
    pub fn write_pending(&self) {
        let mut st = self.lock();
        if st.pending.is_empty() {
            return;
        }
        if st.failing {
            // The retry with everything that waits, in order, is tick's.
            return;
        }
        self.drain(&mut st);
        self.settle(&st);
    }

    /// On clean shutdown: flushes what it can and signs the head.
    pub fn close(&self, now: i64) {
        let mut st = self.lock();
        self.flush(&mut st, now);
        self.checkpoint_if_due(&mut st, now, true);
        self.drain(&mut st);
        if let Some(f) = st.file.as_mut() {
            let _ = f.file.sync_all();
        }
        self.settle(&st);
    }

    /// Whether records wait for a sink that failed: held (not yet in the chain), a gap to
    /// tell, or a batch whose write failed. A new record then waits behind them.
    fn backlog(st: &State) -> bool {
        !st.held.is_empty() || st.gap.is_some() || (st.failing && !st.pending.is_empty())
    }

    /// Writes the batch, if any; a failure keeps it and makes the sink failing.
    fn drain(&self, st: &mut State) {
        if st.pending.is_empty() {
            return;
        }
        match self.write_batch(st) {
            Ok(()) => self.recovered(st),
            Err(e) => self.failed(st, &e),
        }
    }

    fn settle(&self, st: &State) {
        let full = st.held.len() >= self.config.buffer_records;
        let accepting = !st.failing || (self.config.on_failure == OnFailure::Buffer && !full);
        self.accepting.store(accepting, Ordering::Relaxed);
        // A batch is "waiting" only while its sink fails; otherwise it is merely early.
        let batch = if st.failing { st.pending_records } else { 0 };
        self.counters
            .buffered
            .store(st.held.len() as u64 + batch, Ordering::Relaxed);
        self.counters.unhealthy.store(st.failing, Ordering::Relaxed);
    }

    fn hold(&self, st: &mut State, entry: &Entry<'_>) {
        if st.held.len() < self.config.buffer_records {
            st.held.push_back(Held::from(entry));
        } else {
            let t = entry.time;
            st.gap = Some(match st.gap {
                None => Gap {
                    count: 1,
                    from: t,
                    to: t,
                },
                Some(g) => Gap {
                    count: g.count.saturating_add(1),
                    from: g.from.min(t),
                    to: g.to.max(t),
                },
            });
            let dropped = self.counters.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::error!(
                replica = %self.config.replica, event = entry.event, dropped,
                "AUDIT RECORD LOST: the sink is failing and the buffer is full"
            );
        }
    }

    fn flush(&self, st: &mut State, now: i64) {
        // A batch that failed is older than anything held: it goes first.
        if let Err(e) = self.write_batch(st) {
            self.failed(st, &e);
            return;
        }
        if let Some(gap) = st.gap {
            // The loss goes into the chain first, where verify shows it.
            match self.write_record(st, &Entry::default(), Some((now, gap))) {
                Ok(()) => {
                    st.gap = None;
                    tracing::warn!(replica = %self.config.replica, dropped = gap.count,
                        "audit: the records lost are recorded in the chain (records_dropped)");
                }
                Err(e) => {
                    self.failed(st, &e);
                    return;
                }
            }
        }
        while let Some(held) = st.held.front().cloned() {
            match self.write_entry(st, &held.entry()) {
                Ok(()) => {
                    st.held.pop_front();
                    self.checkpoint_if_due(st, now, false);
                }
                Err(e) => {
                    self.failed(st, &e);
                    return;
                }
            }
        }
        self.drain(st);
        self.recovered(st);
    }

    fn failed(&self, st: &mut State, e: &io::Error) {
        self.counters.failures.fetch_add(1, Ordering::Relaxed);
        // Reopen next time: the directory may have been replaced.
        st.file = None;
        if !st.failing {
            st.failing = true;
            tracing::error!(
                replica = %self.config.replica, dir = ?self.config.dir, error = %e,
                policy = ?self.config.on_failure,
                "AUDIT SINK FAILING: records cannot be written; {}",
                match self.config.on_failure {
                    OnFailure::Refuse => "new logins are refused until it recovers",
                    OnFailure::Buffer => "records are held in memory until it recovers",
                }
            );
        }
    }

    fn recovered(&self, st: &mut State) {
        if st.failing && st.held.is_empty() && st.gap.is_none() && st.pending.is_empty() {
            st.failing = false;
            tracing::warn!(replica = %self.config.replica, "audit sink recovered: records are written again");
        }
    }

    fn checkpoint_if_due(&self, st: &mut State, now: i64, closing: bool) {
        let due = st.since_checkpoint >= self.config.checkpoint_every
            || (st.since_checkpoint > 0
                && (closing
                    || now.saturating_sub(st.last_checkpoint_at)
                        >= self.config.checkpoint_secs as i64));
        if due {
            self.checkpoint(st, now);
        }
    }

    fn checkpoint(&self, st: &mut State, now: i64) {
        match self.signed_checkpoint(st, now) {
            Ok(()) => self.recovered(st),
            Err(e) => self.failed(st, &e),
        }
    }

    /// Writes a checkpoint signing the head. A checkpoint never starts a new file: it
    /// closes what is in the current one, whatever its size (by up to one line).
    fn signed_checkpoint(&self, st: &mut State, now: i64) -> io::Result<()> {
        self.ready(st)?;
        let time = rfc3339(now);
        let chain = st
            .chain
            .as_ref()
            .ok_or_else(|| io::Error::other("no chain"))?;
        let entry = Entry {
            time: now,
            event: CHECKPOINT,
            ..Entry::default()
        };
        let kid = self.signer.public().kid();
        let record = self.record(&entry, chain, &time);
        let message = crate::record::checkpoint_message(
            &self.config.replica,
            chain.seq,
            &chain.prev,
            &record.time,
            kid,
        );
        let record = Record {
            kid: Some(kid.into()),
            sig: Some(self.signer.sign(&message).into()),
            ..record
        };
        let seq = record.seq;
        let sealed = record.seal().map_err(io::Error::other)?;
        self.write_line(st, seq, sealed, false)?;
        self.counters.checkpoints.fetch_add(1, Ordering::Relaxed);
        st.since_checkpoint = 0;
        st.last_checkpoint_at = now;
        Ok(())
    }

    fn record<'a>(&'a self, e: &Entry<'a>, chain: &'a Chain, time: &'a str) -> Record<'a> {
        let s = |v: Option<&'a str>| v.map(std::borrow::Cow::Borrowed);
        Record {
            v: VERSION,
            seq: chain.seq,
            time: time.into(),
            replica: self.config.replica.as_str().into(),
            event: e.event.into(),
            flow: s(e.flow),
            client_id: s(e.client_id),
            sector: s(e.sector),
            origin: s(e.origin),
            destination: s(e.destination),
            loa: s(e.loa),
            outcome: (!e.outcome.is_empty()).then_some(e.outcome.into()),
            reason: s(e.reason),
            error: s(e.error),
            subject: s(e.subject),
            operator: s(e.operator),
            dropped: None,
            dropped_from: None,
            dropped_to: None,
            prev: chain.prev.as_str().into(),
            kid: None,
            sig: None,
            hash: None,
        }
    }

    fn write_entry(&self, st: &mut State, entry: &Entry<'_>) -> io::Result<()> {
        self.write_record(st, entry, None)
    }

    /// Writes `entry`, or with `gap` (and the time it is written) the `records_dropped`
    /// record that tells of it.
    fn write_record(
        &self,
        st: &mut State,
        entry: &Entry<'_>,
        gap: Option<(i64, Gap)>,
    ) -> io::Result<()> {
        self.ready(st)?;
        let (mut seq, mut sealed) = self.seal_record(st, entry, gap)?;
        if st.since_checkpoint > 0 && self.would_rotate(st, sealed.0.len()) {
            // Sign the head of the file about to be closed, so that a rotated file is
            // covered by a signature on its own; the record moves one seq on.
            let time = gap.map_or(entry.time, |(now, _)| now);
            self.signed_checkpoint(st, time)?;
            (seq, sealed) = self.seal_record(st, entry, gap)?;
        }
        self.write_line(st, seq, sealed, true)?;
        st.since_checkpoint += 1;
        Ok(())
    }

    /// The record for `entry` (or the `records_dropped` record for `gap`) at the head of
    /// the chain: its seq, its line and its hash.
    fn seal_record(
        &self,
        st: &mut State,
        entry: &Entry<'_>,
        gap: Option<(i64, Gap)>,
    ) -> io::Result<(u64, (String, String))> {
        st.set_time(gap.map_or(entry.time, |(now, _)| now));
        let time = st.time_text.1.as_str();
        let chain = st
            .chain
            .as_ref()
            .ok_or_else(|| io::Error::other("no chain"))?;
        let record = match gap {
            None => self.record(entry, chain, time),
            Some((now, gap)) => {
                let e = Entry {
                    time: now,
                    event: RECORDS_DROPPED,
                    ..Entry::default()
                };
                Record {
                    dropped: Some(gap.count),
                    dropped_from: Some(rfc3339(gap.from).into()),
                    dropped_to: Some(rfc3339(gap.to).into()),
                    ..self.record(&e, chain, time)
                }
            }
        };
        let seq = record.seq;
        let sealed = record.seal().map_err(io::Error::other)?;
        Ok((seq, sealed))
    }

    /// Whether a line of `len` bytes would start a new file (counting the batch, which goes
    /// to the open file).
    fn would_rotate(&self, st: &State, len: usize) -> bool {
        let size = st.file.as_ref().map_or(0, |f| f.size) + st.pending.len() as u64;
        self.config.dir.is_some()
            && (st.file.is_some() || !st.pending.is_empty())
            && size > 0
            && size + len as u64 > self.config.max_file_bytes
    }

    /// Writes the batch with one `write` to the open file (or the file its first record
    /// names) and the stdout mirror, or to stdout alone. On failure the file is cut back to
    /// before the batch and the batch kept.
    fn write_batch(&self, st: &mut State) -> io::Result<()> {
        if st.pending.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut st.pending);
        let result = match self.config.dir.as_deref() {
            Some(dir) => self
                .write_file(st, dir, st.pending_seq, &batch, false)
                .map(|()| {
                    if self.config.stdout
                        && let Err(e) = io::stdout().lock().write_all(&batch)
                    {
                        tracing::warn!(error = %e, "audit: stdout mirror failed");
                    }
                }),
            None => io::stdout().lock().write_all(&batch),
        };
        match result {
            Ok(()) => {
                self.counters
                    .written
                    .fetch_add(st.pending_records, Ordering::Relaxed);
                st.pending_records = 0;
                // Keep the allocation for the next batch.
                st.pending = batch;
                st.pending.clear();
                Ok(())
            }
            Err(e) => {
                st.pending = batch;
                Err(e)
            }
        }
    }

    /// Writes the sealed line of the record at `seq` and moves the chain on.
    fn write_line(
        &self,
        st: &mut State,
        seq: u64,
        (line, hash): (String, String),
        rotate: bool,
    ) -> io::Result<()> {
        if self.config.write_behind > 0 {
            if rotate && self.would_rotate(st, line.len()) {
                // The batch belongs to the file being closed; the record opens the next.
                self.write_batch(st)?;
                st.file = None;
            }
            if st.pending.is_empty() {
                st.pending_seq = seq;
            }
            st.pending.extend_from_slice(line.as_bytes());
            st.pending_records += 1;
            st.chain = Some(Chain {
                seq: seq.saturating_add(1),
                prev: hash,
            });
            return Ok(());
        }
        match self.config.dir.as_deref() {
            Some(dir) => {
                self.write_file(st, dir, seq, line.as_bytes(), rotate)?;
                if self.config.stdout {
                    // A mirror for log shipping: the files are the record of truth.
                    if let Err(e) = io::stdout().lock().write_all(line.as_bytes()) {
                        tracing::warn!(error = %e, "audit: stdout mirror failed");
                    }
                }
            }
            None => io::stdout().lock().write_all(line.as_bytes())?,
        }
        self.counters.written.fetch_add(1, Ordering::Relaxed);
        st.chain = Some(Chain {
            seq: seq.saturating_add(1),
            prev: hash,
        });
        Ok(())
    }

    fn write_file(
        &self,
        st: &mut State,
        dir: &Path,
        seq: u64,
        line: &[u8],
        may_rotate: bool,
    ) -> io::Result<()> {
        let rotate = may_rotate && self.would_rotate(st, line.len());
        if rotate || st.file.is_none() {
            let path = dir.join(file_name(&self.config.replica, seq));
            let file = OpenOptions::new().create(true).append(true).open(&path)?;
            let size = file.metadata()?.len();
            st.file = Some(FileSink { file, size });
        }
        let sink = st
            .file
            .as_mut()
            .ok_or_else(|| io::Error::other("no file"))?;
        match sink.file.write_all(line) {
            Ok(()) => {
                sink.size += line.len() as u64;
                Ok(())
            }
            Err(e) => {
                // Take back a partial line so the retry does not follow a fragment.
                let _ = sink.file.set_len(sink.size);
                Err(e)
            }
        }
    }

    /// The chain is known (the directory was read) — reads it if not yet.
    fn ready(&self, st: &mut State) -> io::Result<()> {
        if st.chain.is_some() {
            return Ok(());
        }
        let dir = self
            .config
            .dir
            .as_deref()
            .ok_or_else(|| io::Error::other("no chain"))?;
        match read_tail(dir, &self.config.replica) {
            Ok(Tail::Chain(c)) => {
                st.chain = Some(c);
                Ok(())
            }
            Ok(Tail::Unavailable(e)) => Err(e),
            Err(e) => Err(io::Error::other(e.to_string())),
        }
    }
}

#[cfg(test)]
#[path = "log_tests.rs"]
mod tests;
