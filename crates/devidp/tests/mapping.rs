//! Every synthetic citizen's claims, as the IdP sends them over HTTP, map with the real
//! country profiles and policy: proof that the claim shapes match `config/countries/*.toml`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

mod common;

use common::*;
use jisr_devidp::{Citizen, Faults, SigningAlg, citizens};
use jisr_mapping::dates::{Calendar, to_gregorian};
use jisr_mapping::{
    AuthContext, CountryCode, CountryProfile, Destination, Loa, Mapped, MappingError,
    NationalClaims, PairwiseKey, Policy, map_claims,
};
use serde_json::{Value, json};

fn config(path: &str) -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/");
    std::fs::read_to_string(format!("{root}{path}")).unwrap()
}

fn profile(country: &str) -> CountryProfile {
    let file = format!("countries/{}.toml", country.to_ascii_lowercase());
    profile_of(&file, &config(&file))
}

fn policy() -> Policy {
    Policy::from_toml("policy.toml", &config("policy.toml")).unwrap()
}

/// Logs `citizen` in over HTTP and maps what came back toward `destination`.
async fn login_and_map(
    env: &Env,
    country: &str,
    citizen: &Citizen,
    destination: &str,
) -> Result<Mapped, MappingError> {
    login_and_map_with(env, country, citizen, destination, &[]).await
}

