//! The Jisr audit log: one JSON line per login step, hash-chained per gateway replica and
//! signed at checkpoints, so that a removed, altered, reordered or inserted record is found
//! by anyone holding the public key. Records never carry a name, identifier, birthdate or
//! token: a citizen appears only as an HMAC reference under the audit subject key.
//!
//! - [`record`]: the record format and the exact bytes each hash covers.
//! - [`keys`]: the checkpoint signing key (Ed25519), its public half and `kid`, and the
//!   subject key that turns a national identifier into a reference.
//! - [`log`]: the writer the gateway appends to: chain, checkpoints, rotating files and
//!   stdout, and what happens when a sink fails (refuse or buffer).
//! - [`files`]: the names of a replica's files and where its chain stands on disk.
//! - [`verify`]: checks files against the chain and the checkpoint signatures and names
//!   the first problem with its file and line.
//! - [`query`]: a person's flows ([`query::find`]) and suppressed statistics
//!   ([`query::stats`]) for lawful requests and reporting.
//!
//! No clock is read here: the time is always a parameter.

#![forbid(unsafe_code)]

pub mod files;
pub mod keys;
pub mod log;
pub mod query;
pub mod record;
pub mod verify;

pub use keys::{KeyError, PublicKey, SigningKey, SubjectKey};
pub use log::{AuditLog, Counters, Entry, LogConfig, LogError, OnFailure};
pub use query::{Found, Stats, find, stats};
pub use record::Record;
pub use verify::{Problem, ProblemKind, Report, verify};
