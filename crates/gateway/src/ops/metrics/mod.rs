//! Prometheus metrics (prometheus-client, no global registry), served on the admin listener.
//!
//! - flow counters, from [`Metrics::observe`] on every [`Event`];
//! - [`upstream`]: calls to national IdPs (the upstream client reports them);
//! - [`store`]: the flow-state store, through a measuring decorator;
//! - [`http`]: requests per listener and route, as a middleware;
//! - gauges read from the gateway at scrape time ([`Metrics::render`]): build, signing keys,
//!   each country's JWKS and readiness, the audit sink.
//!
//! Labels come from configuration and fixed codes only ([`labels`]); `docs/operations.md`
//! lists every metric.

pub mod http;
pub mod labels;
pub mod rate;
pub mod session;
pub mod store;
pub mod upstream;

use std::sync::Arc;

use jisr_mapping::CountryCode;
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::{Event, EventKind, Outcome};
use crate::app::Gateway;
use crate::upstream::UpstreamState;
use labels::{
    Agency, Build, Country, CountryOnly, DestinationAgency, Kid, Pair, Refusal, SigningKey,
    UNKNOWN_AGENCY, Verification,
};

/// The version label of `jisr_build_info`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The commit label of `jisr_build_info`: `JISR_BUILD_COMMIT` at build time, if set.
pub const COMMIT: &str = match option_env!("JISR_BUILD_COMMIT") {
    Some(c) => c,
    None => "unknown",
};

/// Consent decisions, by pair and agency.
#[derive(Debug, Clone, PartialEq, Eq, Hash, prometheus_client::encoding::EncodeLabelSet)]
struct Consent {
    origin: Country,
    destination: Country,
    agency: String,
    decision: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, prometheus_client::encoding::EncodeLabelSet)]
struct FlowEvent {
    event: &'static str,
    outcome: &'static str,
}

/// The gateway's metrics: one registry, built once with the gateway.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    authorizations: Family<DestinationAgency, Counter>,
    started: Family<Pair, Counter>,
    completed: Family<Pair, Counter>,
    refused: Family<Refusal, Counter>,
    tokens: Family<Agency, Counter>,
    userinfo: Family<Agency, Counter>,
    consent: Family<Consent, Counter>,
    verifications: Family<Verification, Counter>,
    operator: Family<labels::Operator, Counter>,
    events: Family<FlowEvent, Counter>,
    /// The `events` series by [`EventKind`] and [`Outcome`], made at start: counting an
    /// event is then one atomic increment, with no label hashing or lock.
    by_event: Vec<[Counter; 2]>,
    /// Calls to national IdPs; shared with the upstream clients.
    pub upstream: Arc<upstream::UpstreamMetrics>,
    /// Store operations; shared with the store decorator.
    pub store: Arc<store::StoreMetrics>,
    /// HTTP requests; shared with the listeners' middleware.
    pub http: Arc<http::HttpMetrics>,
    /// Token exchanges, by pair and agency.
    exchanges: Family<Pair, Counter>,
    /// Introspection and revocation calls, by agency, call and result.
    back_channel: Family<labels::BackChannelCall, Counter>,
    /// Single sign-on, logouts, back-channel logout deliveries.
    session: session::SessionMetrics,
    /// Requests refused over a rate limit; shared with the limiter.
    pub rate: Arc<rate::RateMetrics>,
}

