//! Properties of the release policy, the mapping and pairwise identifiers over generated
//! inputs, where examples alone say too little: the most specific rule wins whatever the
//! policy, a mapping releases only what its rule and profile allow, pseudonyms are stable
//! within a sector and differ across sectors.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use jisr_mapping::claims::SharedClaim;
use jisr_mapping::*;
use proptest::prelude::*;
use serde_json::Value;

const PROFILES: [&str; 6] = [
    include_str!("../../../config/countries/ae.toml"),
    include_str!("../../../config/countries/bh.toml"),
    include_str!("../../../config/countries/kw.toml"),
    include_str!("../../../config/countries/om.toml"),
    include_str!("../../../config/countries/qa.toml"),
    include_str!("../../../config/countries/sa.toml"),
];
const EXAMPLES: [&str; 6] = [
    include_str!("../../../docs/examples/ae-claims.json"),
    include_str!("../../../docs/examples/bh-claims.json"),
    include_str!("../../../docs/examples/kw-claims.json"),
    include_str!("../../../docs/examples/om-claims.json"),
    include_str!("../../../docs/examples/qa-claims.json"),
    include_str!("../../../docs/examples/sa-claims.json"),
];
const EXTRAS: [&str; 3] = ["gender", "nationalities", "place_of_birth"];

/// The mapping part of a shipped country file (the `[idp]` table is the gateway's).
fn profile(i: usize) -> CountryProfile {
    let mut document = toml_load::parse_document("profile.toml", PROFILES[i]).unwrap();
    document.get_mut().remove("idp");
    CountryProfile::from_document("profile.toml", PROFILES[i], document).unwrap()
}

fn gcc(i: usize) -> CountryCode {
    Gcc::ALL[i % Gcc::ALL.len()].code()
}

/// One generated rule: origin and destination (`None` = `*`), allowed or not, its level,
/// disclosure and extra claims.
#[derive(Debug, Clone)]
struct GenRule {
    origin: Option<usize>,
    destination: Option<usize>,
    allow: bool,
    loa: usize,
    national: bool,
    extras: Vec<bool>,
}

fn gen_rule() -> impl Strategy<Value = GenRule> {
    (
        proptest::option::of(0usize..6),
        proptest::option::of(0usize..6),
        proptest::bool::weighted(0.8),
        0usize..3,
        any::<bool>(),
        proptest::collection::vec(any::<bool>(), 3),
    )
        .prop_map(
            |(origin, destination, allow, loa, national, extras)| GenRule {
                origin,
                destination,
                allow,
                loa,
                national,
                extras,
            },
        )
}

fn pattern(p: Option<usize>) -> String {
    p.map_or("*".to_owned(), |i| gcc(i).as_str().to_owned())
}

/// The policy text of the generated rules, duplicates of a pair dropped (the loader refuses
/// them).
fn policy_text(rules: &[GenRule]) -> (String, Vec<GenRule>) {
    let mut kept: Vec<GenRule> = Vec::new();
    let mut text = String::new();
    for r in rules {
        if kept
            .iter()
            .any(|k| k.origin == r.origin && k.destination == r.destination)
        {
            continue;
        }
        text += &format!(
            "[[rule]]\norigin = \"{}\"\ndestination = \"{}\"\n",
            pattern(r.origin),
            pattern(r.destination)
        );
        if r.allow {
            let release: Vec<String> = EXTRAS
                .iter()
                .zip(&r.extras)
                .filter(|(_, on)| **on)
                .map(|(c, _)| format!("\"{c}\""))
                .collect();
            text += &format!(
                "min_loa = \"{}\"\nidentifier = \"{}\"\nconsent = true\nrelease = [{}]\n",
                ["low", "substantial", "high"][r.loa],
                if r.national { "national" } else { "pairwise" },
                release.join(", ")
            );
        } else {
            text += "allow = false\n";
        }
        kept.push(r.clone());
    }
    (text, kept)
}

