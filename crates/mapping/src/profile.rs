//! Country profiles: where each shared attribute comes from in one national IdP's claims,
//! the transforms applied to it, and how `acr`/`amr` map to levels of assurance.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::claims::SharedClaim;
use crate::country::CountryCode;
use crate::dates::{Calendar, check_format};
use crate::error::ConfigProblem;
use crate::identifier::IdentifierRule;
use crate::loa::Loa;
use crate::names::Split;
use crate::path::{ClaimPath, Source};
use crate::toml_load::{Document, from_document, parse_document};

/// One national IdP's mapping profile, loaded from `config/countries/<cc>.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountryProfile {
    /// The country whose citizens this IdP authenticates (alpha-2 or alpha-3 on input).
    pub country: CountryCode,
    /// The IdP's display name, used in `verified_claims` evidence.
    pub idp_name: String,
    /// Where claims are read from unless an attribute says otherwise.
    #[serde(default = "default_source")]
    pub source: Source,
    pub identifier: IdentifierRule,
    pub given_name: NameRule,
    pub family_name: NameRule,
    pub birthdate: DateRule,
    #[serde(default)]
    pub gender: Option<GenderRule>,
    #[serde(default)]
    pub nationalities: Option<AttributeSource>,
    #[serde(default)]
    pub place_of_birth: Option<PlaceOfBirthRule>,
    pub loa: LoaRule,
}

fn default_source() -> Source {
    Source::Userinfo
}

/// Where one value is read from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeSource {
    pub claim: ClaimPath,
    #[serde(default)]
    pub from: Option<Source>,
}

/// A name in Arabic and/or English; at least one language must be configured.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameRule {
    #[serde(default)]
    pub ar: Option<NameSource>,
    #[serde(default)]
    pub en: Option<NameSource>,
}

/// One language of a name: a claim, optionally split out of a combined name.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameSource {
    pub claim: ClaimPath,
    #[serde(default)]
    pub from: Option<Source>,
    #[serde(default)]
    pub split: Option<Split>,
}

/// A date of birth: claim, explicit strftime format, calendar.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DateRule {
    pub claim: ClaimPath,
    #[serde(default)]
    pub from: Option<Source>,
    pub format: String,
    #[serde(default = "gregorian")]
    pub calendar: Calendar,
}

fn gregorian() -> Calendar {
    Calendar::Gregorian
}

/// The values OIDC defines for `gender`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    Female,
    Male,
}

impl Gender {
    pub const fn name(self) -> &'static str {
        match self {
            Gender::Female => "female",
            Gender::Male => "male",
        }
    }
}

/// Gender: a claim and a table from the IdP's values to OIDC's.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenderRule {
    pub claim: ClaimPath,
    #[serde(default)]
    pub from: Option<Source>,
    pub values: BTreeMap<String, Gender>,
}

/// Place of birth: country (alpha-2 or alpha-3) and/or locality.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaceOfBirthRule {
    #[serde(default)]
    pub country: Option<AttributeSource>,
    #[serde(default)]
    pub locality: Option<AttributeSource>,
}

/// How the national authentication context maps to a level of assurance.
///
/// `acr`, when the IdP sends one, must be in the `acr` table: an unknown acr is refused, never
/// treated as low. Without acr, the highest known `amr` value counts; without either, a claim
/// (`claim` + `values`, e.g. UAE PASS `userType`) may say it. `cap` bounds the result, for IdPs
/// whose claims come without a signed ID token.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoaRule {
    #[serde(default)]
    pub acr: BTreeMap<String, Loa>,
    #[serde(default)]
    pub amr: BTreeMap<String, Loa>,
    #[serde(default)]
    pub claim: Option<ClaimPath>,
    #[serde(default)]
    pub from: Option<Source>,
    #[serde(default)]
    pub values: BTreeMap<String, Loa>,
    #[serde(default)]
    pub cap: Option<Loa>,
}

impl CountryProfile {
    /// Parses and validates one profile. `file` names it in the problems reported.
    ///
    /// Every key must be the profile's: a country file's other tables (the gateway's `[idp]`)
    /// are taken out by whoever reads the file first (see [`CountryProfile::from_document`]).
    ///
    /// ```
    /// use jisr_mapping::CountryProfile;
    /// let toml = r#"
    /// country = "OMN"
    /// idp_name = "Oman eID (example)"
    /// identifier = { claim = "national_id", pattern = '^[0-9]{8}$' }
    /// given_name.en = { claim = "given_name#en" }
    /// family_name.en = { claim = "family_name#en" }
    /// birthdate = { claim = "birthdate", format = "%Y-%m-%d" }
    /// loa.acr = { "urn:om:loa:2" = "substantial" }
    /// "#;
    /// let p = CountryProfile::from_toml("om.toml", toml).unwrap();
    /// assert_eq!(p.country.as_str(), "OM");
    /// let err = CountryProfile::from_toml("om.toml", &format!("{toml}\ncolour = 1")).unwrap_err();
    /// assert_eq!(err.key, "colour");
    /// let with_idp = format!("{toml}\n[idp]\nissuer = \"https://eid.om.example\"");
    /// assert_eq!(CountryProfile::from_toml("om.toml", &with_idp).unwrap_err().key, "idp");
    /// ```
    pub fn from_toml(file: &str, text: &str) -> Result<Self, ConfigProblem> {
        let document = parse_document(file, text)?;
        Self::from_document(file, text, document)
    }

