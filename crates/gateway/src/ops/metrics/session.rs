//! Session metrics: single sign-on reuses, logouts, and back-channel logout deliveries.
//! Labels are agency ids from configuration and fixed codes only.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

use super::labels::{Country, Pair};
use super::{Event, EventKind, agency};

#[derive(Debug, Clone, PartialEq, Eq, Hash, prometheus_client::encoding::EncodeLabelSet)]
struct Logout {
    origin: Country,
    agency: String,
    /// Who ended the session: `rp_initiated`, `national`, `replaced`.
    initiator: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, prometheus_client::encoding::EncodeLabelSet)]
struct Backchannel {
    agency: String,
    /// `delivered`, `rejected` (the agency answered an error), `failed`, `timeout`.
    outcome: &'static str,
}

/// The session counters, registered with the gateway's registry.
#[derive(Debug, Default)]
pub struct SessionMetrics {
    reused: Family<Pair, Counter>,
    logouts: Family<Logout, Counter>,
    backchannel: Family<Backchannel, Counter>,
}

impl SessionMetrics {
    pub fn register(&self, r: &mut Registry) {
        r.register(
            "jisr_sessions_reused",
            "Sign-ins to an agency through single sign-on (no national login)",
            self.reused.clone(),
        );
        r.register(
            "jisr_logouts",
            "Gateway sessions ended, by the agency that asked (or the national IdP)",
            self.logouts.clone(),
        );
        r.register(
            "jisr_backchannel_logout",
            "Back-channel logout tokens sent to agencies, by outcome",
            self.backchannel.clone(),
        );
    }

    /// Counts a session event; other kinds are not this family's.
    pub fn observe(&self, event: &Event<'_>) {
        let t = event.trail;
        match event.kind {
            EventKind::SessionReused => {
                self.reused
                    .get_or_create(&Pair {
                        origin: Country(t.origin),
                        destination: Country(t.destination),
                        agency: agency(&t.client_id),
                    })
                    .inc();
            }
            EventKind::LoggedOut => {
                self.logouts
                    .get_or_create(&Logout {
                        origin: Country(t.origin),
                        agency: agency(&t.client_id),
                        initiator: event.reason.unwrap_or("unspecified"),
                    })
                    .inc();
            }
            EventKind::BackchannelLogout => {
                self.backchannel
                    .get_or_create(&Backchannel {
                        agency: agency(&t.client_id),
                        outcome: event.reason.unwrap_or("unspecified"),
                    })
                    .inc();
            }
            _ => {}
        }
    }
}
