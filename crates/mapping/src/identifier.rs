//! National identifiers (format and checksum) and eIDAS-style person identifiers.

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::country::CountryCode;
use crate::error::{ValueError, ValueProblem};

/// A named checksum over the digits of a national identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Checksum {
    /// Luhn mod 10 over all digits, the last being the check digit (Emirates ID, Saudi ID).
    Luhn,
}

impl Checksum {
    pub const fn name(self) -> &'static str {
        match self {
            Checksum::Luhn => "luhn",
        }
    }

    /// Whether `digits` (already stripped of separators) passes the checksum.
    pub fn verify(self, digits: &str) -> bool {
        match self {
            Checksum::Luhn => {
                digits.len() >= 2
                    && digits.bytes().all(|b| b.is_ascii_digit())
                    && luhn::valid(digits)
            }
        }
    }
}

/// A compiled regex that deserialises from a TOML string and refuses invalid patterns.
#[derive(Debug, Clone)]
pub struct Pattern(pub Regex);

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if !s.starts_with('^') || !s.ends_with('$') {
            return Err(serde::de::Error::custom(
                "pattern must be anchored with ^ and $ so the whole identifier is checked",
            ));
        }
        Regex::new(&s)
            .map(Pattern)
            .map_err(|e| serde::de::Error::custom(format!("invalid regex: {e}")))
    }
}

/// How a country's national identifier is read and checked.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentifierRule {
    /// Where the identifier is found in the national claims.
    pub claim: crate::path::ClaimPath,
    /// Which token the claim is read from; defaults to the profile's `source`.
    #[serde(default)]
    pub from: Option<crate::path::Source>,
    /// The format, anchored (`^…$`), applied to the raw value.
    pub pattern: Pattern,
    /// Characters removed after the pattern check (e.g. `-` in `784-1990-1234567-1`).
    #[serde(default)]
    pub remove: String,
    /// An optional named checksum over the identifier after removal.
    #[serde(default)]
    pub checksum: Option<Checksum>,
}

impl IdentifierRule {
    /// Checks one raw identifier and returns it normalised (separators removed).
    pub fn normalise(&self, raw: &str) -> Result<String, ValueProblem> {
        if !self.pattern.0.is_match(raw) {
            return Err(ValueProblem::PatternMismatch);
        }
        let value: String = raw.chars().filter(|c| !self.remove.contains(*c)).collect();
        if let Some(checksum) = self.checksum
            && !checksum.verify(&value)
        {
            return Err(ValueProblem::ChecksumFailed {
                checksum: checksum.name(),
            });
        }
        Ok(value)
    }
}

#[allow(clippy::expect_used)] // A fixed pattern, compiled by every test that parses one.
static PERSON_IDENTIFIER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Z]{2}/[A-Z]{2}/[^\s/]+$").expect("fixed pattern"));

/// An eIDAS-style person identifier `ORIGIN/DESTINATION/value`, e.g. `SA/BH/1000000008`.
///
/// The value is the national identifier or a pairwise pseudonym, per policy. The origin must be
/// the country whose IdP authenticated the person.
///
/// ```
/// use jisr_mapping::{CountryCode, PersonIdentifier};
/// let sa: CountryCode = "SA".parse().unwrap();
/// let id = PersonIdentifier::parse("SA/BH/1000000008", sa).unwrap();
/// assert_eq!(id.to_string(), "SA/BH/1000000008");
/// assert!(PersonIdentifier::parse("BH/SA/1", sa).is_err()); // origin is not SA
/// assert!(PersonIdentifier::parse("SA/BH/a b", sa).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonIdentifier {
    origin: CountryCode,
    destination: CountryCode,
    value: String,
}

impl PersonIdentifier {
    /// Builds an identifier; refuses values with white space or `/`, and an origin other than
    /// the authenticating country.
    pub fn new(
        origin: CountryCode,
        destination: CountryCode,
        value: &str,
        authenticated_by: CountryCode,
    ) -> Result<Self, ValueError> {
        Self::parse(&format!("{origin}/{destination}/{value}"), authenticated_by)
    }

