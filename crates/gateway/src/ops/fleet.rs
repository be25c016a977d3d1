//! The dashboard's fleet aggregates, fed off the login path: [`FleetFeed::offer`] turns an
//! event into a [`FleetEvent`] (no subject, no flow id) and `try_send`s it into a bounded
//! channel; one background task batches the channel into the [`Fleet`] backend (memory, or
//! Redis shared by the replicas) and refreshes the suspension cache every
//! [`REFRESH_EVERY`]. A full channel never blocks a login: the event is counted as dropped
//! and the dashboard shows the count. The audit log, not this, is the record.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jisr_store::fleet::{Fleet, FleetEvent, Tally};
use tokio::sync::mpsc;

use super::suspend::Suspensions;
use super::{Event, EventKind, Outcome};

/// Events waiting for the writer; beyond this they are dropped (and counted).
pub const CHANNEL_CAPACITY: usize = 4096;
/// Largest batch written in one go (one Redis pipeline).
pub const MAX_BATCH: usize = 256;
/// How often each replica re-reads the suspensions.
pub const REFRESH_EVERY: Duration = Duration::from_secs(2);
/// How often the writer drains the channel into the backend.
pub const DRAIN_EVERY: Duration = Duration::from_millis(100);

/// The dashboard event of a flow event, without anything that identifies the citizen.
pub fn fleet_event(event: &Event<'_>, now: i64) -> FleetEvent {
    let t = event.trail;
    let tally = match event.kind {
        EventKind::CodeIssued => Some(Tally::Completed),
        EventKind::Refused => Some(Tally::Refused),
        _ => None,
    };
    FleetEvent {
        at: now,
        kind: event.kind.name().to_owned(),
        origin: t.origin.map(|c| c.as_str().to_owned()),
        destination: t.destination.map(|c| c.as_str().to_owned()),
        agency: t.client_id.clone(),
        outcome: match event.outcome {
            Outcome::Ok => "ok",
            Outcome::Refused => "refused",
        }
        .to_owned(),
        reason: event.reason.map(str::to_owned),
        tally,
        // Staff, not citizens: only operator actions name who acted.
        operator: (event.kind == EventKind::OperatorAction)
            .then(|| t.operator.clone())
            .flatten(),
    }
}

/// The channel toward the fleet backend and its one writer task.
pub struct FleetFeed {
    backend: Arc<dyn Fleet>,
    tx: mpsc::Sender<FleetEvent>,
    /// Taken by the writer task when it starts (on the first event, inside the runtime).
    rx: Mutex<Option<mpsc::Receiver<FleetEvent>>>,
    /// Whether the writer runs: the login path checks this, not the mutex.
    started: std::sync::atomic::AtomicBool,
    dropped: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    pub suspensions: Arc<Suspensions>,
}

impl Default for FleetFeed {
    /// This replica's aggregates in memory.
    fn default() -> Self {
        FleetFeed::new(Arc::new(jisr_store::fleet::MemoryFleet::default()))
    }
}

impl FleetFeed {
    pub fn new(backend: Arc<dyn Fleet>) -> Self {
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        FleetFeed {
            backend,
            tx,
            rx: Mutex::new(Some(rx)),
            started: std::sync::atomic::AtomicBool::new(false),
            dropped: Arc::default(),
            failed: Arc::default(),
            suspensions: Arc::default(),
        }
    }

    pub fn backend(&self) -> &Arc<dyn Fleet> {
        &self.backend
    }

