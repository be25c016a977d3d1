//! Jisr gateway: the axum service between national identity providers and agencies.
//!
//! - [`config`]: loading and cross-checking the configuration directory (country profiles,
//!   policy) into typed values, once, at start.
//! - [`upstream`]: the Relying Party toward each national IdP: discovery, JWKS cache, strict
//!   ID token verification, the login flow.
//! - [`pages`]: the citizen-facing HTML (country picker, consent, errors), bilingual with
//!   right-to-left Arabic.
//!
//! Planned modules (see `shared/DESIGN.md`): `provider/` (OpenID Provider toward
//! agencies), `exchange/` (RFC 8693 token exchange), `ops/` (metrics, audit, health, admin),
//! `http/` (router, middleware, error mapping).
//! Claim-mapping rules never live here: they are data for `jisr-mapping`.
#![forbid(unsafe_code)]

pub mod config;
pub mod demo;
pub mod http;
pub mod pages;
pub mod provider;
pub mod serve;
pub mod upstream;
