//! Rate limits (`[rate_limits]`): requests per window from one source address and for one
//! agency, on `/authorize`, `/token`, `/introspect` + `/revoke`, `/userinfo` and the citizen's
//! pages. Over a limit the answer is 429 with `Retry-After`, as JSON for programs and as a
//! bilingual page for browsers.
//!
//! Two counts, both must allow a request:
//! - this replica's, with governor's keyed GCRA limiter (`limit` per window, bursts up to
//!   `limit`), checked without IO;
//! - with the Redis store, the fleet's: a fixed-window counter per key in Redis that every
//!   replica adds to. A replica counts locally and sends what it counted every
//!   [`SYNC_EVERY`] in one pipeline for all its keys, learning the fleet's totals back, so a
//!   request never waits for Redis. Keys past half their limit are read back every sync even
//!   when this replica counted nothing, so a replica learns what the others spent. The fleet
//!   may overshoot a limit by what the other replicas counted in the last sync interval; a
//!   Redis outage leaves the per-replica limits.
//!
//! The address is checked in middleware before the handler runs; the agency is checked by
//! the handler once it knows the client (at `/authorize` the registered `client_id`, at the
//! back channel the authenticated client, at `/userinfo` the access token's agency), so
//! a flood that names another agency's `client_id` without its credentials spends only its
//! own address's allowance. Keys are bounded: registered client ids, and addresses (IPv6 by
//! /64) seen within the last window.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use jisr_store::windows::WindowCounters;

use crate::app::{Clock, Gateway};
use crate::config::gateway::rate::{RateLimitConfig, RouteLimits};
use crate::pages::{self, ErrorPage, Lang};

/// How often a replica sends its counts to the fleet's counters and reads their totals.
pub const SYNC_EVERY: Duration = Duration::from_millis(250);
/// How often idle keys are dropped from the per-replica limiters.
const PRUNE_EVERY: Duration = Duration::from_secs(10);
/// Fleet counters kept at once by one replica (current window); beyond, new keys are
/// counted by the per-replica limiter only (and the overflow is counted in metrics).
const MAX_FLEET_KEYS: usize = 100_000;

/// A group of routes with its own limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    Authorize,
    Token,
    Introspect,
    Userinfo,
    Pages,
}

impl Route {
    const ALL: [Route; 5] = [
        Route::Authorize,
        Route::Token,
        Route::Introspect,
        Route::Userinfo,
        Route::Pages,
    ];

    /// The name in config, metrics and counter keys.
    pub const fn name(self) -> &'static str {
        match self {
            Route::Authorize => "authorize",
            Route::Token => "token",
            Route::Introspect => "introspect",
            Route::Userinfo => "userinfo",
            Route::Pages => "pages",
        }
    }

    /// The group of a request path; `None` for what is not limited (metadata, keys, health,
    /// the style sheet).
    pub fn of_path(path: &str) -> Option<Route> {
        Some(match path {
            "/authorize" => Route::Authorize,
            "/token" => Route::Token,
            "/introspect" | "/revoke" => Route::Introspect,
            "/userinfo" => Route::Userinfo,
            "/login/country" | "/consent" | "/logout" => Route::Pages,
            p if p.starts_with("/callback/") || p.starts_with("/logout/") => Route::Pages,
            // National IdPs' back-channel logout: per address, as a page is (a forged token
            // with an unknown kid may wait for the next JWKS fetch).
            p if p.starts_with("/backchannel-logout/") => Route::Pages,
            _ => return None,
        })
    }

    /// Whether its callers are browsers (a page) rather than programs (JSON).
    fn is_browser(self) -> bool {
        matches!(self, Route::Authorize | Route::Pages)
    }

    fn limits(self, config: &RateLimitConfig) -> RouteLimits {
        match self {
            Route::Authorize => config.authorize,
            Route::Token => config.token,
            Route::Introspect => config.introspect,
            Route::Userinfo => config.userinfo,
            Route::Pages => config.pages,
        }
    }
}

/// What was counted: the source address or the agency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    Address,
    Client,
}

impl By {
    pub const fn name(self) -> &'static str {
        match self {
            By::Address => "address",
            By::Client => "client",
        }
    }
}

