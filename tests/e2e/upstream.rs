//! The upstream Relying Party against development national IdPs over real HTTP. Each test is
//! named after the OpenID RP certification test it mirrors where there is one.

use std::path::Path;
use std::sync::Arc;

use jisr_devidp::{Faults, SigningAlg};
use jisr_e2e::upstream::*;
use jisr_e2e::{cc, now};
use jisr_gateway::config::parse_country_file;
use jisr_gateway::upstream::{Expect, UpstreamError, Upstreams, VerifyError};
use jisr_mapping::{Destination, PairwiseKey, Policy, map_claims};
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value, json};

const ALL_ASYM: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::EdDSA,
];

fn verify_err(result: Result<impl std::fmt::Debug, UpstreamError>) -> VerifyError {
    match result {
        Err(UpstreamError::Verify(e)) => e,
        other => panic!("expected a verification error, got {other:?}"),
    }
}

fn faults(f: impl FnOnce(&mut Faults)) -> Faults {
    let mut faults = Faults::default();
    f(&mut faults);
    faults
}

fn header(pairs: Value) -> Option<Map<String, Value>> {
    pairs.as_object().cloned()
}

/// Every country, each signing algorithm: a citizen signs in, the token verifies, userinfo
/// matches, and the claims map to the shared assertion with the shipped profiles and policy.
#[tokio::test]
async fn rp_code_flow_every_country_maps_to_an_assertion() {
    let policy =
        Policy::from_toml("policy.toml", include_str!("../../config/policy.toml")).unwrap();
    let key = PairwiseKey::new([3u8; 32]).unwrap();
    let cases = [
        (
            "SA",
            SigningAlg::RS256,
            include_str!("../../config/countries/sa.toml"),
            "BH",
        ),
        (
            "BH",
            SigningAlg::ES256,
            include_str!("../../config/countries/bh.toml"),
            "KW",
        ),
        (
            "OM",
            SigningAlg::PS256,
            include_str!("../../config/countries/om.toml"),
            "AE",
        ),
        (
            "KW",
            SigningAlg::EdDSA,
            include_str!("../../config/countries/kw.toml"),
            "QA",
        ),
        (
            "QA",
            SigningAlg::ES256,
            include_str!("../../config/countries/qa.toml"),
            "SA",
        ),
        (
            "AE",
            SigningAlg::RS256,
            include_str!("../../config/countries/ae.toml"),
            "OM",
        ),
    ];
    for (country, alg, profile, dest) in cases {
        let idp = idp(country, alg, Faults::default()).await;
        let up = upstream(&idp, country, ALL_ASYM).await;
        let profile = parse_country_file(Path::new(country), profile)
            .unwrap()
            .profile;
        for citizen in jisr_devidp::citizens(cc(country)) {
            let login = login(&up, citizen.id)
                .await
                .unwrap_or_else(|e| panic!("{country} {}: {e}", citizen.id));
            assert_eq!(login.context.issuer, idp.issuer());
            assert_eq!(
                login.claims.id_token.is_some(),
                country != "AE",
                "{country}"
            );
            let dest = Destination {
                country: cc(dest),
                sector: "health".into(),
            };
            let mapped = map_claims(
                &profile,
                &policy,
                &login.claims,
                &login.context,
                &dest,
                &key,
            );
            match mapped {
                Ok(m) => {
                    let claims = &m.assertion.verified_claims.claims;
                    assert_eq!(
                        claims.given_name_en.as_deref(),
                        Some(citizen.given_en),
                        "{country}"
                    );
                    assert_eq!(
                        claims.family_name_ar.as_deref(),
                        Some(citizen.family_ar),
                        "{country}"
                    );
                    assert_eq!(m.assertion.origin_country, cc(country));
                }
                // A citizen whose login is below the pair's minimum LoA is refused, not mapped.
                Err(jisr_mapping::MappingError::LoaTooLow { .. }) => {
                    assert_eq!(citizen.user_type, "SOP1", "{country} {}", citizen.id)
                }
                Err(e) => panic!("{country} {}: {e}", citizen.id),
            }
        }
    }
}

#[tokio::test]
async fn rp_id_token_bad_sig_rs256() {
    let idp = idp(
        "SA",
        SigningAlg::RS256,
        faults(|f| f.wrong_signature = true),
    )
    .await;
    let up = upstream(&idp, "SA", &[Algorithm::RS256]).await;
    assert_eq!(
        verify_err(login(&up, citizen("SA")).await),
        VerifyError::BadSignature
    );
}