async fn login_and_map_with(
    env: &Env,
    country: &str,
    citizen: &Citizen,
    destination: &str,
    extra: &[(&str, &str)],
) -> Result<Mapped, MappingError> {
    // As the gateway asks: the profile's acr values, strongest first (certified OPs, and
    // this one, put acr in the ID token only when asked).
    let profile_acr = profile(country).loa.acr_values_at_least(Loa::Low).join(" ");
    let mut extra = extra.to_vec();
    if !profile_acr.is_empty() && !extra.iter().any(|(k, _)| *k == "acr_values") {
        extra.push(("acr_values", &profile_acr));
    }
    let code = env.login(citizen.id, &extra).await;
    let tokens = env.tokens(&code).await;
    let access = tokens["access_token"].as_str().unwrap();
    let userinfo: Value = env.userinfo(access).await.json().await.unwrap();
    let id_token = tokens["id_token"].as_str().map(|t| part(t, 1));
    let mut national = json!({ "userinfo": userinfo });
    if let Some(id_token) = &id_token {
        national["id_token"] = id_token.clone();
    }
    let ctx = AuthContext {
        issuer: env.idp.issuer().to_owned(),
        acr: id_token
            .as_ref()
            .and_then(|t| t["acr"].as_str())
            .map(str::to_owned),
        amr: id_token
            .as_ref()
            .and_then(|t| t["amr"].as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        auth_time: id_token.as_ref().and_then(|t| t["auth_time"].as_i64()),
    };
    let dest = Destination {
        country: cc(destination),
        sector: format!("{destination}:health").to_ascii_lowercase(),
    };
    let key = PairwiseKey::new([7u8; 32]).unwrap();
    map_claims(
        &profile(country),
        &policy(),
        &NationalClaims::from_value(national).unwrap(),
        &ctx,
        &dest,
        &key,
    )
}

/// The citizen's date of birth in ISO 8601 Gregorian, converted independently of the IdP.
fn iso_birthdate(country: &str, raw: &str) -> String {
    let format = match country {
        "SA" => return to_gregorian(raw, "%Y/%m/%d", Calendar::HijriUmmAlQura).unwrap(),
        "KW" => "%d-%m-%Y",
        "QA" => "%Y%m%d",
        "AE" => "%d/%m/%Y",
        _ => "%Y-%m-%d",
    };
    to_gregorian(raw, format, Calendar::Gregorian).unwrap()
}

fn assert_names_and_birthdate(mapped: &Mapped, country: &str, c: &Citizen) {
    let claims = &mapped.assertion.verified_claims.claims;
    assert_eq!(claims.given_name, c.given_en, "{}", c.id);
    assert_eq!(claims.given_name_ar.as_deref(), Some(c.given_ar));
    assert_eq!(claims.family_name_en.as_deref(), Some(c.family_en));
    assert_eq!(claims.family_name_ar.as_deref(), Some(c.family_ar));
    assert_eq!(
        claims.birthdate,
        iso_birthdate(country, c.birthdate),
        "{}",
        c.id
    );
    assert_eq!(mapped.assertion.origin_country, cc(country));
}

#[tokio::test]
async fn sa_citizens_map_to_bahrain_with_national_id() {
    let env = start("SA", SigningAlg::ES256, Faults::default()).await;
    for c in citizens(cc("SA")) {
        let mapped = login_and_map(&env, "SA", c, "BH").await.unwrap();
        assert_names_and_birthdate(&mapped, "SA", c);
        let claims = &mapped.assertion.verified_claims.claims;
        assert_eq!(
            claims.person_identifier.to_string(),
            format!("SA/BH/{}", c.id)
        );
        assert_eq!(mapped.assertion.acr, Loa::High);
        assert_eq!(
            claims.gender.as_deref(),
            Some(if c.sex == jisr_devidp::Sex::Male {
                "male"
            } else {
                "female"
            })
        );
        assert_eq!(claims.nationalities, Some(vec![cc("SA")]));
        assert_eq!(
            claims.place_of_birth.as_ref().unwrap().locality.as_deref(),
            Some(c.birth_city_en)
        );
        assert_eq!(mapped.rule, "SA→BH");
    }
    // The Hijri year boundary lands in the expected Gregorian month (the conversion itself
    // is the mapping crate's, from ICU4X's Umm al-Qura data).
    assert!(iso_birthdate("SA", "1400/01/01").starts_with("1979-11-"));
    // At loa:2 (substantial) the SA→BH rule (min high) refuses.
    let c = &citizens(cc("SA"))[0];
    let err = login_and_map_with(&env, "SA", c, "BH", &[("loa", "urn:sa:sso:loa:2")])
        .await
        .unwrap_err();
    assert_eq!(
        err,
        MappingError::LoaTooLow {
            actual: Loa::Substantial,
            required: Loa::High,
            rule: "SA→BH".into()
        }
    );
}

#[tokio::test]
async fn bh_citizens_map_to_kuwait_from_userinfo() {
    let env = start("BH", SigningAlg::PS256, Faults::default()).await;
    for c in citizens(cc("BH")) {
        let mapped = login_and_map(&env, "BH", c, "KW").await.unwrap();
        assert_names_and_birthdate(&mapped, "BH", c);
        let claims = &mapped.assertion.verified_claims.claims;
        assert!(claims.person_identifier.to_string().starts_with("BH/KW/"));
        assert!(
            !claims.person_identifier.to_string().contains(c.id),
            "pairwise"
        );
        // Asked strongest first, the IdP signs in with the smartcard.
        assert_eq!(mapped.assertion.acr, Loa::High);
        let pob = claims.place_of_birth.as_ref().unwrap();
        assert_eq!(
            pob.country,
            Some(CountryCode::parse(c.birth_country).unwrap())
        );
        assert_eq!(pob.locality.as_deref(), Some(c.birth_city_en));
    }
}

#[tokio::test]
async fn om_kw_qa_citizens_map_under_the_default_rule() {
    for (country, dest, alg) in [
        ("OM", "SA", SigningAlg::EdDSA),
        ("KW", "SA", SigningAlg::RS256),
        ("QA", "AE", SigningAlg::ES256),
    ] {
        let env = start(country, alg, Faults::default()).await;
        for c in citizens(cc(country)) {
            let mapped = login_and_map(&env, country, c, dest).await.unwrap();
            assert_names_and_birthdate(&mapped, country, c);
            let claims = &mapped.assertion.verified_claims.claims;
            assert_eq!(mapped.rule, "*→*");
            assert!(
                claims
                    .person_identifier
                    .to_string()
                    .starts_with(&format!("{country}/{dest}/"))
            );
            let nat = CountryCode::parse(c.nationalities[0]).unwrap();
            assert_eq!(claims.nationalities, Some(vec![nat]), "{country}");
            assert_eq!(
                claims.gender, None,
                "the default rule does not release gender"
            );
        }
    }
}

#[tokio::test]
async fn qa_to_kw_is_refused_by_policy() {
    let env = start("QA", SigningAlg::ES256, Faults::default()).await;
    let c = &citizens(cc("QA"))[0];
    let err = login_and_map(&env, "QA", c, "KW").await.unwrap_err();
    assert_eq!(
        err,
        MappingError::PairRefused {
            origin: cc("QA"),
            destination: cc("KW")
        }
    );
}

#[tokio::test]
async fn ae_citizens_map_to_oman_capped_at_substantial() {
    let env = start("AE", SigningAlg::RS256, Faults::default()).await;
    for c in citizens(cc("AE")) {
        let result = login_and_map(&env, "AE", c, "OM").await;
        if c.user_type == "SOP1" {
            assert!(
                matches!(
                    result,
                    Err(MappingError::LoaTooLow {
                        actual: Loa::Low,
                        required: Loa::Substantial,
                        ..
                    })
                ),
                "{result:?}"
            );
            continue;
        }
        let mapped = result.unwrap();
        assert_names_and_birthdate(&mapped, "AE", c);
        assert_eq!(mapped.assertion.acr, Loa::Substantial, "UAE PASS is capped");
        let claims = &mapped.assertion.verified_claims.claims;
        assert_eq!(
            claims.gender.as_deref(),
            Some(if c.sex == jisr_devidp::Sex::Male {
                "male"
            } else {
                "female"
            })
        );
        assert_eq!(claims.nationalities, Some(vec![cc("AE")]));
        assert_eq!(mapped.rule, "AE→OM");
    }
}

#[tokio::test]
async fn missing_claim_fault_breaks_the_minimum_data_set() {
    let faults = Faults {
        missing_claims: vec!["birthdate_hijri".into()],
        ..Faults::default()
    };
    let env = start("SA", SigningAlg::ES256, faults).await;
    let err = login_and_map(&env, "SA", &citizens(cc("SA"))[0], "BH")
        .await
        .unwrap_err();
    assert!(
        matches!(err, MappingError::Missing { ref claim, .. } if claim == "birthdate_hijri"),
        "{err:?}"
    );
}

/// A shipped country file's mapping profile. The file's `[idp]` table is the gateway's, so it
/// is set aside first, as the gateway's loader does.
fn profile_of(file: &str, text: &str) -> CountryProfile {
    let mut document = jisr_mapping::toml_load::parse_document(file, text).unwrap();
    document.get_mut().remove("idp");
    CountryProfile::from_document(file, text, document).unwrap()
}