/// The fixed reason code of a refusal over a limit (metrics, audit).
pub const REASON: &str = "rate_limited";

/// A request over a limit: when to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many requests from this {}; retry after {retry_after} s", by.name())]
pub struct Limited {
    pub route: Route,
    pub by: By,
    /// Whole seconds, at least 1.
    pub retry_after: u64,
}

impl Limited {
    /// The refusal: 429 with `Retry-After`; JSON (`temporarily_unavailable`) for programs,
    /// a bilingual page for a browser. Not logged: a flood would flood the log too.
    pub fn response(&self, lang: Lang) -> Response {
        let description = self.to_string();
        let mut response = if self.route.is_browser() {
            let body = pages::error(&ErrorPage {
                lang,
                error: "temporarily_unavailable",
                message_en: pages::messages::RATE_LIMITED.en,
                message_ar: pages::messages::RATE_LIMITED.ar,
                // Not logged (a flood would flood the log), so there is no reference to quote.
                reference: "",
                back: None,
            });
            (StatusCode::TOO_MANY_REQUESTS, super::response::html(body)).into_response()
        } else {
            let body = serde_json::json!({
                "error": "temporarily_unavailable",
                "error_description": description,
            });
            (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response()
        };
        super::response::no_store(&mut response);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(self.retry_after));
        response
    }
}

/// A source address as counted: IPv4 as is, IPv6 by its /64 (one subscriber's prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddressKey(IpAddr);

impl AddressKey {
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(_) => AddressKey(ip),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => AddressKey(IpAddr::V4(v4)),
                None => {
                    let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                    AddressKey(IpAddr::V6(prefix.into()))
                }
            },
        }
    }
}

impl std::fmt::Display for AddressKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// One route group's limiters; `None` where its limit is 0.
struct Limiters {
    address: Option<(u32, DefaultKeyedRateLimiter<AddressKey>)>,
    client: Option<(u32, DefaultKeyedRateLimiter<String>)>,
}

/// `limit` per `window`, with bursts up to `limit`; `None` for 0 (no limit).
fn limiter<K: std::hash::Hash + Eq + Clone>(
    limit: u32,
    window: Duration,
) -> Option<(u32, DefaultKeyedRateLimiter<K>)> {
    let burst = NonZeroU32::new(limit)?;
    let period = (window / limit).max(Duration::from_nanos(1));
    let quota = Quota::with_period(period)?.allow_burst(burst);
    Some((limit, governor::RateLimiter::keyed(quota)))
}

/// The fleet's counts as this replica knows them.
#[derive(Debug, Default)]
struct FleetCount {
    /// The fleet's total at the last sync (this replica's synced counts included).
    fleet: u64,
    /// Counted here since the last sync.
    pending: u64,
    /// The limit this key is held to.
    limit: u64,
}

impl FleetCount {
    /// Whether the next sync sends it: what was counted here, and, once the fleet has spent
    /// half the limit, every sync (adding 0) so other replicas' counts are learnt in time.
    fn to_sync(&self) -> bool {
        self.pending > 0 || self.fleet * 2 >= self.limit
    }
}

struct Fleet {
    counters: Arc<dyn WindowCounters>,
    /// By counter key (`rl:<route>:<a|c>:<key>:<window>`).
    counts: Mutex<HashMap<String, FleetCount>>,
    window: Duration,
    clock: Clock,
    metrics: Arc<crate::ops::metrics::rate::RateMetrics>,
}

/// The gateway's rate limits.
pub struct RateLimits {
    enabled: bool,
    window: Duration,
    trusted: Vec<ipnet::IpNet>,
    routes: Arc<Vec<(Route, Limiters)>>,
    fleet: Option<Arc<Fleet>>,
    clock: Clock,
    started: AtomicBool,
    /// Requests refused, by route and what was counted.
    pub metrics: Arc<crate::ops::metrics::rate::RateMetrics>,
}