/// How one country's national IdP has answered lately, for the dashboard.
#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamHealth {
    pub country: CountryCode,
    /// Calls (discovery, JWKS, token, userinfo) in the window.
    pub calls: u64,
    /// Of which failed (transport, status, invalid answer, timeout).
    pub errors: u64,
    pub p50_seconds: Option<f64>,
    pub p95_seconds: Option<f64>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut r = Registry::default();
        let m = Metrics {
            authorizations: Family::default(),
            started: Family::default(),
            completed: Family::default(),
            refused: Family::default(),
            tokens: Family::default(),
            userinfo: Family::default(),
            consent: Family::default(),
            verifications: Family::default(),
            operator: Family::default(),
            events: Family::default(),
            by_event: Vec::new(),
            upstream: Arc::default(),
            store: Arc::default(),
            http: Arc::default(),
            session: session::SessionMetrics::default(),
            rate: Arc::default(),
            registry: Registry::default(),
            exchanges: Family::default(),
            back_channel: Family::default(),
        };
        // Counters get `_total` from the encoder.
        r.register(
            "jisr_authorizations",
            "Authorization requests accepted (client, redirect URI and PKCE good)",
            m.authorizations.clone(),
        );
        r.register(
            "jisr_logins_started",
            "Logins whose citizen chose a country and was sent to its national IdP",
            m.started.clone(),
        );
        r.register(
            "jisr_logins_completed",
            "Logins that ended with an authorization code sent to the agency",
            m.completed.clone(),
        );
        r.register(
            "jisr_logins_refused",
            "Flows or back-channel requests refused, by fixed reason code",
            m.refused.clone(),
        );
        r.register(
            "jisr_tokens_issued",
            "Authorization codes redeemed at /token (ID and access token issued)",
            m.tokens.clone(),
        );
        r.register(
            "jisr_userinfo_requests",
            "Claims read by agencies at /userinfo",
            m.userinfo.clone(),
        );
        r.register(
            "jisr_consent_decisions",
            "Citizens' consent decisions (given or declined)",
            m.consent.clone(),
        );
        r.register(
            "jisr_id_token_verifications",
            "National ID tokens verified or refused, by fixed reason code",
            m.verifications.clone(),
        );
        r.register(
            "jisr_operator_actions",
            "Operator actions (suspend, resume)",
            m.operator.clone(),
        );
        r.register(
            "jisr_flow_events",
            "Every flow event by kind and outcome",
            m.events.clone(),
        );
        r.register(
            "jisr_upstream_requests",
            "HTTP calls to national IdPs by country, call and outcome",
            m.upstream.requests.clone(),
        );
        r.register(
            "jisr_upstream_request_duration_seconds",
            "Duration of HTTP calls to national IdPs",
            m.upstream.duration.clone(),
        );
        r.register(
            "jisr_store_operations",
            "Flow-state store operations by op and outcome",
            m.store.operations.clone(),
        );
        r.register(
            "jisr_store_operation_duration_seconds",
            "Duration of flow-state store operations",
            m.store.duration.clone(),
        );
        r.register(
            "jisr_http_requests",
            "HTTP requests by listener, matched route and status",
            m.http.requests.clone(),
        );
        r.register(
            "jisr_http_request_duration_seconds",
            "Duration of HTTP requests by listener and matched route",
            m.http.duration.clone(),
        );
        r.register(
            "jisr_token_exchanges",
            "National ID tokens exchanged for the shared assertion at /token (RFC 8693)",
            m.exchanges.clone(),
        );
        r.register(
            "jisr_back_channel_requests",
            "Introspection (RFC 7662) and revocation (RFC 7009) requests by agency and result",
            m.back_channel.clone(),
        );
        m.session.register(&mut r);
        m.rate.register(&mut r);
        let by_event = EventKind::ALL
            .iter()
            .map(|kind| {
                [Outcome::Ok, Outcome::Refused].map(|outcome| {
                    m.events
                        .get_or_create(&FlowEvent {
                            event: kind.name(),
                            outcome: outcome.name(),
                        })
                        .clone()
                })
            })
            .collect();
        Metrics {
            registry: r,
            by_event,
            ..m
        }
    }
}

fn agency(client_id: &Option<String>) -> String {
    client_id
        .clone()
        .unwrap_or_else(|| UNKNOWN_AGENCY.to_owned())
}