    /// Queues `event` for the fleet; never waits.
    pub fn offer(&self, event: &Event<'_>, now: i64) {
        self.start();
        match self.tx.try_send(fleet_event(event, now)) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Events dropped because the channel was full (this replica, since start).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Events the backend refused (store unavailable; this replica, since start).
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    /// Starts the writer task once, if there is a runtime to run it on. It ends when the
    /// feed (the gateway) is dropped and the channel closes.
    pub fn start(&self) {
        if self.started.load(Ordering::Acquire) {
            return;
        }
        let mut rx = self.rx.lock().unwrap_or_else(|e| e.into_inner());
        if rx.is_none() {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if let Some(rx) = rx.take() {
            self.started.store(true, Ordering::Release);
            handle.spawn(writer(
                rx,
                self.backend.clone(),
                self.suspensions.clone(),
                self.failed.clone(),
            ));
        }
    }
}

async fn writer(
    mut rx: mpsc::Receiver<FleetEvent>,
    backend: Arc<dyn Fleet>,
    suspensions: Arc<Suspensions>,
    failed: Arc<AtomicU64>,
) {
    // The writer drains the channel on a short tick instead of waiting on it, so a login's
    // events never wake it (no cross-thread wake-up per event on the login path).
    let mut tick = tokio::time::interval(DRAIN_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let reload_every = (REFRESH_EVERY.as_millis() / DRAIN_EVERY.as_millis()).max(1) as u32;
    let mut ticks: u32 = 0;
    loop {
        tick.tick().await;
        if ticks.is_multiple_of(reload_every) {
            suspensions.reload(backend.as_ref()).await;
        }
        ticks = ticks.wrapping_add(1);
        loop {
            let mut batch = Vec::new();
            let mut closed = false;
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(e) => batch.push(e),
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => {
                        closed = true;
                        break;
                    }
                }
            }
            let full = batch.len() == MAX_BATCH;
            if !batch.is_empty()
                && let Err(e) = backend.write(&batch).await
            {
                failed.fetch_add(batch.len() as u64, Ordering::Relaxed);
                tracing::warn!(error = %e, events = batch.len(), "fleet aggregates not written");
            }
            if closed {
                return;
            }
            if !full {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::Trail;
    use jisr_store::fleet::MemoryFleet;

    fn trail() -> Trail {
        Trail {
            flow: Some("flow-secret-id".into()),
            client_id: Some("demo-agency".into()),
            origin: Some("SA".parse().unwrap()),
            destination: Some("BH".parse().unwrap()),
            loa: None,
            subject: Some("hmac-of-the-citizen".into()),
            operator: None,
        }
    }

    #[test]
    fn fleet_events_carry_no_subject_or_flow() {
        let t = trail();
        let e = fleet_event(&Event::ok(EventKind::CodeIssued, &t), 1_800_000_000);
        assert_eq!(e.tally, Some(Tally::Completed));
        assert_eq!(e.origin.as_deref(), Some("SA"));
        assert_eq!(e.agency.as_deref(), Some("demo-agency"));
        let json = serde_json::to_string(&e).unwrap();
        assert!(!json.contains("hmac-of-the-citizen"), "{json}");
        assert!(!json.contains("flow-secret-id"), "{json}");
        let e = fleet_event(&Event::ok(EventKind::Mapped, &t), 0);
        assert_eq!(e.tally, None);
    }

    #[tokio::test]
    async fn fleet_aggregation_counts_completed_and_refused_per_pair() {
        let backend = Arc::new(MemoryFleet::default());
        let feed = FleetFeed::new(backend.clone());
        let t = trail();
        let now = 1_800_000_000;
        feed.offer(&Event::ok(EventKind::CodeIssued, &t), now);
        feed.offer(&Event::ok(EventKind::CodeIssued, &t), now);
        let mut refused = Event::ok(EventKind::Refused, &t);
        refused.outcome = Outcome::Refused;
        refused.reason = Some("suspended");
        feed.offer(&refused, now);
        // The writer drains on its tick (DRAIN_EVERY).
        for _ in 0..100 {
            if backend.latest(10).await.unwrap().len() == 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let totals = backend.window(now, 60).await.unwrap().totals();
        let get = |what: jisr_store::fleet::Counted| {
            totals
                .get(&jisr_store::fleet::Cell {
                    origin: "SA".into(),
                    destination: "BH".into(),
                    what,
                })
                .copied()
        };
        use jisr_store::fleet::Counted;
        assert_eq!(get(Counted::Tally(Tally::Completed)), Some(2));
        assert_eq!(get(Counted::Tally(Tally::Refused)), Some(1));
        assert_eq!(get(Counted::Reason("suspended".into())), Some(1));
        assert_eq!(feed.dropped(), 0);
    }

    #[test]
    fn a_full_channel_drops_and_counts_instead_of_blocking() {
        // No runtime: the writer never starts, so the channel fills.
        let feed = FleetFeed::new(Arc::new(MemoryFleet::default()));
        let t = trail();
        for _ in 0..CHANNEL_CAPACITY + 5 {
            feed.offer(&Event::ok(EventKind::Mapped, &t), 0);
        }
        assert_eq!(feed.dropped(), 5);
    }
}
