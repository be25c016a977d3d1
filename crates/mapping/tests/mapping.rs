//! The mapping over the shipped example profiles and policy: every country, every refusal.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use jisr_mapping::claims::CrossBorderAssertion;
use jisr_mapping::error::ValueProblem;
use jisr_mapping::*;
use proptest::prelude::*;
use serde_json::{Value, json};

const PROFILES: [(&str, &str); 6] = [
    ("ae", include_str!("../../../config/countries/ae.toml")),
    ("bh", include_str!("../../../config/countries/bh.toml")),
    ("kw", include_str!("../../../config/countries/kw.toml")),
    ("om", include_str!("../../../config/countries/om.toml")),
    ("qa", include_str!("../../../config/countries/qa.toml")),
    ("sa", include_str!("../../../config/countries/sa.toml")),
];
const POLICY: &str = include_str!("../../../config/policy.toml");

fn example(cc: &str) -> Value {
    let text = match cc {
        "ae" => include_str!("../../../docs/examples/ae-claims.json"),
        "bh" => include_str!("../../../docs/examples/bh-claims.json"),
        "kw" => include_str!("../../../docs/examples/kw-claims.json"),
        "om" => include_str!("../../../docs/examples/om-claims.json"),
        "qa" => include_str!("../../../docs/examples/qa-claims.json"),
        "sa" => include_str!("../../../docs/examples/sa-claims.json"),
        _ => unreachable!(),
    };
    serde_json::from_str(text).unwrap()
}

fn profile(cc: &str) -> CountryProfile {
    let (file, text) = PROFILES.iter().find(|(f, _)| *f == cc).unwrap();
    profile_of(&format!("{file}.toml"), text)
}

fn policy() -> Policy {
    Policy::from_toml("policy.toml", POLICY).unwrap()
}

fn key() -> PairwiseKey {
    PairwiseKey::new(*b"test-only pairwise key, 32 bytes").unwrap()
}

fn cc(s: &str) -> CountryCode {
    s.parse().unwrap()
}

/// The context a verified login of `claims` would give: acr/amr/auth_time from the ID token.
fn ctx_of(claims: &Value) -> AuthContext {
    let t = &claims["id_token"];
    AuthContext {
        issuer: t["iss"].as_str().unwrap_or("https://idp.example").into(),
        acr: t["acr"].as_str().map(Into::into),
        amr: t["amr"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(Into::into))
                    .collect()
            })
            .unwrap_or_default(),
        auth_time: Some(1_764_400_000),
    }
}

fn map(cc_origin: &str, claims: &Value, dest: &str) -> Result<Mapped, MappingError> {
    map_with(&profile(cc_origin), claims, &ctx_of(claims), dest, "health")
}

fn map_with(
    p: &CountryProfile,
    claims: &Value,
    ctx: &AuthContext,
    dest: &str,
    sector: &str,
) -> Result<Mapped, MappingError> {
    let claims = NationalClaims::from_value(claims.clone())?;
    let dest = Destination {
        country: cc(dest),
        sector: format!("{}:{sector}", dest.to_lowercase()),
    };
    map_claims(p, &policy(), &claims, ctx, &dest, &key())
}

#[test]
fn every_example_country_maps_to_the_minimum_data_set() {
    let want = [
        (
            "ae",
            "OM",
            "Ahmed",
            "أحمد",
            "Al Mansoori",
            "1985-11-02",
            Loa::Substantial,
        ),
        (
            "bh",
            "KW",
            "Fatima",
            "فاطمة",
            "Al Khalifa",
            "1988-03-07",
            Loa::Substantial,
        ),
        (
            "kw",
            "QA",
            "Yousef",
            "يوسف",
            "Al Enezi",
            "1990-01-01",
            Loa::High,
        ),
        (
            "om",
            "AE",
            "Salim",
            "سالم",
            "Al Harthy",
            "1991-04-02",
            Loa::High,
        ),
        (
            "qa",
            "SA",
            "Maryam",
            "مريم",
            "Al Thani",
            "1992-08-15",
            Loa::High,
        ),
        (
            "sa",
            "BH",
            "Noura",
            "نورة",
            "Al Qahtani",
            "1989-12-13",
            Loa::High,
        ),
    ];
    for (origin, dest, given_en, given_ar, family_en, birthdate, loa) in want {
        let m = map(origin, &example(origin), dest).unwrap_or_else(|e| panic!("{origin}: {e}"));
        let a = &m.assertion;
        let c = &a.verified_claims.claims;
        assert_eq!(c.given_name, given_en, "{origin}");
        assert_eq!(c.given_name_en.as_deref(), Some(given_en), "{origin}");
        assert_eq!(c.given_name_ar.as_deref(), Some(given_ar), "{origin}");
        assert_eq!(c.family_name_en.as_deref(), Some(family_en), "{origin}");
        assert_eq!(c.birthdate, birthdate, "{origin}");
        assert_eq!(a.acr, loa, "{origin}");
        assert_eq!(a.verified_claims.verification.assurance_level, loa);
        assert_eq!(a.origin_country, cc(origin));
        assert_eq!(a.destination_country, cc(dest));
        assert_eq!(c.person_identifier.origin(), cc(origin));
        assert_eq!(c.person_identifier.destination(), cc(dest));
        assert_eq!(a.sub, c.person_identifier.to_string());
        assert_eq!(
            a.verified_claims.verification.time.as_deref(),
            Some("2025-11-29T07:06:40Z")
        );
        assert!(m.consent_required);
    }
}

