//! Fleet aggregates for the operators' dashboard: per-minute login counters per country pair
//! (completed, refused, refusal reasons), a capped list of the latest events, and the
//! suspended countries and pairs. [`MemoryFleet`] holds one replica's view; the Redis backend
//! ([`crate::RedisStore`] implements [`Fleet`]) shares it across replicas.
//!
//! Nothing here carries personal data: countries, agency ids and fixed codes only. These are
//! dashboard aggregates, not the record: a lost batch is a gap in a chart (the audit log is
//! the record).

mod memory;

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::StoreError;

pub use memory::MemoryFleet;

/// Minute buckets are kept this long (the dashboard shows the last hour).
pub const KEEP_MINUTES: i64 = 120;
/// The latest-events list is capped at this many entries.
pub const MAX_EVENTS: usize = 200;

/// How an event counts in the pair matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tally {
    /// A login completed (a code went back to the agency).
    Completed,
    /// A login was refused.
    Refused,
}

/// One event as the dashboard keeps it: no subject, no flow id, no personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetEvent {
    /// Seconds since the epoch.
    pub at: i64,
    /// The event kind's fixed name (`code_issued`, `refused`, `operator_action` …).
    pub kind: String,
    pub origin: Option<String>,
    pub destination: Option<String>,
    /// A registered agency's client id.
    pub agency: Option<String>,
    /// `ok` or `refused`.
    pub outcome: String,
    /// A fixed reason code, or the operator action.
    pub reason: Option<String>,
    /// Whether (and how) it counts in the matrix; only with both countries known.
    pub tally: Option<Tally>,
    /// For operator actions: the operator's subject at the operator IdP (staff).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
}

/// One counter of one minute: a pair and what was counted.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cell {
    pub origin: String,
    pub destination: String,
    pub what: Counted,
}

/// What a [`Cell`] counts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Counted {
    Tally(Tally),
    /// Refusals for this reason code.
    Reason(String),
}

impl Cell {
    /// The hash field (Redis) or map key (memory): `SA|BH|completed`, `SA|BH|r|suspended`.
    /// Parts are country codes and fixed codes, which never contain `|`.
    pub fn field(&self) -> String {
        match &self.what {
            Counted::Tally(Tally::Completed) => {
                format!("{}|{}|completed", self.origin, self.destination)
            }
            Counted::Tally(Tally::Refused) => {
                format!("{}|{}|refused", self.origin, self.destination)
            }
            Counted::Reason(r) => format!("{}|{}|r|{r}", self.origin, self.destination),
        }
    }

    /// The cell a field names; `None` for anything else.
    pub fn parse(field: &str) -> Option<Cell> {
        let mut parts = field.split('|');
        let origin = parts.next()?.to_owned();
        let destination = parts.next()?.to_owned();
        let what = match (parts.next()?, parts.next(), parts.next()) {
            ("completed", None, _) => Counted::Tally(Tally::Completed),
            ("refused", None, _) => Counted::Tally(Tally::Refused),
            ("r", Some(reason), None) if !reason.is_empty() => Counted::Reason(reason.to_owned()),
            _ => return None,
        };
        Some(Cell {
            origin,
            destination,
            what,
        })
    }
}

/// The cells an event increments (none if it does not count or lacks a country).
pub fn cells_of(event: &FleetEvent) -> Vec<Cell> {
    let (Some(tally), Some(origin), Some(destination)) =
        (event.tally, &event.origin, &event.destination)
    else {
        return Vec::new();
    };
    let cell = |what| Cell {
        origin: origin.clone(),
        destination: destination.clone(),
        what,
    };
    let mut cells = vec![cell(Counted::Tally(tally))];
    if let (Tally::Refused, Some(reason)) = (tally, &event.reason) {
        cells.push(cell(Counted::Reason(reason.clone())));
    }
    cells
}

/// The start (seconds since the epoch) of the minute holding `at`.
pub fn minute_of(at: i64) -> i64 {
    at.div_euclid(60) * 60
}

/// Counters of the minutes of a window, oldest first; minutes without events are absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FleetWindow {
    pub minutes: BTreeMap<i64, BTreeMap<Cell, u64>>,
}

impl FleetWindow {
    /// The sum of each cell over the window.
    pub fn totals(&self) -> BTreeMap<Cell, u64> {
        let mut totals = BTreeMap::new();
        for cells in self.minutes.values() {
            for (cell, n) in cells {
                *totals.entry(cell.clone()).or_insert(0) += n;
            }
        }
        totals
    }
}

/// What can be suspended: a country as origin (every destination), or one pair.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "scope", rename_all = "snake_case")]
pub enum Suspension {
    Country { origin: String },
    Pair { origin: String, destination: String },
}

impl Suspension {
    /// The set member that stores it: `country:SA`, `pair:SA>BH`.
    pub fn member(&self) -> String {
        match self {
            Suspension::Country { origin } => format!("country:{origin}"),
            Suspension::Pair {
                origin,
                destination,
            } => format!("pair:{origin}>{destination}"),
        }
    }

    pub fn parse(member: &str) -> Option<Suspension> {
        if let Some(origin) = member.strip_prefix("country:") {
            return Some(Suspension::Country {
                origin: origin.to_owned(),
            });
        }
        let (origin, destination) = member.strip_prefix("pair:")?.split_once('>')?;
        Some(Suspension::Pair {
            origin: origin.to_owned(),
            destination: destination.to_owned(),
        })
    }
}

/// Where fleet aggregates live: this process, or Redis shared by every replica.
#[async_trait]
pub trait Fleet: Send + Sync + 'static {
    /// Counts a batch of events and appends them to the latest-events list.
    async fn write(&self, batch: &[FleetEvent]) -> Result<(), StoreError>;

    /// The counters of the `minutes` minutes up to and including the one holding `now`.
    async fn window(&self, now: i64, minutes: i64) -> Result<FleetWindow, StoreError>;

    /// The latest `n` events (at most [`MAX_EVENTS`]), newest first.
    async fn latest(&self, n: usize) -> Result<Vec<FleetEvent>, StoreError>;

    /// Suspends (`on`) or resumes a country or pair.
    async fn set_suspended(&self, what: &Suspension, on: bool) -> Result<(), StoreError>;

    /// Everything suspended now.
    async fn suspended(&self) -> Result<Vec<Suspension>, StoreError>;

    /// `"memory"` (this replica) or `"redis"` (the fleet).
    fn scope(&self) -> &'static str;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip() {
        for what in [
            Counted::Tally(Tally::Completed),
            Counted::Tally(Tally::Refused),
            Counted::Reason("pair_refused".into()),
        ] {
            let cell = Cell {
                origin: "SA".into(),
                destination: "BH".into(),
                what,
            };
            assert_eq!(Cell::parse(&cell.field()), Some(cell));
        }
        assert_eq!(Cell::parse("SA|BH|other"), None);
        assert_eq!(Cell::parse("SA|BH|r|"), None);
        for s in [
            Suspension::Country {
                origin: "SA".into(),
            },
            Suspension::Pair {
                origin: "SA".into(),
                destination: "BH".into(),
            },
        ] {
            assert_eq!(Suspension::parse(&s.member()), Some(s));
        }
    }

    #[test]
    fn minutes_start_on_the_minute() {
        assert_eq!(minute_of(119), 60);
        assert_eq!(minute_of(120), 120);
        assert_eq!(minute_of(-1), -60);
    }
}
