//! The gateway's shared state: everything a request needs, built once at start from the
//! configuration and handed to every handler.

use std::sync::Arc;
use std::time::Duration;

use jisr_mapping::{CountryCode, MappingError, PairwiseKey, Rule};
use jisr_store::Store;

use crate::config::MappingConfig;
use crate::config::agencies::Agencies;
use crate::provider::keys::SigningKeys;
use crate::provider::seal;
use crate::upstream::Upstreams;

/// The current time in seconds since the epoch; tests pass a fixed or stepped clock.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The system clock: the one place the gateway reads the wall time.
#[allow(clippy::disallowed_methods)]
pub fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    })
}

/// Lifetimes of the gateway's state and tokens.
#[derive(Debug, Clone, Copy)]
pub struct Ttls {
    /// Authorization codes (at most 60 s).
    pub code: Duration,
    pub access_token: Duration,
    pub id_token: Duration,
    /// A login in progress: picker, national IdP, consent.
    pub login: Duration,
    /// The single sign-on session: ended when unused this long…
    pub session_idle: Duration,
    /// …and in any case this long after the national login.
    pub session_absolute: Duration,
}

impl Default for Ttls {
    fn default() -> Self {
        Ttls {
            code: Duration::from_secs(60),
            access_token: Duration::from_secs(300),
            id_token: Duration::from_secs(300),
            login: Duration::from_secs(600),
            session_idle: Duration::from_secs(1800),
            session_absolute: Duration::from_secs(8 * 3600),
        }
    }
}

/// Everything a request needs, built once at start and shared.
pub struct Gateway {
    /// This gateway's issuer URL, without a trailing slash.
    pub issuer: String,
    pub mapping: MappingConfig,
    pub agencies: Agencies,
    pub upstreams: Upstreams,
    pub keys: SigningKeys,
    pub store: Arc<dyn Store>,
    pub pairwise: PairwiseKey,
    pub seals: Seals,
    pub ttls: Ttls,
    pub clock: Clock,
    /// Metrics and the audit log: every step reports its events here.
    pub ops: crate::ops::Ops,
    /// The operators' listener and dashboard sign-in, if configured.
    pub admin: Option<crate::config::gateway::admin::AdminSettings>,
    /// Back-channel logout deliveries to agencies (off the request path).
    pub logout: crate::provider::session::backchannel::Sender,
    /// Requests per window per source address and per agency.
    pub rate: crate::http::rate::RateLimits,
}

/// The sealing and approval keys, derived from the shared secret so every replica agrees.
pub struct Seals {
    pub flow: seal::TextSealer,
    pub access_token: seal::TextSealer,
    /// The operator's dashboard session cookie.
    pub operator_session: seal::TextSealer,
    /// The operator sign-in in progress (state, nonce, PKCE verifier).
    pub operator_login: seal::TextSealer,
    approval: aws_lc_rs::hmac::Key,
    /// The single sign-on session's stored value, and the keys naming sessions and their
    /// per-agency `sid`s (see `provider::session`).
    pub session: crate::provider::session::SessionSeals,
}

impl Seals {
    pub fn from_secret(secret: &PairwiseKey) -> Self {
        Seals {
            flow: seal::TextSealer::new("jisr-flow-v1", secret.derive("flow-cookie")),
            access_token: seal::TextSealer::new("jisr-at-v1", secret.derive("access-token")),
            operator_session: seal::TextSealer::new(
                "jisr-ops-session-v1",
                secret.derive("operator-session"),
            ),
            operator_login: seal::TextSealer::new(
                "jisr-ops-login-v1",
                secret.derive("operator-login"),
            ),
            approval: aws_lc_rs::hmac::Key::new(
                aws_lc_rs::hmac::HMAC_SHA256,
                &secret.derive("consent-approval"),
            ),
            session: crate::provider::session::SessionSeals::from_secret(secret),
        }
    }

    /// The code handed to the agency once the citizen approved: `<code>.<time>.<mac>`.
    pub fn approve(&self, code: &str, now: i64) -> String {
        format!("{code}.{now}.{}", self.approval_mac(code, now))
    }

    /// For an approved code: the stored code and when it was approved, if the MAC is ours.
    pub fn approved(&self, presented: &str) -> Option<(String, i64)> {
        let mut parts = presented.split('.');
        let (Some(code), Some(t), Some(mac), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let t: i64 = t.parse().ok()?;
        let expected = self.approval_mac(code, t);
        aws_lc_rs::constant_time::verify_slices_are_equal(expected.as_bytes(), mac.as_bytes())
            .ok()?;
        Some((code.to_owned(), t))
    }

    fn approval_mac(&self, code: &str, t: i64) -> String {
        use base64::Engine;
        let tag = aws_lc_rs::hmac::sign(&self.approval, format!("{code}.{t}").as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag.as_ref())
    }
}

impl Gateway {
    /// Whether the public URL is https (cookies get `Secure`, responses get HSTS).
    pub fn is_https(&self) -> bool {
        self.issuer.starts_with("https://")
    }

    pub fn now(&self) -> i64 {
        (self.clock)()
    }