    /// Parses `ORIGIN/DESTINATION/value`, checking the pattern and the origin.
    pub fn parse(input: &str, authenticated_by: CountryCode) -> Result<Self, ValueError> {
        let me = Self::parse_unbound(input)?;
        if me.origin != authenticated_by {
            return Err(ValueError::IdentifierOriginMismatch);
        }
        Ok(me)
    }

    fn parse_unbound(input: &str) -> Result<Self, ValueError> {
        if !PERSON_IDENTIFIER.is_match(input) {
            return Err(ValueError::BadPersonIdentifier);
        }
        let origin =
            CountryCode::parse(&input[0..2]).map_err(|_| ValueError::BadPersonIdentifier)?;
        let destination =
            CountryCode::parse(&input[3..5]).map_err(|_| ValueError::BadPersonIdentifier)?;
        Ok(PersonIdentifier {
            origin,
            destination,
            value: input[6..].to_owned(),
        })
    }

    pub fn origin(&self) -> CountryCode {
        self.origin
    }
    pub fn destination(&self) -> CountryCode {
        self.destination
    }
    pub fn value(&self) -> &str {
        &self.value
    }
}

impl fmt::Display for PersonIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.origin, self.destination, self.value)
    }
}

impl Serialize for PersonIdentifier {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PersonIdentifier {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        PersonIdentifier::parse_unbound(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(pattern: &str, remove: &str, checksum: Option<Checksum>) -> IdentifierRule {
        IdentifierRule {
            claim: "id".parse().unwrap(),
            from: None,
            pattern: Pattern(Regex::new(pattern).unwrap()),
            remove: remove.into(),
            checksum,
        }
    }

    #[test]
    fn luhn_vectors() {
        // Classic Luhn test vectors plus synthetic Saudi (10-digit) and Emirates ID (15-digit).
        for ok in [
            "79927398713",
            "4111111111111111",
            "1000000008",
            "784199012345676",
        ] {
            assert!(Checksum::Luhn.verify(ok), "{ok}");
        }
        for bad in [
            "79927398710",
            "4111111111111112",
            "1000000009",
            "784199012345671",
            "",
            "7",
            "12a4",
        ] {
            assert!(!Checksum::Luhn.verify(bad), "{bad}");
        }
    }

    #[test]
    fn emirates_id_is_normalised_then_checked() {
        let r = rule(
            r"^784-?[0-9]{4}-?[0-9]{7}-?[0-9]$",
            "-",
            Some(Checksum::Luhn),
        );
        assert_eq!(
            r.normalise("784-1990-1234567-6").unwrap(),
            "784199012345676"
        );
        assert_eq!(r.normalise("784199012345676").unwrap(), "784199012345676");
        assert_eq!(
            r.normalise("784-1990-1234567-1"),
            Err(ValueProblem::ChecksumFailed { checksum: "luhn" })
        );
        assert_eq!(
            r.normalise("785-1990-1234567-6"),
            Err(ValueProblem::PatternMismatch)
        );
    }

    #[test]
    fn person_identifier_shape() {
        let sa = CountryCode::parse("SA").unwrap();
        let bh = CountryCode::parse("BH").unwrap();
        let id = PersonIdentifier::new(sa, bh, "abc_DEF-123", sa).unwrap();
        assert_eq!(id.to_string(), "SA/BH/abc_DEF-123");
        assert_eq!(
            PersonIdentifier::new(sa, bh, "a/b", sa),
            Err(ValueError::BadPersonIdentifier)
        );
        assert_eq!(
            PersonIdentifier::new(sa, bh, "", sa),
            Err(ValueError::BadPersonIdentifier)
        );
        assert_eq!(
            PersonIdentifier::new(sa, bh, "x", bh),
            Err(ValueError::IdentifierOriginMismatch)
        );
        for bad in ["sa/BH/1", "SA/BH/", "SA-BH-1", "XX/BH/1", "SA/BH/1 2"] {
            assert_eq!(
                PersonIdentifier::parse(bad, sa),
                Err(ValueError::BadPersonIdentifier),
                "{bad}"
            );
        }
    }
}
