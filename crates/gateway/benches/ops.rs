//! What metrics cost one complete login, piece by piece, to compare with the gateway's CPU
//! per login (`docs/performance.md`):
//!
//! - `login_events`: the flow events of one login through `Metrics::observe` (authorization,
//!   country, national token, mapped, policy, consent, code, token, userinfo).
//! - `http_requests`: the HTTP middleware's counting for the six requests of a login.
//! - `upstream_calls`: the two calls to the national IdP (token, userinfo).
//! - `store_get_metered` / `store_get_bare`: one store `get` through the measuring decorator
//!   and without it (a login makes about six store calls).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use jisr_gateway::ops::metrics::Metrics;
use jisr_gateway::ops::metrics::store::MeteredStore;
use jisr_gateway::ops::metrics::upstream::CallOutcome;
use jisr_gateway::ops::{Event, EventKind, Trail};
use jisr_store::{MemoryStore, Store};

const LOGIN: [EventKind; 9] = [
    EventKind::AuthorizationAccepted,
    EventKind::CountryChosen,
    EventKind::NationalTokenVerified,
    EventKind::Mapped,
    EventKind::PolicyDecision,
    EventKind::ConsentGiven,
    EventKind::CodeIssued,
    EventKind::CodeRedeemed,
    EventKind::Userinfo,
];

const ROUTES: [&str; 6] = [
    "/authorize",
    "/login/country",
    "/callback/{cc}",
    "/consent",
    "/token",
    "/userinfo",
];

fn bench(c: &mut Criterion) {
    let metrics = Metrics::default();
    let trail = Trail {
        flow: Some("0123456789abcdef0123456789abcdef".into()),
        client_id: Some("moh-bahrain".into()),
        origin: Some("SA".parse().unwrap()),
        destination: Some("BH".parse().unwrap()),
        ..Trail::default()
    };
    c.bench_function("login_events", |b| {
        b.iter(|| {
            for kind in LOGIN {
                metrics.observe(black_box(&Event::ok(kind, &trail)));
            }
        })
    });
    c.bench_function("http_requests", |b| {
        b.iter(|| {
            for route in ROUTES {
                let started = Instant::now();
                metrics.http.record(
                    "public",
                    black_box(route).to_owned(),
                    200,
                    started.elapsed().as_secs_f64(),
                );
            }
        })
    });
    let sa = "SA".parse().unwrap();
    metrics.upstream.register(sa);
    c.bench_function("upstream_calls", |b| {
        b.iter(|| {
            for call in ["token", "userinfo"] {
                metrics.upstream.call(
                    sa,
                    black_box(call),
                    Duration::from_millis(3),
                    CallOutcome::Ok,
                );
            }
        })
    });

    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let bare: Arc<dyn Store> = Arc::new(MemoryStore::default());
    let metered = MeteredStore::wrap(bare.clone(), metrics.store.clone());
    rt.block_on(bare.put("k", b"value", Duration::from_secs(600)))
        .unwrap();
    c.bench_function("store_get_bare", |b| {
        b.iter(|| rt.block_on(bare.get(black_box("k"))).unwrap())
    });
    c.bench_function("store_get_metered", |b| {
        b.iter(|| rt.block_on(metered.get(black_box("k"))).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