#[tokio::test]
async fn rp_id_token_bad_sig_es256() {
    let idp = idp(
        "KW",
        SigningAlg::ES256,
        faults(|f| f.wrong_signature = true),
    )
    .await;
    let up = upstream(&idp, "KW", &[Algorithm::ES256]).await;
    assert_eq!(
        verify_err(login(&up, citizen("KW")).await),
        VerifyError::BadSignature
    );
}

#[tokio::test]
async fn rp_id_token_bad_sig_ps256_and_eddsa() {
    for (alg, jwt_alg) in [
        (SigningAlg::PS256, Algorithm::PS256),
        (SigningAlg::EdDSA, Algorithm::EdDSA),
    ] {
        let idp = idp("QA", alg, faults(|f| f.wrong_signature = true)).await;
        let up = upstream(&idp, "QA", &[jwt_alg]).await;
        assert_eq!(
            verify_err(login(&up, citizen("QA")).await),
            VerifyError::BadSignature,
            "{alg:?}"
        );
    }
}

#[tokio::test]
async fn rp_id_token_sig_none_in_any_casing() {
    let idp = idp("SA", SigningAlg::RS256, faults(|f| f.alg_none = true)).await;
    let up = upstream(&idp, "SA", &[Algorithm::RS256]).await;
    assert_eq!(
        verify_err(login(&up, citizen("SA")).await),
        VerifyError::AlgNotAllowed { alg: "none".into() }
    );
    for casing in ["None", "NONE", "nOnE"] {
        idp.set_faults(faults(|f| {
            f.alg_none = true;
            f.header = header(json!({"alg": casing}));
        }));
        assert_eq!(
            verify_err(login(&up, citizen("SA")).await),
            VerifyError::AlgNotAllowed { alg: casing.into() }
        );
    }
}

#[tokio::test]
async fn rp_id_token_sig_alg_outside_the_allow_list() {
    // The IdP signs ES256 but the country allows only RS256.
    let idp = idp("OM", SigningAlg::ES256, Faults::default()).await;
    let up = upstream(&idp, "OM", &[Algorithm::RS256]).await;
    assert_eq!(
        verify_err(login(&up, citizen("OM")).await),
        VerifyError::AlgNotAllowed {
            alg: "ES256".into()
        }
    );
}

#[tokio::test]
async fn rp_id_token_issuer_mismatch() {
    let idp = idp("BH", SigningAlg::RS256, faults(|f| f.wrong_iss = true)).await;
    let up = upstream(&idp, "BH", &[Algorithm::RS256]).await;
    assert_eq!(
        verify_err(login(&up, citizen("BH")).await),
        VerifyError::IssuerMismatch
    );
}

#[tokio::test]
async fn rp_id_token_aud() {
    let idp = idp("BH", SigningAlg::RS256, faults(|f| f.wrong_aud = true)).await;
    let up = upstream(&idp, "BH", &[Algorithm::RS256]).await;
    assert_eq!(
        verify_err(login(&up, citizen("BH")).await),
        VerifyError::AudienceMismatch
    );
}

#[tokio::test]
async fn rp_id_token_iat() {
    let idp = idp("KW", SigningAlg::ES256, faults(|f| f.iat_future = true)).await;
    let up = upstream(&idp, "KW", &[Algorithm::ES256]).await;
    assert_eq!(
        verify_err(login(&up, citizen("KW")).await),
        VerifyError::IssuedInFuture
    );
}

#[tokio::test]
async fn rp_id_token_expired_and_nbf() {
    // Expired beyond the 60 s leeway.
    let idp = idp(
        "KW",
        SigningAlg::ES256,
        faults(|f| f.claims = header(json!({"exp": now() - 120}))),
    )
    .await;
    let up = upstream(&idp, "KW", &[Algorithm::ES256]).await;
    assert_eq!(
        verify_err(login(&up, citizen("KW")).await),
        VerifyError::Expired
    );
    // Within the leeway, still accepted.
    idp.set_faults(faults(|f| f.claims = header(json!({"exp": now() - 30}))));
    login(&up, citizen("KW")).await.unwrap();
    idp.set_faults(faults(|f| f.claims = header(json!({"nbf": now() + 3600}))));
    assert_eq!(
        verify_err(login(&up, citizen("KW")).await),
        VerifyError::NotYetValid
    );
}

