//! Suspended countries and pairs, as each replica sees them: a copy of the fleet's set
//! behind `arc-swap`, re-read every couple of seconds by the fleet task
//! ([`super::fleet::REFRESH_EVERY`]) and at once after an operator's action here. A login
//! reads the copy: never a store round trip.

use std::sync::Arc;

use arc_swap::ArcSwap;
use jisr_mapping::CountryCode;
use jisr_store::fleet::{Fleet, Suspension};

/// This replica's copy of the suspensions.
#[derive(Default)]
pub struct Suspensions {
    current: ArcSwap<Vec<Suspension>>,
}

impl Suspensions {
    /// Whether identities from `origin` may not go to agencies of `destination` now.
    pub fn blocks(&self, origin: CountryCode, destination: CountryCode) -> bool {
        self.current.load().iter().any(|s| match s {
            Suspension::Country { origin: o } => o == origin.as_str(),
            Suspension::Pair {
                origin: o,
                destination: d,
            } => o == origin.as_str() && d == destination.as_str(),
        })
    }

    pub fn list(&self) -> Arc<Vec<Suspension>> {
        self.current.load_full()
    }

    /// Re-reads the fleet's set; on a store error the last copy stays (logged).
    pub async fn reload(&self, fleet: &dyn Fleet) {
        match fleet.suspended().await {
            Ok(list) => self.current.store(Arc::new(list)),
            Err(e) => {
                tracing::warn!(error = %e, "suspensions not refreshed; keeping the last copy")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jisr_store::fleet::MemoryFleet;

    #[tokio::test]
    async fn a_country_blocks_every_destination_a_pair_only_itself() {
        let fleet = MemoryFleet::default();
        let s = Suspensions::default();
        let (sa, bh, kw) = (
            "SA".parse().unwrap(),
            "BH".parse().unwrap(),
            "KW".parse().unwrap(),
        );
        fleet
            .set_suspended(
                &Suspension::Country {
                    origin: "SA".into(),
                },
                true,
            )
            .await
            .unwrap();
        fleet
            .set_suspended(
                &Suspension::Pair {
                    origin: "KW".into(),
                    destination: "BH".into(),
                },
                true,
            )
            .await
            .unwrap();
        assert!(!s.blocks(sa, bh), "nothing until reloaded");
        s.reload(&fleet).await;
        assert!(s.blocks(sa, bh) && s.blocks(sa, kw));
        assert!(s.blocks(kw, bh));
        assert!(!s.blocks(kw, sa));
        assert!(!s.blocks(bh, kw));
    }
}
