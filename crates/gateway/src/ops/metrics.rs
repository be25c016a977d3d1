//! Prometheus metrics (prometheus-client, no global registry).

use jisr_mapping::CountryCode;

use super::Event;
use crate::app::Gateway;

/// The gateway's metrics.
#[derive(Default)]
pub struct Metrics {}

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

impl Metrics {
    /// Counts one flow event.
    pub fn observe(&self, _event: &Event<'_>) {}

    /// The OpenMetrics text exposition, with gauges read from `gw` at scrape time.
    pub fn render(&self, _gw: &Gateway) -> String {
        "# EOF\n".to_owned()
    }

    /// Each configured country's recent upstream latency and errors (this replica).
    pub fn upstream_health(&self) -> Vec<UpstreamHealth> {
        Vec::new()
    }
}
