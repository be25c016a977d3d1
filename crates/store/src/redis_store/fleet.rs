//! [`Fleet`] on Redis: the dashboard's aggregates shared by every replica. One hash per
//! minute (`{fleet}:m:<minute>`, HINCRBY per cell, expiring after [`KEEP_MINUTES`]), one capped
//! list of the latest events (`{fleet}:events`, LPUSH + LTRIM), one set of suspensions
//! (`{fleet}:suspended`). A batch is one pipeline (one round trip). The `{fleet}` hash tag keeps
//! every key in one Redis Cluster slot, so a batch's pipeline goes to one node. Stored in clear like the
//! rate-limit counters: country codes, agency ids and fixed codes, no personal data.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::RedisStore;
use crate::StoreError;
use crate::fleet::{
    Cell, Fleet, FleetEvent, FleetWindow, KEEP_MINUTES, MAX_EVENTS, Suspension, cells_of, minute_of,
};

impl RedisStore {
    fn minute_key(&self, minute: i64) -> String {
        self.full_key(&format!("{{fleet}}:m:{minute}"))
    }
}

#[async_trait]
impl Fleet for RedisStore {
    async fn write(&self, batch: &[FleetEvent]) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        self.count_op();
        let mut pipe = redis::pipe();
        let mut minutes = BTreeMap::<i64, ()>::new();
        for event in batch {
            let minute = minute_of(event.at);
            for cell in cells_of(event) {
                pipe.cmd("HINCRBY")
                    .arg(self.minute_key(minute))
                    .arg(cell.field())
                    .arg(1)
                    .ignore();
                minutes.insert(minute, ());
            }
            let json = serde_json::to_string(event).map_err(|e| StoreError::Encode {
                reason: e.to_string(),
            })?;
            pipe.cmd("LPUSH")
                .arg(self.full_key("{fleet}:events"))
                .arg(json)
                .ignore();
        }
        for minute in minutes.keys() {
            pipe.cmd("EXPIRE")
                .arg(self.minute_key(*minute))
                .arg(KEEP_MINUTES * 60)
                .ignore();
        }
        pipe.cmd("LTRIM")
            .arg(self.full_key("{fleet}:events"))
            .arg(0)
            .arg(MAX_EVENTS - 1)
            .ignore();
        self.query_pipe::<()>(&pipe).await
    }

    async fn window(&self, now: i64, minutes: i64) -> Result<FleetWindow, StoreError> {
        self.count_op();
        let last = minute_of(now);
        let span = minutes.clamp(1, KEEP_MINUTES);
        let wanted: Vec<i64> = (0..span).map(|i| last - (span - 1 - i) * 60).collect();
        let mut pipe = redis::pipe();
        for minute in &wanted {
            pipe.cmd("HGETALL").arg(self.minute_key(*minute));
        }
        let hashes: Vec<BTreeMap<String, u64>> = self.query_pipe(&pipe).await?;
        let mut window = FleetWindow::default();
        for (minute, hash) in wanted.into_iter().zip(hashes) {
            let cells: BTreeMap<Cell, u64> = hash
                .into_iter()
                .filter_map(|(field, n)| Cell::parse(&field).map(|c| (c, n)))
                .collect();
            if !cells.is_empty() {
                window.minutes.insert(minute, cells);
            }
        }
        Ok(window)
    }

    async fn latest(&self, n: usize) -> Result<Vec<FleetEvent>, StoreError> {
        self.count_op();
        let n = n.clamp(1, MAX_EVENTS);
        let raw: Vec<String> = self
            .query(
                redis::cmd("LRANGE")
                    .arg(self.full_key("{fleet}:events"))
                    .arg(0)
                    .arg(n - 1),
            )
            .await?;
        Ok(raw
            .iter()
            .filter_map(|s| serde_json::from_str(s).ok())
            .collect())
    }

    async fn set_suspended(&self, what: &Suspension, on: bool) -> Result<(), StoreError> {
        self.count_op();
        let verb = if on { "SADD" } else { "SREM" };
        self.query::<u64>(
            redis::cmd(verb)
                .arg(self.full_key("{fleet}:suspended"))
                .arg(what.member()),
        )
        .await
        .map(|_| ())
    }

    async fn suspended(&self) -> Result<Vec<Suspension>, StoreError> {
        self.count_op();
        let members: Vec<String> = self
            .query(redis::cmd("SMEMBERS").arg(self.full_key("{fleet}:suspended")))
            .await?;
        let mut all: Vec<Suspension> = members
            .iter()
            .filter_map(|m| Suspension::parse(m))
            .collect();
        all.sort();
        Ok(all)
    }

    fn scope(&self) -> &'static str {
        "redis"
    }
}

/// One pipeline: `INCRBY` then `PEXPIRE … NX` per counter (Redis 7), so a counter gets its
/// TTL when created and keeps it; no MULTI, so the counters may live in different cluster
/// slots. Between the two commands a counter has no TTL only if `INCRBY` just created it, and
/// the `PEXPIRE` that follows gives it one.
#[async_trait]
impl crate::windows::WindowCounters for RedisStore {
    async fn add_all(
        &self,
        adds: &[(String, u64)],
        ttl: std::time::Duration,
    ) -> Result<Vec<u64>, StoreError> {
        if adds.is_empty() {
            return Ok(Vec::new());
        }
        if adds.len() > crate::windows::MAX_BATCH {
            return Err(StoreError::InvalidKey {
                reason: "more than 10000 counters in one call",
            });
        }
        crate::limits::check_ttl(ttl)?;
        for (key, _) in adds {
            crate::limits::check_key(key)?;
        }
        self.count_op();
        let ms = crate::limits::ttl_millis(ttl);
        let mut pipe = redis::pipe();
        for (key, n) in adds {
            // One hash tag for every counter: one Cluster slot, so the pipeline has one node.
            let full = self.full_key(&format!("{{w}}:{key}"));
            pipe.cmd("INCRBY").arg(&full).arg(*n);
            pipe.cmd("PEXPIRE").arg(&full).arg(ms).arg("NX").ignore();
        }
        let totals: Vec<i64> = self.query_pipe(&pipe).await?;
        totals
            .into_iter()
            .map(|n| u64::try_from(n).map_err(|_| StoreError::corrupt("negative counter")))
            .collect()
    }
}
