//! [`MemoryFleet`]: one replica's aggregates, in process memory, bounded by
//! [`super::KEEP_MINUTES`] and [`super::MAX_EVENTS`].

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;

use super::{Cell, Fleet, FleetEvent, FleetWindow, KEEP_MINUTES, MAX_EVENTS, Suspension};
use super::{cells_of, minute_of};
use crate::StoreError;

/// This replica's fleet view.
#[derive(Default)]
pub struct MemoryFleet {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    minutes: BTreeMap<i64, BTreeMap<Cell, u64>>,
    events: VecDeque<FleetEvent>,
    suspended: BTreeSet<Suspension>,
}

impl MemoryFleet {
    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl Fleet for MemoryFleet {
    async fn write(&self, batch: &[FleetEvent]) -> Result<(), StoreError> {
        let mut inner = self.inner();
        for event in batch {
            let minute = minute_of(event.at);
            for cell in cells_of(event) {
                *inner
                    .minutes
                    .entry(minute)
                    .or_default()
                    .entry(cell)
                    .or_insert(0) += 1;
            }
            inner.events.push_front(event.clone());
            inner.events.truncate(MAX_EVENTS);
        }
        if let Some(newest) = batch.iter().map(|e| minute_of(e.at)).max() {
            let oldest_kept = newest - KEEP_MINUTES * 60;
            inner.minutes.retain(|m, _| *m > oldest_kept);
        }
        Ok(())
    }

    async fn window(&self, now: i64, minutes: i64) -> Result<FleetWindow, StoreError> {
        let last = minute_of(now);
        let first = last - (minutes.clamp(1, KEEP_MINUTES) - 1) * 60;
        let inner = self.inner();
        Ok(FleetWindow {
            minutes: inner
                .minutes
                .range(first..=last)
                .map(|(m, c)| (*m, c.clone()))
                .collect(),
        })
    }

    async fn latest(&self, n: usize) -> Result<Vec<FleetEvent>, StoreError> {
        Ok(self.inner().events.iter().take(n).cloned().collect())
    }

    async fn set_suspended(&self, what: &Suspension, on: bool) -> Result<(), StoreError> {
        let mut inner = self.inner();
        if on {
            inner.suspended.insert(what.clone());
        } else {
            inner.suspended.remove(what);
        }
        Ok(())
    }

    async fn suspended(&self) -> Result<Vec<Suspension>, StoreError> {
        Ok(self.inner().suspended.iter().cloned().collect())
    }

    fn scope(&self) -> &'static str {
        "memory"
    }
}