    /// Reports one flow event to metrics and the audit log.
    pub fn record(&self, event: &crate::ops::Event<'_>) {
        self.ops.record(event, self.now());
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// The policy rule that lets identities from `origin` reach agencies of `destination`,
    /// or why not. The picker asks it to offer a country; the country choice asks it once
    /// per flow and the flow carries the answer to the callback.
    pub fn decide(
        &self,
        origin: CountryCode,
        destination: CountryCode,
    ) -> Result<&Rule, MappingError> {
        if self.mapping.profile(origin).is_none() {
            return Err(MappingError::PairRefused {
                origin,
                destination,
            });
        }
        self.mapping.policy.decide(origin, destination)
    }

    /// Maps a verified national login from `origin` under `rule` for `agency`: the one
    /// mapping step of the login callback and of token exchange, so both release exactly the
    /// same assertion (pairwise subject, claims, LoA against the rule's minimum).
    pub fn map_for(
        &self,
        origin: CountryCode,
        rule: &Rule,
        agency: &crate::config::agencies::Agency,
        claims: &jisr_mapping::NationalClaims,
        context: &jisr_mapping::AuthContext,
    ) -> Result<jisr_mapping::Mapped, MappingError> {
        let Some(profile) = self.mapping.profile(origin) else {
            return Err(MappingError::PairRefused {
                origin,
                destination: agency.country,
            });
        };
        let destination = jisr_mapping::Destination {
            country: agency.country,
            sector: agency.pairwise_sector(),
        };
        jisr_mapping::map_with_rule(profile, rule, claims, context, &destination, &self.pairwise)
    }
}

/// A random URL-safe token of `bytes` random bytes.
pub fn random_token(bytes: usize) -> String {
    use base64::Engine;
    let mut buf = vec![0u8; bytes];
    rand::Rng::fill(&mut rand::rng(), buf.as_mut_slice());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// SHA-256 of a secret token, base64url: store keys never hold the token itself.
pub fn token_key(token: &str) -> String {
    use base64::Engine;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref())
}

/// Why [`Gateway::from_config`] could not build the gateway.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{0}")]
    Upstreams(#[from] crate::upstream::UpstreamError),
    #[error("fleet aggregates: {0}")]
    Fleet(#[from] jisr_store::StoreError),
    #[error("{0}")]
    Audit(#[from] crate::ops::audit::AuditError),
}

impl Gateway {
    /// The one place the gateway's state is built: from a loaded (or, in the demo, made)
    /// configuration, a flow-state store (see `serve::open_store`) and the clock.
    pub fn from_config(
        config: crate::config::Config,
        store: Arc<dyn Store>,
        clock: Clock,
    ) -> Result<Gateway, BuildError> {
        let t = config.tokens;
        let sectors = config
            .agencies
            .iter()
            .map(|a| (a.client_id.clone(), a.sector.clone()))
            .collect();
        let audit =
            crate::ops::audit::Audit::from_settings(config.audit.as_ref(), sectors, clock())?;
        // The upstream clients and the store report to the gateway's metrics.
        let issuer = config.issuer().to_owned();
        let metrics = crate::ops::metrics::Metrics::default();
        let upstreams = Upstreams::with_metrics(config.upstreams, metrics.upstream.clone())?;
        let store = crate::ops::metrics::store::MeteredStore::wrap(store, metrics.store.clone());
        // Dashboard aggregates live where the flow state lives: this replica's memory, or
        // the Redis every replica shares.
        // So do the fleet-wide rate-limit counters (none in memory: each replica counts alone).
        let shared = match &config.store {
            crate::config::StoreSettings::Redis(redis) => {
                Some(Arc::new(jisr_store::RedisStore::new(redis.clone())?))
            }
            _ => None,
        };
        let fleet: Arc<dyn jisr_store::fleet::Fleet> = match &shared {
            Some(redis) => redis.clone(),
            None => Arc::new(jisr_store::fleet::MemoryFleet::default()),
        };
        let counters = shared.map(|redis| redis as Arc<dyn jisr_store::windows::WindowCounters>);
        let rate = crate::http::rate::RateLimits::new(
            &config.rate_limits,
            counters,
            clock.clone(),
            metrics.rate.clone(),
        );
        let gateway = Gateway {
            issuer,
            upstreams,
            seals: Seals::from_secret(&config.pairwise_key),
            pairwise: config.pairwise_key,
            mapping: config.mapping,
            agencies: config.agencies,
            keys: config.keys,
            store,
            ttls: Ttls {
                code: Duration::from_secs(t.code_ttl_secs),
                access_token: Duration::from_secs(t.access_token_ttl_secs),
                id_token: Duration::from_secs(t.id_token_ttl_secs),
                login: Duration::from_secs(t.login_ttl_secs),
                session_idle: Duration::from_secs(config.session.idle_secs),
                session_absolute: Duration::from_secs(config.session.absolute_secs),
            },
            clock,
            ops: crate::ops::Ops {
                metrics,
                audit,
                fleet: crate::ops::fleet::FleetFeed::new(fleet),
                ..crate::ops::Ops::default()
            },
            admin: config.admin,
            logout: crate::provider::session::backchannel::Sender::default(),
            rate,
        };
        // Inside a runtime (serve, the demo): the fleet task starts now, so suspensions are
        // read before the first login; elsewhere it starts with the first event.
        gateway.ops.fleet.start();
        Ok(gateway)
    }
}
