//! Operators' side of the gateway. Each login step reports [`events::Event`]s to
//! [`Ops::record`], which counts them ([`metrics`]) and writes them to the audit log
//! ([`audit`]) and feeds the dashboard's fleet aggregates ([`fleet`]); [`health`] answers
//! liveness and readiness; [`admin`] is the operators' listener (metrics, health, and the
//! [`dashboard`]); [`suspend`] is each replica's copy of the suspended countries and pairs.

pub mod admin;
pub mod audit;
pub mod dashboard;
pub mod events;
pub mod fleet;
pub mod health;
pub mod metrics;
pub mod suspend;

pub use events::{Event, EventKind, Outcome, Trail};

/// What watches the flows: metrics and the audit log, built once with the gateway.
#[derive(Default)]
pub struct Ops {
    pub metrics: metrics::Metrics,
    pub audit: audit::Audit,
    /// The dashboard's aggregates (off the login path) and the suspension cache.
    pub fleet: fleet::FleetFeed,
    /// Operator sign-in state (the operator IdP client, built on first use).
    pub dashboard: dashboard::Dashboard,
    /// Set when the replica is shutting down: `/readyz` answers 503 so the load balancer
    /// drains it while it still serves (`server.drain_secs`).
    pub draining: std::sync::atomic::AtomicBool,
}

impl Ops {
    /// Counts `event` and writes it to the audit log. Never fails the step: an audit sink
    /// that cannot take the record is reported by [`audit::Audit`] itself (loudly, and by
    /// refusing new logins when so configured).
    pub fn record(&self, event: &Event<'_>, now: i64) {
        self.metrics.observe(event);
        self.audit.append(event, now);
        self.fleet.offer(event, now);
    }
}
