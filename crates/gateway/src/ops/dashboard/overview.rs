//! What the dashboard shows, as one serialisable value built from the gateway's state: the
//! fleet's last hour per pair, per-minute series, national IdP health, the gateway's keys,
//! store health, suspensions and the latest events. `GET /api/overview` answers it as JSON;
//! the page renders the same value.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use jisr_mapping::Gcc;
use jisr_store::fleet::{Counted, FleetEvent, Suspension, Tally};
use serde::Serialize;

use super::session::{self, Want};
use crate::app::Gateway;
use crate::config::gateway::admin::Role;
use crate::http::response;

/// The matrix and the series cover this many minutes.
pub const WINDOW_MINUTES: i64 = 60;
/// Refusal reasons listed per cell.
pub const TOP_REASONS: usize = 3;
/// Latest events listed.
pub const LATEST_EVENTS: usize = 25;

#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    pub generated_at: i64,
    /// `memory` (this replica only) or `redis` (every replica sharing the store).
    pub scope: &'static str,
    pub window_minutes: i64,
    pub countries: Vec<String>,
    pub matrix: Vec<PairCell>,
    pub series: Vec<PairSeries>,
    pub upstreams: Vec<UpstreamStatus>,
    pub keys: Vec<KeyStatus>,
    pub store: StoreStatus,
    pub suspended: Vec<Suspension>,
    pub events: Vec<FleetEvent>,
    /// Events this replica could not hand to the aggregates (channel full, store down).
    pub replica_dropped: u64,
    pub replica_failed: u64,
    /// Set when the aggregates could not be read.
    pub fleet_error: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PairCell {
    pub origin: String,
    pub destination: String,
    pub completed: u64,
    pub refused: u64,
    pub reasons: Vec<(String, u64)>,
    pub suspended: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct PairSeries {
    pub origin: String,
    pub destination: String,
    /// One point per minute of the window, oldest first: (minute start, completed, refused).
    pub points: Vec<(i64, u64, u64)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UpstreamStatus {
    pub country: String,
    pub ready: bool,
    pub status: Option<String>,
    pub jwks_fetches: u64,
    pub jwks_age_secs: Option<u64>,
    pub key_ids: Vec<String>,
    pub calls: Option<u64>,
    pub errors: Option<u64>,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct KeyStatus {
    pub kid: String,
    pub alg: String,
    pub active: bool,
    /// Not known for keys loaded from PKCS#8 files.
    pub expires_at: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StoreStatus {
    pub ok: bool,
    pub detail: Option<String>,
    pub round_trips: u64,
}

/// Builds the overview from the gateway's state now.
pub async fn build(gw: &Gateway) -> Overview {
    let now = gw.now();
    let fleet = gw.ops.fleet.backend();
    let mut fleet_error = None;
    let window = fleet
        .window(now, WINDOW_MINUTES)
        .await
        .inspect_err(|e| fleet_error = Some(e.to_string()))
        .unwrap_or_default();
    let events = fleet
        .latest(LATEST_EVENTS)
        .await
        .inspect_err(|e| fleet_error = Some(e.to_string()))
        .unwrap_or_default();
    let suspended = gw.ops.fleet.suspensions.list().as_ref().clone();
    let countries: Vec<String> = Gcc::ALL.iter().map(|g| g.code().to_string()).collect();

    // The matrix: every pair with traffic or a suspension.
    let mut cells: BTreeMap<(String, String), PairCell> = BTreeMap::new();
    let blank = |o: &str, d: &str| PairCell {
        origin: o.to_owned(),
        destination: d.to_owned(),
        completed: 0,
        refused: 0,
        reasons: Vec::new(),
        suspended: false,
    };
    for (cell, n) in window.totals() {
        let entry = cells
            .entry((cell.origin.clone(), cell.destination.clone()))
            .or_insert_with(|| blank(&cell.origin, &cell.destination));
        match cell.what {
            Counted::Tally(Tally::Completed) => entry.completed += n,
            Counted::Tally(Tally::Refused) => entry.refused += n,
            Counted::Reason(r) => entry.reasons.push((r, n)),
        }
    }
    for c in cells.values_mut() {
        c.reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        c.reasons.truncate(TOP_REASONS);
        c.suspended = is_suspended(&suspended, &c.origin, &c.destination);
    }

    // Per-minute series of each pair with traffic.
    let last = jisr_store::fleet::minute_of(now);
    let minutes: Vec<i64> = (0..WINDOW_MINUTES)
        .map(|i| last - (WINDOW_MINUTES - 1 - i) * 60)
        .collect();
    let series = cells
        .keys()
        .map(|(o, d)| PairSeries {
            origin: o.clone(),
            destination: d.clone(),
            points: minutes
                .iter()
                .map(|m| {
                    let count = |t: Tally| {
                        window
                            .minutes
                            .get(m)
                            .and_then(|c| {
                                c.get(&jisr_store::fleet::Cell {
                                    origin: o.clone(),
                                    destination: d.clone(),
                                    what: Counted::Tally(t),
                                })
                            })
                            .copied()
                            .unwrap_or(0)
                    };
                    (*m, count(Tally::Completed), count(Tally::Refused))
                })
                .collect(),
        })
        .collect();

    let health = gw.ops.metrics.upstream_health();
    let mut upstreams: Vec<UpstreamStatus> = gw
        .upstreams
        .countries()
        .filter_map(|c| gw.upstreams.get(c).map(|u| (c, u)))
        .map(|(c, u)| {
            let cached = u.jwks().cached();
            let h = health.iter().find(|h| h.country == c);
            UpstreamStatus {
                country: c.to_string(),
                ready: u.is_available(),
                status: u.status().or_else(|| {
                    (!u.is_available()).then(|| {
                        "its authorization endpoint does not answer the gateway's probes".to_owned()
                    })
                }),
                jwks_fetches: u.jwks().fetch_count(),
                jwks_age_secs: cached.as_ref().map(|s| s.age().as_secs()),
                key_ids: cached
                    .map(|s| s.keys.iter().filter_map(|k| k.kid.clone()).collect())
                    .unwrap_or_default(),
                calls: h.map(|h| h.calls),
                errors: h.map(|h| h.errors),
                p50_ms: h.and_then(|h| h.p50_seconds).map(|s| s * 1000.0),
                p95_ms: h.and_then(|h| h.p95_seconds).map(|s| s * 1000.0),
            }
        })
        .collect();
    upstreams.sort_by(|a, b| a.country.cmp(&b.country));

    let active = gw.keys.active_kid().to_owned();
    let jwks = gw.keys.jwks();
    let keys = jwks["keys"]
        .as_array()
        .map(|keys| {
            keys.iter()
                .map(|k| {
                    let kid = k["kid"].as_str().unwrap_or_default().to_owned();
                    KeyStatus {
                        active: kid == active,
                        alg: k["alg"].as_str().unwrap_or_default().to_owned(),
                        kid,
                        expires_at: None,
                    }
                })
                .collect()
        })
        .unwrap_or_default();

    let store_health = gw.store.health().await;
    let store = StoreStatus {
        ok: store_health.is_ok(),
        detail: store_health.err().map(|e| e.to_string()),
        round_trips: gw.store.stats().round_trips,
    };

    Overview {
        generated_at: now,
        scope: fleet.scope(),
        window_minutes: WINDOW_MINUTES,
        countries,
        matrix: cells.into_values().collect(),
        series,
        upstreams,
        keys,
        store,
        suspended,
        events,
        replica_dropped: gw.ops.fleet.dropped(),
        replica_failed: gw.ops.fleet.failed(),
        fleet_error,
    }
}

/// Whether `suspended` stops `origin` → `destination`.
pub fn is_suspended(suspended: &[Suspension], origin: &str, destination: &str) -> bool {
    suspended.iter().any(|s| match s {
        Suspension::Country { origin: o } => o == origin,
        Suspension::Pair {
            origin: o,
            destination: d,
        } => o == origin && d == destination,
    })
}

/// `GET /api/overview`: 401 without a session.
pub async fn api(State(gw): State<Arc<Gateway>>, headers: HeaderMap) -> Response {
    if let Err(denied) = session::require(&gw, &headers, Want::Api, Role::Viewer).await {
        return denied.into_response();
    }
    gw.ops.fleet.start();
    let mut r = Json(build(&gw).await).into_response();
    response::no_store(&mut r);
    r
}