impl Metrics {
    /// Counts one flow event: a few atomic increments and label lookups, no IO.
    pub fn observe(&self, event: &Event<'_>) {
        let t = event.trail;
        let origin = Country(t.origin);
        let destination = Country(t.destination);
        match self.by_event.get(event.kind as usize) {
            Some(counters) => counters[event.outcome as usize].inc(),
            // A kind missing from `EventKind::ALL`: counted the slow way.
            None => self
                .events
                .get_or_create(&FlowEvent {
                    event: event.kind.name(),
                    outcome: event.outcome.name(),
                })
                .inc(),
        };
        match event.kind {
            EventKind::AuthorizationAccepted => {
                self.authorizations
                    .get_or_create(&DestinationAgency {
                        destination,
                        agency: agency(&t.client_id),
                    })
                    .inc();
            }
            EventKind::CountryChosen => {
                self.started
                    .get_or_create(&Pair {
                        origin,
                        destination,
                        agency: agency(&t.client_id),
                    })
                    .inc();
            }
            EventKind::CodeIssued => {
                self.completed
                    .get_or_create(&Pair {
                        origin,
                        destination,
                        agency: agency(&t.client_id),
                    })
                    .inc();
            }
            EventKind::Refused => {
                self.refused
                    .get_or_create(&Refusal {
                        origin,
                        destination,
                        agency: agency(&t.client_id),
                        reason: event.reason.unwrap_or("unspecified"),
                    })
                    .inc();
            }
            EventKind::CodeRedeemed => {
                self.tokens
                    .get_or_create(&Agency {
                        agency: agency(&t.client_id),
                    })
                    .inc();
            }
            EventKind::Userinfo => {
                self.userinfo
                    .get_or_create(&Agency {
                        agency: agency(&t.client_id),
                    })
                    .inc();
            }
            EventKind::ConsentGiven | EventKind::ConsentDeclined => {
                self.consent
                    .get_or_create(&Consent {
                        origin,
                        destination,
                        agency: agency(&t.client_id),
                        decision: if event.kind == EventKind::ConsentGiven {
                            "given"
                        } else {
                            "declined"
                        },
                    })
                    .inc();
            }
            EventKind::NationalTokenVerified | EventKind::NationalTokenRefused => {
                let ok =
                    event.outcome == Outcome::Ok && event.kind == EventKind::NationalTokenVerified;
                self.verifications
                    .get_or_create(&Verification {
                        country: origin,
                        outcome: if ok { "ok" } else { "refused" },
                        reason: event.reason.unwrap_or("none"),
                    })
                    .inc();
            }
            EventKind::OperatorAction => {
                self.operator
                    .get_or_create(&labels::Operator {
                        action: event.reason.unwrap_or("unspecified"),
                    })
                    .inc();
            }
            EventKind::Mapped | EventKind::PolicyDecision => {}
            EventKind::TokenExchanged => {
                self.exchanges
                    .get_or_create(&Pair {
                        origin,
                        destination,
                        agency: agency(&t.client_id),
                    })
                    .inc();
            }
            EventKind::Introspected | EventKind::Revoked => {
                self.back_channel
                    .get_or_create(&labels::BackChannelCall {
                        agency: agency(&t.client_id),
                        call: if event.kind == EventKind::Revoked {
                            "revoke"
                        } else {
                            "introspect"
                        },
                        result: event.reason.unwrap_or("none"),
                    })
                    .inc();
            }
            EventKind::SessionReused | EventKind::LoggedOut | EventKind::BackchannelLogout => {
                self.session.observe(event)
            }
        }
    }

    /// The OpenMetrics text exposition, with gauges read from `gw` at scrape time.
    pub fn render(&self, gw: &Gateway) -> String {
        let mut out = String::with_capacity(16 * 1024);
        let scrape = scrape_time(gw);
        // Writing to a String cannot fail.
        let _ = encode_registry(&mut out, &self.registry);
        let _ = encode_registry(&mut out, &scrape);
        let _ = encode_eof(&mut out);
        out
    }

