//! The token endpoint over real HTTP: code redemption rules and client authentication.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

mod common;

use common::*;
use jisr_devidp::{Clock, Faults, SigningAlg};
use serde_json::{Value, json};

#[tokio::test]
async fn oidcc_codereuse() {
    let env = start("SA", SigningAlg::ES256, Faults::default()).await;
    let code = env.login("1000000024", &[]).await;
    env.tokens(&code).await;
    let response = env.redeem(&code, VERIFIER).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], json!("invalid_grant"));
}

#[tokio::test]
async fn wrong_code_verifier_refused_and_code_burnt() {
    let env = start("SA", SigningAlg::ES256, Faults::default()).await;
    let code = env.login("1000000024", &[]).await;
    let response = env
        .redeem(&code, "wrong-verifier-wrong-verifier-wrong-verifier-x")
        .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], json!("invalid_grant"));
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("code_verifier")
    );
    assert_eq!(
        env.redeem(&code, VERIFIER).await.status(),
        400,
        "single use even after a failure"
    );
}

#[tokio::test]
async fn token_response_is_no_store_and_bad_secret_is_invalid_client() {
    let env = start("QA", SigningAlg::ES256, Faults::default()).await;
    let code = env.login("29263400001", &[]).await;
    let bad = env
        .http
        .post(env.idp.url("/token"))
        .basic_auth(CLIENT, Some("nope"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    assert!(bad.headers().contains_key("www-authenticate"));
    assert_eq!(
        bad.json::<Value>().await.unwrap()["error"],
        json!("invalid_client")
    );
    let good = env.redeem(&code, VERIFIER).await;
    assert_eq!(good.headers()["cache-control"], "no-store");
    assert_eq!(good.status(), 200);
}

#[tokio::test]
async fn codes_expire_after_60_seconds() {
    let clock = Clock::manual(1_800_000_000);
    let env = start_with("KW", SigningAlg::ES256, Faults::default(), clock, false).await;
    let code = env.login("290010100001", &[]).await;
    env.clock.advance(61);
    let response = env.redeem(&code, VERIFIER).await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error_description"], json!("the code has expired"));
    // `max_age` asks for auth_time (a certified OP sends it only when asked).
    let code = env.login("290010100001", &[("max_age", "3600")]).await;
    env.clock.advance(59);
    let t = env.tokens(&code).await;
    let c = part(t["id_token"].as_str().unwrap(), 1);
    assert_eq!(c["iat"], json!(1_800_000_000 + 61 + 59));
    assert_eq!(c["auth_time"], json!(1_800_000_000 + 61));
}

#[tokio::test]
async fn private_key_jwt_client_auth() {
    let env = start("SA", SigningAlg::ES256, Faults::default()).await;
    let refusal = |r: reqwest::Response| async move {
        assert_eq!(r.status(), 401);
        r.json::<Value>().await.unwrap()["error_description"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // Good: aud = token endpoint, and aud = issuer.
    for aud in [env.idp.url("/token"), env.idp.issuer().to_owned()] {
        let code = env
            .authorize(PKJWT_CLIENT, &[("login_hint", "1000000016")])
            .await;
        let assertion = env.assertion(json!({ "aud": aud }));
        let response = env.redeem_with_assertion(code.code(), &assertion).await;
        assert_eq!(response.status(), 200);
        let t: Value = response.json().await.unwrap();
        assert_eq!(
            part(t["id_token"].as_str().unwrap(), 1)["aud"],
            json!(PKJWT_CLIENT)
        );
    }
    // Replayed jti.
    let assertion = env.assertion(json!({}));
    let cb = env
        .authorize(PKJWT_CLIENT, &[("login_hint", "1000000016")])
        .await;
    assert_eq!(
        env.redeem_with_assertion(cb.code(), &assertion)
            .await
            .status(),
        200
    );
    let cb = env
        .authorize(PKJWT_CLIENT, &[("login_hint", "1000000016")])
        .await;
    let why = refusal(env.redeem_with_assertion(cb.code(), &assertion).await).await;
    assert!(why.contains("jti was already used"), "{why}");
    // Bad assertions.
    let other = client_key("client-key-1");
    let forged = {
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        h.kid = Some("client-key-1".into());
        let now = chrono_now();
        let body = json!({"iss": PKJWT_CLIENT, "sub": PKJWT_CLIENT, "aud": env.idp.url("/token"), "exp": now + 60, "jti": "forged"});
        jsonwebtoken::encode(&h, &body, &other.encoding).unwrap()
    };
    let cases = [
        (forged, "InvalidSignature"),
        (
            env.assertion(json!({"aud": "https://elsewhere.example"})),
            "InvalidAudience",
        ),
        (
            env.assertion(json!({"iss": "someone-else"})),
            "InvalidIssuer",
        ),
        (env.assertion(json!({"exp": chrono_now() - 10})), "expired"),
    ];
    for (assertion, expected) in cases {
        let cb = env
            .authorize(PKJWT_CLIENT, &[("login_hint", "1000000016")])
            .await;
        let why = refusal(env.redeem_with_assertion(cb.code(), &assertion).await).await;
        assert!(why.contains(expected), "{why} vs {expected}");
    }
    // The secret_basic client cannot use an assertion, nor the JWT client a secret.
    let cb = env
        .authorize(PKJWT_CLIENT, &[("login_hint", "1000000016")])
        .await;
    let r = env
        .http
        .post(env.idp.url("/token"))
        .basic_auth(PKJWT_CLIENT, Some("guess"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", cb.code()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert!(refusal(r).await.contains("private_key_jwt"));
}