#[test]
fn assertion_json_has_the_design_shape() {
    let m = map("sa", &example("sa"), "BH").unwrap();
    let v = serde_json::to_value(&m.assertion).unwrap();
    assert_eq!(
        v,
        json!({
            "sub": "SA/BH/1098765439",
            "auth_time": 1_764_400_000,
            "acr": "urn:jisr:loa:high",
            "amr": ["pwd", "otp"],
            "origin_country": "SA",
            "destination_country": "BH",
            "verified_claims": {
                "verification": {
                    "trust_framework": "jisr_gcc",
                    "assurance_level": "high",
                    "time": "2025-11-29T07:06:40Z",
                    "evidence": [{
                        "type": "electronic_record",
                        "record": {
                            "type": "national_digital_identity",
                            "source": {"name": "Saudi National SSO (illustrative)", "issuer": "https://sso.sa.example", "country_code": "SA"}
                        }
                    }]
                },
                "claims": {
                    "person_identifier": "SA/BH/1098765439",
                    "given_name": "Noura", "given_name#ar": "نورة", "given_name#en": "Noura",
                    "family_name": "Al Qahtani", "family_name#ar": "القحطاني", "family_name#en": "Al Qahtani",
                    "birthdate": "1989-12-13",
                    "gender": "female",
                    "nationalities": ["SA"],
                    "place_of_birth": {"locality": "Riyadh"}
                }
            }
        })
    );
}

#[test]
fn policy_decides_identifier_and_released_claims() {
    // SA→BH: national identifier, gender and place of birth released.
    let m = map("sa", &example("sa"), "BH").unwrap();
    assert_eq!(
        m.assertion.verified_claims.claims.person_identifier.value(),
        "1098765439"
    );
    assert_eq!(m.rule, "SA→BH");
    // SA→OM falls to *→*: pairwise, only nationalities beyond the minimum data set.
    let m = map("sa", &example("sa"), "OM").unwrap();
    let c = &m.assertion.verified_claims.claims;
    assert_ne!(c.person_identifier.value(), "1098765439");
    assert_eq!(c.person_identifier.value().len(), 43);
    assert_eq!(c.gender, None);
    assert_eq!(c.place_of_birth, None);
    assert_eq!(c.nationalities, Some(vec![cc("SA")]));
    assert_eq!(
        m.released.iter().map(|c| c.name()).collect::<Vec<_>>(),
        [
            "person_identifier",
            "family_name",
            "given_name",
            "birthdate",
            "nationalities"
        ]
    );
    assert_eq!(m.rule, "*→*");
}

#[test]
fn pairwise_subjects_are_stable_per_sector_and_unlinkable_across() {
    let claims = example("kw");
    let p = profile("kw");
    let ctx = ctx_of(&claims);
    let health = map_with(&p, &claims, &ctx, "OM", "health")
        .unwrap()
        .assertion
        .sub;
    let again = map_with(&p, &claims, &ctx, "OM", "health")
        .unwrap()
        .assertion
        .sub;
    let transport = map_with(&p, &claims, &ctx, "OM", "transport")
        .unwrap()
        .assertion
        .sub;
    assert_eq!(health, again);
    assert_ne!(health, transport);
    assert!(!health.contains("290010112345"));
}

#[test]
fn pair_refused_by_policy() {
    assert_eq!(
        map("qa", &example("qa"), "KW").unwrap_err(),
        MappingError::PairRefused {
            origin: cc("QA"),
            destination: cc("KW")
        }
    );
    assert_eq!(
        map("qa", &example("qa"), "KW").unwrap_err().oauth_error(),
        "access_denied"
    );
}

