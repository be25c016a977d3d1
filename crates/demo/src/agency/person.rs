//! What the agency shows about the signed-in person, read from the verified ID token and the
//! userinfo answer. The shared assertion puts identity in `verified_claims.claims`; an OP
//! that sends only standard claims (a national dev IdP, in the tests) still gets its names
//! and birthdate shown, and anything absent is shown as absent rather than refused.

use std::ops::Deref;

use openidconnect::LocalizedClaim;
use serde_json::Value;

use super::oidc::{AgencyClaims, IdClaims, InfoClaims};

#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Person {
    pub given_ar: Option<String>,
    pub family_ar: Option<String>,
    pub given_en: Option<String>,
    pub family_en: Option<String>,
    pub birthdate: Option<String>,
    pub person_identifier: Option<String>,
    /// The subject at this agency (pairwise per sector, or the identifier, per policy).
    pub sub: String,
    pub origin_country: Option<String>,
    pub destination_country: Option<String>,
    /// `acr` of the ID token, e.g. `urn:jisr:loa:substantial`.
    pub acr: Option<String>,
    /// `verified_claims.verification.assurance_level`.
    pub assurance_level: Option<String>,
    /// The national IdP named in the evidence, with its country.
    pub authenticated_by: Option<String>,
    /// `verified_claims`, pretty-printed.
    pub verified_claims: Option<String>,
}

impl Person {
    /// Userinfo first (it is the fuller answer), then the ID token.
    pub fn from_claims(id: &IdClaims, userinfo: Option<&InfoClaims>) -> Person {
        let extras: Vec<&AgencyClaims> = userinfo
            .map(|u| u.additional_claims())
            .into_iter()
            .chain([id.additional_claims()])
            .collect();
        let verified = extras
            .iter()
            .find_map(|a| a.verified_claims.as_ref())
            .filter(|v| !v.is_null());
        // Identity Assurance allows an array of verified_claims objects: read the first.
        let first = verified.and_then(|v| match v {
            Value::Array(items) => items.first(),
            other => Some(other),
        });
        let vclaims = first.and_then(|v| v.get("claims"));
        let verification = first.and_then(|v| v.get("verification"));
        let tagged = |name: &str| vclaims.and_then(|c| c.get(name)).and_then(text);

        let std = |pick: &dyn Fn(&StdView) -> Option<String>| {
            userinfo
                .map(StdView::userinfo)
                .into_iter()
                .chain([StdView::id_token(id)])
                .find_map(|v| pick(&v))
        };
        let given_ar = tagged("given_name#ar").or_else(|| std(&|v| v.given.tagged("ar")));
        let family_ar = tagged("family_name#ar").or_else(|| std(&|v| v.family.tagged("ar")));
        let given_en = tagged("given_name#en")
            .or_else(|| std(&|v| v.given.tagged("en")))
            .or_else(|| tagged("given_name").or_else(|| std(&|v| v.given.plain.clone())))
            .filter(|n| Some(n) != given_ar.as_ref());
        let family_en = tagged("family_name#en")
            .or_else(|| std(&|v| v.family.tagged("en")))
            .or_else(|| tagged("family_name").or_else(|| std(&|v| v.family.plain.clone())))
            .filter(|n| Some(n) != family_ar.as_ref());

        Person {
            given_ar,
            family_ar,
            given_en,
            family_en,
            birthdate: tagged("birthdate").or_else(|| std(&|v| v.birthdate.clone())),
            person_identifier: tagged("person_identifier"),
            sub: id.subject().as_str().to_owned(),
            origin_country: extras.iter().find_map(|a| a.origin_country.clone()),
            destination_country: extras.iter().find_map(|a| a.destination_country.clone()),
            acr: id.auth_context_ref().map(|a| a.as_str().to_owned()),
            assurance_level: verification
                .and_then(|v| v.get("assurance_level"))
                .and_then(text),
            authenticated_by: verification.and_then(evidence_source),
            verified_claims: verified.and_then(|v| serde_json::to_string_pretty(v).ok()),
        }
    }
}

/// The standard claims of one source, in the shape the name lookup needs.
struct StdView {
    given: Localized,
    family: Localized,
    birthdate: Option<String>,
}

impl StdView {
    fn id_token(id: &IdClaims) -> StdView {
        StdView {
            given: Localized::of(id.given_name()),
            family: Localized::of(id.family_name()),
            birthdate: id.birthdate().map(|b| b.as_str().to_owned()),
        }
    }

    fn userinfo(u: &InfoClaims) -> StdView {
        let s = u.standard_claims();
        StdView {
            given: Localized::of(s.given_name()),
            family: Localized::of(s.family_name()),
            birthdate: s.birthdate().map(|b| b.as_str().to_owned()),
        }
    }
}

/// A language-tagged claim (`given_name#ar`) flattened to owned strings.
struct Localized {
    tagged: Vec<(String, String)>,
    plain: Option<String>,
}

