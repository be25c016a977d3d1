//! Each country's claim shapes: where names, dates and identifiers go in the ID token and at
//! userinfo, the acr values it issues and the amr that go with them. These mirror
//! `config/countries/<cc>.toml`; the mapping tests prove they still do.

use jisr_mapping::{CountryCode, Gcc};
use serde_json::{Map, Value, json};

use crate::citizens::{Citizen, Sex};

/// The acr values the IdP supports, lowest first. UAE PASS advertises its one policy URI and
/// expresses assurance through `userType` instead.
pub fn acr_values(country: CountryCode) -> &'static [&'static str] {
    match country.gcc() {
        Some(Gcc::SaudiArabia) => &["urn:sa:sso:loa:2", "urn:sa:sso:loa:3"],
        Some(Gcc::Bahrain) => &[
            "urn:bh:ekey:basic",
            "urn:bh:ekey:advanced",
            "urn:bh:ekey:smartcard",
        ],
        Some(Gcc::Oman) => &[
            "urn:om:eid:loa:password",
            "urn:om:eid:loa:mobile-pki",
            "urn:om:eid:loa:card-pki",
        ],
        Some(Gcc::Kuwait) => &["urn:kw:mid:loa:substantial", "urn:kw:mid:loa:high"],
        Some(Gcc::Qatar) => &["urn:qa:tawtheeq:loa:2", "urn:qa:tawtheeq:loa:3"],
        Some(Gcc::UnitedArabEmirates) => &["urn:safelayer:tws:policies:authentication:level:low"],
        None => &[],
    }
}

/// UAE PASS account types, the AE "level" that `loa=` may force.
pub const AE_USER_TYPES: [&str; 3] = ["SOP1", "SOP2", "SOP3"];

/// The level issued when the client asks for none the IdP supports: the middle one
/// (the higher of two).
pub fn default_acr(country: CountryCode) -> &'static str {
    let values = acr_values(country);
    values.get(values.len() / 2).copied().unwrap_or("")
}

/// Whether the IdP is OAuth 2.0 only (no ID token, claims at userinfo): UAE PASS.
pub fn oauth2_only(country: CountryCode) -> bool {
    country.gcc() == Some(Gcc::UnitedArabEmirates)
}

/// The authentication methods behind an acr value (RFC 8176 names where one exists).
pub fn amr_for(acr: &str) -> Vec<&'static str> {
    let tail = acr.rsplit(':').next().unwrap_or("");
    match tail {
        "basic" | "password" => vec!["pwd"],
        "smartcard" | "card-pki" => vec!["sc", "pin"],
        "mobile-pki" => vec!["mfa", "swk", "pin"],
        "3" | "high" => vec!["pwd", "otp", "hwk"],
        _ => vec!["pwd", "otp"],
    }
}

/// The scopes the IdP advertises.
pub fn scopes_supported(country: CountryCode) -> Vec<&'static str> {
    if oauth2_only(country) {
        vec!["urn:uae:digitalid:profile:general"]
    } else {
        vec!["openid", "profile"]
    }
}

/// Country-specific claims of the ID token (empty where they all go to userinfo).
pub fn id_token_claims(country: CountryCode, c: &Citizen) -> Map<String, Value> {
    let v = match country.gcc() {
        Some(Gcc::SaudiArabia) => json!({
            "national_id": c.id,
            "given_name#ar": c.given_ar,
            "given_name#en": c.given_en,
            "family_name#ar": c.family_ar,
            "family_name#en": c.family_en,
            "birthdate_hijri": c.birthdate,
            "gender": if c.sex == Sex::Male { "M" } else { "F" },
            "nationality": c.nationalities.first().copied().unwrap_or("SAU"),
            "place_of_birth#en": c.birth_city_en,
        }),
        Some(Gcc::Oman) => json!({ "civil_number": c.id }),
        Some(Gcc::Kuwait) => json!({
            "civil_id": c.id,
            "name": {
                "ar": { "first": c.given_ar, "family": c.family_ar },
                "en": { "first": c.given_en, "family": c.family_en },
            },
            "date_of_birth": c.birthdate,
            "gender": if c.sex == Sex::Male { "1" } else { "2" },
            "nationality": c.nationalities.first().copied().unwrap_or("KWT"),
        }),
        Some(Gcc::Qatar) => json!({
            "qid": c.id,
            "given_name": c.given_en,
            "given_name#ar": c.given_ar,
            "family_name": c.family_en,
            "family_name#ar": c.family_ar,
            "dob": c.birthdate,
            "nationalities": c.nationalities,
        }),
        _ => json!({}),
    };
    into_map(v)
}