#[tokio::test]
async fn rp_nonce_invalid() {
    let idp = idp("OM", SigningAlg::RS256, faults(|f| f.nonce_mismatch = true)).await;
    let up = upstream(&idp, "OM", &[Algorithm::RS256]).await;
    assert_eq!(
        verify_err(login(&up, citizen("OM")).await),
        VerifyError::NonceMismatch
    );
}

#[tokio::test]
async fn rp_id_token_kid_absent_single_jwks() {
    let idp = idp("SA", SigningAlg::RS256, faults(|f| f.omit_kid = true)).await;
    let up = upstream(&idp, "SA", &[Algorithm::RS256]).await;
    let login = login(&up, citizen("SA")).await.unwrap();
    assert_eq!(login.claims.id_token.unwrap()["national_id"], citizen("SA"));
}

#[tokio::test]
async fn rp_id_token_kid_absent_multiple_jwks() {
    let idp = idp(
        "SA",
        SigningAlg::RS256,
        faults(|f| {
            f.omit_kid = true;
            f.extra_keys = 1;
        }),
    )
    .await;
    let up = upstream(&idp, "SA", &[Algorithm::RS256]).await;
    assert_eq!(
        verify_err(login(&up, citizen("SA")).await),
        VerifyError::KidRequired
    );
}

#[tokio::test]
async fn rp_key_rotation_op_sign_key() {
    let idp = idp("QA", SigningAlg::ES256, Faults::default()).await;
    let up = upstream(&idp, "QA", &[Algorithm::ES256]).await;
    login(&up, citizen("QA")).await.unwrap();
    let fetches = up.jwks().fetch_count();
    // The IdP rotates to a new key with a new kid: the unknown kid triggers one refresh.
    idp.set_faults(faults(|f| f.key_generation = 1));
    login(&up, citizen("QA")).await.unwrap();
    assert_eq!(up.jwks().fetch_count(), fetches + 1);
    // The next login uses the cached new key.
    login(&up, citizen("QA")).await.unwrap();
    assert_eq!(up.jwks().fetch_count(), fetches + 1);
}

#[tokio::test]
async fn rp_key_replaced_under_the_same_kid() {
    let idp = idp("BH", SigningAlg::RS256, Faults::default()).await;
    let up = upstream(&idp, "BH", &[Algorithm::RS256]).await;
    login(&up, citizen("BH")).await.unwrap();
    let fetches = up.jwks().fetch_count();
    idp.set_faults(faults(|f| f.replace_key_same_kid = true));
    login(&up, citizen("BH")).await.unwrap();
    assert_eq!(
        up.jwks().fetch_count(),
        fetches + 1,
        "one refresh after the signature failed under the cached kid"
    );
}

#[tokio::test]
async fn rp_userinfo_bad_sub_claim() {
    let idp = idp(
        "OM",
        SigningAlg::RS256,
        faults(|f| f.userinfo_other_sub = true),
    )
    .await;
    let up = upstream(&idp, "OM", &[Algorithm::RS256]).await;
    assert_eq!(
        login(&up, citizen("OM")).await.unwrap_err(),
        UpstreamError::Userinfo("sub does not match the ID token".into())
    );
}

#[tokio::test]
async fn rp_id_token_missing_required_claims() {
    let idp = idp(
        "SA",
        SigningAlg::RS256,
        faults(|f| f.missing_claims = vec!["exp".into()]),
    )
    .await;
    let up = upstream(&idp, "SA", &[Algorithm::RS256]).await;
    assert_eq!(
        verify_err(login(&up, citizen("SA")).await),
        VerifyError::MissingClaim("exp")
    );
    idp.set_faults(faults(|f| f.missing_claims = vec!["iat".into()]));
    assert_eq!(
        verify_err(login(&up, citizen("SA")).await),
        VerifyError::MissingClaim("iat")
    );
}

