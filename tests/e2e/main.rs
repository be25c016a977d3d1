//! Jisr end-to-end tests: servers in-process on 127.0.0.1:0, real HTTP, real keys. What they
//! share (starting the demo, the browser, the agency's side, Redis keyspaces) is the
//! `jisr_e2e` library in `tests/src/`.
//!
//! - `audit`: the audit log of a login: events, verification, find, no personal data,
//!   and what a failing sink does to new logins.
//! - `dashboard`: the operators' dashboard (sign-in, roles, fleet matrix, suspend/resume).
//! - `downstream`: the cross-border sign-in through the gateway for agencies, and the demo.
//! - `edges_upstream`: certified-OP behaviour upstream (acr and auth_time only when asked,
//!   SSO sessions), max_age/prompt=login, key rotation under load.
//! - `edges_downstream`: the OpenID Provider's edges: RS256 per agency, assertion leeway,
//!   CORS, RFC 6750 at userinfo, `state` that is not UTF-8, consent replayed after Decline.
//! - `edges_citizen`: the citizen at the edges: failed national logins tell the agency from a
//!   page's button, Back after signing in, the 404 page, two tabs, the consent page in words.
//! - `upstream`: the gateway's Relying Party against development national IdPs, named after
//!   the OpenID RP certification tests they mirror, plus JWT attacks.
//! - `replicas`: several gateway replicas on one Redis, and Redis outages.
//! - `privacy`: no personal data or token in any log line.
//! - `interop`: certified third-party software (openid-client, headless Chromium).
//! - `interop_certified`: oidc-provider as a national IdP, Authlib and mod_auth_openidc as
//!   agencies, each installed by scripts/prerequisites and driven through a full login.
//! - `tls`: `jisr serve` terminating TLS itself.
//! - `metrics`: `/metrics` and `/readyz` on the admin listener; alert rules and dashboard.
//! - `exchange`: token exchange (RFC 8693) for every country's token shape, its refusals,
//!   single use on one replica and across two on Redis.
//! - `back_channel`: introspection (RFC 7662), revocation (RFC 7009), discovery, and every
//!   JWT attack class of the upstream tests sent through token exchange.
//! - `rate_limits`: 429 for a flooding address or agency while others sign in, trusted
//!   proxies, and one limit for the fleet on Redis.
//! - `sessions`: single sign-on between agencies, `prompt=none`, RP-initiated, back-channel
//!   and national logout, sessions across replicas.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

mod audit;
mod back_channel;
mod dashboard;
mod downstream;
mod edges_citizen;
mod edges_downstream;
mod edges_upstream;
mod exchange;
mod interop;
mod interop_certified;
mod metrics;
mod privacy;
mod rate_limits;
mod replicas;
mod tls;
mod upstream;
// Sessions and logout.
mod sessions;
