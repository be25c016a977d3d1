//! Rate-limit metrics: requests refused over a limit, by route group and by what was counted
//! (`address` or `client`), and the fleet counters' health. Fixed codes only: never an
//! address or a client id.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, PartialEq, Eq, Hash, prometheus_client::encoding::EncodeLabelSet)]
struct Refused {
    /// `authorize`, `token`, `introspect`, `userinfo`, `pages`.
    route: &'static str,
    /// `address` or `client`.
    by: &'static str,
}

#[derive(Debug, Default)]
pub struct RateMetrics {
    refused: Family<Refused, Counter>,
    sync_failures: Counter,
    overflow: Counter,
}

impl RateMetrics {
    pub fn register(&self, r: &mut Registry) {
        r.register(
            "jisr_rate_limited",
            "Requests refused with 429 over a rate limit, by route group and what was counted",
            self.refused.clone(),
        );
        r.register(
            "jisr_rate_limit_sync_failures",
            "Failed updates of the fleet's rate-limit counters in the store (this replica's own limits still applied)",
            self.sync_failures.clone(),
        );
        r.register(
            "jisr_rate_limit_overflow",
            "Requests counted by this replica only because it already tracked the most fleet counters it keeps",
            self.overflow.clone(),
        );
    }

    pub fn refused(&self, route: &'static str, by: &'static str) {
        self.refused.get_or_create(&Refused { route, by }).inc();
    }

    pub fn sync_failed(&self) {
        self.sync_failures.inc();
    }

    pub fn overflow(&self) {
        self.overflow.inc();
    }
}
