//! The one entry point: verified national claims → shared cross-border assertion.

use serde_json::Value;

use crate::claims::{
    Claims, CrossBorderAssertion, Evidence, PlaceOfBirth, Record, RecordSource, SharedClaim,
    TRUST_FRAMEWORK, Verification, VerifiedClaims,
};
use crate::country::CountryCode;
use crate::dates::to_gregorian;
use crate::error::{MappingError, ValueProblem};
use crate::identifier::PersonIdentifier;
use crate::loa::Loa;
use crate::names::clean_name;
use crate::pairwise::PairwiseKey;
use crate::path::{ClaimPath, NationalClaims, Source};
use crate::policy::{Disclosure, Policy, Rule};
use crate::profile::{AttributeSource, CountryProfile, LoaRule, NameRule, NameSource};

/// The verified authentication context of the national login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthContext {
    /// The national IdP's issuer, already verified upstream.
    pub issuer: String,
    pub acr: Option<String>,
    pub amr: Vec<String>,
    /// When the national IdP authenticated the person (its ID token's `auth_time`), seconds
    /// since the Unix epoch; `None` when the IdP did not say. Never the token's `iat`: an
    /// IdP's single sign-on may issue a token long after the person last authenticated.
    pub auth_time: Option<i64>,
}

/// Where the assertion goes: the agency's country and its sector (for pairwise subjects).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub country: CountryCode,
    pub sector: String,
}

/// A successful mapping: the assertion and what the citizen must be asked.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    pub assertion: CrossBorderAssertion,
    /// Whether the pair's policy requires the citizen's consent before release.
    pub consent_required: bool,
    /// Exactly the claims present in the assertion, for the consent page.
    pub released: Vec<SharedClaim>,
    /// The policy rule that allowed the release, e.g. `SA→*`.
    pub rule: String,
    /// The normalised national identifier, whatever the assertion discloses: only for the
    /// gateway's audit reference (an HMAC of it), never to be logged or sent.
    pub national_id: NationalId,
}

/// A normalised national identifier. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct NationalId(String);

impl NationalId {
    /// The identifier itself, for keyed hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for NationalId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NationalId(…)")
    }
}

/// Most `amr` values carried into the assertion; each is a short RFC 8176-style token.
const MAX_AMR: usize = 8;

/// Maps one national login to the shared assertion, or says precisely why not.
///
/// The profile says where each attribute is and how to transform it; the policy decides
/// whether the pair is allowed, at what LoA, which claims go and how the person is identified.
/// The minimum data set must be complete. Errors name attributes and rules, never values.
///
/// ```
/// use jisr_mapping::*;
/// let profile = CountryProfile::from_toml("om.toml", r#"
/// country = "OM"
/// idp_name = "Oman eID (example)"
/// identifier = { claim = "national_id", pattern = '^[0-9]{8}$' }
/// given_name.en = { claim = "given_name#en" }
/// family_name.en = { claim = "family_name#en" }
/// birthdate = { claim = "birthdate", format = "%Y-%m-%d" }
/// loa.acr = { "urn:om:loa:2" = "substantial" }
/// "#).unwrap();
/// let policy = Policy::from_toml("policy.toml", r#"
/// [[rule]]
/// origin = "*"
/// destination = "*"
/// min_loa = "substantial"
/// identifier = "pairwise"
/// consent = true
/// "#).unwrap();
/// let claims = NationalClaims::from_value(serde_json::json!({"userinfo": {
///     "national_id": "12345678", "given_name#en": "Salim", "family_name#en": "Al Harthy",
///     "birthdate": "1991-04-02"}})).unwrap();
/// let ctx = AuthContext { issuer: "https://idp.om.example".into(),
///     acr: Some("urn:om:loa:2".into()), amr: vec![], auth_time: Some(1_764_000_000) };
/// let dest = Destination { country: "KW".parse().unwrap(), sector: "kw:health".into() };
/// let key = PairwiseKey::new([42u8; 32]).unwrap();
/// let mapped = map_claims(&profile, &policy, &claims, &ctx, &dest, &key).unwrap();
/// assert_eq!(mapped.assertion.acr, Loa::Substantial);
/// assert!(mapped.assertion.verified_claims.claims.person_identifier.to_string().starts_with("OM/KW/"));
/// ```
pub fn map_claims(
    profile: &CountryProfile,
    policy: &Policy,
    claims: &NationalClaims,
    ctx: &AuthContext,
    destination: &Destination,
    pairwise_key: &PairwiseKey,
) -> Result<Mapped, MappingError> {
    let rule = policy.decide(profile.country, destination.country)?;
    map_with_rule(profile, rule, claims, ctx, destination, pairwise_key)
}

