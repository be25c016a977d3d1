//! The happy path and the protocol checks, over real HTTP on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

mod common;

use common::*;
use jisr_devidp::{Clock, Faults, SigningAlg, at_hash, citizens};
use serde_json::{Value, json};

#[tokio::test]
async fn discovery_and_jwks_shape() {
    let env = start("BH", SigningAlg::PS256, Faults::default()).await;
    let response = env
        .http
        .get(env.idp.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["cache-control"], "max-age=300");
    let doc: Value = response.json().await.unwrap();
    let issuer = env.idp.issuer();
    assert_eq!(doc["issuer"], json!(issuer));
    assert_eq!(
        doc["authorization_endpoint"],
        json!(format!("{issuer}/authorize"))
    );
    assert_eq!(doc["token_endpoint"], json!(format!("{issuer}/token")));
    assert_eq!(
        doc["userinfo_endpoint"],
        json!(format!("{issuer}/userinfo"))
    );
    assert_eq!(doc["jwks_uri"], json!(format!("{issuer}/jwks")));
    assert_eq!(doc["response_types_supported"], json!(["code"]));
    assert_eq!(doc["subject_types_supported"], json!(["public"]));
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        json!(["PS256"])
    );
    assert_eq!(
        doc["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "private_key_jwt"])
    );
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        doc["authorization_response_iss_parameter_supported"],
        json!(true)
    );
    assert_eq!(
        doc["acr_values_supported"],
        json!([
            "urn:bh:ekey:basic",
            "urn:bh:ekey:advanced",
            "urn:bh:ekey:smartcard"
        ])
    );
    assert!(
        doc["claims_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("person"))
    );
    assert!(
        doc["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("openid"))
    );

    let response = env.http.get(env.idp.url("/jwks")).send().await.unwrap();
    assert_eq!(response.headers()["cache-control"], "max-age=300");
    let jwks: Value = response.json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let k = &keys[0];
    assert_eq!(
        (k["kty"].as_str(), k["alg"].as_str(), k["use"].as_str()),
        (Some("RSA"), Some("PS256"), Some("sig"))
    );
    assert_eq!(k["e"], json!("AQAB"));
    assert_eq!(
        k["n"].as_str().unwrap().len(),
        342,
        "2048-bit modulus, base64url"
    );
    assert!(k["kid"].as_str().is_some_and(|kid| !kid.is_empty()));
}

#[tokio::test]
async fn jwks_key_shapes_per_alg() {
    for (alg, kty, crv) in [
        (SigningAlg::ES256, "EC", Some("P-256")),
        (SigningAlg::EdDSA, "OKP", Some("Ed25519")),
        (SigningAlg::RS256, "RSA", None),
    ] {
        let env = start("SA", alg, Faults::default()).await;
        let k = env.get_json("/jwks").await["keys"][0].clone();
        assert_eq!(k["kty"], json!(kty), "{alg}");
        assert_eq!(k["crv"].as_str(), crv, "{alg}");
        if alg == SigningAlg::ES256 {
            assert_eq!(k["x"].as_str().unwrap().len(), 43);
            assert_eq!(k["y"].as_str().unwrap().len(), 43);
        }
    }
}

/// Full code flow with PKCE for every country (each with a different alg) and every alg on SA.
#[tokio::test]
async fn oidcc_basic_flow_every_country_and_alg() {
    let runs = [
        ("SA", SigningAlg::RS256),
        ("SA", SigningAlg::PS256),
        ("SA", SigningAlg::ES256),
        ("SA", SigningAlg::EdDSA),
        ("BH", SigningAlg::PS256),
        ("OM", SigningAlg::ES256),
        ("KW", SigningAlg::EdDSA),
        ("QA", SigningAlg::RS256),
    ];
    for (country, alg) in runs {
        let env = start(country, alg, Faults::default()).await;
        let citizen = &citizens(cc(country))[0];
        let callback = env.authorize(CLIENT, &[("login_hint", citizen.id)]).await;
        assert_eq!(callback.status, 302);
        assert_eq!(callback.get("state"), Some("st-123"));
        assert_eq!(callback.get("iss"), Some(env.idp.issuer()));
        let tokens = env.tokens(callback.code()).await;
        assert_eq!(tokens["token_type"], json!("Bearer"));
        assert_eq!(tokens["expires_in"], json!(300));
        let access = tokens["access_token"].as_str().unwrap();
        let id_token = tokens["id_token"].as_str().unwrap();
        let claims = env.verify(id_token, alg).await;
        assert_eq!(claims["sub"], json!(citizen.sub), "{country}");
        assert_eq!(claims["aud"], json!(CLIENT));
        assert_eq!(claims["nonce"], json!("n-456"));
        assert_eq!(
            claims["at_hash"],
            json!(at_hash(alg, access)),
            "{country} {alg}"
        );
        let exp = claims["exp"].as_i64().unwrap();
        let iat = claims["iat"].as_i64().unwrap();
        assert_eq!(exp - iat, 300);
        // Like a certified OP: neither auth_time nor acr unless the client asks for them.
        assert!(claims.get("auth_time").is_none(), "{claims}");
        assert!(claims.get("acr").is_none(), "{claims}");
        assert_eq!(part(id_token, 0)["typ"], json!("JWT"));

        let response = env.userinfo(access).await;
        assert_eq!(response.status(), 200);
        let userinfo: Value = response.json().await.unwrap();
        assert_eq!(userinfo["sub"], json!(citizen.sub));
    }
}

#[tokio::test]
async fn country_shapes_in_tokens_and_userinfo() {
    let env = start("SA", SigningAlg::ES256, Faults::default()).await;
    let t = env.flow("1000000016").await;
    let c = part(t["id_token"].as_str().unwrap(), 1);
    assert_eq!(c["national_id"], json!("1000000016"));
    assert_eq!(c["given_name#ar"], json!("نورة"));
    assert_eq!(c["birthdate_hijri"], json!("1410/05/14"));
    assert_eq!(c["gender"], json!("F"));
    assert_eq!(c["nationality"], json!("SAU"));
    assert!(c.get("acr").is_none(), "acr only when asked: {c}");
    let code = env
        .login("1000000016", &[("acr_values", "urn:xx:unknown")])
        .await;
    let c = part(env.tokens(&code).await["id_token"].as_str().unwrap(), 1);
    assert_eq!(
        c["acr"],
        json!("urn:sa:sso:loa:3"),
        "none supported asked: the default, the higher of two"
    );

    let env = start("BH", SigningAlg::ES256, Faults::default()).await;
    let t = env.flow("000200003").await;
    let c = part(t["id_token"].as_str().unwrap(), 1);
    assert!(c.get("acr").is_none(), "acr only when asked: {c}");
    assert_eq!(c["amr"], json!(["pwd", "otp"]));
    assert!(c.get("person").is_none(), "BH claims are at userinfo only");
    let u: Value = env
        .userinfo(t["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(u["person"]["cpr"], json!("000200003"));
    assert_eq!(u["person"]["name"]["family"]["ar"], json!("الوهمي"));
    assert_eq!(u["person"]["nationalities"], json!(["BHR", "GBR"]));

    let env = start("KW", SigningAlg::ES256, Faults::default()).await;
    let c = part(
        env.flow("296022900002").await["id_token"].as_str().unwrap(),
        1,
    );
    assert_eq!(c["name"]["en"]["first"], json!("Hessa"));
    assert_eq!(c["date_of_birth"], json!("29-02-1996"));
    assert_eq!(c["gender"], json!("2"));
}

/// UAE PASS is OAuth 2.0 only: no ID token, everything at userinfo.
#[tokio::test]
async fn ae_is_oauth2_only() {
    let env = start("AE", SigningAlg::RS256, Faults::default()).await;
    let doc = env.get_json("/.well-known/openid-configuration").await;
    assert!(doc.get("id_token_signing_alg_values_supported").is_none());
    let code = env
        .login(
            "784-1985-0000001-7",
            &[("scope", "urn:uae:digitalid:profile:general")],
        )
        .await;
    let t = env.tokens(&code).await;
    assert!(t.get("id_token").is_none(), "{t}");
    let u: Value = env
        .userinfo(t["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        u["sub"],
        json!("UAEPASS/0c7d2f1e-0000-4000-8000-000000000001")
    );
    assert_eq!(u["fullnameEN"], json!("Ahmed,,,,Al Tajribi,,"));
    assert_eq!(u["idn"], json!("784-1985-0000001-7"));
    assert_eq!(u["userType"], json!("SOP3"));
    assert_eq!(u["gender"], json!("Male"));
    assert_eq!(u["dob"], json!("02/11/1985"));
    // `loa` forces the account type for tests.
    let code = env.login("784-1985-0000001-7", &[("loa", "SOP1")]).await;
    let t = env.tokens(&code).await;
    let u: Value = env
        .userinfo(t["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(u["userType"], json!("SOP1"));
}

#[tokio::test]
async fn acr_selection_and_forced_loa() {
    let env = start("OM", SigningAlg::ES256, Faults::default()).await;
    let acr_of = |t: Value| part(t["id_token"].as_str().unwrap(), 1)["acr"].clone();
    let code = env
        .login(
            "10000001",
            &[(
                "acr_values",
                "urn:x:unknown urn:om:eid:loa:card-pki urn:om:eid:loa:password",
            )],
        )
        .await;
    assert_eq!(
        acr_of(env.tokens(&code).await),
        json!("urn:om:eid:loa:card-pki")
    );
    let code = env
        .login("10000001", &[("acr_values", "urn:x:unknown")])
        .await;
    assert_eq!(
        acr_of(env.tokens(&code).await),
        json!("urn:om:eid:loa:mobile-pki")
    );
    let code = env
        .login(
            "10000001",
            &[
                ("acr_values", "urn:om:eid:loa:card-pki"),
                ("loa", "urn:om:eid:loa:password"),
            ],
        )
        .await;
    let t = env.tokens(&code).await;
    assert_eq!(acr_of(t.clone()), json!("urn:om:eid:loa:password"));
    assert_eq!(
        part(t["id_token"].as_str().unwrap(), 1)["amr"],
        json!(["pwd"])
    );
    let cb = env
        .authorize(
            CLIENT,
            &[("login_hint", "10000001"), ("loa", "urn:sa:sso:loa:3")],
        )
        .await;
    assert_eq!(cb.get("error"), Some("invalid_request"));
}

#[tokio::test]
async fn chooser_page_lists_citizens_as_links() {
    let env = start("QA", SigningAlg::ES256, Faults::default()).await;
    let response = env.authorize_raw(&env.auth_params(CLIENT, &[])).await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("dir=\"rtl\""));
    assert!(html.contains("مريم") && html.contains("Maryam"));
    assert!(html.contains("login_hint=29263400001"));
    assert!(html.contains("code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
    // Following a link signs that citizen in (askama writes `&` in attributes as `&#38;`).
    let start = html.find("/authorize?").unwrap();
    let href = &html[start..start + html[start..].find('"').unwrap()].replace("&#38;", "&");
    let response = env.http.get(env.idp.url(href)).send().await.unwrap();
    assert_eq!(response.status(), 302);
}

#[tokio::test]
async fn authorize_errors() {
    let env = start("SA", SigningAlg::ES256, Faults::default()).await;
    // Untrusted redirect URI or client: a 400 page, never a redirect.
    for extra in [
        [("redirect_uri", "http://evil.example/cb")],
        [("client_id", "nobody")],
    ] {
        let response = env.authorize_raw(&env.auth_params(CLIENT, &extra)).await;
        assert_eq!(response.status(), 400);
        assert!(response.headers().get("location").is_none());
        assert!(response.text().await.unwrap().contains("طلب غير صالح"));
    }
    let cases: [(&[(&str, &str)], &str); 6] = [
        (&[("code_challenge", "")], "invalid_request"),
        (&[("code_challenge_method", "plain")], "invalid_request"),
        (&[("response_type", "token")], "unsupported_response_type"),
        (&[("scope", "profile")], "invalid_scope"),
        (&[("login_hint", "1999999999")], "access_denied"),
        (&[("prompt", "none")], "login_required"),
    ];
    for (extra, error) in cases {
        let cb = env.authorize(CLIENT, extra).await;
        assert_eq!(cb.get("error"), Some(error), "{extra:?}");
        assert_eq!(cb.get("state"), Some("st-123"));
        assert_eq!(cb.get("iss"), Some(env.idp.issuer()));
    }
}

#[tokio::test]
async fn userinfo_needs_a_valid_bearer_token() {
    let env = start("OM", SigningAlg::ES256, Faults::default()).await;
    let response = env.userinfo("not-a-token").await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer error=\"invalid_token\""
    );
    let response = env.http.get(env.idp.url("/userinfo")).send().await.unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn admin_endpoint_only_when_enabled() {
    let env = start("SA", SigningAlg::ES256, Faults::default()).await;
    let r = env
        .http
        .get(env.idp.url("/admin/faults"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = env
        .http
        .post(env.idp.url("/admin/faults"))
        .body("{\"down\":true}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(env.idp.faults(), Faults::default());

    let env = start_with(
        "SA",
        SigningAlg::ES256,
        Faults::default(),
        Clock::System,
        true,
    )
    .await;
    let r = env
        .http
        .post(env.idp.url("/admin/faults"))
        .body("{\"down\":true,\"slow_ms\":1}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(env.idp.faults().down);
    let r = env.http.get(env.idp.url("/jwks")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    let got: Value = env
        .http
        .get(env.idp.url("/admin/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (got["down"].clone(), got["slow_ms"].clone()),
        (json!(true), json!(1))
    );
    let r = env
        .http
        .post(env.idp.url("/admin/faults"))
        .body("{\"dwon\":true}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "unknown fault names are refused");
    let r = env
        .http
        .post(env.idp.url("/admin/faults"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        env.http
            .get(env.idp.url("/jwks"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let env = start("SA", SigningAlg::ES256, Faults::default()).await;
    let addr = env.idp.addr();
    env.idp.shutdown().await.unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
