//! Jisr flow-state store: one trait for pending logins, single-use codes, replay ids,
//! sessions and rate limits, with an in-memory and a Redis implementation that pass the same
//! test suite. Backend types never leak to callers.
#![forbid(unsafe_code)]