/// [`map_claims`] under a rule already decided for the pair (see [`Policy::decide`]): a
/// gateway decides the pair's rule once, when the citizen picks their country, and maps the
/// national login under that same rule when it comes back.
///
/// ```
/// use jisr_mapping::*;
/// let policy = Policy::from_toml("policy.toml", r#"
/// [[rule]]
/// origin = "*"
/// destination = "*"
/// min_loa = "substantial"
/// identifier = "pairwise"
/// consent = true
/// "#).unwrap();
/// let rule = policy.decide("OM".parse().unwrap(), "KW".parse().unwrap()).unwrap();
/// assert_eq!(rule.id(), "*→*");
/// assert_eq!(policy.rule(&rule.id()).map(|r| r.min_loa()), Some(Loa::Substantial));
/// ```
pub fn map_with_rule(
    profile: &CountryProfile,
    rule: &Rule,
    claims: &NationalClaims,
    ctx: &AuthContext,
    destination: &Destination,
    pairwise_key: &PairwiseKey,
) -> Result<Mapped, MappingError> {
    let origin = profile.country;
    if !(rule.allow && rule.origin.matches(origin) && rule.destination.matches(destination.country))
    {
        return Err(MappingError::PairRefused {
            origin,
            destination: destination.country,
        });
    }

    let loa = derive_loa(profile, claims, ctx)?;
    if loa < rule.min_loa() {
        return Err(MappingError::LoaTooLow {
            actual: loa,
            required: rule.min_loa(),
            rule: rule.id(),
        });
    }

    let reader = Reader { profile, claims };
    let national_id = reader.identifier()?;
    let (given, given_ar, given_en) = reader.name(SharedClaim::GivenName, &profile.given_name)?;
    let (family, family_ar, family_en) =
        reader.name(SharedClaim::FamilyName, &profile.family_name)?;
    let birthdate = reader.birthdate()?;

    let gender = match &profile.gender {
        Some(g) if rule.releases(SharedClaim::Gender) => reader
            .optional_str(SharedClaim::Gender, &g.claim, g.from)?
            .map(|raw| {
                g.values
                    .get(raw)
                    .map(|v| v.name().to_owned())
                    .ok_or_else(|| MappingError::Invalid {
                        attribute: SharedClaim::Gender,
                        claim: g.claim.to_string(),
                        problem: ValueProblem::NotInTable,
                    })
            })
            .transpose()?,
        _ => None,
    };
    let nationalities = match &profile.nationalities {
        Some(src) if rule.releases(SharedClaim::Nationalities) => reader.nationalities(src)?,
        _ => None,
    };
    let place_of_birth = match &profile.place_of_birth {
        Some(pob) if rule.releases(SharedClaim::PlaceOfBirth) => {
            let country = pob
                .country
                .as_ref()
                .map(|src| reader.country(SharedClaim::PlaceOfBirth, src))
                .transpose()?
                .flatten();
            let locality = pob
                .locality
                .as_ref()
                .map(|src| reader.optional_name(SharedClaim::PlaceOfBirth, src))
                .transpose()?
                .flatten();
            (country.is_some() || locality.is_some()).then_some(PlaceOfBirth { country, locality })
        }
        _ => None,
    };

    let subject = match rule.disclosure() {
        Disclosure::National => national_id.clone(),
        Disclosure::Pairwise => {
            if destination.sector.trim().is_empty() {
                return Err(MappingError::MissingSector { rule: rule.id() });
            }
            pairwise_key.pseudonym(origin, &national_id, &destination.sector)
        }
    };
    let person_identifier = PersonIdentifier::new(origin, destination.country, &subject, origin)
        .map_err(|_| MappingError::Invalid {
            attribute: SharedClaim::PersonIdentifier,
            claim: profile.identifier.claim.to_string(),
            problem: ValueProblem::PatternMismatch,
        })?;

    let time = ctx
        .auth_time
        .map(|t| {
            chrono::DateTime::from_timestamp(t, 0)
                .filter(|_| t >= 0)
                .ok_or(MappingError::AuthTime)
                .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        })
        .transpose()?;

    let claims = Claims {
        person_identifier: person_identifier.clone(),
        given_name: given,
        given_name_ar: given_ar,
        given_name_en: given_en,
        family_name: family,
        family_name_ar: family_ar,
        family_name_en: family_en,
        birthdate,
        gender,
        nationalities,
        place_of_birth,
    };
    let released = SharedClaim::ALL
        .into_iter()
        .filter(|c| match c {
            SharedClaim::Gender => claims.gender.is_some(),
            SharedClaim::Nationalities => claims.nationalities.is_some(),
            SharedClaim::PlaceOfBirth => claims.place_of_birth.is_some(),
            _ => true,
        })
        .collect();

    let assertion = CrossBorderAssertion {
        sub: person_identifier.to_string(),
        auth_time: ctx.auth_time,
        acr: loa,
        amr: ctx
            .amr
            .iter()
            .filter(|m| {
                !m.is_empty()
                    && m.len() <= 32
                    && m.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"_-.:".contains(&b))
            })
            .take(MAX_AMR)
            .cloned()
            .collect(),
        origin_country: origin,
        destination_country: destination.country,
        verified_claims: VerifiedClaims {
            verification: Verification {
                trust_framework: TRUST_FRAMEWORK.to_owned(),
                assurance_level: loa,
                time,
                evidence: vec![Evidence {
                    kind: "electronic_record".to_owned(),
                    record: Record {
                        kind: "national_digital_identity".to_owned(),
                        source: RecordSource {
                            name: profile.idp_name.clone(),
                            issuer: ctx.issuer.clone(),
                            country_code: origin,
                        },
                    },
                }],
            },
            claims,
        },
    };
    Ok(Mapped {
        assertion,
        consent_required: rule.consent_required(),
        released,
        rule: rule.id(),
        national_id: NationalId(national_id),
    })
}

