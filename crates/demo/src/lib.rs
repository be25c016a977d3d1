//! Jisr demo: the gateway, a development national IdP for each GCC state and a demo agency,
//! wired together in one process. `jisr demo` runs it; the end-to-end tests and the login
//! load benchmark (`cargo bench -p jisr-demo --bench logins`) start it on port 0. Nothing
//! here is a dependency of the gateway: it links the gateway, never the other way round.
//!
//! - [`wiring`]: [`start`] and [`run`]: binds the listeners, starts the IdPs, the gateway (in
//!   memory, generated keys) and the agency; [`Demo`] is the running whole, with more gateway
//!   replicas on demand ([`Demo::start_replica`]).
//! - [`builtin`]: the shipped country profiles and release policy built into the binary, and
//!   the upstream settings that make the gateway a client of a development IdP.
//! - [`audit`]: the demo's audit log settings (a directory, keys generated on first use).
//! - [`agency`]: the demo agency web app ("Ministry of … (demo)"), an ordinary OpenID Connect
//!   Relying Party of the gateway that shows the cross-border assertion it received.
#![forbid(unsafe_code)]

pub mod agency;
pub mod audit;
pub mod builtin;
pub mod wiring;

pub use builtin::{builtin_mapping, devidp_upstream};
pub use wiring::{
    AGENCY_CLIENT_ID, Demo, DemoOptions, OWN_CLIENT_ID, SECOND_AGENCY_CLIENT_ID, bench_rate_limits,
    run, start,
};
