//! The development IdP asks nothing of its clients that a certified OP would not, and gives
//! nothing they did not ask for: `acr` only when asked (`acr_values`, or the `claims`
//! parameter where supported), `auth_time` only with `max_age`, `prompt=login` or the
//! `claims` parameter; a single sign-on session is reused unless the client demands a fresh
//! authentication (as panva's oidc-provider does).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

mod common;

use common::*;
use jisr_devidp::{Clock, Faults, SigningAlg};
use serde_json::json;

const NOW: i64 = 1_764_400_000;

async fn id_claims(env: &Env, extra: &[(&str, &str)]) -> serde_json::Value {
    let code = env.login("1000000016", extra).await;
    part(env.tokens(&code).await["id_token"].as_str().unwrap(), 1)
}

fn session(age: u64, ignore: bool) -> Faults {
    Faults {
        sso_session_age_secs: age,
        ignore_reauthentication: ignore,
        ..Faults::default()
    }
}

#[tokio::test]
async fn acr_only_when_asked_strongest_supported_first() {
    let env = start("SA", SigningAlg::ES256, Faults::default()).await;
    let c = id_claims(&env, &[]).await;
    assert!(c.get("acr").is_none(), "{c}");
    assert!(c.get("auth_time").is_none(), "{c}");
    let c = id_claims(&env, &[("acr_values", "urn:sa:sso:loa:2 urn:sa:sso:loa:3")]).await;
    assert_eq!(
        c["acr"],
        json!("urn:sa:sso:loa:2"),
        "the first supported value"
    );
    assert!(c.get("auth_time").is_none(), "{c}");
}

#[tokio::test]
async fn sso_session_is_reused_unless_prompt_login_or_max_age_demand_a_fresh_one() {
    let clock = Clock::manual(NOW);
    let env = start_with("SA", SigningAlg::ES256, session(3600, false), clock, false).await;
    // max_age longer than the session: reused, auth_time an hour ago.
    let c = id_claims(&env, &[("max_age", "7200")]).await;
    assert_eq!(c["auth_time"], json!(NOW - 3600), "{c}");
    // Shorter: the IdP authenticates again.
    let c = id_claims(&env, &[("max_age", "600")]).await;
    assert_eq!(c["auth_time"], json!(NOW), "{c}");
    for extra in [[("prompt", "login")], [("max_age", "0")]] {
        let c = id_claims(&env, &extra).await;
        assert_eq!(c["auth_time"], json!(NOW), "{extra:?}: {c}");
    }
    // Nothing asked: the session is reused and auth_time left out.
    let c = id_claims(&env, &[]).await;
    assert!(c.get("auth_time").is_none(), "{c}");
}

#[tokio::test]
async fn a_non_conforming_idp_reuses_the_session_anyway() {
    let clock = Clock::manual(NOW);
    let env = start_with("SA", SigningAlg::ES256, session(3600, true), clock, false).await;
    let c = id_claims(&env, &[("prompt", "login")]).await;
    assert_eq!(c["auth_time"], json!(NOW - 3600), "{c}");
}

#[tokio::test]
async fn malformed_max_age_is_refused() {
    let env = start("SA", SigningAlg::ES256, Faults::default()).await;
    for bad in ["-1", "1.5", "soon"] {
        let callback = env
            .authorize(CLIENT, &[("login_hint", "1000000016"), ("max_age", bad)])
            .await;
        assert_eq!(callback.get("error"), Some("invalid_request"), "{bad}");
        assert_eq!(
            callback.get("error_description"),
            Some("max_age must be a non-negative integer"),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn claims_parameter_asks_for_auth_time_and_acr_only_where_supported() {
    let claims = r#"{"id_token":{"auth_time":{"essential":true},"acr":{"essential":true,"values":["urn:sa:sso:loa:3"]}}}"#;
    let env = start("SA", SigningAlg::ES256, Faults::default()).await;
    let doc = env.get_json("/.well-known/openid-configuration").await;
    assert_eq!(doc["claims_parameter_supported"], json!(false));
    let c = id_claims(&env, &[("claims", claims)]).await;
    assert!(
        c.get("auth_time").is_none() && c.get("acr").is_none(),
        "{c}"
    );

    let clock = Clock::manual(NOW);
    let env = start_tweaked(
        "SA",
        SigningAlg::ES256,
        Faults::default(),
        clock,
        false,
        |c| c.claims_parameter = true,
    )
    .await;
    let doc = env.get_json("/.well-known/openid-configuration").await;
    assert_eq!(doc["claims_parameter_supported"], json!(true));
    let c = id_claims(&env, &[("claims", claims)]).await;
    assert_eq!(c["auth_time"], json!(NOW), "{c}");
    assert_eq!(c["acr"], json!("urn:sa:sso:loa:3"), "{c}");
}