#[test]
fn loa_rules() {
    // UAE PASS SOP3 maps to high, capped at substantial; SOP1 is low, below the policy minimum.
    let mut ae = example("ae");
    assert_eq!(
        map("ae", &ae, "OM").unwrap().assertion.acr,
        Loa::Substantial
    );
    ae["userinfo"]["userType"] = json!("SOP1");
    let err = map("ae", &ae, "OM").unwrap_err();
    assert_eq!(
        err,
        MappingError::LoaTooLow {
            actual: Loa::Low,
            required: Loa::Substantial,
            rule: "AE→OM".into()
        }
    );
    assert_eq!(err.oauth_error(), "unmet_authentication_requirements");
    // An unknown account type gives no level at all, never low.
    ae["userinfo"]["userType"] = json!("SOP9");
    assert_eq!(
        map("ae", &ae, "OM").unwrap_err(),
        MappingError::NoLoa { country: cc("AE") }
    );

    // Unknown acr is refused, whatever the amr says.
    let sa = example("sa");
    let mut ctx = ctx_of(&sa);
    ctx.acr = Some("urn:sa:sso:loa:9".into());
    assert_eq!(
        map_with(&profile("sa"), &sa, &ctx, "BH", "x").unwrap_err(),
        MappingError::UnknownAcr {
            country: cc("SA"),
            acr: "urn:sa:sso:loa:9".into()
        }
    );
    // SA→BH needs high: loa:2 (substantial) is too low there, enough for *→*.
    ctx.acr = Some("urn:sa:sso:loa:2".into());
    assert_eq!(
        map_with(&profile("sa"), &sa, &ctx, "BH", "x").unwrap_err(),
        MappingError::LoaTooLow {
            actual: Loa::Substantial,
            required: Loa::High,
            rule: "SA→BH".into()
        }
    );
    assert!(map_with(&profile("sa"), &sa, &ctx, "KW", "x").is_ok());

    // Bahrain without acr: the highest known amr counts; unknown amr values are ignored.
    let bh = example("bh");
    let mut ctx = ctx_of(&bh);
    ctx.amr = vec!["pwd".into(), "sc".into(), "mystery".into()];
    assert_eq!(
        map_with(&profile("bh"), &bh, &ctx, "KW", "x")
            .unwrap()
            .assertion
            .acr,
        Loa::High
    );
    assert_eq!(
        map_with(&profile("bh"), &bh, &ctx, "KW", "x")
            .unwrap()
            .assertion
            .amr,
        ["pwd", "sc", "mystery"]
    );
    ctx.amr = vec!["mystery".into()];
    assert_eq!(
        map_with(&profile("bh"), &bh, &ctx, "KW", "x").unwrap_err(),
        MappingError::NoLoa { country: cc("BH") }
    );
}

/// Removes a dotted path from the claims of one source.
fn remove(claims: &mut Value, source: Source, path: &str) {
    let mut cur = &mut claims[source.name()];
    let segs: Vec<&str> = path.split('.').collect();
    for seg in &segs[..segs.len() - 1] {
        cur = &mut cur[*seg];
    }
    cur.as_object_mut().unwrap().remove(*segs.last().unwrap());
}

#[test]
fn every_missing_minimum_data_set_attribute_is_refused() {
    for (cc_origin, _) in PROFILES {
        let p = profile(cc_origin);
        let dest = if cc_origin == "sa" { "KW" } else { "SA" };
        let cases: Vec<(SharedClaim, Vec<(Source, String)>)> = vec![
            (
                SharedClaim::PersonIdentifier,
                vec![(
                    p.source_of(p.identifier.from),
                    p.identifier.claim.to_string(),
                )],
            ),
            (
                SharedClaim::GivenName,
                [&p.given_name.ar, &p.given_name.en]
                    .into_iter()
                    .flatten()
                    .map(|s| (p.source_of(s.from), s.claim.to_string()))
                    .collect(),
            ),
            (
                SharedClaim::FamilyName,
                [&p.family_name.ar, &p.family_name.en]
                    .into_iter()
                    .flatten()
                    .map(|s| (p.source_of(s.from), s.claim.to_string()))
                    .collect(),
            ),
            (
                SharedClaim::Birthdate,
                vec![(p.source_of(p.birthdate.from), p.birthdate.claim.to_string())],
            ),
        ];
        for (attribute, paths) in &cases {
            let mut claims = example(cc_origin);
            for (source, path) in paths {
                remove(&mut claims, *source, path);
            }
            // Attributes are read in minimum-data-set order; where two share a claim (a
            // combined name), the first of them is the one reported.
            let attribute = cases
                .iter()
                .find(|(_, other)| other.iter().all(|p| paths.contains(p)))
                .map(|(a, _)| *a)
                .unwrap_or(*attribute);
            let err = map(cc_origin, &claims, dest).unwrap_err();
            match &err {
                MappingError::Missing {
                    attribute: a,
                    claim,
                    ..
                } => {
                    assert_eq!(*a, attribute, "{cc_origin}: {err}");
                    assert!(paths.iter().any(|(_, p)| p == claim), "{cc_origin}: {err}");
                }
                other => panic!("{cc_origin} {attribute}: expected Missing, got {other}"),
            }
            assert!(err.to_string().contains(&format!(
                "minimum data set attribute `{attribute}` is missing"
            )));
        }
    }
}

