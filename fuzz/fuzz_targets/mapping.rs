//! Every shipped country profile's mapping of arbitrary national claims
//! (`{"id_token": {…}, "userinfo": {…}}`) toward every other GCC state, under the shipped
//! policy. Oracles: a mapping that succeeds releases only what the pair's rule allows, names
//! the right countries and meets the rule's level; a refusal never quotes a claim value.
#![no_main]

use std::sync::LazyLock;

use jisr_gateway::config::MappingConfig;
use jisr_gateway::upstream::flow::context_of;
use jisr_mapping::{Destination, Gcc, NationalClaims, PairwiseKey, map_claims};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

static MAPPING: LazyLock<MappingConfig> = LazyLock::new(|| {
    MappingConfig::load_dir(&jisr_fuzz::config_dir())
        .unwrap_or_else(|p| panic!("shipped config: {p:?}"))
});
static KEY: LazyLock<PairwiseKey> =
    LazyLock::new(|| PairwiseKey::new([42u8; 32]).unwrap_or_else(|_| unreachable!()));

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Ok(claims) = NationalClaims::from_value(value) else {
        return;
    };
    let empty = Map::new();
    for (_, profile) in &MAPPING.profiles {
        let source = claims
            .id_token
            .as_ref()
            .or(claims.userinfo.as_ref())
            .unwrap_or(&empty);
        let ctx = context_of("https://idp.example", source);
        for destination in Gcc::ALL.into_iter().map(Gcc::code) {
            if destination == profile.country {
                continue;
            }
            let dest = Destination {
                country: destination,
                sector: format!("{}:health", destination.as_str().to_ascii_lowercase()),
            };
            match map_claims(profile, &MAPPING.policy, &claims, &ctx, &dest, &KEY) {
                Ok(mapped) => {
                    let rule = MAPPING
                        .policy
                        .decide(profile.country, destination)
                        .unwrap_or_else(|_| panic!("mapped a refused pair"));
                    assert_eq!(mapped.rule, rule.id());
                    for claim in &mapped.released {
                        assert!(
                            rule.releases(*claim),
                            "{claim} released against {}",
                            rule.id()
                        );
                    }
                    let a = &mapped.assertion;
                    assert!(a.acr >= rule.min_loa(), "level below the rule's minimum");
                    let id = &a.verified_claims.claims.person_identifier;
                    assert_eq!(id.origin(), profile.country);
                    assert_eq!(id.destination(), destination);
                    let c = &a.verified_claims.claims;
                    assert!(c.gender.is_none() || rule.releases(jisr_mapping::SharedClaim::Gender));
                    assert!(
                        c.nationalities.is_none()
                            || rule.releases(jisr_mapping::SharedClaim::Nationalities)
                    );
                    assert!(
                        c.place_of_birth.is_none()
                            || rule.releases(jisr_mapping::SharedClaim::PlaceOfBirth)
                    );
                    assert!(c.birthdate.len() == 10, "birthdate is not YYYY-MM-DD");
                }
                Err(e) => {
                    let text = e.to_string();
                    assert!(!text.contains("CANARY"), "refusal quotes a value: {text}");
                    let _ = (e.reason(), e.oauth_error());
                }
            }
        }
    }
});