    /// The same exposition in the Prometheus text format 0.0.4, for scrapers and tools that
    /// do not speak OpenMetrics (`promtool check metrics`, older agents).
    pub fn render_text(&self, gw: &Gateway) -> String {
        to_prometheus_text(&self.render(gw))
    }

    /// Each configured country's recent upstream latency and errors (this replica).
    pub fn upstream_health(&self) -> Vec<UpstreamHealth> {
        self.upstream.health()
    }
}

/// OpenMetrics → Prometheus text 0.0.4: a counter family's `# HELP`/`# TYPE` name its
/// samples (`…_total`), and `# UNIT` and `# EOF` go. The sample lines are the same.
fn to_prometheus_text(open_metrics: &str) -> String {
    let mut out = String::with_capacity(open_metrics.len());
    let mut help: Option<&str> = None;
    for line in open_metrics.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            if let Some(h) = help.replace(rest) {
                push_line(&mut out, &["# HELP ", h]);
            }
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let counter = rest
                .strip_suffix(" counter")
                .filter(|name| !name.ends_with("_total"));
            match counter {
                Some(name) => {
                    if let Some(h) = help.take() {
                        let text = h.strip_prefix(name).unwrap_or(h);
                        push_line(&mut out, &["# HELP ", name, "_total", text]);
                    }
                    push_line(&mut out, &["# TYPE ", name, "_total counter"]);
                }
                None => {
                    if let Some(h) = help.take() {
                        push_line(&mut out, &["# HELP ", h]);
                    }
                    push_line(&mut out, &[line]);
                }
            }
        } else if !(line.starts_with("# UNIT ") || line == "# EOF") {
            push_line(&mut out, &[line]);
        }
    }
    if let Some(h) = help {
        push_line(&mut out, &["# HELP ", h]);
    }
    out
}

fn push_line(out: &mut String, parts: &[&str]) {
    for p in parts {
        out.push_str(p);
    }
    out.push('\n');
}

