//! What the upstream client reports about its calls to national IdPs: a counter and a
//! latency histogram per country and call, and a short in-memory window per country for the
//! dashboard's p50/p95 ([`UpstreamMetrics::health`]). The upstream module holds an
//! `Arc<UpstreamMetrics>` (it never sees the `Gateway`) and calls [`UpstreamMetrics::call`]
//! from its one HTTP function.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use jisr_mapping::CountryCode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;

use super::UpstreamHealth;
use super::labels::{Country, UpstreamCall, UpstreamKind};

/// How far back [`UpstreamMetrics::health`] looks.
pub const WINDOW: Duration = Duration::from_secs(300);
/// Most samples kept per country in the window (older ones are dropped first).
const MAX_SAMPLES: usize = 2048;

/// Latency buckets for calls to national IdPs, in seconds.
pub const UPSTREAM_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How one call to a national IdP ended, as a fixed label value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    /// An HTTP answer below 400.
    Ok,
    /// An HTTP answer of 400 or more.
    HttpError,
    /// No answer within the timeout.
    Timeout,
    /// Connection refused or reset, TLS failure, unreadable or oversized body.
    Transport,
}

impl CallOutcome {
    pub const fn name(self) -> &'static str {
        match self {
            CallOutcome::Ok => "ok",
            CallOutcome::HttpError => "http_error",
            CallOutcome::Timeout => "timeout",
            CallOutcome::Transport => "transport_error",
        }
    }

    pub const ALL: [CallOutcome; 4] = [
        CallOutcome::Ok,
        CallOutcome::HttpError,
        CallOutcome::Timeout,
        CallOutcome::Transport,
    ];

    /// Whether the IdP failed to answer at all (not even with an error status).
    pub fn unreachable(self) -> bool {
        matches!(self, CallOutcome::Timeout | CallOutcome::Transport)
    }
}

/// The calls the upstream client makes, as label values.
pub const CALLS: [&str; 4] = ["discovery", "jwks", "token", "userinfo"];

#[derive(Debug, Clone, Copy)]
struct Sample {
    at: Instant,
    seconds: f64,
    outcome: CallOutcome,
}

/// The recorder shared by every country's upstream client.
#[derive(Debug)]
pub struct UpstreamMetrics {
    pub(super) requests: Family<UpstreamCall, Counter>,
    pub(super) duration: Family<UpstreamKind, Histogram>,
    recent: Mutex<HashMap<CountryCode, VecDeque<Sample>>>,
}

impl Default for UpstreamMetrics {
    fn default() -> Self {
        UpstreamMetrics {
            requests: Family::default(),
            duration: Family::new_with_constructor(|| Histogram::new(UPSTREAM_BUCKETS)),
            recent: Mutex::new(HashMap::new()),
        }
    }
}

impl UpstreamMetrics {
    /// Announces a configured country, so its series exist (at zero) before its first call
    /// and [`UpstreamMetrics::health`] lists it.
    pub fn register(&self, country: CountryCode) {
        let c = Country(Some(country));
        for call in CALLS {
            for outcome in CallOutcome::ALL {
                let _ = self.requests.get_or_create(&UpstreamCall {
                    country: c,
                    call,
                    outcome: outcome.name(),
                });
            }
            let _ = self
                .duration
                .get_or_create(&UpstreamKind { country: c, call });
        }
        self.with_recent(|recent| {
            recent.entry(country).or_default();
        });
    }

    /// Records one call of kind `call` (one of [`CALLS`]) to `country`'s IdP.
    pub fn call(
        &self,
        country: CountryCode,
        call: &'static str,
        elapsed: Duration,
        outcome: CallOutcome,
    ) {
        let c = Country(Some(country));
        let seconds = elapsed.as_secs_f64();
        self.requests
            .get_or_create(&UpstreamCall {
                country: c,
                call,
                outcome: outcome.name(),
            })
            .inc();
        self.duration
            .get_or_create(&UpstreamKind { country: c, call })
            .observe(seconds);
        let now = Instant::now();
        self.with_recent(|recent| {
            let samples = recent.entry(country).or_default();
            if samples.len() >= MAX_SAMPLES {
                samples.pop_front();
            }
            samples.push_back(Sample {
                at: now,
                seconds,
                outcome,
            });
        });
    }

    /// The outcome of the most recent call to `country`'s IdP within the window.
    pub fn last_outcome(&self, country: CountryCode) -> Option<CallOutcome> {
        self.with_recent(|recent| {
            recent
                .get(&country)
                .and_then(|s| s.back())
                .filter(|s| s.at.elapsed() < WINDOW)
                .map(|s| s.outcome)
        })
    }

    /// Calls, errors and p50/p95 per country over the last [`WINDOW`] (this replica).
    pub fn health(&self) -> Vec<UpstreamHealth> {
        let mut out = self.with_recent(|recent| {
            recent
                .iter_mut()
                .map(|(country, samples)| {
                    while samples.front().is_some_and(|s| s.at.elapsed() >= WINDOW) {
                        samples.pop_front();
                    }
                    let mut secs: Vec<f64> = samples.iter().map(|s| s.seconds).collect();
                    secs.sort_by(f64::total_cmp);
                    UpstreamHealth {
                        country: *country,
                        calls: samples.len() as u64,
                        errors: samples
                            .iter()
                            .filter(|s| s.outcome != CallOutcome::Ok)
                            .count() as u64,
                        p50_seconds: quantile(&secs, 0.50),
                        p95_seconds: quantile(&secs, 0.95),
                    }
                })
                .collect::<Vec<_>>()
        });
        out.sort_by_key(|h| h.country);
        out
    }

    fn with_recent<T>(
        &self,
        f: impl FnOnce(&mut HashMap<CountryCode, VecDeque<Sample>>) -> T,
    ) -> T {
        let mut guard = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }
}

/// The nearest-rank quantile of sorted values.
fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted
        .get(rank.saturating_sub(1).min(sorted.len() - 1))
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_lists_registered_countries_with_quantiles() {
        let m = UpstreamMetrics::default();
        let sa: CountryCode = "SA".parse().unwrap();
        let om: CountryCode = "OM".parse().unwrap();
        m.register(sa);
        m.register(om);
        for ms in 1..=100 {
            m.call(sa, "token", Duration::from_millis(ms), CallOutcome::Ok);
        }
        m.call(sa, "jwks", Duration::from_millis(5), CallOutcome::Transport);
        let h = m.health();
        assert_eq!(h.len(), 2);
        let om_h = h.iter().find(|h| h.country == om).unwrap();
        assert_eq!((om_h.calls, om_h.errors, om_h.p50_seconds), (0, 0, None));
        let sa_h = h.iter().find(|h| h.country == sa).unwrap();
        assert_eq!((sa_h.calls, sa_h.errors), (101, 1));
        assert_eq!(sa_h.p50_seconds, Some(0.050));
        assert_eq!(sa_h.p95_seconds, Some(0.095));
        assert_eq!(m.last_outcome(sa), Some(CallOutcome::Transport));
        assert_eq!(m.last_outcome(om), None);
    }

    #[test]
    fn quantile_nearest_rank() {
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(quantile(&[1.0], 0.95), Some(1.0));
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0], 0.5), Some(2.0));
    }
}