impl RateLimits {
    /// From `[rate_limits]`; `counters` when the store is shared by replicas (Redis).
    pub fn new(
        config: &RateLimitConfig,
        counters: Option<Arc<dyn WindowCounters>>,
        clock: Clock,
        metrics: Arc<crate::ops::metrics::rate::RateMetrics>,
    ) -> Self {
        let window = Duration::from_secs(config.window_secs.max(1));
        let routes = Route::ALL
            .into_iter()
            .map(|route| {
                let limits = route.limits(config);
                let limiters = Limiters {
                    address: limiter(limits.per_address, window),
                    client: limiter(limits.per_client, window),
                };
                (route, limiters)
            })
            .collect();
        RateLimits {
            enabled: config.enabled,
            window,
            trusted: config.trusted_proxies.clone(),
            routes: Arc::new(routes),
            fleet: counters.map(|counters| {
                Arc::new(Fleet {
                    counters,
                    counts: Mutex::default(),
                    window,
                    clock: clock.clone(),
                    metrics: metrics.clone(),
                })
            }),
            clock,
            started: AtomicBool::new(false),
            metrics,
        }
    }

    /// No limits (tests that build a gateway by hand).
    pub fn off() -> Self {
        RateLimits::new(
            &RateLimitConfig::off(),
            None,
            crate::app::system_clock(),
            Arc::default(),
        )
    }

    fn limiters(&self, route: Route) -> Option<&Limiters> {
        self.routes
            .iter()
            .find_map(|(r, l)| (*r == route).then_some(l))
    }

    /// Counts a request from `address` to `route`.
    pub fn address(&self, route: Route, address: AddressKey) -> Result<(), Limited> {
        let Some((limit, limiter)) = self
            .limiters(route)
            .and_then(|l| l.address.as_ref())
            .filter(|_| self.enabled)
        else {
            return Ok(());
        };
        self.check(route, By::Address, limiter, &address, *limit, || {
            address.to_string()
        })
    }

    /// Counts a request of the registered agency `client_id` to `route`.
    pub fn client(&self, route: Route, client_id: &str) -> Result<(), Limited> {
        let Some((limit, limiter)) = self
            .limiters(route)
            .and_then(|l| l.client.as_ref())
            .filter(|_| self.enabled)
        else {
            return Ok(());
        };
        self.check(
            route,
            By::Client,
            limiter,
            &client_id.to_owned(),
            *limit,
            || client_id.to_owned(),
        )
    }

    fn check<K: std::hash::Hash + Eq + Clone>(
        &self,
        route: Route,
        by: By,
        limiter: &DefaultKeyedRateLimiter<K>,
        key: &K,
        limit: u32,
        name: impl FnOnce() -> String,
    ) -> Result<(), Limited> {
        self.start();
        let refused = |wait: Duration| {
            self.metrics.refused(route.name(), by.name());
            Err(Limited {
                route,
                by,
                retry_after: wait.as_secs_f64().ceil().max(1.0) as u64,
            })
        };
        if let Err(not_until) = limiter.check_key(key) {
            return refused(not_until.wait_time_from(DefaultClock::default().now()));
        }
        let Some(fleet) = &self.fleet else {
            return Ok(());
        };
        let now = u64::try_from((self.clock)()).unwrap_or(0);
        let window = self.window.as_secs();
        let index = now / window;
        let counter = format!("rl:{}:{}:{}:{index}", route.name(), &by.name()[..1], name());
        let mut counts = fleet.counts.lock().unwrap_or_else(|e| e.into_inner());
        if !counts.contains_key(&counter) && counts.len() >= MAX_FLEET_KEYS {
            self.metrics.overflow();
            return Ok(());
        }
        let count = counts.entry(counter).or_insert_with(|| FleetCount {
            limit: u64::from(limit),
            ..FleetCount::default()
        });
        if count.fleet + count.pending >= count.limit {
            drop(counts);
            return refused(Duration::from_secs((index + 1) * window - now));
        }
        count.pending += 1;
        Ok(())
    }