#[tokio::test]
async fn missing_national_claims_are_refused_by_the_mapping() {
    let idp = idp(
        "SA",
        SigningAlg::RS256,
        faults(|f| f.missing_claims = vec!["birthdate_hijri".into()]),
    )
    .await;
    let up = upstream(&idp, "SA", &[Algorithm::RS256]).await;
    let login = login(&up, citizen("SA")).await.unwrap();
    let profile = parse_country_file(
        Path::new("sa"),
        include_str!("../../config/countries/sa.toml"),
    )
    .unwrap()
    .profile;
    let policy =
        Policy::from_toml("policy.toml", include_str!("../../config/policy.toml")).unwrap();
    let err = map_claims(
        &profile,
        &policy,
        &login.claims,
        &login.context,
        &Destination {
            country: cc("KW"),
            sector: "x".into(),
        },
        &PairwiseKey::new([1u8; 32]).unwrap(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "minimum data set attribute `birthdate` is missing: claim `birthdate_hijri` (id_token) is absent"
    );
}

#[tokio::test]
async fn jwt_hs256_signed_with_the_public_key_is_refused() {
    let idp = idp(
        "SA",
        SigningAlg::RS256,
        faults(|f| f.hs256_with_public_key = true),
    )
    .await;
    let up = upstream(&idp, "SA", &[Algorithm::RS256]).await;
    assert_eq!(
        verify_err(login(&up, citizen("SA")).await),
        VerifyError::AlgNotAllowed {
            alg: "HS256".into()
        }
    );
}

#[tokio::test]
async fn jwt_ecdsa_zero_signature_is_refused() {
    let idp = idp(
        "KW",
        SigningAlg::ES256,
        faults(|f| f.ecdsa_zero_signature = true),
    )
    .await;
    let up = upstream(&idp, "KW", &[Algorithm::ES256]).await;
    assert_eq!(
        verify_err(login(&up, citizen("KW")).await),
        VerifyError::BadSignature
    );
}

#[tokio::test]
async fn jwt_key_headers_are_ignored_keys_come_only_from_the_jwks() {
    // Signed by the IdP with jwk/jku/x5u/x5c headers pointing elsewhere: verified with the
    // JWKS key, and nothing is fetched from the headers' URLs.
    let idp = idp("BH", SigningAlg::ES256, faults(|f| {
        f.header = header(json!({
            "jku": "http://127.0.0.1:9/evil-jwks",
            "x5u": "http://127.0.0.1:9/evil.pem",
            "x5c": ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"],
            "jwk": {"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}
        }))
    }))
    .await;
    let up = upstream(&idp, "BH", &[Algorithm::ES256]).await;
    login(&up, citizen("BH")).await.unwrap();
}

#[tokio::test]
async fn jwt_token_signed_with_an_embedded_attacker_key_is_refused() {
    let idp = idp("BH", SigningAlg::ES256, Faults::default()).await;
    let up = upstream(&idp, "BH", &[Algorithm::ES256]).await;
    let upstreams = Upstreams::new(vec![up.config.clone()]).unwrap();
    upstreams.get(cc("BH")).unwrap().discover().await.unwrap();
    // The attacker's own P-256 key, its public half embedded as `jwk`, and the IdP's kid.
    let pair = aws_lc_rs::signature::EcdsaKeyPair::generate(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
    )
    .unwrap();
    let der = pair.to_pkcs8v1().unwrap();
    let key = jsonwebtoken::EncodingKey::from_ec_der(der.as_ref());
    let mut h = jsonwebtoken::Header::new(Algorithm::ES256);
    h.kid = Some("../../../../etc/passwd".into());
    let claims =
        json!({"iss": idp.issuer(), "sub": "x", "aud": "jisr", "exp": now() + 60, "iat": now()});
    let token = jsonwebtoken::encode(&h, &claims, &key).unwrap();
    let expect = Expect {
        nonce: None,
        access_token: None,
        now: now(),
    };
    assert_eq!(
        verify_err(upstreams.verify_national_token(&token, &expect).await),
        VerifyError::UnknownKid
    );
}

#[tokio::test]
async fn jwt_unknown_crit_and_b64_false_are_refused() {
    let idp = idp(
        "SA",
        SigningAlg::RS256,
        faults(|f| f.header = header(json!({"crit": ["exp"]}))),
    )
    .await;
    let up = upstream(&idp, "SA", &[Algorithm::RS256]).await;
    assert_eq!(
        verify_err(login(&up, citizen("SA")).await),
        VerifyError::UnsupportedHeader("crit")
    );
    idp.set_faults(faults(|f| f.header = header(json!({"b64": false}))));
    assert_eq!(
        verify_err(login(&up, citizen("SA")).await),
        VerifyError::UnsupportedHeader("b64")
    );
}

#[tokio::test]
async fn jwt_oversized_token_is_refused_before_parsing() {
    let idp = idp(
        "SA",
        SigningAlg::RS256,
        faults(|f| f.pad_id_token_bytes = 20_000),
    )
    .await;
    let up = upstream(&idp, "SA", &[Algorithm::RS256]).await;
    assert_eq!(
        verify_err(login(&up, citizen("SA")).await),
        VerifyError::TooLarge { max: 16 * 1024 }
    );
}

#[tokio::test]
async fn jwt_wrong_typ_is_refused() {
    let idp = idp(
        "SA",
        SigningAlg::RS256,
        faults(|f| f.header = header(json!({"typ": "at+jwt"}))),
    )
    .await;
    let up = upstream(&idp, "SA", &[Algorithm::RS256]).await;
    assert_eq!(
        verify_err(login(&up, citizen("SA")).await),
        VerifyError::WrongType {
            typ: "at+jwt".into(),
            required: "JWT".into()
        }
    );
    // Where the country requires a typ, a token without one is refused too.
    let mut cfg = config_for(&idp, "SA", &[Algorithm::RS256]);
    cfg.require_typ = Some("JWT".into());
    let strict = jisr_gateway::upstream::Upstream::new(cfg).unwrap();
    strict.discover().await.unwrap();
    idp.set_faults(faults(|f| f.header = header(json!({"typ": null}))));
    let err = verify_err(login(&strict, citizen("SA")).await);
    assert!(
        matches!(
            err,
            VerifyError::WrongType { .. } | VerifyError::Malformed(_)
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn keys_are_bound_to_their_issuer() {
    // KW's IdP signs a token that claims SA's issuer: routed to SA, SA's keys do not verify it.
    let sa = idp("SA", SigningAlg::ES256, Faults::default()).await;
    let kw = idp("KW", SigningAlg::ES256, faults(|f| f.header = None)).await;
    let upstreams = Upstreams::new(vec![
        config_for(&sa, "SA", &[Algorithm::ES256]),
        config_for(&kw, "KW", &[Algorithm::ES256]),
    ])
    .unwrap();
    for c in ["SA", "KW"] {
        upstreams.get(cc(c)).unwrap().discover().await.unwrap();
    }
    kw.set_faults(faults(|f| {
        f.claims = header(json!({"iss": sa.issuer(), "aud": "jisr"}))
    }));
    let kw_up = upstream(&kw, "KW", &[Algorithm::ES256]).await;
    // Obtain the forged token from KW's token endpoint through a normal login.
    let (pending, callback) = authorize(&kw_up, citizen("KW"), None).await;
    let token = raw_id_token(&kw, &pending, &callback).await;
    let expect = Expect {
        nonce: None,
        access_token: None,
        now: now(),
    };
    assert_eq!(
        verify_err(upstreams.verify_national_token(&token, &expect).await),
        VerifyError::UnknownKid
    );
}

/// Exchanges a code at the IdP directly and returns the raw ID token.
async fn raw_id_token(
    idp: &jisr_devidp::DevIdp,
    pending: &jisr_gateway::upstream::PendingLogin,
    callback: &jisr_gateway::upstream::AuthorizationResponse,
) -> String {
    let response: Value = reqwest::Client::new()
        .post(idp.url("/token"))
        .basic_auth("jisr", Some(SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", callback.code.as_deref().unwrap()),
            ("redirect_uri", &redirect_uri(pending.country)),
            ("code_verifier", &pending.pkce_verifier),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    response["id_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn garbage_tokens_get_typed_errors() {
    let idp = idp("SA", SigningAlg::RS256, Faults::default()).await;
    let upstreams = Upstreams::new(vec![config_for(&idp, "SA", &[Algorithm::RS256])]).unwrap();
    upstreams.get(cc("SA")).unwrap().discover().await.unwrap();
    let expect = Expect {
        nonce: None,
        access_token: None,
        now: now(),
    };
    let b64 = |v: &Value| {
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            v.to_string(),
        )
    };
    let good_header = b64(&json!({"alg": "RS256"}));
    let cases: Vec<(String, VerifyError)> = vec![
        (
            "garbage".into(),
            VerifyError::Malformed(
                "not three dot-separated parts (JWE and JSON serialisation are not accepted)",
            ),
        ),
        (
            "a.b.c.d.e".into(),
            VerifyError::Malformed(
                "not three dot-separated parts (JWE and JSON serialisation are not accepted)",
            ),
        ),
        (
            "!!!.e30.c2ln".into(),
            VerifyError::Malformed("header is not base64url-encoded JSON object"),
        ),
        (
            format!("{}.e30.c2ln", b64(&json!("just a string"))),
            VerifyError::Malformed("header is not base64url-encoded JSON object"),
        ),
        (
            format!("{good_header}.eyJpc3MiOi.c2ln"),
            VerifyError::Malformed("payload is not a base64url-encoded JSON object"),
        ),
        (
            format!("{good_header}.{}.", b64(&json!({"iss": idp.issuer()}))),
            VerifyError::Malformed("signature is empty"),
        ),
        (
            format!("{good_header}.{}.!!", b64(&json!({"iss": idp.issuer()}))),
            VerifyError::Malformed("signature is not base64url"),
        ),
        (
            format!(
                "{good_header}.{}.c2ln",
                b64(&json!({"iss": "https://elsewhere.example"}))
            ),
            VerifyError::UnknownIssuer,
        ),
        (
            format!("{good_header}.{}.c2ln", b64(&json!({"sub": "x"}))),
            VerifyError::MissingClaim("iss"),
        ),
        (
            "x".repeat(100_000),
            VerifyError::TooLarge { max: 16 * 1024 },
        ),
    ];
    for (token, want) in cases {
        assert_eq!(
            verify_err(upstreams.verify_national_token(&token, &expect).await),
            want,
            "{}",
            &token[..token.len().min(40)]
        );
    }
}

#[tokio::test]
async fn rfc9207_iss_in_the_authorization_response_is_checked() {
    let idp = idp("OM", SigningAlg::RS256, Faults::default()).await;
    let up = upstream(&idp, "OM", &[Algorithm::RS256]).await;
    let (pending, mut callback) = authorize(&up, citizen("OM"), None).await;
    assert_eq!(callback.iss.as_deref(), Some(idp.issuer()));
    callback.iss = Some("https://mix-up.example".into());
    assert_eq!(
        up.complete(&pending, &callback, now()).await.unwrap_err(),
        UpstreamError::AuthorizationResponse("iss does not match the IdP (RFC 9207)".into())
    );
    callback.iss = None;
    assert_eq!(
        up.complete(&pending, &callback, now()).await.unwrap_err(),
        UpstreamError::AuthorizationResponse(
            "iss is missing but the IdP advertises it (RFC 9207)".into()
        )
    );
    let (pending, mut callback) = authorize(&up, citizen("OM"), None).await;
    callback.state = Some("forged".into());
    assert_eq!(
        up.complete(&pending, &callback, now()).await.unwrap_err(),
        UpstreamError::AuthorizationResponse("state does not match".into())
    );
}

#[tokio::test]
async fn a_down_idp_does_not_stop_the_others_and_discovery_retries() {
    let sa = idp("SA", SigningAlg::RS256, faults(|f| f.down = true)).await;
    let kw = idp("KW", SigningAlg::ES256, Faults::default()).await;
    let upstreams = Upstreams::new(vec![
        config_for(&sa, "SA", &[Algorithm::RS256]),
        config_for(&kw, "KW", &[Algorithm::ES256]),
    ])
    .unwrap();
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    upstreams.spawn_discovery(shutdown);
    let kw_up = upstreams.get(cc("KW")).unwrap().clone();
    wait_until(|| kw_up.is_ready()).await;
    login(&kw_up, citizen("KW")).await.unwrap();
    let sa_up: Arc<_> = upstreams.get(cc("SA")).unwrap().clone();
    assert!(!sa_up.is_ready());
    assert!(matches!(
        sa_up.begin(None, None),
        Err(UpstreamError::Unavailable { .. })
    ));
    assert_eq!(
        sa_up.status().as_deref(),
        Some("discovery: HTTP 503 Service Unavailable")
    );
    sa.set_faults(Faults::default());
    wait_until(|| sa_up.is_ready()).await;
    login(&sa_up, citizen("SA")).await.unwrap();
}

/// After discovery the gateway keeps probing each IdP's authorization endpoint: an IdP that
/// stops answering becomes unavailable within two probes, and available again at the first
/// answer (within a second: it is probed every second while down).
#[tokio::test]
async fn the_watch_takes_an_idp_that_stops_answering_out_and_back() {
    let kw = idp("KW", SigningAlg::ES256, Faults::default()).await;
    let upstreams = Upstreams::new(vec![config_for(&kw, "KW", &[Algorithm::ES256])]).unwrap();
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    upstreams.spawn_discovery(shutdown);
    let up = upstreams.get(cc("KW")).unwrap().clone();
    wait_until(|| up.is_available()).await;
    kw.set_faults(faults(|f| f.down = true));
    wait_until(|| !up.is_available()).await;
    assert!(up.is_ready(), "still discovered: only not answering");
    kw.set_faults(Faults::default());
    let back = std::time::Instant::now();
    wait_until(|| up.is_available()).await;
    assert!(
        back.elapsed() < std::time::Duration::from_secs(3),
        "{:?}",
        back.elapsed()
    );
    login(&up, citizen("KW")).await.unwrap();
}

async fn wait_until(f: impl Fn() -> bool) {
    for _ in 0..200 {
        if f() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("condition not reached within 10 s");
}

#[tokio::test]
async fn a_hanging_or_garbage_idp_fails_in_bounded_time() {
    // One listener that accepts and never answers, one that answers garbage.
    let hang = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hang_addr = hang.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = hang.accept().await {
            held.push(s);
        }
    });
    let garbage = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let garbage_addr = garbage.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut s, _)) = garbage.accept().await {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 9\r\n\r\n{\"issuer\"").await;
        }
    });
    let idp = idp("SA", SigningAlg::RS256, Faults::default()).await;
    for (addr, want) in [
        (hang_addr, "discovery: timed out"),
        (
            garbage_addr,
            "discovery: document is not valid provider metadata",
        ),
    ] {
        let mut cfg = config_for(&idp, "SA", &[Algorithm::RS256]);
        cfg.issuer = format!("http://{addr}");
        cfg.timeout = std::time::Duration::from_secs(1);
        let up = jisr_gateway::upstream::Upstream::new(cfg).unwrap();
        let started = std::time::Instant::now();
        let err = up.discover().await.unwrap_err();
        assert!(
            started.elapsed() < std::time::Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(err.to_string(), want);
    }
}

#[tokio::test]
async fn slow_idp_within_the_timeout_still_works() {
    let idp = idp("QA", SigningAlg::ES256, faults(|f| f.slow_ms = 200)).await;
    let up = upstream(&idp, "QA", &[Algorithm::ES256]).await;
    login(&up, citizen("QA")).await.unwrap();
}

#[tokio::test]
async fn jwks_refresh_is_single_flight() {
    let idp = idp("SA", SigningAlg::ES256, Faults::default()).await;
    let up = upstream(&idp, "SA", &[Algorithm::ES256]).await;
    // Collect many valid tokens, then rotate the key so each one's kid is unknown to a
    // fresh cache... instead: a fresh client with an empty cache verifies 20 tokens at once.
    let mut tokens = Vec::new();
    for _ in 0..20 {
        let (pending, callback) = authorize(&up, citizen("SA"), None).await;
        tokens.push(raw_id_token(&idp, &pending, &callback).await);
    }
    let mut cfg = config_for(&idp, "SA", &[Algorithm::ES256]);
    cfg.jwks.min_refresh_secs = 30;
    let upstreams = Upstreams::new(vec![cfg]).unwrap();
    let fresh = upstreams.get(cc("SA")).unwrap().clone();
    fresh.discover().await.unwrap();
    let before = fresh.jwks().fetch_count();
    let expect = Expect {
        nonce: None,
        access_token: None,
        now: now(),
    };
    let results = futures::future::join_all(
        tokens
            .iter()
            .map(|t| upstreams.verify_national_token(t, &expect)),
    )
    .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(fresh.jwks().fetch_count() - before, 1);
    // A kid miss right after now waits for the next allowed fetch rather than failing:
    // `edges_upstream::jwks_*` covers it.
    assert_eq!(fresh.jwks().fetch_count() - before, 1);
}

#[tokio::test]
async fn stale_jwks_is_used_while_the_idp_is_down() {
    let idp = idp("KW", SigningAlg::ES256, Faults::default()).await;
    let mut cfg = config_for(&idp, "KW", &[Algorithm::ES256]);
    cfg.jwks.max_age_cap_secs = 1;
    let upstreams = Upstreams::new(vec![cfg.clone()]).unwrap();
    let up = upstreams.get(cc("KW")).unwrap().clone();
    up.discover().await.unwrap();
    let helper = upstream(&idp, "KW", &[Algorithm::ES256]).await;
    let (p1, c1) = authorize(&helper, citizen("KW"), None).await;
    let t1 = raw_id_token(&idp, &p1, &c1).await;
    let (p2, c2) = authorize(&helper, citizen("KW"), None).await;
    let t2 = raw_id_token(&idp, &p2, &c2).await;
    let expect = Expect {
        nonce: None,
        access_token: None,
        now: now(),
    };
    upstreams.verify_national_token(&t1, &expect).await.unwrap();
    // The cached set expires (1 s) while the IdP is down: the stale keys still verify.
    idp.set_faults(faults(|f| f.down = true));
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let fetches = up.jwks().fetch_count();
    upstreams.verify_national_token(&t2, &expect).await.unwrap();
    assert_eq!(
        up.jwks().fetch_count(),
        fetches + 1,
        "a refresh was attempted"
    );
}

/// RFC 7523 private_key_jwt toward the IdP: a P-256 client key; the IdP knows its public JWK.
#[tokio::test]
async fn rp_token_endpoint_private_key_jwt() {
    use jisr_gateway::upstream::config::ClientAuth;
    let pair = aws_lc_rs::signature::EcdsaKeyPair::generate(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
    )
    .unwrap();
    let pkcs8 = pair.to_pkcs8v1().unwrap();
    let public = aws_lc_rs::signature::KeyPair::public_key(&pair)
        .as_ref()
        .to_vec(); // 0x04 || x || y
    let b64 =
        |b: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, b);
    let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_value(json!({"keys": [{
        "kty": "EC", "crv": "P-256", "kid": "jisr-client-1", "alg": "ES256", "use": "sig",
        "x": b64(&public[1..33]), "y": b64(&public[33..65])
    }]}))
    .unwrap();
    let country = cc("SA");
    let idp = jisr_devidp::spawn(jisr_devidp::DevIdpConfig {
        clients: vec![jisr_devidp::DevClient {
            client_id: "jisr".into(),
            auth: jisr_devidp::ClientAuth::PrivateKeyJwt(jwks),
            redirect_uris: vec![redirect_uri(country)],
        }],
        ..jisr_devidp::DevIdpConfig::new(country, SigningAlg::RS256)
    })
    .await
    .unwrap();
    let mut cfg = config_for(&idp, "SA", &[Algorithm::RS256]);
    cfg.client_auth = ClientAuth::PrivateKeyJwt {
        key: jsonwebtoken::EncodingKey::from_ec_der(pkcs8.as_ref()),
        alg: Algorithm::ES256,
        kid: Some("jisr-client-1".into()),
    };
    let up = jisr_gateway::upstream::Upstream::new(cfg.clone()).unwrap();
    up.discover().await.unwrap();
    let login = login(&up, citizen("SA")).await.unwrap();
    assert_eq!(login.claims.id_token.unwrap()["national_id"], citizen("SA"));

    // Another key under the same kid: the IdP refuses the client.
    let other = aws_lc_rs::signature::EcdsaKeyPair::generate(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
    )
    .unwrap();
    cfg.client_auth = ClientAuth::PrivateKeyJwt {
        key: jsonwebtoken::EncodingKey::from_ec_der(other.to_pkcs8v1().unwrap().as_ref()),
        alg: Algorithm::ES256,
        kid: Some("jisr-client-1".into()),
    };
    let impostor = jisr_gateway::upstream::Upstream::new(cfg).unwrap();
    impostor.discover().await.unwrap();
    assert_eq!(
        login_err(&impostor).await,
        UpstreamError::Token("HTTP 401 invalid_client".into())
    );
}

async fn login_err(up: &jisr_gateway::upstream::Upstream) -> UpstreamError {
    login(up, citizen("SA")).await.unwrap_err()
}