/// The LoA of the national login per the profile's table; unknown acr is refused.
fn derive_loa(
    profile: &CountryProfile,
    claims: &NationalClaims,
    ctx: &AuthContext,
) -> Result<Loa, MappingError> {
    let table: &LoaRule = &profile.loa;
    let country = profile.country;
    let found = if let Some(acr) = ctx.acr.as_deref().filter(|a| !a.is_empty()) {
        Some(*table.acr.get(acr).ok_or_else(|| MappingError::UnknownAcr {
            country,
            acr: printable(acr),
        })?)
    } else if let Some(best) = ctx.amr.iter().filter_map(|m| table.amr.get(m)).max() {
        Some(*best)
    } else if let Some(path) = &table.claim {
        claims
            .lookup(profile.source_of(table.from), path)
            .and_then(Value::as_str)
            .and_then(|v| table.values.get(v))
            .copied()
    } else {
        None
    };
    let loa = found.ok_or(MappingError::NoLoa { country })?;
    Ok(table.cap.map_or(loa, |cap| loa.min(cap)))
}

/// An acr value is not personal data, but it is untrusted text: keep it short and visible.
fn printable(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(80)
        .collect()
}

struct Reader<'a> {
    profile: &'a CountryProfile,
    claims: &'a NationalClaims,
}