#[test]
fn bad_values_are_refused_with_the_rule_and_without_the_value() {
    let canary_date = "1444/09/30"; // Ramadan 1444 had 29 days
    let mut sa = example("sa");
    sa["id_token"]["birthdate_hijri"] = json!(canary_date);
    let err = map("sa", &sa, "BH").unwrap_err();
    assert_eq!(
        err,
        MappingError::Invalid {
            attribute: SharedClaim::Birthdate,
            claim: "birthdate_hijri".into(),
            problem: ValueProblem::NoSuchDate {
                calendar: "Hijri (Umm al-Qura)"
            }
        }
    );
    assert!(!err.to_string().contains(canary_date));

    let canary_id = "1098765430"; // fails Luhn
    let mut sa = example("sa");
    sa["id_token"]["national_id"] = json!(canary_id);
    let err = map("sa", &sa, "BH").unwrap_err();
    assert_eq!(
        err,
        MappingError::Invalid {
            attribute: SharedClaim::PersonIdentifier,
            claim: "national_id".into(),
            problem: ValueProblem::ChecksumFailed { checksum: "luhn" }
        }
    );
    assert!(!err.to_string().contains(canary_id));
    assert_eq!(
        err.to_string(),
        "attribute `person_identifier` from claim `national_id` fails the `luhn` checksum"
    );

    let mut om = example("om");
    om["userinfo"]["given_name#en"] = json!("\u{202E}\u{200B}");
    om["userinfo"]["given_name#ar"] = json!("سالم");
    let err = map("om", &om, "AE").unwrap_err();
    assert_eq!(
        err,
        MappingError::Invalid {
            attribute: SharedClaim::GivenName,
            claim: "given_name#en".into(),
            problem: ValueProblem::EmptyAfterCleaning
        }
    );

    let mut ae = example("ae");
    ae["userinfo"]["fullnameEN"] = json!(",,,,,,");
    ae["userinfo"]["fullnameAR"] = json!(",,,,,,");
    assert!(matches!(
        map("ae", &ae, "OM").unwrap_err(),
        MappingError::Invalid {
            attribute: SharedClaim::GivenName,
            problem: ValueProblem::NoSuchPart { .. },
            ..
        }
    ));

    let mut ae = example("ae");
    ae["userinfo"]["gender"] = json!("Unspecified");
    assert_eq!(
        map("ae", &ae, "OM").unwrap_err(),
        MappingError::Invalid {
            attribute: SharedClaim::Gender,
            claim: "gender".into(),
            problem: ValueProblem::NotInTable
        }
    );

    let mut kw = example("kw");
    kw["id_token"]["nationality"] = json!(["KWT", 7]);
    assert_eq!(
        map("kw", &kw, "OM").unwrap_err(),
        MappingError::Invalid {
            attribute: SharedClaim::Nationalities,
            claim: "nationality".into(),
            problem: ValueProblem::NotAStringOrList
        }
    );

    let mut qa = example("qa");
    qa["id_token"]["qid"] = json!(29263400001u64);
    assert_eq!(
        map("qa", &qa, "SA").unwrap_err(),
        MappingError::Invalid {
            attribute: SharedClaim::PersonIdentifier,
            claim: "qid".into(),
            problem: ValueProblem::NotAString
        }
    );
}

#[test]
fn names_are_cleaned_of_bidi_and_zero_width_characters() {
    let mut om = example("om");
    om["userinfo"]["given_name#en"] = json!("\u{202E}Sal\u{200B}im\u{202C}");
    om["userinfo"]["family_name#ar"] = json!("\u{2067}الحارثي\u{2069}");
    let m = map("om", &om, "AE").unwrap();
    assert_eq!(m.assertion.verified_claims.claims.given_name, "Salim");
    assert_eq!(
        m.assertion.verified_claims.claims.family_name_ar.as_deref(),
        Some("الحارثي")
    );
}

