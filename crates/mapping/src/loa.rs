//! Levels of assurance, ordered, with their `urn:jisr:loa:*` URIs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::ValueError;

/// Level of assurance of an authentication, after eIDAS: low < substantial < high.
///
/// In config files it is written `low`, `substantial` or `high`; toward agencies (the `acr`
/// claim) it is the URI `urn:jisr:loa:<level>`. Both spellings parse.
///
/// ```
/// use jisr_mapping::Loa;
/// assert!(Loa::Low < Loa::Substantial && Loa::Substantial < Loa::High);
/// assert_eq!(Loa::High.uri(), "urn:jisr:loa:high");
/// assert_eq!("urn:jisr:loa:substantial".parse::<Loa>().unwrap(), Loa::Substantial);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Loa {
    Low,
    Substantial,
    High,
}

impl Loa {
    /// The short name used in config: `low`, `substantial`, `high`.
    pub const fn name(self) -> &'static str {
        match self {
            Loa::Low => "low",
            Loa::Substantial => "substantial",
            Loa::High => "high",
        }
    }

    /// The `acr` URI sent to agencies.
    pub const fn uri(self) -> &'static str {
        match self {
            Loa::Low => "urn:jisr:loa:low",
            Loa::Substantial => "urn:jisr:loa:substantial",
            Loa::High => "urn:jisr:loa:high",
        }
    }

    /// Parses a short name or a `urn:jisr:loa:` URI.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let name = input.strip_prefix("urn:jisr:loa:").unwrap_or(input);
        match name {
            "low" => Ok(Loa::Low),
            "substantial" => Ok(Loa::Substantial),
            "high" => Ok(Loa::High),
            _ => Err(ValueError::UnknownLoa),
        }
    }
}

impl fmt::Display for Loa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Loa {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Loa {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Loa {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Loa::parse(&s).map_err(|_| {
            serde::de::Error::custom("expected `low`, `substantial` or `high` (or urn:jisr:loa:…)")
        })
    }
}

impl crate::profile::LoaRule {
    /// The national `acr` values of this table that meet `min`, strongest first: what to ask
    /// a national IdP for when an agency (or the pair's rule) requires at least `min`.
    ///
    /// ```
    /// use jisr_mapping::{CountryProfile, Loa};
    /// let p = CountryProfile::from_toml("sa.toml", r#"
    /// country = "SA"
    /// idp_name = "Nafath (example)"
    /// identifier = { claim = "national_id", pattern = '^[12][0-9]{9}$' }
    /// given_name.en = { claim = "given_name#en" }
    /// family_name.en = { claim = "family_name#en" }
    /// birthdate = { claim = "birthdate", format = "%Y-%m-%d" }
    /// loa.acr = { "urn:sa:loa:1" = "low", "urn:sa:loa:2" = "substantial", "urn:sa:loa:3" = "high" }
    /// "#).unwrap();
    /// assert_eq!(p.loa.acr_values_at_least(Loa::Substantial), ["urn:sa:loa:3", "urn:sa:loa:2"]);
    /// assert!(p.loa.acr_values_at_least(Loa::Low).len() == 3);
    /// ```
    pub fn acr_values_at_least(&self, min: Loa) -> Vec<&str> {
        let mut values: Vec<(&str, Loa)> = self
            .acr
            .iter()
            .filter(|(_, loa)| **loa >= min)
            .map(|(acr, loa)| (acr.as_str(), *loa))
            .collect();
        values.sort_by_key(|v| std::cmp::Reverse(v.1));
        values.into_iter().map(|(acr, _)| acr).collect()
    }

    /// The highest level a login of this IdP can map to: the best of its `acr`, `amr` and
    /// claim tables, under the `cap`. `None` when the tables are empty. A country whose best
    /// is below what a flow requires cannot serve that flow, whatever the citizen does.
    ///
    /// ```
    /// use jisr_mapping::{CountryProfile, Loa};
    /// let p = CountryProfile::from_toml("ae.toml", r#"
    /// country = "AE"
    /// idp_name = "UAE PASS (example)"
    /// identifier = { claim = "idn", pattern = '^784[0-9]{12}$' }
    /// given_name.en = { claim = "given_name" }
    /// family_name.en = { claim = "family_name" }
    /// birthdate = { claim = "dob", format = "%Y-%m-%d" }
    /// loa = { claim = "userType", values = { SOP1 = "low", SOP3 = "high" }, cap = "substantial" }
    /// "#).unwrap();
    /// assert_eq!(p.loa.highest(), Some(Loa::Substantial));
    /// ```
    pub fn highest(&self) -> Option<Loa> {
        let best = self
            .acr
            .values()
            .chain(self.amr.values())
            .chain(self.values.values())
            .max()
            .copied()?;
        Some(self.cap.map_or(best, |cap| best.min(cap)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_and_round_trips() {
        let all = [Loa::Low, Loa::Substantial, Loa::High];
        for w in all.windows(2) {
            assert!(w[0] < w[1]);
        }
        for l in all {
            assert_eq!(Loa::parse(l.uri()), Ok(l));
            assert_eq!(Loa::parse(l.name()), Ok(l));
        }
        assert_eq!(
            Loa::parse("urn:jisr:loa:medium"),
            Err(ValueError::UnknownLoa)
        );
        assert_eq!(Loa::parse("LOW"), Err(ValueError::UnknownLoa));
    }
}
