//! Upstream: Jisr as an OpenID Connect Relying Party toward each country's national IdP.
//!
//! - [`config`]: the `[idp]` settings of a country, secrets resolved at start.
//! - [`http`]: the bounded HTTP client (timeouts, size limits, no redirects).
//! - [`discovery`]: discovery with openidconnect, retried with backoff per country.
//! - [`jwks`]: the per-issuer JWKS cache (refresh on unknown kid, single flight, stale-if-error).
//! - [`idtoken`]: strict ID token verification.
//! - [`flow`]: the authorization request and the callback (code exchange, userinfo).
//!
//! [`Upstreams::verify_national_token`] is the one verification entry point shared by the
//! login callback and token exchange.

pub mod config;
pub mod discovery;
pub mod error;
pub mod flow;
pub mod http;
pub mod idtoken;
pub mod jwks;
// National back-channel logout tokens.
pub mod logout_token;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use jisr_mapping::{AuthContext, CountryCode};
use serde_json::{Map, Value};

pub use config::{Mode, UpstreamConfig};
pub use discovery::Endpoints;
pub use error::{UpstreamError, VerifyError};
pub use flow::{Ask, AuthTimeError, AuthorizationResponse, Freshness, PendingLogin, VerifiedLogin};
pub use idtoken::Expect;

use http::HttpClient;
use jwks::JwksCache;

use crate::ops::metrics::upstream::{CallOutcome, UpstreamMetrics};

/// How a national IdP stands, for readiness and the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamState {
    /// Discovered, keys usable, answering.
    Ok,
    /// Logins still work, but something needs attention: the JWKS is stale or its last
    /// refresh failed while keys are cached.
    Degraded,
    /// Logins to this country cannot work now: no discovery, no usable JWKS, or the IdP did
    /// not answer (connection failed or timed out) on its most recent call.
    Down,
}

impl UpstreamState {
    /// The state, with a fixed reason when not ok, from whether discovery succeeded, how the
    /// most recent call (within the metrics window) ended, and the JWKS cache.
    pub fn of(
        discovered: bool,
        last_call: Option<CallOutcome>,
        jwks: &jwks::JwksStatus,
    ) -> (Self, Option<&'static str>) {
        if !discovered {
            return (UpstreamState::Down, Some("discovery_pending"));
        }
        if last_call.is_some_and(CallOutcome::unreachable) {
            return (UpstreamState::Down, Some("not_answering"));
        }
        match jwks.keys {
            None if jwks.last_refresh_failed => (UpstreamState::Down, Some("jwks_unavailable")),
            Some(0) => (UpstreamState::Down, Some("jwks_empty")),
            Some(_) if jwks.last_refresh_failed => {
                (UpstreamState::Degraded, Some("jwks_refresh_failed"))
            }
            Some(_) if !jwks.fresh => (UpstreamState::Degraded, Some("jwks_stale")),
            _ => (UpstreamState::Ok, None),
        }
    }

    pub const fn name(self) -> &'static str {
        match self {
            UpstreamState::Ok => "ok",
            UpstreamState::Degraded => "degraded",
            UpstreamState::Down => "down",
        }
    }
}

/// The client toward one country's national IdP. Discovery writes the endpoints and status
/// once in a while; every login reads them, without locking (`arc-swap`).
pub struct Upstream {
    pub config: UpstreamConfig,
    http: HttpClient,
    metrics: Arc<UpstreamMetrics>,
    endpoints: ArcSwapOption<Endpoints>,
    last_error: ArcSwapOption<String>,
    jwks: JwksCache,
    /// Probes of the authorization endpoint failed in a row ([`Upstream::probe`]).
    probe_failures: AtomicU32,
}

/// How often `jisr serve` probes each national IdP's authorization endpoint while it answers,
/// and while it does not (so that it is offered again within a second of coming back).
const PROBE_EVERY: Duration = Duration::from_secs(5);
const PROBE_AGAIN: Duration = Duration::from_secs(1);
/// Failed probes in a row after which the IdP is taken as not answering: its country is
/// greyed out in the picker and refused with `temporarily_unavailable`.
const PROBE_FAILURES_DOWN: u32 = 2;

impl Upstream {
    pub fn new(config: UpstreamConfig) -> Result<Self, UpstreamError> {
        Self::with_metrics(config, Arc::default())
    }

