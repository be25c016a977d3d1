//! Country codes (ISO 3166-1 alpha-2) and the six GCC states by name.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::ValueError;

/// An ISO 3166-1 alpha-2 country code, stored upper-case.
///
/// Input may be alpha-2 or alpha-3 in any case; it is normalised to alpha-2, so `"sau"`,
/// `"SAU"` and `"sa"` are the same country. Codes that ISO 3166-1 does not assign are refused.
///
/// ```
/// use jisr_mapping::CountryCode;
/// let sa: CountryCode = "SAU".parse().unwrap();
/// assert_eq!(sa.as_str(), "SA");
/// assert_eq!(sa.gcc().unwrap().name_en(), "Saudi Arabia");
/// assert!("XX".parse::<CountryCode>().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    /// Parses alpha-2 or alpha-3, any case, into the alpha-2 code.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let upper = input.trim().to_ascii_uppercase();
        let found = match upper.len() {
            2 => rust_iso3166::from_alpha2(&upper),
            3 => rust_iso3166::from_alpha3(&upper),
            _ => None,
        };
        let code = found.ok_or(ValueError::UnknownCountry)?;
        let bytes = code.alpha2.as_bytes();
        Ok(CountryCode([bytes[0], bytes[1]]))
    }

    /// The alpha-2 code, e.g. `"BH"`.
    pub fn as_str(&self) -> &str {
        // Both bytes come from the ISO table and are ASCII upper-case letters.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }

    /// The GCC state this code names, if it is one of the six.
    pub fn gcc(&self) -> Option<Gcc> {
        Gcc::ALL.into_iter().find(|g| g.code() == *self)
    }
}

impl fmt::Debug for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CountryCode {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for CountryCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CountryCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        CountryCode::parse(&s).map_err(|_| {
            serde::de::Error::custom(format!(
                "`{}` is not an ISO 3166-1 alpha-2 or alpha-3 country code",
                s.chars().take(8).collect::<String>()
            ))
        })
    }
}

/// The six member states of the Gulf Cooperation Council.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Gcc {
    Bahrain,
    SaudiArabia,
    UnitedArabEmirates,
    Oman,
    Kuwait,
    Qatar,
}

impl Gcc {
    /// All six, in the order of their alpha-2 codes as listed in DESIGN.md.
    pub const ALL: [Gcc; 6] = [
        Gcc::Bahrain,
        Gcc::SaudiArabia,
        Gcc::UnitedArabEmirates,
        Gcc::Oman,
        Gcc::Kuwait,
        Gcc::Qatar,
    ];

    /// The alpha-2 code.
    pub const fn code(self) -> CountryCode {
        CountryCode(match self {
            Gcc::Bahrain => *b"BH",
            Gcc::SaudiArabia => *b"SA",
            Gcc::UnitedArabEmirates => *b"AE",
            Gcc::Oman => *b"OM",
            Gcc::Kuwait => *b"KW",
            Gcc::Qatar => *b"QA",
        })
    }

    /// The English short name.
    pub const fn name_en(self) -> &'static str {
        match self {
            Gcc::Bahrain => "Bahrain",
            Gcc::SaudiArabia => "Saudi Arabia",
            Gcc::UnitedArabEmirates => "United Arab Emirates",
            Gcc::Oman => "Oman",
            Gcc::Kuwait => "Kuwait",
            Gcc::Qatar => "Qatar",
        }
    }

    /// The Arabic short name.
    pub const fn name_ar(self) -> &'static str {
        match self {
            Gcc::Bahrain => "البحرين",
            Gcc::SaudiArabia => "المملكة العربية السعودية",
            Gcc::UnitedArabEmirates => "الإمارات العربية المتحدة",
            Gcc::Oman => "عُمان",
            Gcc::Kuwait => "الكويت",
            Gcc::Qatar => "قطر",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpha3_and_case_normalise_to_alpha2() {
        for (input, want) in [
            ("BHR", "BH"),
            ("sau", "SA"),
            ("Are", "AE"),
            ("om", "OM"),
            (" KWT ", "KW"),
            ("QAT", "QA"),
            ("FRA", "FR"),
        ] {
            assert_eq!(CountryCode::parse(input).unwrap().as_str(), want, "{input}");
        }
    }

    #[test]
    fn unknown_codes_are_refused() {
        for input in ["", "X", "XX", "XXX", "SAUD", "S1", "ع"] {
            assert_eq!(
                CountryCode::parse(input),
                Err(ValueError::UnknownCountry),
                "{input}"
            );
        }
    }

    #[test]
    fn gcc_names_are_bilingual() {
        let ae = CountryCode::parse("AE").unwrap().gcc().unwrap();
        assert_eq!(ae.name_en(), "United Arab Emirates");
        assert_eq!(ae.name_ar(), "الإمارات العربية المتحدة");
        assert_eq!(CountryCode::parse("FR").unwrap().gcc(), None);
        for g in Gcc::ALL {
            assert_eq!(g.code().gcc(), Some(g));
        }
    }

    #[test]
    fn serde_round_trip_uses_alpha2() {
        let c: CountryCode = serde_json::from_str("\"OMN\"").unwrap();
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"OM\"");
        let err = serde_json::from_str::<CountryCode>("\"ZZZ\"").unwrap_err();
        assert!(err.to_string().contains("not an ISO 3166-1"), "{err}");
    }
}
