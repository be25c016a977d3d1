//! Label sets. Every value comes from configuration (countries, agency ids, routes) or a
//! fixed code, so the number of series is bounded whatever a client sends.

use jisr_mapping::CountryCode;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};

/// A country label: a configured country, or `none` before the citizen chose one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Country(pub Option<CountryCode>);

impl EncodeLabelValue for Country {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        use std::fmt::Write;
        match &self.0 {
            Some(c) => encoder.write_str(c.as_str()),
            None => encoder.write_str("none"),
        }
    }
}

/// `agency` label value for a request whose client is not (yet) a registered agency.
pub const UNKNOWN_AGENCY: &str = "unknown";

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct DestinationAgency {
    pub destination: Country,
    pub agency: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct Pair {
    pub origin: Country,
    pub destination: Country,
    pub agency: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct Refusal {
    pub origin: Country,
    pub destination: Country,
    pub agency: String,
    pub reason: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct Agency {
    pub agency: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct Verification {
    pub country: Country,
    pub outcome: &'static str,
    pub reason: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct Operator {
    pub action: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct UpstreamCall {
    pub country: Country,
    pub call: &'static str,
    pub outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct UpstreamKind {
    pub country: Country,
    pub call: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct CountryOnly {
    pub country: Country,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct StoreOp {
    pub op: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct StoreOutcome {
    pub op: &'static str,
    pub outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct HttpRequest {
    pub listener: &'static str,
    pub route: String,
    pub status: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct HttpRoute {
    pub listener: &'static str,
    pub route: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct Build {
    pub version: &'static str,
    pub commit: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct SigningKey {
    pub kid: String,
    pub alg: String,
    pub active: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct Kid {
    pub kid: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct UpstreamStateLabel {
    pub country: Country,
    pub state: &'static str,
}

/// An introspection or revocation: the calling agency, the call and its fixed result
/// (`active`, `inactive`, `revoked`, `unknown`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct BackChannelCall {
    pub agency: String,
    pub call: &'static str,
    pub result: &'static str,
}
