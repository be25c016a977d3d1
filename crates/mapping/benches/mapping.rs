//! One full mapping (profile + policy + pairwise pseudonym) per shipped example country, beside
//! two baselines measured in the same run: the HMAC-SHA256 pseudonym alone, and parsing the
//! national claims JSON (work every login does before mapping).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use jisr_mapping::*;
use serde_json::Value;

fn setup(
    cc: &str,
    profile_toml: &str,
    claims_json: &str,
    dest: &str,
) -> (CountryProfile, NationalClaims, AuthContext, Destination) {
    let profile = profile_of(cc, profile_toml);
    let value: Value = serde_json::from_str(claims_json).unwrap();
    let t = &value["id_token"];
    let ctx = AuthContext {
        issuer: "https://idp.example".into(),
        acr: t["acr"].as_str().map(Into::into),
        amr: vec!["pwd".into(), "otp".into()],
        auth_time: Some(1_764_400_000),
    };
    let claims = NationalClaims::from_value(value).unwrap();
    let dest = Destination {
        country: dest.parse().unwrap(),
        sector: "om:health".into(),
    };
    (profile, claims, ctx, dest)
}

fn bench(c: &mut Criterion) {
    let policy =
        Policy::from_toml("policy.toml", include_str!("../../../config/policy.toml")).unwrap();
    let key = PairwiseKey::new([7u8; 32]).unwrap();
    let cases = [
        (
            "sa_hijri_national",
            include_str!("../../../config/countries/sa.toml"),
            include_str!("../../../docs/examples/sa-claims.json"),
            "BH",
        ),
        (
            "sa_hijri_pairwise",
            include_str!("../../../config/countries/sa.toml"),
            include_str!("../../../docs/examples/sa-claims.json"),
            "OM",
        ),
        (
            "ae_split_names_pairwise",
            include_str!("../../../config/countries/ae.toml"),
            include_str!("../../../docs/examples/ae-claims.json"),
            "OM",
        ),
        (
            "bh_nested_pairwise",
            include_str!("../../../config/countries/bh.toml"),
            include_str!("../../../docs/examples/bh-claims.json"),
            "KW",
        ),
    ];
    let mut group = c.benchmark_group("map_claims");
    for (name, profile, claims, dest) in cases {
        let (profile, claims, ctx, dest) = setup(name, profile, claims, dest);
        map_claims(&profile, &policy, &claims, &ctx, &dest, &key).unwrap();
        group.bench_function(name, |b| {
            b.iter(|| {
                map_claims(
                    black_box(&profile),
                    &policy,
                    black_box(&claims),
                    &ctx,
                    &dest,
                    &key,
                )
                .unwrap()
            })
        });
    }
    group.finish();

    let mut base = c.benchmark_group("baseline");
    let sa: CountryCode = "SA".parse().unwrap();
    base.bench_function("hmac_sha256_pseudonym", |b| {
        b.iter(|| {
            key.pseudonym(
                black_box(sa),
                black_box("1098765439"),
                black_box("om:health"),
            )
        })
    });
    let sa_json = include_str!("../../../docs/examples/sa-claims.json");
    base.bench_function("parse_claims_json_sa", |b| {
        b.iter(|| serde_json::from_str::<Value>(black_box(sa_json)).unwrap())
    });
    base.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

/// A shipped country file's mapping profile. The file's `[idp]` table is the gateway's, so it
/// is set aside first, as the gateway's loader does.
fn profile_of(file: &str, text: &str) -> CountryProfile {
    let mut document = jisr_mapping::toml_load::parse_document(file, text).unwrap();
    document.get_mut().remove("idp");
    CountryProfile::from_document(file, text, document).unwrap()
}
