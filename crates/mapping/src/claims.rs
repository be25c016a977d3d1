//! The shared cross-border assertion: OIDC standard claims plus `verified_claims`
//! (OpenID Connect for Identity Assurance), as specified in DESIGN.md.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::country::CountryCode;
use crate::identifier::PersonIdentifier;
use crate::loa::Loa;

/// The attributes of the shared assertion that profiles produce and policies release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SharedClaim {
    PersonIdentifier,
    FamilyName,
    GivenName,
    Birthdate,
    Gender,
    Nationalities,
    PlaceOfBirth,
}

impl SharedClaim {
    /// Every shared claim.
    pub const ALL: [SharedClaim; 7] = [
        SharedClaim::PersonIdentifier,
        SharedClaim::FamilyName,
        SharedClaim::GivenName,
        SharedClaim::Birthdate,
        SharedClaim::Gender,
        SharedClaim::Nationalities,
        SharedClaim::PlaceOfBirth,
    ];

    /// The eIDAS minimum data set: always released, and a mapping without all four is refused.
    pub const MINIMUM_DATA_SET: [SharedClaim; 4] = [
        SharedClaim::PersonIdentifier,
        SharedClaim::FamilyName,
        SharedClaim::GivenName,
        SharedClaim::Birthdate,
    ];

    /// The claim name in `verified_claims.claims`.
    pub const fn name(self) -> &'static str {
        match self {
            SharedClaim::PersonIdentifier => "person_identifier",
            SharedClaim::FamilyName => "family_name",
            SharedClaim::GivenName => "given_name",
            SharedClaim::Birthdate => "birthdate",
            SharedClaim::Gender => "gender",
            SharedClaim::Nationalities => "nationalities",
            SharedClaim::PlaceOfBirth => "place_of_birth",
        }
    }

    /// Whether this claim belongs to the minimum data set.
    pub fn is_minimum(self) -> bool {
        Self::MINIMUM_DATA_SET.contains(&self)
    }
}

impl fmt::Display for SharedClaim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SharedClaim {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| {
                format!(
                    "`{s}` is not a shared claim (one of {})",
                    Self::ALL.map(|c| c.name()).join(", ")
                )
            })
    }
}

impl<'de> Deserialize<'de> for SharedClaim {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The trust framework named in `verified_claims.verification`.
pub const TRUST_FRAMEWORK: &str = "jisr_gcc";

/// The shared cross-border identity assertion, in the JSON shape of DESIGN.md.
///
/// Only the identity: the token envelope (`iss`, `aud`, `exp`, `iat`, `nonce`, `sid`) belongs
/// to the gateway, which wraps this assertion when it issues an ID token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrossBorderAssertion {
    /// Pairwise pseudonym per agency sector, or the national identifier, per policy.
    pub sub: String,
    /// The national IdP's `auth_time`; absent when the IdP did not send one (OIDC Core 2:
    /// required only when `max_age` was asked, and then the gateway refuses a login without).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// `urn:jisr:loa:low|substantial|high`.
    #[serde(with = "loa_uri")]
    pub acr: Loa,
    /// Omitted when the national IdP sent none: `amr: []` would claim "no method" (OIDC
    /// Core 2 makes the claim optional, not empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    pub origin_country: CountryCode,
    pub destination_country: CountryCode,
    pub verified_claims: VerifiedClaims,
}

/// `verified_claims` per OpenID Connect for Identity Assurance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifiedClaims {
    pub verification: Verification,
    pub claims: Claims,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verification {
    /// Always [`TRUST_FRAMEWORK`].
    pub trust_framework: String,
    /// `low`, `substantial` or `high`.
    pub assurance_level: Loa,
    /// When the national IdP authenticated the person (RFC 3339, UTC), when it said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    pub evidence: Vec<Evidence>,
}

/// Evidence that a national IdP authenticated the person from its national register.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// `electronic_record`.
    #[serde(rename = "type")]
    pub kind: String,
    pub record: Record,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// `national_digital_identity`.
    #[serde(rename = "type")]
    pub kind: String,
    pub source: RecordSource,
}

/// The national IdP that authenticated the person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordSource {
    pub name: String,
    pub issuer: String,
    pub country_code: CountryCode,
}

/// The identity claims. Names come as a default (English where present, else Arabic) plus
/// `#ar` / `#en` language-tagged variants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    pub person_identifier: PersonIdentifier,
    pub given_name: String,
    #[serde(
        rename = "given_name#ar",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub given_name_ar: Option<String>,
    #[serde(
        rename = "given_name#en",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub given_name_en: Option<String>,
    pub family_name: String,
    #[serde(
        rename = "family_name#ar",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub family_name_ar: Option<String>,
    #[serde(
        rename = "family_name#en",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub family_name_en: Option<String>,
    /// ISO 8601 Gregorian `YYYY-MM-DD`.
    pub birthdate: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nationalities: Option<Vec<CountryCode>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place_of_birth: Option<PlaceOfBirth>,
}

/// `place_of_birth` per OpenID Connect for Identity Assurance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaceOfBirth {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<CountryCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
}

mod loa_uri {
    use crate::loa::Loa;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(loa: &Loa, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(loa.uri())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Loa, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        match s.strip_prefix("urn:jisr:loa:") {
            Some(_) => Loa::parse(&s).map_err(serde::de::Error::custom),
            None => Err(serde::de::Error::custom(
                "acr must be urn:jisr:loa:low|substantial|high",
            )),
        }
    }
}