    /// Parses and validates a profile from a country file already parsed with
    /// [`parse_document`] (`text` is that file's text, for
    /// line numbers). Every key left in the document must be the profile's: the gateway takes
    /// its `[idp]` table out first.
    ///
    /// ```
    /// use jisr_mapping::{CountryProfile, toml_load::parse_document};
    /// let text = r#"
    /// country = "KW"
    /// idp_name = "Kuwait Mobile ID (example)"
    /// identifier = { claim = "civil_id", pattern = '^[0-9]{12}$' }
    /// given_name.en = { claim = "given_name#en" }
    /// family_name.en = { claim = "family_name#en" }
    /// birthdate = { claim = "birthdate", format = "%Y-%m-%d" }
    /// loa.acr = { "urn:kw:loa:3" = "high" }
    /// [idp]
    /// issuer = "https://mid.kw.example"
    /// "#;
    /// let mut doc = parse_document("kw.toml", text).unwrap();
    /// let idp = doc.get_mut().remove("idp");
    /// assert!(idp.is_some());
    /// let p = CountryProfile::from_document("kw.toml", text, doc).unwrap();
    /// assert_eq!(p.country.as_str(), "KW");
    /// // Left in, `[idp]` is not the profile's.
    /// let err = CountryProfile::from_document("kw.toml", text, parse_document("kw.toml", text).unwrap());
    /// assert_eq!(err.unwrap_err().key, "idp");
    /// ```
    pub fn from_document(
        file: &str,
        text: &str,
        document: Document<'_>,
    ) -> Result<Self, ConfigProblem> {
        let profile: CountryProfile = from_document(file, text, document)?;
        profile
            .validate()
            .map_err(|(key, msg)| ConfigProblem::invalid(file, key, msg))?;
        Ok(profile)
    }

    fn validate(&self) -> Result<(), (&'static str, String)> {
        for (key, rule) in [
            ("given_name", &self.given_name),
            ("family_name", &self.family_name),
        ] {
            if rule.ar.is_none() && rule.en.is_none() {
                return Err((key, "needs `ar` and/or `en`".into()));
            }
        }
        check_format(&self.birthdate.format).map_err(|e| ("birthdate.format", e.to_string()))?;
        if self.idp_name.trim().is_empty() {
            return Err(("idp_name", "must not be empty".into()));
        }
        let loa = &self.loa;
        if loa.acr.is_empty() && loa.amr.is_empty() && loa.claim.is_none() {
            return Err((
                "loa",
                "needs at least one of `acr`, `amr` or `claim`".into(),
            ));
        }
        if loa.claim.is_some() == loa.values.is_empty() {
            return Err(("loa.values", "`claim` and `values` go together".into()));
        }
        if let Some(gender) = &self.gender
            && gender.values.is_empty()
        {
            return Err(("gender.values", "must map at least one value".into()));
        }
        if let Some(pob) = &self.place_of_birth
            && pob.country.is_none()
            && pob.locality.is_none()
        {
            return Err(("place_of_birth", "needs `country` and/or `locality`".into()));
        }
        Ok(())
    }

    /// The shared claims this profile can produce.
    pub fn produces(&self, claim: SharedClaim) -> bool {
        match claim {
            SharedClaim::Gender => self.gender.is_some(),
            SharedClaim::Nationalities => self.nationalities.is_some(),
            SharedClaim::PlaceOfBirth => self.place_of_birth.is_some(),
            _ => true,
        }
    }

    /// Whether any attribute (or the LoA claim) is read from `source`: an IdP whose
    /// profile reads nothing from userinfo need not be asked for it.
    pub fn reads(&self, source: Source) -> bool {
        let mut froms: Vec<Option<Source>> = vec![self.identifier.from, self.birthdate.from];
        for rule in [&self.given_name, &self.family_name] {
            froms.extend([&rule.ar, &rule.en].into_iter().flatten().map(|n| n.from));
        }
        froms.extend(self.gender.as_ref().map(|g| g.from));
        froms.extend(self.nationalities.as_ref().map(|n| n.from));
        if let Some(pob) = &self.place_of_birth {
            froms.extend(
                [&pob.country, &pob.locality]
                    .into_iter()
                    .flatten()
                    .map(|a| a.from),
            );
        }
        if self.loa.claim.is_some() {
            froms.push(self.loa.from);
        }
        froms.into_iter().any(|f| self.source_of(f) == source)
    }

    /// The source an attribute reads from: its own `from`, else the profile's.
    pub fn source_of(&self, from: Option<Source>) -> Source {
        from.unwrap_or(self.source)
    }
}