    /// [`Upstream::new`], reporting every call to `metrics`.
    pub fn with_metrics(
        config: UpstreamConfig,
        metrics: Arc<UpstreamMetrics>,
    ) -> Result<Self, UpstreamError> {
        metrics.register(config.country);
        let http = HttpClient::with_tls(config.timeout, config.tls.as_ref())?
            .metered(config.country, metrics.clone());
        let jwks = JwksCache::new(http.clone(), config.jwks);
        let fixed = config.endpoints.as_ref().map(|e| {
            if let Some(uri) = &e.jwks_uri {
                jwks.set_uri(uri.clone());
            }
            Arc::new(Endpoints {
                authorization: e.authorization.clone(),
                token: e.token.clone(),
                userinfo: e.userinfo.clone(),
                jwks_uri: e.jwks_uri.clone().unwrap_or_default(),
                iss_parameter_supported: e.iss_parameter_supported,
                code_challenge_s256: true,
                claims_parameter_supported: false,
                end_session: None,
            })
        });
        let last_error = fixed
            .is_none()
            .then(|| Arc::new("discovery pending".to_owned()));
        Ok(Upstream {
            config,
            http,
            metrics,
            endpoints: ArcSwapOption::new(fixed),
            last_error: ArcSwapOption::new(last_error),
            jwks,
            probe_failures: AtomicU32::new(0),
        })
    }

    /// One discovery attempt; on success the endpoints and JWKS URL are set. With fixed
    /// endpoints in config there is nothing to discover.
    pub async fn discover(&self) -> Result<(), UpstreamError> {
        if self.config.endpoints.is_some() {
            return Ok(());
        }
        match discovery::discover(&self.http, &self.config.issuer).await {
            Ok(endpoints) => {
                self.jwks.set_uri(endpoints.jwks_uri.clone());
                self.endpoints.store(Some(Arc::new(endpoints)));
                self.last_error.store(None);
                tracing::info!(country = %self.config.country, "national IdP discovered");
                Ok(())
            }
            Err(e) => {
                self.last_error.store(Some(Arc::new(e.to_string())));
                Err(e)
            }
        }
    }