impl Localized {
    fn of<T: Deref<Target = String>>(claim: Option<&LocalizedClaim<T>>) -> Localized {
        let mut out = Localized {
            tagged: Vec::new(),
            plain: None,
        };
        for (tag, value) in claim.into_iter().flat_map(|c| c.iter()) {
            match tag {
                Some(tag) => out
                    .tagged
                    .push((tag.as_str().to_owned(), (**value).clone())),
                None => out.plain = Some((**value).clone()),
            }
        }
        out
    }

    /// The value tagged `lang` or a regional variant of it (`ar-SA`).
    fn tagged(&self, lang: &str) -> Option<String> {
        self.tagged
            .iter()
            .find(|(tag, _)| {
                let primary = tag.split('-').next().unwrap_or("");
                primary.eq_ignore_ascii_case(lang)
            })
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `evidence[0].record.source`: "name (CC)".
fn evidence_source(verification: &Value) -> Option<String> {
    let source = verification
        .get("evidence")?
        .as_array()?
        .first()?
        .get("record")?
        .get("source")?;
    let name = source.get("name").and_then(text);
    let country = source.get("country_code").and_then(text);
    match (name, country) {
        (Some(n), Some(c)) => Some(format!("{n} ({c})")),
        (n, c) => n.or(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn id(extra: Value) -> IdClaims {
        let mut base = json!({
            "iss": "https://jisr.example", "aud": "agency", "sub": "pairwise-1",
            "exp": 2_000_000_000, "iat": 1_700_000_000,
        });
        for (k, v) in extra.as_object().unwrap() {
            base[k] = v.clone();
        }
        serde_json::from_value(base).unwrap()
    }

    fn info(body: Value) -> InfoClaims {
        InfoClaims::from_json::<std::io::Error>(body.to_string().as_bytes(), None).unwrap()
    }

    fn shared() -> Value {
        json!({
            "verification": {
                "trust_framework": "jisr_gcc", "assurance_level": "substantial",
                "time": "2025-01-01T10:00:00Z",
                "evidence": [{"type": "electronic_record", "record": {
                    "type": "national_digital_identity",
                    "source": {"name": "Nafath", "issuer": "https://sa.example", "country_code": "SA"}}}]
            },
            "claims": {
                "person_identifier": "SA/BH/1234567890",
                "given_name": "Fatimah", "given_name#ar": "فاطمة", "given_name#en": "Fatimah",
                "family_name": "Alharbi", "family_name#ar": "الحربي", "family_name#en": "Alharbi",
                "birthdate": "1990-05-17"
            }
        })
    }

    #[test]
    fn shared_assertion_fills_every_field() {
        let claims = id(json!({
            "acr": "urn:jisr:loa:substantial", "origin_country": "SA",
            "destination_country": "BH", "verified_claims": shared(),
        }));
        let p = Person::from_claims(&claims, None);
        assert_eq!(p.given_ar.as_deref(), Some("فاطمة"));
        assert_eq!(p.family_ar.as_deref(), Some("الحربي"));
        assert_eq!(p.given_en.as_deref(), Some("Fatimah"));
        assert_eq!(p.family_en.as_deref(), Some("Alharbi"));
        assert_eq!(p.birthdate.as_deref(), Some("1990-05-17"));
        assert_eq!(p.person_identifier.as_deref(), Some("SA/BH/1234567890"));
        assert_eq!(p.sub, "pairwise-1");
        assert_eq!(p.origin_country.as_deref(), Some("SA"));
        assert_eq!(p.destination_country.as_deref(), Some("BH"));
        assert_eq!(p.acr.as_deref(), Some("urn:jisr:loa:substantial"));
        assert_eq!(p.assurance_level.as_deref(), Some("substantial"));
        assert_eq!(p.authenticated_by.as_deref(), Some("Nafath (SA)"));
        assert!(
            p.verified_claims
                .unwrap()
                .contains("\"trust_framework\": \"jisr_gcc\"")
        );
    }

    #[test]
    fn userinfo_verified_claims_win_and_arrays_are_read() {
        let claims = id(json!({ "origin_country": "SA" }));
        let ui = info(json!({ "sub": "pairwise-1", "verified_claims": [shared()] }));
        let p = Person::from_claims(&claims, Some(&ui));
        assert_eq!(p.person_identifier.as_deref(), Some("SA/BH/1234567890"));
        assert_eq!(p.origin_country.as_deref(), Some("SA"));
        assert_eq!(p.destination_country, None);
    }

    #[test]
    fn standard_claims_only_and_missing_claims() {
        let claims = id(json!({
            "given_name#ar": "مريم", "given_name": "Maryam", "birthdate": "1985-02-01",
        }));
        let p = Person::from_claims(&claims, None);
        assert_eq!(p.given_ar.as_deref(), Some("مريم"));
        assert_eq!(p.given_en.as_deref(), Some("Maryam"));
        assert_eq!(p.family_ar, None);
        assert_eq!(p.family_en, None);
        assert_eq!(p.birthdate.as_deref(), Some("1985-02-01"));
        assert_eq!(p.person_identifier, None);
        assert_eq!(p.verified_claims, None);
        assert_eq!(p.acr, None);
    }
}