    /// Starts the sync and prune task once, if there is a runtime to run it on. The task
    /// holds the limiters weakly: it ends when the gateway is dropped.
    fn start(&self) {
        if self.started.load(Ordering::Relaxed) || tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        if self.started.swap(true, Ordering::AcqRel) {
            return;
        }
        let routes = Arc::downgrade(&self.routes);
        let fleet = self.fleet.as_ref().map(Arc::downgrade);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(SYNC_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut pruned = tokio::time::Instant::now();
            loop {
                tick.tick().await;
                let Some(routes) = routes.upgrade() else {
                    return;
                };
                if let Some(fleet) = fleet.as_ref().and_then(std::sync::Weak::upgrade) {
                    fleet.sync().await;
                }
                if pruned.elapsed() >= PRUNE_EVERY {
                    prune(&routes);
                    pruned = tokio::time::Instant::now();
                }
            }
        });
    }

    /// Sends every count now (tests).
    pub async fn sync_now(&self) {
        if let Some(fleet) = &self.fleet {
            fleet.sync().await;
        }
    }

    /// The address a request is counted under: the peer, or behind a trusted proxy the
    /// rightmost `X-Forwarded-For` entry that is not itself a trusted proxy.
    pub fn source(&self, peer: IpAddr, headers: &HeaderMap) -> AddressKey {
        let trusted = |ip: &IpAddr| self.trusted.iter().any(|net| net.contains(ip));
        if !trusted(&peer) {
            return AddressKey::of(peer);
        }
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        for entry in forwarded.iter().rev() {
            match entry.parse::<IpAddr>() {
                Ok(ip) if trusted(&ip) => continue,
                Ok(ip) => return AddressKey::of(ip),
                // Garbage where an address belongs: count the last proxy, not a made-up key.
                Err(_) => break,
            }
        }
        AddressKey::of(peer)
    }
}

impl Fleet {
    /// Sends what this replica counted since the last sync, and reads the fleet's totals.
    async fn sync(&self) {
        let now = u64::try_from((self.clock)()).unwrap_or(0);
        let current = now / self.window.as_secs();
        let adds: Vec<(String, u64)> = {
            let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
            // Past windows are done with.
            counts.retain(|key, _| window_of(key).is_some_and(|w| w >= current));
            counts
                .iter_mut()
                .filter(|(_, c)| c.to_sync())
                .map(|(key, c)| {
                    let n = std::mem::take(&mut c.pending);
                    c.fleet += n;
                    (key.clone(), n)
                })
                .collect()
        };
        if adds.is_empty() {
            return;
        }
        // Two windows: a counter outlives its window by one, whatever the clocks' skew.
        match self.counters.add_all(&adds, self.window * 2).await {
            Ok(totals) => {
                let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
                for ((key, _), total) in adds.iter().zip(totals) {
                    if let Some(c) = counts.get_mut(key) {
                        c.fleet = c.fleet.max(total);
                    }
                }
            }
            Err(e) => {
                // Kept locally (already in `fleet`): this replica's own counts still limit.
                self.metrics.sync_failed();
                tracing::warn!(error = %e, "rate limits: the fleet's counters could not be updated");
            }
        }
    }
}

/// Drops idle keys from the per-replica limiters.
fn prune(routes: &[(Route, Limiters)]) {
    for (_, limiters) in routes {
        if let Some((_, l)) = &limiters.address {
            l.retain_recent();
            l.shrink_to_fit();
        }
        if let Some((_, l)) = &limiters.client {
            l.retain_recent();
        }
    }
}

/// The window number at the end of a counter key.
fn window_of(key: &str) -> Option<u64> {
    key.rsplit(':').next()?.parse().ok()
}

/// Middleware on the public router: counts every limited request by its source address.
pub async fn by_address(State(gw): State<Arc<Gateway>>, request: Request, next: Next) -> Response {
    let Some(route) = Route::of_path(request.uri().path()) else {
        return next.run(request).await;
    };
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(peer) = peer {
        let source = gw.rate.source(peer, request.headers());
        if let Err(limited) = gw.rate.address(route, source) {
            return limited.response(lang_of(request.headers()));
        }
    }
    next.run(request).await
}