/// Userinfo claims, `sub` included. Countries whose profile reads the ID token repeat its
/// claims here, as most OpenID Providers do.
pub fn userinfo_claims(country: CountryCode, c: &Citizen, level: &str) -> Map<String, Value> {
    let sex_word = if c.sex == Sex::Male { "male" } else { "female" };
    let v = match country.gcc() {
        Some(Gcc::Bahrain) => json!({
            "person": {
                "cpr": c.id,
                "name": {
                    "first": { "en": c.given_en, "ar": c.given_ar },
                    "family": { "en": c.family_en, "ar": c.family_ar },
                },
                "birth": { "date": c.birthdate, "country": c.birth_country, "city": c.birth_city_en },
                "sex": sex_word,
                "nationalities": c.nationalities,
            }
        }),
        Some(Gcc::Oman) => json!({
            "given_name#en": c.given_en,
            "given_name#ar": c.given_ar,
            "family_name#en": c.family_en,
            "family_name#ar": c.family_ar,
            "birthdate": c.birthdate,
            "gender": sex_word,
            "nationality": c.nationalities.first().copied().unwrap_or("OM"),
        }),
        Some(Gcc::UnitedArabEmirates) => json!({
            "uuid": c.uuid,
            "fullnameEN": format!("{},,,,{},,", c.given_en, c.family_en),
            "fullnameAR": format!("{},,,,{},,", c.given_ar, c.family_ar),
            "firstnameEN": c.given_en,
            "lastnameEN": c.family_en,
            "gender": if c.sex == Sex::Male { "Male" } else { "Female" },
            "nationalityEN": c.nationalities.first().copied().unwrap_or("ARE"),
            "idn": c.id,
            "userType": level,
            "dob": c.birthdate,
        }),
        _ => Value::Object(id_token_claims(country, c)),
    };
    let mut map = Map::new();
    map.insert("sub".into(), json!(c.sub));
    map.extend(into_map(v));
    map
}

/// Every claim name the IdP may send, for discovery.
pub fn claims_supported(country: CountryCode) -> Vec<String> {
    let Some(sample) = crate::citizens::citizens(country).first() else {
        return Vec::new();
    };
    let mut names: Vec<String> = if oauth2_only(country) {
        Vec::new()
    } else {
        [
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "acr",
            "amr",
            "at_hash",
        ]
        .map(String::from)
        .to_vec()
    };
    let level = sample.user_type;
    for key in id_token_claims(country, sample)
        .into_iter()
        .chain(userinfo_claims(country, sample, level))
        .map(|(k, _)| k)
    {
        if !names.contains(&key) {
            names.push(key);
        }
    }
    names
}

fn into_map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::citizens::citizens;

    #[test]
    fn default_is_the_middle_or_higher_level() {
        let cc = |s: &str| s.parse::<CountryCode>().unwrap();
        assert_eq!(default_acr(cc("SA")), "urn:sa:sso:loa:3");
        assert_eq!(default_acr(cc("BH")), "urn:bh:ekey:advanced");
        assert_eq!(default_acr(cc("OM")), "urn:om:eid:loa:mobile-pki");
        assert_eq!(amr_for("urn:bh:ekey:smartcard"), vec!["sc", "pin"]);
    }

    #[test]
    fn identifiers_have_valid_formats_and_checksums() {
        use jisr_mapping::identifier::Checksum;
        for g in Gcc::ALL {
            let list = citizens(g.code());
            assert!(list.len() >= 3, "{g:?}");
            for c in list {
                let digits: String = c.id.chars().filter(|ch| *ch != '-').collect();
                assert!(digits.bytes().all(|b| b.is_ascii_digit()), "{}", c.id);
                if matches!(g, Gcc::SaudiArabia | Gcc::UnitedArabEmirates) {
                    assert!(Checksum::Luhn.verify(&digits), "{}", c.id);
                }
            }
        }
    }
}