    /// Retries discovery with backoff until it succeeds or `shutdown` fires.
    pub async fn discover_with_retry(&self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let mut attempt = 0;
        loop {
            match self.discover().await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(country = %self.config.country, attempt, error = %e, "national IdP discovery failed; retrying")
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(discovery::backoff(attempt)) => {}
                _ = shutdown.changed() => return,
            }
            attempt += 1;
        }
    }

    /// Whether discovery has succeeded.
    pub fn is_ready(&self) -> bool {
        self.endpoints.load().is_some()
    }

    /// Whether citizens can be sent to this IdP now: discovered, and its authorization
    /// endpoint answered at least one of the last [`PROBE_FAILURES_DOWN`] probes.
    pub fn is_available(&self) -> bool {
        self.is_ready() && !self.not_answering()
    }

    fn not_answering(&self) -> bool {
        self.probe_failures.load(Ordering::Relaxed) >= PROBE_FAILURES_DOWN
    }

    /// Asks the authorization endpoint, the address citizens' browsers are sent to, whether
    /// it answers. Any HTTP answer counts (a request without parameters is refused there,
    /// which is an answer) except 502, 503 and 504, the statuses of a server or its load
    /// balancer saying it is unavailable; a refused connection, a TLS failure or a timeout
    /// does not count. The gateway's own network path stands in for the citizen's. Returns
    /// whether it answered.
    pub async fn probe(&self) -> bool {
        let Some(endpoints) = self.endpoints.load_full() else {
            return false;
        };
        let failure = match self.http.probe(&endpoints.authorization).await {
            Ok(status @ 502..=504) => Some(format!("probe: HTTP {status}")),
            Ok(_) => None,
            Err(e) => Some(e.to_string()),
        };
        let country = self.config.country;
        match failure {
            None => {
                if self.probe_failures.swap(0, Ordering::Relaxed) >= PROBE_FAILURES_DOWN {
                    tracing::info!(%country, "national IdP answers again; its country is offered again");
                }
                true
            }
            Some(error) => {
                let failures = self.probe_failures.fetch_add(1, Ordering::Relaxed) + 1;
                if failures == PROBE_FAILURES_DOWN {
                    tracing::warn!(
                        %country,
                        %error,
                        "national IdP's authorization endpoint does not answer; its country is unavailable until it does"
                    );
                }
                false
            }
        }
    }

    /// Discovery (retried), then a probe of the authorization endpoint every few seconds
    /// ([`Upstream::probe`]), until `shutdown` fires.
    pub async fn watch(&self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        self.discover_with_retry(shutdown.clone()).await;
        while !*shutdown.borrow() {
            let wait = if self.probe().await {
                PROBE_EVERY
            } else {
                PROBE_AGAIN
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    /// Ok, degraded or down (see [`UpstreamState`]), with a fixed reason when not ok.
    pub fn state(&self) -> (UpstreamState, Option<&'static str>) {
        if self.is_ready() && self.not_answering() {
            return (UpstreamState::Down, Some("not_answering"));
        }
        UpstreamState::of(
            self.is_ready(),
            self.metrics.last_outcome(self.config.country),
            &self.jwks.status(),
        )
    }

    /// The last discovery error, if the IdP is not ready.
    pub fn status(&self) -> Option<String> {
        self.last_error.load_full().map(|e| e.as_ref().clone())
    }

    /// The origin (`scheme://host:port`) of the authorization endpoint, once known: pages
    /// that post a form which then redirects there must allow it in CSP `form-action`.
    pub fn authorization_origin(&self) -> Option<String> {
        let endpoints = self.endpoints.load_full()?;
        let url = url::Url::parse(&endpoints.authorization).ok()?;
        Some(url.origin().ascii_serialization())
    }

    /// The IdP's `end_session_endpoint` (RP-Initiated Logout), once discovered, and the
    /// gateway's client id there (for `client_id` beside `id_token_hint`).
    pub fn end_session(&self) -> Option<(String, &str)> {
        let endpoints = self.endpoints.load_full()?;
        Some((
            endpoints.end_session.clone()?,
            self.config.client_id.as_str(),
        ))
    }

    pub fn jwks(&self) -> &JwksCache {
        &self.jwks
    }

    fn endpoints(&self) -> Result<Arc<Endpoints>, UpstreamError> {
        self.endpoints
            .load_full()
            .ok_or_else(|| self.unavailable("discovery has not succeeded yet"))
    }

    fn unavailable(&self, reason: &str) -> UpstreamError {
        UpstreamError::Unavailable {
            country: self.config.country,
            reason: reason.to_owned(),
        }
    }

    /// Verifies an ID token of this IdP.
    pub async fn verify_id_token(
        &self,
        token: &str,
        expect: &Expect<'_>,
    ) -> Result<Map<String, Value>, UpstreamError> {
        if !self.is_ready() {
            return Err(self.unavailable("discovery has not succeeded yet"));
        }
        Ok(idtoken::verify(&self.config, &self.jwks, token, expect).await?)
    }
}

/// A national token verified by its own issuer.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedToken {
    pub country: CountryCode,
    pub claims: Map<String, Value>,
    pub context: AuthContext,
}

/// Every configured national IdP, by country and by issuer.
#[derive(Clone, Default)]
pub struct Upstreams {
    by_country: HashMap<CountryCode, Arc<Upstream>>,
    by_issuer: HashMap<String, CountryCode>,
}

impl Upstreams {
    /// Builds one client per country; issuers must be distinct.
    pub fn new(configs: Vec<UpstreamConfig>) -> Result<Self, UpstreamError> {
        Self::with_metrics(configs, Arc::default())
    }

    /// [`Upstreams::new`], every client reporting its calls to `metrics`.
    pub fn with_metrics(
        configs: Vec<UpstreamConfig>,
        metrics: Arc<UpstreamMetrics>,
    ) -> Result<Self, UpstreamError> {
        let mut me = Upstreams::default();
        for config in configs {
            let country = config.country;
            if me
                .by_issuer
                .insert(config.issuer.clone(), country)
                .is_some()
            {
                return Err(UpstreamError::Config(format!(
                    "{country}: issuer is configured for two countries"
                )));
            }
            if me
                .by_country
                .insert(
                    country,
                    Arc::new(Upstream::with_metrics(config, metrics.clone())?),
                )
                .is_some()
            {
                return Err(UpstreamError::Config(format!(
                    "{country} is configured twice"
                )));
            }
        }
        Ok(me)
    }

    /// Starts discovery for every country in the background, then probes each IdP's
    /// authorization endpoint ([`Upstream::watch`]); returns at once.
    pub fn spawn_discovery(
        &self,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        self.by_country
            .values()
            .map(|u| {
                let u = u.clone();
                let shutdown = shutdown.clone();
                tokio::spawn(async move { u.watch(shutdown).await })
            })
            .collect()
    }

    pub fn get(&self, country: CountryCode) -> Option<&Arc<Upstream>> {
        self.by_country.get(&country)
    }

    pub fn countries(&self) -> impl Iterator<Item = CountryCode> + '_ {
        self.by_country.keys().copied()
    }

    /// Verifies a national ID token: routed by its (untrusted) `iss` to the configured
    /// country, then verified strictly with that issuer's keys only.
    pub async fn verify_national_token(
        &self,
        token: &str,
        expect: &Expect<'_>,
    ) -> Result<VerifiedToken, UpstreamError> {
        let parsed = idtoken::parse(token)?;
        let issuer = idtoken::issuer_of(&parsed)?;
        let country = *self
            .by_issuer
            .get(issuer)
            .ok_or(VerifyError::UnknownIssuer)?;
        let upstream = &self.by_country[&country];
        if !upstream.is_ready() {
            return Err(upstream.unavailable("discovery has not succeeded yet"));
        }
        let claims =
            idtoken::verify_parsed(&upstream.config, &upstream.jwks, parsed, expect).await?;
        let context = flow::context_of(&upstream.config.issuer, &claims);
        Ok(VerifiedToken {
            country,
            claims,
            context,
        })
    }

    /// The national IdP that issued `parsed`, by its (untrusted) `iss`: only to route it to
    /// the keys that verify it.
    pub fn route(&self, parsed: &idtoken::Parsed<'_>) -> Result<&Arc<Upstream>, VerifyError> {
        let issuer = idtoken::issuer_of(parsed)?;
        let country = self
            .by_issuer
            .get(issuer)
            .ok_or(VerifyError::UnknownIssuer)?;
        Ok(&self.by_country[country])
    }
}

