//! Jisr end-to-end tests: servers in-process on 127.0.0.1:0, real HTTP, real keys. What they
//! share (starting the demo, the browser, the agency's side, Redis keyspaces) is the
//! `jisr_e2e` library in `tests/src/`.
//!
//! - `audit`: the audit log of a login: events, verification, find, no personal data,
//!   and what a failing sink does to new logins.
//! - `dashboard`: the operators' dashboard (sign-in, roles, fleet matrix, suspend/resume).
//! - `downstream`: the cross-border sign-in through the gateway for agencies, and the demo.
//! - `upstream`: the gateway's Relying Party against development national IdPs, named after
//!   the OpenID RP certification tests they mirror, plus JWT attacks.
//! - `replicas`: several gateway replicas on one Redis, and Redis outages.
//! - `privacy`: no personal data or token in any log line.
//! - `interop`: certified third-party software (openid-client, headless Chromium).
//! - `interop_certified`: oidc-provider as a national IdP, Authlib and mod_auth_openidc as
//!   agencies, each installed by scripts/prerequisites and driven through a full login.
//! - `tls`: `jisr serve` terminating TLS itself.
//! - `metrics`: `/metrics` and `/readyz` on the admin listener; alert rules and dashboard.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

mod audit;
mod dashboard;
mod downstream;
mod interop;
mod interop_certified;
mod metrics;
mod privacy;
mod replicas;
mod tls;
mod upstream;
