//! Introspection (RFC 7662) and revocation (RFC 7009) of the gateway's access tokens, the
//! back channel in discovery, and every JWT attack class of the upstream tests sent through
//! token exchange: the same verification refuses them with the same typed reasons.

use jisr_demo::AGENCY_CLIENT_ID;
use jisr_devidp::Faults;
use jisr_e2e::exchange::{
    ACCESS_TOKEN, AGENCY, Auth, NO_BASIS, RESOURCE_SERVER, app_claims, demo, exchange,
    national_token, national_token_with, post, refusal,
};
use jisr_e2e::{cc, now};
use serde_json::{Map, Value, json};

/// An access token exchanged by [`AGENCY`] for a Qatari citizen.
async fn access_token(demo: &jisr_demo::Demo) -> String {
    let token = national_token(demo, "QA").await;
    let (s, b) = exchange(
        &demo.gateway_url,
        Auth::As(AGENCY),
        &token,
        &[("requested_token_type", ACCESS_TOKEN)],
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["issued_token_type"], ACCESS_TOKEN);
    assert_eq!(b["token_type"], "Bearer");
    b["access_token"].as_str().unwrap().to_owned()
}

async fn introspect(base: &str, auth: Auth<'_>, token: &str) -> (u16, Value) {
    post(base, "/introspect", auth, &[("token", token)]).await
}

#[tokio::test]
async fn introspection_of_active_other_client_revoked_and_forged_tokens() {
    let demo = demo(None).await;
    let base = demo.gateway_url.clone();
    let token = access_token(&demo).await;
    let inactive = json!({"active": false});

    // Its own agency and the resource server it registered see the claims.
    for caller in [AGENCY, RESOURCE_SERVER] {
        let (s, b) = introspect(&base, Auth::As(caller), &token).await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["active"], true, "{caller}: {b}");
        assert_eq!(b["client_id"], AGENCY);
        assert_eq!(b["token_type"], "Bearer");
        assert_eq!(b["scope"], "openid");
        assert_eq!(b["origin_country"], "QA");
        assert_eq!(b["destination_country"], "BH");
        assert_eq!(b["acr"], "urn:jisr:loa:high");
        assert_eq!(b["iss"], base.as_str());
        let (exp, iat) = (b["exp"].as_i64().unwrap(), b["iat"].as_i64().unwrap());
        assert_eq!(exp - iat, 300);
        assert!((now() - iat).abs() < 30);
        assert!(b["sub"].as_str().is_some_and(|s| !s.is_empty()));
    }
    // Anyone else learns nothing, not even that the token exists.
    for caller in [NO_BASIS] {
        assert_eq!(
            introspect(&base, Auth::As(caller), &token).await,
            (200, inactive.clone())
        );
    }
    let (s, b) = introspect(
        &base,
        Auth::Basic(AGENCY_CLIENT_ID, &demo.agency_secret),
        &token,
    )
    .await;
    assert_eq!((s, b), (200, inactive.clone()));
    // Forged, truncated or tampered tokens are inactive.
    let mut tampered = token.clone().into_bytes();
    let mid = tampered.len() / 2;
    tampered[mid] = if tampered[mid] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for forged in [
        "garbage",
        &token[..token.len() - 4],
        &tampered,
        &"A".repeat(9000),
    ] {
        assert_eq!(
            introspect(&base, Auth::As(AGENCY), forged).await,
            (200, inactive.clone()),
            "{}",
            &forged[..forged.len().min(20)]
        );
    }
    // Callers must authenticate; the token parameter is required.
    let (s, b) = introspect(&base, Auth::None, &token).await;
    assert_eq!(
        (s, refusal(&b)),
        (
            401,
            (
                "invalid_client".into(),
                "client authentication is required".into()
            )
        )
    );
    let (s, b) = introspect(&base, Auth::Basic(AGENCY, "wrong"), &token).await;
    assert_eq!((s, refusal(&b).0.as_str()), (401, "invalid_client"));
    let (s, b) = post(&base, "/introspect", Auth::As(AGENCY), &[]).await;
    assert_eq!(
        (s, refusal(&b)),
        (400, ("invalid_request".into(), "token is missing".into()))
    );

    // Revocation: only by its own agency; then introspection and userinfo refuse it.
    let revoke = |auth, hint: Option<&'static str>| {
        let token = token.clone();
        let base = base.clone();
        async move {
            let mut form = vec![("token", token.as_str())];
            if let Some(h) = hint {
                form.push(("token_type_hint", h));
            }
            post(&base, "/revoke", auth, &form).await
        }
    };
    let (s, b) = revoke(Auth::As(RESOURCE_SERVER), None).await;
    assert_eq!(
        (s, refusal(&b)),
        (
            400,
            (
                "unauthorized_client".into(),
                "the token was issued to another client".into()
            )
        )
    );
    let (s, b) = revoke(Auth::As(AGENCY), Some("id_token")).await;
    assert_eq!(
        (s, refusal(&b).0.as_str()),
        (400, "unsupported_token_type"),
        "{b}"
    );
    let (s, _) = revoke(Auth::None, None).await;
    assert_eq!(s, 401);
    assert_eq!(jisr_e2e::agency::userinfo_at(&base, &token).await.0, 200);
    assert_eq!(revoke(Auth::As(AGENCY), Some("access_token")).await.0, 200);
    assert_eq!(
        introspect(&base, Auth::As(AGENCY), &token).await,
        (200, inactive.clone())
    );
    assert_eq!(jisr_e2e::agency::userinfo_at(&base, &token).await.0, 401);
    // Revoking again, or an unknown token, is not an error (RFC 7009 2.2).
    assert_eq!(revoke(Auth::As(AGENCY), Some("refresh_token")).await.0, 200);
    let (s, _) = post(
        &base,
        "/revoke",
        Auth::As(AGENCY),
        &[("token", "never-issued")],
    )
    .await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn introspection_of_an_expired_token_is_inactive() {
    // The gateway's clock steps past the access token's lifetime.
    let offset = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
    let clock_offset = offset.clone();
    let clock: jisr_gateway::app::Clock =
        std::sync::Arc::new(move || now() + clock_offset.load(std::sync::atomic::Ordering::SeqCst));
    let demo = jisr_e2e::demo::start(jisr_demo::DemoOptions {
        extra_agencies: jisr_e2e::exchange::agencies(),
        policy: Some(jisr_e2e::exchange::policy()),
        clock: Some(clock),
        ..jisr_demo::DemoOptions::default()
    })
    .await;
    let token = access_token(&demo).await;
    let base = &demo.gateway_url;
    assert_eq!(
        introspect(base, Auth::As(AGENCY), &token).await.1["active"],
        true
    );
    offset.store(301, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        introspect(base, Auth::As(AGENCY), &token).await,
        (200, json!({"active": false}))
    );
}

