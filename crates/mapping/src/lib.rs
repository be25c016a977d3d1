//! Jisr mapping core: a national IdP's verified claims → the shared cross-border assertion.
//!
//! Pure: no IO, no async, no clock, no logging. Callers pass in config text, claims, the
//! authentication context (with its time) and keys; they get values or typed errors back.
//!
//! - [`country`]: ISO 3166-1 codes, the six GCC states in Arabic and English.
//! - [`loa`]: levels of assurance and their `urn:jisr:loa:*` URIs.
//! - [`names`]: name cleaning (NFC, no bidi/zero-width/control characters), combined names.
//! - [`dates`]: explicit date formats, Hijri (Umm al-Qura) → Gregorian.
//! - [`identifier`]: national identifier formats and checksums, `ORIGIN/DESTINATION/value`.
//! - [`path`]: claim paths into the ID token and userinfo claims.
//! - [`profile`]: per-country mapping profiles (`config/countries/<cc>.toml`).
//! - [`policy`]: the origin→destination release policy (`config/policy.toml`).
//! - [`pairwise`]: keyed pairwise pseudonyms per agency sector.
//! - [`claims`]: the shared assertion's JSON shape.
//! - [`map`]: the entry point, [`map_claims`].
//! - [`check`]: cross-checks of profiles against the policy, for `jisr check-config`.
//! - [`toml_load`]: TOML text to config types, problems reported as `file: key: problem`.
#![forbid(unsafe_code)]

pub mod check;
pub mod claims;
pub mod country;
pub mod dates;
pub mod error;
pub mod identifier;
pub mod loa;
pub mod map;
pub mod names;
pub mod pairwise;
pub mod path;
pub mod policy;
pub mod profile;
pub mod toml_load;

pub use check::{ProfileFile, check_config};
pub use claims::{CrossBorderAssertion, SharedClaim};
pub use country::{CountryCode, Gcc};
pub use error::{ConfigProblem, MappingError, ProblemKind, ValueError, ValueProblem};
pub use identifier::PersonIdentifier;
pub use loa::Loa;
pub use map::{AuthContext, Destination, Mapped, NationalId, map_claims, map_with_rule};
pub use pairwise::PairwiseKey;
pub use path::{NationalClaims, Source};
pub use policy::{Disclosure, Policy, Rule};
pub use profile::CountryProfile;
