//! The fleet aggregates behave the same in memory and on Redis (random prefix, swept).

use std::sync::Arc;

use jisr_store::RedisStore;
use jisr_store::fleet::{Cell, Counted, Fleet, FleetEvent, MemoryFleet, Suspension, Tally};

use crate::harness::{PrefixGuard, random_prefix, redis_config};

fn event(at: i64, origin: &str, tally: Option<Tally>, reason: Option<&str>) -> FleetEvent {
    FleetEvent {
        at,
        kind: if tally == Some(Tally::Completed) {
            "code_issued"
        } else {
            "refused"
        }
        .into(),
        origin: Some(origin.into()),
        destination: Some("BH".into()),
        agency: Some("demo-agency".into()),
        outcome: if tally == Some(Tally::Refused) {
            "refused"
        } else {
            "ok"
        }
        .into(),
        reason: reason.map(str::to_owned),
        tally,
        operator: None,
    }
}

fn cell(origin: &str, what: Counted) -> Cell {
    Cell {
        origin: origin.into(),
        destination: "BH".into(),
        what,
    }
}

pub(crate) async fn aggregates(fleet: Arc<dyn Fleet>) {
    let t0 = 1_800_000_000; // a whole minute (divisible by 60)
    fleet
        .write(&[
            event(t0 + 1, "SA", Some(Tally::Completed), None),
            event(t0 + 2, "SA", Some(Tally::Completed), None),
            event(t0 + 3, "SA", Some(Tally::Refused), Some("suspended")),
            event(t0 + 4, "SA", None, None),
        ])
        .await
        .unwrap();
    fleet
        .write(&[event(
            t0 + 61,
            "KW",
            Some(Tally::Refused),
            Some("pair_refused"),
        )])
        .await
        .unwrap();
    let window = fleet.window(t0 + 61, 60).await.unwrap();
    assert_eq!(window.minutes.len(), 2, "{window:?}");
    let first = &window.minutes[&t0];
    assert_eq!(first[&cell("SA", Counted::Tally(Tally::Completed))], 2);
    assert_eq!(first[&cell("SA", Counted::Tally(Tally::Refused))], 1);
    assert_eq!(first[&cell("SA", Counted::Reason("suspended".into()))], 1);
    assert_eq!(first.len(), 3, "an event without tally counts nothing");
    let totals = window.totals();
    assert_eq!(
        totals[&cell("KW", Counted::Reason("pair_refused".into()))],
        1
    );
    // A window that ends before the second minute does not see it.
    assert_eq!(fleet.window(t0 + 59, 1).await.unwrap().minutes.len(), 1);

    let latest = fleet.latest(2).await.unwrap();
    assert_eq!(latest.len(), 2);
    assert_eq!(latest[0].origin.as_deref(), Some("KW"), "newest first");
    assert_eq!(latest[1].at, t0 + 4);

    let country = Suspension::Country {
        origin: "SA".into(),
    };
    let pair = Suspension::Pair {
        origin: "KW".into(),
        destination: "BH".into(),
    };
    fleet.set_suspended(&country, true).await.unwrap();
    fleet.set_suspended(&pair, true).await.unwrap();
    fleet.set_suspended(&pair, true).await.unwrap();
    assert_eq!(
        fleet.suspended().await.unwrap(),
        vec![country.clone(), pair.clone()]
    );
    fleet.set_suspended(&country, false).await.unwrap();
    assert_eq!(fleet.suspended().await.unwrap(), vec![pair.clone()]);
    fleet.set_suspended(&pair, false).await.unwrap();
    assert!(fleet.suspended().await.unwrap().is_empty());
}

pub(crate) async fn capped(fleet: Arc<dyn Fleet>) {
    let batch: Vec<FleetEvent> = (0..250)
        .map(|i| event(1_800_000_000 + i, "OM", None, None))
        .collect();
    fleet.write(&batch).await.unwrap();
    let latest = fleet.latest(1000).await.unwrap();
    assert_eq!(latest.len(), jisr_store::fleet::MAX_EVENTS);
    assert_eq!(latest[0].at, 1_800_000_249);
}

#[tokio::test]
async fn fleet_aggregates_memory() {
    aggregates(Arc::new(MemoryFleet::default())).await;
    capped(Arc::new(MemoryFleet::default())).await;
}

#[tokio::test]
async fn fleet_aggregates_redis() {
    for test in [0, 1] {
        let prefix = random_prefix();
        let mut guard = PrefixGuard::new(prefix.clone());
        let store = Arc::new(RedisStore::connect(redis_config(&prefix)).await.unwrap());
        match test {
            0 => aggregates(store).await,
            _ => capped(store).await,
        }
        let left = guard.sweep();
        assert!(!left.is_empty(), "the fleet wrote under the test prefix");
        assert!(left.iter().all(|k| k.starts_with(&prefix)));
    }
}