#[tokio::test]
async fn the_back_channel_is_in_discovery() {
    let demo = demo(None).await;
    let m: Value = reqwest::get(format!(
        "{}/.well-known/openid-configuration",
        demo.gateway_url
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let base = &demo.gateway_url;
    assert_eq!(
        m["grant_types_supported"],
        json!([
            "authorization_code",
            "urn:ietf:params:oauth:grant-type:token-exchange"
        ])
    );
    assert_eq!(m["introspection_endpoint"], format!("{base}/introspect"));
    assert_eq!(m["revocation_endpoint"], format!("{base}/revoke"));
    for key in [
        "introspection_endpoint_auth_methods_supported",
        "revocation_endpoint_auth_methods_supported",
    ] {
        assert_eq!(
            m[key],
            json!([
                "client_secret_basic",
                "client_secret_post",
                "private_key_jwt"
            ])
        );
    }
}

fn faults(f: impl FnOnce(&mut Faults)) -> Faults {
    let mut faults = Faults::default();
    f(&mut faults);
    faults
}

fn map(v: Value) -> Option<Map<String, Value>> {
    v.as_object().cloned()
}

/// Every JWT attack class of the upstream tests, through token exchange: the national IdP
/// (or an attacker) produces the token, the agency presents it, the login's verification
/// refuses it with the same reason. (A token without `kid` while the IdP publishes several
/// keys is the upstream tests' `rp_id_token_kid_absent_multiple_jwks`: here the JWKS cached
/// from earlier cases holds the one key it was signed with, so it verifies, as it should. An expired token, beyond the leeway, is refused in
/// `exchange::exchange_refusals_name_the_check_that_failed`.)
#[tokio::test]
async fn exchange_refuses_every_jwt_attack_class_of_the_upstream_tests() {
    let demo = demo(None).await;
    let base = demo.gateway_url.clone();
    let cases: Vec<(&str, &str, Faults, &str)> = vec![
        (
            "SA",
            "bad signature",
            faults(|f| f.wrong_signature = true),
            "signature does not verify with the issuer's key",
        ),
        (
            "QA",
            "bad signature (ES256)",
            faults(|f| f.wrong_signature = true),
            "signature does not verify with the issuer's key",
        ),
        (
            "KW",
            "bad signature (EdDSA)",
            faults(|f| f.wrong_signature = true),
            "signature does not verify with the issuer's key",
        ),
        (
            "SA",
            "alg none",
            faults(|f| f.alg_none = true),
            "algorithm `none` is not allowed for this issuer",
        ),
        (
            "SA",
            "alg NoNe",
            faults(|f| f.header = map(json!({"alg": "NoNe"}))),
            "algorithm `NoNe` is not allowed for this issuer",
        ),
        (
            "SA",
            "HS256 keyed with the public key",
            faults(|f| f.hs256_with_public_key = true),
            "algorithm `HS256` is not allowed for this issuer",
        ),
        (
            "QA",
            "ECDSA zero signature",
            faults(|f| f.ecdsa_zero_signature = true),
            "signature does not verify with the issuer's key",
        ),
        (
            "SA",
            "alg outside the allow-list",
            faults(|f| f.header = map(json!({"alg": "RS512"}))),
            "algorithm `RS512` is not allowed for this issuer",
        ),
        (
            "SA",
            "unknown kid",
            faults(|f| f.header = map(json!({"kid": "no-such-key"}))),
            "no key in the issuer's JWKS has this kid",
        ),
        (
            "SA",
            "crit",
            faults(|f| f.header = map(json!({"crit": ["exp"]}))),
            "JOSE header `crit` is not supported",
        ),
        (
            "SA",
            "b64 false",
            faults(|f| f.header = map(json!({"b64": false}))),
            "JOSE header `b64` is not supported",
        ),
        (
            "SA",
            "typ at+jwt",
            faults(|f| f.header = map(json!({"typ": "at+jwt"}))),
            "token type `at+jwt` is not the required `JWT`",
        ),
        (
            "SA",
            "iat in the future",
            faults(|f| f.iat_future = true),
            "token was issued in the future (iat)",
        ),
        (
            "SA",
            "wrong iss",
            faults(|f| f.wrong_iss = true),
            "issuer is not a configured national IdP",
        ),
        (
            "SA",
            "exp missing",
            faults(|f| f.missing_claims = vec!["exp".into()]),
            "required claim `exp` is missing or has the wrong type",
        ),
        (
            "SA",
            "sub missing",
            faults(|f| f.missing_claims = vec!["sub".into()]),
            "required claim `sub` is missing or has the wrong type",
        ),
        (
            "SA",
            "oversized",
            faults(|f| f.pad_id_token_bytes = 20_000),
            "token is larger than 16384 bytes",
        ),
        (
            "SA",
            "jwk/jku headers ignored, unknown kid",
            faults(|f| f.header = map(json!({"jku": "http://127.0.0.1:9/evil", "kid": "evil"}))),
            "no key in the issuer's JWKS has this kid",
        ),
    ];
    let national = jisr_devidp::citizens(cc("SA"))[0].id;
    for (country, attack, fault, why) in cases {
        let idp = demo.idp(cc(country)).unwrap();
        idp.set_faults(fault);
        let mut claims = app_claims(country);
        if attack.ends_with("missing") {
            // The fault removes the claim; the app's claims must not put it back.
            claims.remove("exp");
        }
        let token = national_token_with(&demo, country, claims, None).await;
        let (s, b) = exchange(&base, Auth::As(AGENCY), &token, &[]).await;
        assert_eq!(
            (s, refusal(&b)),
            (
                400,
                (
                    "invalid_grant".into(),
                    format!("subject_token refused: {why}")
                )
            ),
            "{country}: {attack}"
        );
        assert!(!b.to_string().contains(national), "{attack}");
    }
    demo.idp(cc("SA")).unwrap().set_faults(Faults::default());

    // Attacker-made tokens: an embedded key of the attacker's own, and a token signed by
    // KW's IdP claiming SA's issuer (keys are bound to their issuer).
    let pair = aws_lc_rs::signature::EcdsaKeyPair::generate(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
    )
    .unwrap();
    let der = pair.to_pkcs8v1().unwrap();
    let key = jsonwebtoken::EncodingKey::from_ec_der(der.as_ref());
    let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    h.kid = Some("attacker".into());
    let qa = demo.idp(cc("QA")).unwrap();
    let claims = json!({"iss": qa.issuer(), "sub": "x", "aud": "qa-mobile-app", "exp": now() + 60, "iat": now()});
    let forged = jsonwebtoken::encode(&h, &claims, &key).unwrap();
    let (s, b) = exchange(&base, Auth::As(AGENCY), &forged, &[]).await;
    assert_eq!(
        (s, refusal(&b)),
        (
            400,
            (
                "invalid_grant".into(),
                "subject_token refused: no key in the issuer's JWKS has this kid".into()
            )
        )
    );
    let sa_issuer = demo.idp(cc("SA")).unwrap().issuer().to_owned();
    let mut cross = app_claims("BH");
    cross.insert("iss".into(), json!(sa_issuer));
    cross.insert("aud".into(), json!("sa-mobile-app"));
    let token = national_token_with(&demo, "BH", cross, None).await;
    let (s, b) = exchange(&base, Auth::As(AGENCY), &token, &[]).await;
    assert_eq!((s, refusal(&b).0.as_str()), (400, "invalid_grant"), "{b}");
    let why = refusal(&b).1;
    assert!(
        why == "subject_token refused: algorithm `ES256` is not allowed for this issuer"
            || why == "subject_token refused: no key in the issuer's JWKS has this kid",
        "{why}"
    );
}
