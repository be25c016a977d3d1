//! `[rate_limits]`: how many requests one source address and one agency may send to each
//! group of routes per window. Counted per replica and, when the store is Redis, across every
//! replica sharing it. A limit of 0 is no limit.

use serde::{Deserialize, Serialize};

/// The limits of one group of routes, in requests per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RouteLimits {
    /// From one source address (IPv6: one /64), registered agency or not.
    pub per_address: u32,
    /// For one registered agency (its `client_id`, authenticated where the route
    /// authenticates it).
    pub per_client: u32,
}

impl RouteLimits {
    const fn new(per_address: u32, per_client: u32) -> Self {
        RouteLimits {
            per_address,
            per_client,
        }
    }
}

/// The whole section. A value left out keeps its default, also inside a group: setting
/// `token.per_client` alone keeps `token.per_address` at its default.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(from = "RawRateLimits")]
pub struct RateLimitConfig {
    /// `false` turns every limit off (a load test; never in production).
    pub enabled: bool,
    /// The counting window (1–3600 s; default 60).
    pub window_secs: u64,
    /// Load balancers whose `X-Forwarded-For` names the client: the address counted is the
    /// rightmost one in that header not in these networks. Empty: the peer address is counted.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `/authorize`.
    pub authorize: RouteLimits,
    /// `/token`, every grant (authorization code, token exchange).
    pub token: RouteLimits,
    /// `/introspect` and `/revoke`.
    pub introspect: RouteLimits,
    /// `/userinfo`.
    pub userinfo: RouteLimits,
    /// The citizen's pages after `/authorize`: country choice, national callback, consent,
    /// logout. Per address only (`per_client` must be 0).
    pub pages: RouteLimits,
}

impl Default for RateLimitConfig {
    /// Generous enough for a ministry's citizens behind one address and an agency's back end
    /// on one address; tight enough that one flood cannot take the gateway's capacity.
    fn default() -> Self {
        RateLimitConfig {
            enabled: true,
            window_secs: 60,
            trusted_proxies: Vec::new(),
            authorize: RouteLimits::new(600, 6000),
            token: RouteLimits::new(3000, 6000),
            introspect: RouteLimits::new(6000, 12000),
            userinfo: RouteLimits::new(3000, 6000),
            pages: RouteLimits::new(1800, 0),
        }
    }
}

/// `[rate_limits]` as written: every value optional.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRateLimits {
    enabled: Option<bool>,
    window_secs: Option<u64>,
    trusted_proxies: Option<Vec<ipnet::IpNet>>,
    authorize: Option<RawRouteLimits>,
    token: Option<RawRouteLimits>,
    introspect: Option<RawRouteLimits>,
    userinfo: Option<RawRouteLimits>,
    pages: Option<RawRouteLimits>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRouteLimits {
    per_address: Option<u32>,
    per_client: Option<u32>,
}

fn over(default: RouteLimits, raw: Option<RawRouteLimits>) -> RouteLimits {
    let Some(raw) = raw else { return default };
    RouteLimits {
        per_address: raw.per_address.unwrap_or(default.per_address),
        per_client: raw.per_client.unwrap_or(default.per_client),
    }
}

impl From<RawRateLimits> for RateLimitConfig {
    fn from(raw: RawRateLimits) -> Self {
        let d = RateLimitConfig::default();
        RateLimitConfig {
            enabled: raw.enabled.unwrap_or(d.enabled),
            window_secs: raw.window_secs.unwrap_or(d.window_secs),
            trusted_proxies: raw.trusted_proxies.unwrap_or(d.trusted_proxies),
            authorize: over(d.authorize, raw.authorize),
            token: over(d.token, raw.token),
            introspect: over(d.introspect, raw.introspect),
            userinfo: over(d.userinfo, raw.userinfo),
            pages: over(d.pages, raw.pages),
        }
    }
}

impl RateLimitConfig {
    /// No limit at all (load tests, benchmarks).
    pub fn off() -> Self {
        RateLimitConfig {
            enabled: false,
            ..RateLimitConfig::default()
        }
    }

    /// Every range problem, as `(key, problem)`.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if !(1..=3600).contains(&self.window_secs) {
            out.push((
                "rate_limits.window_secs",
                "must be between 1 and 3600 seconds".into(),
            ));
        }
        if self.pages.per_client != 0 {
            out.push((
                "rate_limits.pages.per_client",
                "must be 0: the citizen's pages are limited per address only".into(),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_ranges_are_checked() {
        assert!(RateLimitConfig::default().problems().is_empty());
        let bad = RateLimitConfig {
            window_secs: 0,
            pages: RouteLimits::new(10, 5),
            ..RateLimitConfig::default()
        };
        let keys: Vec<_> = bad.problems().into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            ["rate_limits.window_secs", "rate_limits.pages.per_client"]
        );
    }
}