/// The page language a browser prefers (`Accept-Language`), Arabic or English.
pub fn lang_of(headers: &HeaderMap) -> Lang {
    let languages: Vec<&str> = headers
        .get_all(header::ACCEPT_LANGUAGE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.split(';').next().unwrap_or("").trim())
        .collect();
    Lang::from_ui_locales(Some(&languages.join(" ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(trusted: &[&str], authorize: u32) -> RateLimits {
        let config = RateLimitConfig {
            trusted_proxies: trusted.iter().map(|t| t.parse().unwrap()).collect(),
            authorize: RouteLimits {
                per_address: authorize,
                per_client: 2,
            },
            ..RateLimitConfig::default()
        };
        RateLimits::new(&config, None, Arc::new(|| 1_000_000), Arc::default())
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_address_counted_is_the_peer_unless_the_peer_is_a_trusted_proxy() {
        let r = limits(&["10.0.0.0/8"], 5);
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "192.0.2.1, 198.51.100.2, 10.1.1.1".parse().unwrap(),
        );
        // From the proxy: the rightmost entry that is not a proxy itself.
        assert_eq!(
            r.source(ip("10.0.0.5"), &headers),
            AddressKey(ip("198.51.100.2"))
        );
        // From anyone else: the header is ignored.
        assert_eq!(
            r.source(ip("203.0.113.7"), &headers),
            AddressKey(ip("203.0.113.7"))
        );
        // Garbage in the chain: the proxy itself is counted, never a made-up key.
        headers.insert("x-forwarded-for", "192.0.2.1, not-an-ip".parse().unwrap());
        assert_eq!(
            r.source(ip("10.0.0.5"), &headers),
            AddressKey(ip("10.0.0.5"))
        );
        // No header from the proxy: the proxy.
        assert_eq!(
            r.source(ip("10.0.0.5"), &HeaderMap::new()),
            AddressKey(ip("10.0.0.5"))
        );
    }

    #[test]
    fn ipv6_is_counted_by_its_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(
            AddressKey::of(ip("2001:db8:1:2:aaaa::1")),
            AddressKey::of(ip("2001:db8:1:2:ffff::9"))
        );
        assert_ne!(
            AddressKey::of(ip("2001:db8:1:2::1")),
            AddressKey::of(ip("2001:db8:1:3::1"))
        );
        assert_eq!(
            AddressKey::of(ip("::ffff:192.0.2.1")),
            AddressKey(ip("192.0.2.1"))
        );
    }

    #[test]
    fn each_key_has_its_own_allowance_and_off_means_off() {
        let r = limits(&[], 3);
        let a = AddressKey::of(ip("192.0.2.1"));
        let b = AddressKey::of(ip("192.0.2.2"));
        for _ in 0..3 {
            assert_eq!(r.address(Route::Authorize, a), Ok(()));
        }
        let limited = r.address(Route::Authorize, a).unwrap_err();
        assert_eq!((limited.route, limited.by), (Route::Authorize, By::Address));
        assert!((1..=60).contains(&limited.retry_after), "{limited:?}");
        assert_eq!(r.address(Route::Authorize, b), Ok(()));
        // Another group, another allowance.
        assert_eq!(r.address(Route::Pages, a), Ok(()));
        assert_eq!(r.client(Route::Authorize, "x"), Ok(()));
        assert_eq!(r.client(Route::Authorize, "x"), Ok(()));
        let limited = r.client(Route::Authorize, "x").unwrap_err();
        assert_eq!((limited.route, limited.by), (Route::Authorize, By::Client));
        assert_eq!(r.client(Route::Authorize, "y"), Ok(()));
        // `pages` has no per-client limit.
        for _ in 0..100 {
            assert_eq!(r.client(Route::Pages, "x"), Ok(()));
        }
        let off = RateLimits::off();
        for _ in 0..10_000 {
            assert_eq!(off.address(Route::Authorize, a), Ok(()));
        }
    }

    #[test]
    fn routes_are_grouped_by_path() {
        assert_eq!(Route::of_path("/authorize"), Some(Route::Authorize));
        assert_eq!(Route::of_path("/revoke"), Some(Route::Introspect));
        assert_eq!(Route::of_path("/callback/SA"), Some(Route::Pages));
        assert_eq!(Route::of_path("/logout/confirm"), Some(Route::Pages));
        assert_eq!(Route::of_path("/jwks"), None);
        assert_eq!(Route::of_path("/backchannel-logout/SA"), Some(Route::Pages));
        assert_eq!(Route::of_path("/readyz"), None);
    }
}