/// A registry of gauges read from the gateway now: build, keys, JWKS, readiness, audit.
fn scrape_time(gw: &Gateway) -> Registry {
    let mut r = Registry::default();

    let build: Family<Build, Gauge> = Family::default();
    build
        .get_or_create(&Build {
            version: VERSION,
            commit: COMMIT,
        })
        .set(1);
    r.register(
        "jisr_build_info",
        "The running build (value 1): version and commit",
        build,
    );

    let key_info: Family<SigningKey, Gauge> = Family::default();
    let key_expiry: Family<Kid, Gauge> = Family::default();
    for key in gw.keys.inventory() {
        key_info
            .get_or_create(&SigningKey {
                kid: key.kid.clone(),
                alg: crate::alg::name(key.alg),
                active: if key.active { "true" } else { "false" },
            })
            .set(1);
        if let Some(at) = key.expires_at {
            key_expiry.get_or_create(&Kid { kid: key.kid }).set(at);
        }
    }
    r.register(
        "jisr_signing_key_info",
        "The gateway's signing keys (value 1); active=true signs new tokens",
        key_info,
    );
    r.register(
        "jisr_signing_key_expiry_timestamp_seconds",
        "When a signing key is to be retired ([keys] expires), seconds since the epoch",
        key_expiry,
    );

    let up: Family<CountryOnly, Gauge> = Family::default();
    let state: Family<labels::UpstreamStateLabel, Gauge> = Family::default();
    let jwks_keys: Family<CountryOnly, Gauge> = Family::default();
    let jwks_age: Family<CountryOnly, Gauge<f64, std::sync::atomic::AtomicU64>> = Family::default();
    let jwks_ok: Family<CountryOnly, Gauge> = Family::default();
    let jwks_failures: Family<CountryOnly, Counter> = Family::default();
    let mut countries: Vec<CountryCode> = gw.upstreams.countries().collect();
    countries.sort();
    for c in countries {
        let Some(u) = gw.upstreams.get(c) else {
            continue;
        };
        let l = CountryOnly {
            country: Country(Some(c)),
        };
        let (s, _) = u.state();
        let status = u.jwks().status();
        // Down covers no discovery, no usable JWKS after a fetch, and not answering; a JWKS
        // not fetched yet (no login to that country since start) is not a fault.
        up.get_or_create(&l)
            .set(i64::from(s != UpstreamState::Down));
        for candidate in [
            UpstreamState::Ok,
            UpstreamState::Degraded,
            UpstreamState::Down,
        ] {
            state
                .get_or_create(&labels::UpstreamStateLabel {
                    country: Country(Some(c)),
                    state: candidate.name(),
                })
                .set(i64::from(candidate == s));
        }
        jwks_keys
            .get_or_create(&l)
            .set(status.keys.map_or(0, |n| n as i64));
        if let Some(age) = status.age {
            jwks_age.get_or_create(&l).set(age.as_secs_f64());
        }
        jwks_ok.get_or_create(&l).set(i64::from(
            status.keys.is_some() && !status.last_refresh_failed,
        ));
        jwks_failures.get_or_create(&l).inc_by(status.failures);
    }
    r.register(
        "jisr_upstream_up",
        "1 when the national IdP is discovered, its JWKS usable (or not needed yet) and it answers",
        up,
    );
    r.register(
        "jisr_upstream_state",
        "The national IdP's state (ok, degraded, down) as in /readyz: 1 for the current one",
        state,
    );
    r.register(
        "jisr_jwks_keys",
        "Usable keys in the cached JWKS of the national IdP (0 before the first fetch)",
        jwks_keys,
    );
    r.register(
        "jisr_jwks_age_seconds",
        "Seconds since the cached JWKS was fetched",
        jwks_age,
    );
    r.register(
        "jisr_jwks_last_refresh_ok",
        "1 when the JWKS is cached and its last refresh succeeded",
        jwks_ok,
    );
    r.register(
        "jisr_jwks_refresh_failures",
        "JWKS refreshes that failed since start",
        jwks_failures,
    );

    let audit = AuditGauges::read(gw);
    let records: Counter = Counter::default();
    records.inc_by(audit.records);
    let failures: Counter = Counter::default();
    failures.inc_by(audit.sink_failures);
    let dropped: Counter = Counter::default();
    dropped.inc_by(audit.dropped);
    let buffered: Gauge = Gauge::default();
    buffered.set(audit.buffered);
    let sink_up: Gauge = Gauge::default();
    sink_up.set(i64::from(audit.sink_up));
    r.register("jisr_audit_records", "Audit records written", records);
    r.register(
        "jisr_audit_sink_failures",
        "Audit records the sink could not take",
        failures,
    );
    r.register(
        "jisr_audit_records_dropped",
        "Audit records lost because the buffer was full (each also logged as an error)",
        dropped,
    );
    r.register(
        "jisr_audit_buffered_records",
        "Audit records waiting for the sink",
        buffered,
    );
    r.register(
        "jisr_audit_sink_up",
        "1 when the audit sink takes records",
        sink_up,
    );
    r
}

/// What the audit log reports about its sink. The audit writer exposes no counters yet, so
/// this reads as a healthy, idle sink until it does (see `docs/operations.md`).
struct AuditGauges {
    records: u64,
    sink_failures: u64,
    dropped: u64,
    buffered: i64,
    sink_up: bool,
}

impl AuditGauges {
    /// The audit log's own counters; without an audit log, nothing written and nothing
    /// failing (the sink is not down, there is none).
    fn read(gw: &Gateway) -> Self {
        match gw.ops.audit.counters() {
            Some(c) => AuditGauges {
                records: c.written(),
                sink_failures: c.failures(),
                dropped: c.dropped(),
                buffered: i64::try_from(c.buffered()).unwrap_or(i64::MAX),
                sink_up: c.healthy(),
            },
            None => AuditGauges {
                records: 0,
                sink_failures: 0,
                dropped: 0,
                buffered: 0,
                sink_up: true,
            },
        }
    }
}

#[cfg(test)]
mod tests;