#[test]
fn profile_for_one_country_only_maps_that_country() {
    // The profile decides the origin: an OM profile yields OM identifiers.
    let m = map("om", &example("om"), "KW").unwrap();
    assert_eq!(
        m.assertion
            .verified_claims
            .claims
            .person_identifier
            .origin(),
        cc("OM")
    );
}

#[test]
fn assertions_parse_back() {
    for (origin, dest) in [
        ("sa", "BH"),
        ("ae", "OM"),
        ("bh", "KW"),
        ("om", "QA"),
        ("kw", "AE"),
        ("qa", "OM"),
    ] {
        let m = map(origin, &example(origin), dest).unwrap();
        let text = serde_json::to_string(&m.assertion).unwrap();
        let back: CrossBorderAssertion = serde_json::from_str(&text).unwrap();
        assert_eq!(back, m.assertion);
    }
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,24}".prop_map(Value::from),
        "[0-9/\\-]{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    "[a-z_#]{1,12}",
                    Just("given_name#en".to_owned()),
                    Just("name".to_owned()),
                    Just("person".to_owned()),
                    Just("birthdate_hijri".to_owned()),
                    Just("national_id".to_owned()),
                    Just("fullnameEN".to_owned()),
                    Just("userType".to_owned())
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any JSON at all, for any profile: an assertion or an error, never a panic.
    #[test]
    fn mapping_never_panics(id_token in arb_json(), userinfo in arb_json(), acr in proptest::option::of(".{0,20}"), which in 0usize..6, auth_time in any::<i64>()) {
        let (cc_origin, _) = PROFILES[which];
        let claims = json!({"id_token": id_token, "userinfo": userinfo});
        let ctx = AuthContext { issuer: "https://idp.example".into(), acr, amr: vec![], auth_time: Some(auth_time) };
        let _ = map_with(&profile(cc_origin), &claims, &ctx, "OM", "x");
    }

    /// Mutating one example claim to arbitrary JSON: never a panic, and a success still
    /// serialises and parses back to the same assertion.
    #[test]
    fn mutated_examples_round_trip(which in 0usize..6, replacement in arb_json(), pick in any::<prop::sample::Index>()) {
        let (cc_origin, _) = PROFILES[which];
        let mut claims = example(cc_origin);
        let source = if claims["id_token"].is_object() && (pick.index(2) == 0 || !claims["userinfo"].is_object()) { "id_token" } else { "userinfo" };
        let obj = claims[source].as_object_mut().unwrap();
        let keys: Vec<String> = obj.keys().cloned().collect();
        let k = pick.get(&keys).clone();
        obj.insert(k, replacement);
        let dest = if cc_origin == "om" { "AE" } else { "OM" };
        if let Ok(m) = map(cc_origin, &claims, dest) {
            let text = serde_json::to_string(&m.assertion).unwrap();
            let back: CrossBorderAssertion = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(back, m.assertion);
        }
    }

    /// Names that survive cleaning are NFC, free of controls, and never empty.
    #[test]
    fn cleaned_names_have_no_controls(raw in "\\PC{0,8}[\u{200B}-\u{200F}\u{202A}-\u{202E}\u{2066}-\u{2069}\t ]{0,4}\\PC{0,8}") {
        if let Ok(name) = names::clean_name(&raw) {
            prop_assert!(!name.is_empty());
            let bad = |c: char| c.is_control() || ('\u{200B}'..='\u{200F}').contains(&c) || ('\u{202A}'..='\u{202E}').contains(&c) || ('\u{2066}'..='\u{2069}').contains(&c);
            prop_assert!(!name.chars().any(bad), "control left in cleaned name");
            prop_assert_eq!(names::clean_name(&name).unwrap(), name.clone());
        }
    }
}

#[test]
fn profiles_say_whether_they_need_userinfo() {
    let reads: Vec<(&str, bool)> = PROFILES
        .iter()
        .map(|(cc, _)| (*cc, profile(cc).reads(Source::Userinfo)))
        .collect();
    assert_eq!(
        reads,
        [
            ("ae", true),
            ("bh", true),
            ("kw", false),
            ("om", true),
            ("qa", false),
            ("sa", false)
        ]
    );
    assert!(
        profile("om").reads(Source::IdToken),
        "OM reads its civil number from the ID token"
    );
}

/// A shipped country file's mapping profile. The file's `[idp]` table is the gateway's, so it
/// is set aside first, as the gateway's loader does.
fn profile_of(file: &str, text: &str) -> CountryProfile {
    let mut document = jisr_mapping::toml_load::parse_document(file, text).unwrap();
    document.get_mut().remove("idp");
    CountryProfile::from_document(file, text, document).unwrap()
}
