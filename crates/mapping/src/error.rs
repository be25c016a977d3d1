//! Error types of the mapping core. Messages name attributes, claims and rules, never values.

use thiserror::Error;

use crate::claims::SharedClaim;
use crate::country::CountryCode;
use crate::loa::Loa;

/// A value that does not parse into one of the core types. Carries no input text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ValueError {
    #[error("not an ISO 3166-1 alpha-2 or alpha-3 country code")]
    UnknownCountry,
    #[error("not a level of assurance (low, substantial, high or urn:jisr:loa:…)")]
    UnknownLoa,
    #[error("not a person identifier of the form ORIGIN/DESTINATION/value")]
    BadPersonIdentifier,
    #[error("the person identifier's origin is not the authenticating country")]
    IdentifierOriginMismatch,
}

/// Why a single attribute value was refused. Carries no input text.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValueProblem {
    #[error("is not a string")]
    NotAString,
    #[error("is not a string or a list of strings")]
    NotAStringOrList,
    #[error("is empty after removing control, bidi and zero-width characters")]
    EmptyAfterCleaning,
    #[error("is longer than {max} characters")]
    TooLong { max: usize },
    #[error("has no part `{part}` after splitting on `{separator}`")]
    NoSuchPart {
        part: &'static str,
        separator: String,
    },
    #[error("does not match the date format `{format}`")]
    BadDateFormat { format: String },
    #[error("does not exist in the {calendar} calendar")]
    NoSuchDate { calendar: &'static str },
    #[error("is outside the supported range of the {calendar} calendar")]
    DateOutOfRange { calendar: &'static str },
    #[error("does not match the identifier pattern of the profile")]
    PatternMismatch,
    #[error("fails the `{checksum}` checksum")]
    ChecksumFailed { checksum: &'static str },
    #[error("is not in the profile's value table")]
    NotInTable,
    #[error("is not an ISO 3166-1 country code")]
    NotACountry,
}

/// Why a mapping was refused. Names the attribute and the rule that failed, never the value.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MappingError {
    #[error("the national claims must be a JSON object with `id_token` and/or `userinfo` objects")]
    ClaimsShape,
    #[error("profile for {profile} cannot map claims authenticated by {authenticated}")]
    WrongProfile {
        profile: CountryCode,
        authenticated: CountryCode,
    },
    #[error(
        "minimum data set attribute `{attribute}` is missing: claim `{claim}` ({source_name}) is absent"
    )]
    Missing {
        attribute: SharedClaim,
        claim: String,
        source_name: &'static str,
    },
    #[error("attribute `{attribute}` from claim `{claim}` {problem}")]
    Invalid {
        attribute: SharedClaim,
        claim: String,
        problem: ValueProblem,
    },
    #[error("acr value `{acr}` is not in the {country} profile's LoA table")]
    UnknownAcr { country: CountryCode, acr: String },
    #[error("no level of assurance can be derived: no known acr, amr or LoA claim for {country}")]
    NoLoa { country: CountryCode },
    #[error("level of assurance {actual} is below the minimum {required} of policy rule {rule}")]
    LoaTooLow {
        actual: Loa,
        required: Loa,
        rule: String,
    },
    #[error("no policy rule allows releasing identities from {origin} to {destination}")]
    PairRefused {
        origin: CountryCode,
        destination: CountryCode,
    },
    #[error("authentication time is not a valid timestamp")]
    AuthTime,
    #[error("agency sector must be non-empty for pairwise identifiers (policy rule {rule})")]
    MissingSector { rule: String },
}

impl MappingError {
    /// A fixed code naming the check that refused, for operators' counts and audit records
    /// (never a value).
    ///
    /// ```
    /// use jisr_mapping::MappingError;
    /// assert_eq!(MappingError::ClaimsShape.reason(), "claims_shape");
    /// ```
    pub fn reason(&self) -> &'static str {
        match self {
            MappingError::ClaimsShape => "claims_shape",
            MappingError::WrongProfile { .. } => "wrong_profile",
            MappingError::Missing { .. } => "claim_missing",
            MappingError::Invalid { .. } => "claim_invalid",
            MappingError::UnknownAcr { .. } => "acr_unknown",
            MappingError::NoLoa { .. } => "loa_underivable",
            MappingError::LoaTooLow { .. } => "loa_too_low",
            MappingError::PairRefused { .. } => "pair_refused",
            MappingError::AuthTime => "auth_time_invalid",
            MappingError::MissingSector { .. } => "sector_missing",
        }
    }

    /// The OAuth/OIDC error code the gateway sends for this refusal.
    pub fn oauth_error(&self) -> &'static str {
        match self {
            MappingError::LoaTooLow { .. }
            | MappingError::NoLoa { .. }
            | MappingError::UnknownAcr { .. } => "unmet_authentication_requirements",
            MappingError::PairRefused { .. } => "access_denied",
            _ => "invalid_request",
        }
    }
}

/// One problem found in configuration, printed as `file: key: problem`, or
/// `file: key: absent: problem` when something the configuration names is not there.
///
/// ```
/// use jisr_mapping::{ConfigProblem, ProblemKind};
/// let p = ConfigProblem::absent("gateway.toml", "pairwise_key", "environment variable K is not set");
/// assert_eq!(p.kind, ProblemKind::Absent);
/// assert_eq!(p.to_string(), "gateway.toml: pairwise_key: absent: environment variable K is not set");
/// let p = ConfigProblem::invalid("policy.toml", "rule[0].min_loa", "unknown level");
/// assert_eq!(p.to_string(), "policy.toml: rule[0].min_loa: unknown level");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub file: String,
    pub key: String,
    pub problem: String,
    pub kind: ProblemKind,
}

/// Whether a configuration problem is something missing or something wrong.
///
/// The mapping core only reads text it is given, so its problems are all
/// [`ProblemKind::Invalid`]; the gateway's loader also reports deployment material that is not
/// on the machine (`jisr check-config` lists those as notes, `jisr serve` refuses to start).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProblemKind {
    /// Present but wrong, or a configuration file or setting that is missing: the
    /// configuration itself must change.
    #[default]
    Invalid,
    /// Deployment material the configuration names — a secret (environment variable or
    /// file), a private key or certificate file — is not on this machine.
    Absent,
}

impl ConfigProblem {
    /// A problem with what is written (or a configuration file that is missing).
    pub fn invalid(
        file: impl Into<String>,
        key: impl Into<String>,
        problem: impl Into<String>,
    ) -> Self {
        ConfigProblem {
            file: file.into(),
            key: key.into(),
            problem: problem.into(),
            kind: ProblemKind::Invalid,
        }
    }

    /// Deployment material named by the configuration that is not on this machine.
    pub fn absent(
        file: impl Into<String>,
        key: impl Into<String>,
        problem: impl Into<String>,
    ) -> Self {
        ConfigProblem {
            kind: ProblemKind::Absent,
            ..ConfigProblem::invalid(file, key, problem)
        }
    }

    pub fn is_absent(&self) -> bool {
        self.kind == ProblemKind::Absent
    }
}

impl std::fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            ProblemKind::Invalid => write!(f, "{}: {}: {}", self.file, self.key, self.problem),
            ProblemKind::Absent => {
                write!(f, "{}: {}: absent: {}", self.file, self.key, self.problem)
            }
        }
    }
}
