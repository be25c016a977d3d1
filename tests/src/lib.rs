//! End-to-end test harness for Jisr: servers started in-process on port 0, real HTTP, real
//! Redis, real keys. The tests themselves live in `tests/e2e/` as one test binary and use
//! this library for everything they share.
//!
//! - [`demo`]: the one-process demo (gateway, development national IdPs, demo agency) as the
//!   tests start it.
//! - [`browser`]: a cookie-keeping client that follows no redirect, and reading what it gets
//!   back (`Location`, query parameters, hidden form fields); [`browser::via`] plays the load
//!   balancer in front of several replicas.
//! - [`agency`]: the agency's side of OpenID Connect: the authorization request with PKCE,
//!   the token and userinfo calls, ID token verification against the gateway's JWKS.
//! - [`signin`]: a citizen walking the gateway's pages: picker, country choice, national IdP,
//!   callback, consent; each step on any replica.
//! - [`upstream`]: development national IdPs and the gateway's upstream client wired to them,
//!   for the Relying Party tests.
//! - [`certified`]: certified third-party OpenID implementations (oidc-provider as a national
//!   IdP, Authlib and Apache mod_auth_openidc as agencies), started from their configuration.
//! - [`exchange`]: the agencies' back channel: agencies registered for token exchange and
//!   introspection, national app tokens from the development IdPs, the calls.
//! - [`store`]: Redis for the replica and outage tests: random key prefixes cleaned up on
//!   drop, and a private `redis-server` a test may kill.
#![forbid(unsafe_code)]
// A test harness: a step that fails is a failed test, so panicking on it is the point.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod agency;
pub mod browser;
pub mod certified;
pub mod demo;
pub mod exchange;
pub mod signin;
pub mod store;
pub mod upstream;

use jisr_mapping::CountryCode;

/// An ISO 3166-1 alpha-2 code the tests spell literally.
pub fn cc(s: &str) -> CountryCode {
    s.parse().unwrap()
}

/// Seconds since the epoch; tests own their clock here.
#[allow(clippy::disallowed_methods)]
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The admin listener's `/metrics` at `admin_url`, scraped every 50 ms until it contains
/// `needle` (at most 5 s): events counted off the request path (back-channel deliveries)
/// show up a moment after the response. Returns the last scrape either way.
pub async fn scrape_until(admin_url: &str, needle: &str) -> String {
    let mut metrics = String::new();
    for _ in 0..100 {
        metrics = reqwest::get(format!("{admin_url}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metrics.contains(needle) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    metrics
}