impl Reader<'_> {
    fn raw(&self, path: &ClaimPath, from: Option<Source>) -> Option<&Value> {
        self.claims.lookup(self.profile.source_of(from), path)
    }

    fn missing(
        &self,
        attribute: SharedClaim,
        path: &ClaimPath,
        from: Option<Source>,
    ) -> MappingError {
        MappingError::Missing {
            attribute,
            claim: path.to_string(),
            source_name: self.profile.source_of(from).name(),
        }
    }

    fn invalid(attribute: SharedClaim, path: &ClaimPath, problem: ValueProblem) -> MappingError {
        MappingError::Invalid {
            attribute,
            claim: path.to_string(),
            problem,
        }
    }

    fn optional_str(
        &self,
        attribute: SharedClaim,
        path: &ClaimPath,
        from: Option<Source>,
    ) -> Result<Option<&str>, MappingError> {
        match self.raw(path, from) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(Self::invalid(attribute, path, ValueProblem::NotAString)),
        }
    }

    fn required_str(
        &self,
        attribute: SharedClaim,
        path: &ClaimPath,
        from: Option<Source>,
    ) -> Result<&str, MappingError> {
        self.optional_str(attribute, path, from)?
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| self.missing(attribute, path, from))
    }

    fn identifier(&self) -> Result<String, MappingError> {
        let rule = &self.profile.identifier;
        let raw = self.required_str(SharedClaim::PersonIdentifier, &rule.claim, rule.from)?;
        rule.normalise(raw)
            .map_err(|p| Self::invalid(SharedClaim::PersonIdentifier, &rule.claim, p))
    }

    fn name_part(
        &self,
        attribute: SharedClaim,
        src: &NameSource,
    ) -> Result<Option<String>, MappingError> {
        let Some(raw) = self.optional_str(attribute, &src.claim, src.from)? else {
            return Ok(None);
        };
        let part = match &src.split {
            Some(split) => split.apply(raw),
            None => Ok(raw),
        };
        part.and_then(clean_name)
            .map(Some)
            .map_err(|p| Self::invalid(attribute, &src.claim, p))
    }

    /// (default, #ar, #en); the default is English where present, else Arabic.
    fn name(
        &self,
        attribute: SharedClaim,
        rule: &NameRule,
    ) -> Result<(String, Option<String>, Option<String>), MappingError> {
        let ar = rule
            .ar
            .as_ref()
            .map(|s| self.name_part(attribute, s))
            .transpose()?
            .flatten();
        let en = rule
            .en
            .as_ref()
            .map(|s| self.name_part(attribute, s))
            .transpose()?
            .flatten();
        let default = en.clone().or_else(|| ar.clone()).ok_or_else(|| {
            match rule.en.as_ref().or(rule.ar.as_ref()) {
                Some(src) => self.missing(attribute, &src.claim, src.from),
                // Profiles are validated to name at least one language; fail closed anyway.
                None => MappingError::Missing {
                    attribute,
                    claim: String::new(),
                    source_name: self.profile.source_of(None).name(),
                },
            }
        })?;
        Ok((default, ar, en))
    }

    fn birthdate(&self) -> Result<String, MappingError> {
        let rule = &self.profile.birthdate;
        let raw = self.required_str(SharedClaim::Birthdate, &rule.claim, rule.from)?;
        to_gregorian(raw, &rule.format, rule.calendar)
            .map_err(|p| Self::invalid(SharedClaim::Birthdate, &rule.claim, p))
    }

    fn optional_name(
        &self,
        attribute: SharedClaim,
        src: &AttributeSource,
    ) -> Result<Option<String>, MappingError> {
        self.optional_str(attribute, &src.claim, src.from)?
            .map(|raw| clean_name(raw).map_err(|p| Self::invalid(attribute, &src.claim, p)))
            .transpose()
    }

    fn country(
        &self,
        attribute: SharedClaim,
        src: &AttributeSource,
    ) -> Result<Option<CountryCode>, MappingError> {
        self.optional_str(attribute, &src.claim, src.from)?
            .map(|raw| {
                CountryCode::parse(raw)
                    .map_err(|_| Self::invalid(attribute, &src.claim, ValueProblem::NotACountry))
            })
            .transpose()
    }

    fn nationalities(
        &self,
        src: &AttributeSource,
    ) -> Result<Option<Vec<CountryCode>>, MappingError> {
        let attribute = SharedClaim::Nationalities;
        let not_list = || Self::invalid(attribute, &src.claim, ValueProblem::NotAStringOrList);
        let raws: Vec<&str> = match self.raw(&src.claim, src.from) {
            None => return Ok(None),
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(items)) if items.len() <= 8 => items
                .iter()
                .map(|v| v.as_str().ok_or_else(not_list))
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(not_list()),
        };
        let mut out: Vec<CountryCode> = Vec::with_capacity(raws.len());
        for raw in raws {
            let c = CountryCode::parse(raw)
                .map_err(|_| Self::invalid(attribute, &src.claim, ValueProblem::NotACountry))?;
            if !out.contains(&c) {
                out.push(c);
            }
        }
        Ok((!out.is_empty()).then_some(out))
    }
}
