//! Jisr gateway: the axum service between national identity providers and agencies.
//!
//! - [`alg`]: the one JWS algorithm table (what Jisr verifies and signs with).
//! - [`app`]: the shared state every request sees ([`app::Gateway`]), built once from config.
//! - [`config`]: loading and cross-checking the configuration directory (gateway, agencies,
//!   country profiles, policy) into typed values, once, at start.
//! - [`upstream`]: the Relying Party toward each national IdP: discovery, JWKS cache, strict
//!   ID token verification, the login flow.
//! - [`provider`]: the OpenID Provider toward agencies: authorize, callback, consent, token,
//!   userinfo, discovery, signing keys.
//! - [`exchange`]: the agencies' back channel: token exchange (RFC 8693), introspection
//!   (RFC 7662) and revocation (RFC 7009).
//! - [`pages`]: the citizen-facing HTML (country picker, consent, errors), bilingual with
//!   right-to-left Arabic.
//! - [`http`]: the router, middleware, cookies and the one place refusals become responses.
//! - [`ops`]: operators' endpoints (health, readiness).
//! - [`serve`]: `jisr serve`: the gateway from its configuration directory.
//!
//! Claim-mapping rules never live here: they are data for `jisr-mapping`.
#![forbid(unsafe_code)]

pub mod alg;
pub mod app;
pub mod config;
pub mod exchange;
pub mod http;
pub mod ops;
pub mod pages;
pub mod provider;
pub mod serve;
pub mod upstream;