impl Upstream {
    /// Verifies a national ID token an agency presents at token exchange, routed here by
    /// [`Upstreams::route`]: the login's checks, with `aud` one of `clients` (the national
    /// client ids the agency registered for this country).
    pub async fn verify_presented(
        &self,
        parsed: idtoken::Parsed<'_>,
        clients: &[&str],
        now: i64,
    ) -> Result<VerifiedToken, UpstreamError> {
        if !self.is_ready() {
            return Err(self.unavailable("discovery has not succeeded yet"));
        }
        let expect = Expect {
            nonce: None,
            access_token: None,
            now,
        };
        let claims =
            idtoken::verify_parsed_for(&self.config, &self.jwks, parsed, clients, &expect).await?;
        let context = flow::context_of(&self.config.issuer, &claims);
        Ok(VerifiedToken {
            country: self.config.country,
            claims,
            context,
        })
    }
}

/// Whether to call the IdP's userinfo endpoint: always in OAuth 2.0 mode; in OpenID Connect
/// mode only when the country's profile reads something from it (one HTTP call saved).
pub fn needs_userinfo(
    upstream: &UpstreamConfig,
    mapping: &crate::config::MappingConfig,
    country: jisr_mapping::CountryCode,
) -> bool {
    upstream.mode == Mode::Oauth2Userinfo
        || mapping
            .profile(country)
            .is_none_or(|p| p.reads(jisr_mapping::Source::Userinfo))
}

#[cfg(test)]
mod state_tests {
    use std::time::Duration;

    use super::jwks::JwksStatus;
    use super::*;

    fn jwks(keys: Option<usize>, fresh: bool, last_refresh_failed: bool) -> JwksStatus {
        JwksStatus {
            keys,
            age: keys.map(|_| Duration::from_secs(60)),
            fresh,
            last_refresh_failed,
            failures: u64::from(last_refresh_failed),
        }
    }

    #[test]
    fn each_state_with_its_reason() {
        use CallOutcome::{HttpError, Timeout, Transport};
        use UpstreamState::{Degraded, Down};
        let cases = [
            (
                false,
                None,
                jwks(None, false, false),
                (Down, Some("discovery_pending")),
            ),
            (
                true,
                Some(Timeout),
                jwks(Some(2), true, false),
                (Down, Some("not_answering")),
            ),
            (
                true,
                Some(Transport),
                jwks(Some(2), true, false),
                (Down, Some("not_answering")),
            ),
            (
                true,
                Some(HttpError),
                jwks(None, false, true),
                (Down, Some("jwks_unavailable")),
            ),
            (
                true,
                None,
                jwks(Some(0), true, false),
                (Down, Some("jwks_empty")),
            ),
            (
                true,
                Some(HttpError),
                jwks(Some(2), true, true),
                (Degraded, Some("jwks_refresh_failed")),
            ),
            (
                true,
                None,
                jwks(Some(2), false, false),
                (Degraded, Some("jwks_stale")),
            ),
            // Not fetched yet (no login to that country since start): nothing is wrong.
            (
                true,
                None,
                jwks(None, false, false),
                (UpstreamState::Ok, None),
            ),
            (
                true,
                Some(CallOutcome::Ok),
                jwks(Some(2), true, false),
                (UpstreamState::Ok, None),
            ),
        ];
        for (discovered, last, status, expected) in cases {
            assert_eq!(
                UpstreamState::of(discovered, last, &status),
                expected,
                "{discovered} {last:?} {status:?}"
            );
        }
    }
}
