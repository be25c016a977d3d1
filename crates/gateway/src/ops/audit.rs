//! The audit log: one hash-chained JSON record per flow event.

use super::Event;

/// The gateway's audit writer.
#[derive(Default)]
pub struct Audit {}

impl Audit {
    /// Writes one record for `event`.
    pub fn append(&self, _event: &Event<'_>, _now: i64) {}

    /// The audit reference for a citizen: an HMAC of their country and normalised national
    /// identifier under the audit key (never the identifier itself).
    pub fn subject_ref(
        &self,
        _country: jisr_mapping::CountryCode,
        _national_id: &str,
    ) -> Option<String> {
        None
    }
}