/// The reference answer: among the rules matching the pair, the one naming the most (both >
/// origin > destination > none); refused when there is none or it forbids the pair.
fn reference(rules: &[GenRule], o: usize, d: usize) -> Option<(Option<usize>, Option<usize>)> {
    let matches = |p: Option<usize>, c: usize| p.is_none_or(|p| gcc(p) == gcc(c));
    let rank = |r: &GenRule| 2 * u8::from(r.origin.is_some()) + u8::from(r.destination.is_some());
    rules
        .iter()
        .filter(|r| matches(r.origin, o) && matches(r.destination, d))
        .max_by_key(|r| rank(r))
        .filter(|r| r.allow)
        .map(|r| (r.origin, r.destination))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Policy decisions are deterministic and the most specific matching rule wins.
    #[test]
    fn the_most_specific_rule_decides_every_pair(rules in proptest::collection::vec(gen_rule(), 0..12)) {
        let (text, kept) = policy_text(&rules);
        let policy = Policy::from_toml("policy.toml", &text).unwrap();
        for o in 0..6 {
            for d in 0..6 {
                let (origin, destination) = (gcc(o), gcc(d));
                let first = policy.decide(origin, destination).map(Rule::id).ok();
                let again = policy.decide(origin, destination).map(Rule::id).ok();
                prop_assert_eq!(&first, &again);
                let expected = reference(&kept, o, d)
                    .map(|(ro, rd)| format!("{}→{}", pattern(ro), pattern(rd)));
                prop_assert_eq!(first, expected, "{} → {} under\n{}", origin, destination, text);
            }
        }
    }

    /// A mapping that succeeds releases only what the pair's rule allows, at the rule's level
    /// or above, with the profile's own values: gender from its table, an identifier in the
    /// form the rule discloses.
    #[test]
    fn the_mapping_releases_only_what_rule_and_profile_allow(
        rules in proptest::collection::vec(gen_rule(), 1..8),
        which in 0usize..6,
        dest in 0usize..6,
        drop_key in proptest::option::of(any::<prop::sample::Index>()),
        gender in proptest::option::of("[A-Za-z]{1,3}"),
    ) {
        let (text, _) = policy_text(&rules);
        let policy = Policy::from_toml("policy.toml", &text).unwrap();
        let profile = profile(which);
        let mut claims: Value = serde_json::from_str(EXAMPLES[which]).unwrap();
        for source in ["id_token", "userinfo"] {
            if let (Some(obj), Some(index)) = (claims[source].as_object_mut(), drop_key)
                && !obj.is_empty()
            {
                let key = obj.keys().nth(index.index(obj.len())).cloned().unwrap();
                obj.remove(&key);
            }
            if let (Some(obj), Some(g)) = (claims[source].as_object_mut(), &gender)
                && obj.contains_key("gender")
            {
                obj.insert("gender".into(), Value::String(g.clone()));
            }
        }
        let national = NationalClaims::from_value(claims.clone()).unwrap();
        let t = claims["id_token"].as_object();
        let ctx = AuthContext {
            issuer: "https://idp.example".into(),
            acr: t.and_then(|t| t.get("acr")).and_then(Value::as_str).map(Into::into),
            amr: vec![],
            auth_time: Some(1_764_400_000),
        };
        let destination = Destination { country: gcc(dest), sector: "health".into() };
        let key = PairwiseKey::new([5u8; 32]).unwrap();
        if let Ok(mapped) = map_claims(&profile, &policy, &national, &ctx, &destination, &key) {
            let rule = policy.decide(profile.country, destination.country).unwrap();
            prop_assert_eq!(&mapped.rule, &rule.id());
            for claim in &mapped.released {
                prop_assert!(rule.releases(*claim), "{} released under {}", claim, rule.id());
            }
            let c = &mapped.assertion.verified_claims.claims;
            prop_assert!(mapped.assertion.acr >= rule.min_loa());
            prop_assert!(c.gender.is_none() || rule.releases(SharedClaim::Gender));
            prop_assert!(c.nationalities.is_none() || rule.releases(SharedClaim::Nationalities));
            prop_assert!(c.place_of_birth.is_none() || rule.releases(SharedClaim::PlaceOfBirth));
            if let (Some(g), Some(table)) = (&c.gender, &profile.gender) {
                prop_assert!(table.values.values().any(|v| v.name() == g.as_str()), "gender {} not in the profile", g);
            }
            let id = &c.person_identifier;
            prop_assert_eq!(id.origin(), profile.country);
            prop_assert_eq!(id.destination(), destination.country);
            match rule.disclosure() {
                Disclosure::National => prop_assert!(profile.identifier.normalise(id.value()).is_ok()),
                Disclosure::Pairwise => prop_assert_eq!(id.value().len(), 43),
            }
        }
    }

    /// Pairwise identifiers: the same person and sector always give the same pseudonym;
    /// another sector, origin or person gives another.
    #[test]
    fn pseudonyms_are_stable_within_a_sector_and_differ_across(
        id in "[0-9A-Za-z-]{1,20}",
        other_id in "[0-9A-Za-z-]{1,20}",
        sector in "[a-z]{2}:[a-z-]{1,12}",
        other_sector in "[a-z]{2}:[a-z-]{1,12}",
        o in 0usize..6,
        o2 in 0usize..6,
        key in proptest::collection::vec(any::<u8>(), 32..48),
    ) {
        let key = PairwiseKey::new(key).unwrap();
        let p = key.pseudonym(gcc(o), &id, &sector);
        prop_assert_eq!(&p, &key.pseudonym(gcc(o), &id, &sector));
        prop_assert_eq!(p.len(), 43);
        if other_sector != sector {
            prop_assert_ne!(&p, &key.pseudonym(gcc(o), &id, &other_sector));
        }
        if gcc(o2) != gcc(o) {
            prop_assert_ne!(&p, &key.pseudonym(gcc(o2), &id, &sector));
        }
        if other_id != id {
            prop_assert_ne!(&p, &key.pseudonym(gcc(o), &other_id, &sector));
        }
    }
}
