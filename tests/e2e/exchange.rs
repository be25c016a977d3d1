//! Token exchange (RFC 8693) at `/token`: national ID tokens of every country's shape,
//! minted by the development IdPs for a national app, exchanged by a registered agency for
//! the shared assertion; every refusal with its code and description; single use per agency
//! on one replica and across two on one Redis.

use std::time::Duration;

use jisr_demo::AGENCY_CLIENT_ID;
use jisr_e2e::exchange::{
    ACCESS_TOKEN, AGENCY, Auth, GRANT, ID_TOKEN, JWT, NO_BASIS, RESOURCE_SERVER, app_claims, demo,
    exchange, national_app, national_token, national_token_with, post, refusal,
};
use jisr_e2e::store::{Keyspace, redis_url, require_redis};
use jisr_e2e::{cc, now};
use jisr_store::{EncryptionKey, Store};
use serde_json::{Value, json};

/// The exchanged assertion, verified with the gateway's published keys for `audience`.
async fn verify(demo: &jisr_demo::Demo, token: &str, audience: &str) -> Value {
    let jwks: jsonwebtoken::jwk::JwkSet = reqwest::get(format!("{}/jwks", demo.gateway_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    let jwk = jwks.find(header.kid.as_deref().unwrap()).unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut v = jsonwebtoken::Validation::new(header.alg);
    v.set_audience(&[audience]);
    v.set_issuer(&[demo.gateway_url.as_str()]);
    jsonwebtoken::decode::<Value>(token, &key, &v)
        .unwrap()
        .claims
}

fn alg_of(token: &str) -> String {
    jsonwebtoken::decode_header(token)
        .map(|h| format!("{:?}", h.alg))
        .unwrap()
}

#[tokio::test]
async fn exchange_every_country_token_shape_gives_the_shared_assertion() {
    let demo = demo(None).await;
    let shapes = [
        ("SA", "RS256"),
        ("OM", "PS256"),
        ("KW", "EdDSA"),
        ("QA", "ES256"),
        ("BH", "ES256"),
    ];
    for (country, alg) in shapes {
        let token = national_token(&demo, country).await;
        assert_eq!(alg_of(&token), alg, "{country}'s national token shape");
        let (status, body) = exchange(&demo.gateway_url, Auth::As(AGENCY), &token, &[]).await;
        assert_eq!(status, 200, "{country}: {body}");
        assert_eq!(body["issued_token_type"], JWT, "{country}");
        assert_eq!(body["token_type"], "N_A", "{country}");
        assert_eq!(body["expires_in"], 300, "{country}");
        let claims = verify(&demo, body["access_token"].as_str().unwrap(), AGENCY).await;
        assert_eq!(claims["origin_country"], country);
        assert_eq!(claims["destination_country"], "BH");
        assert_eq!(claims["azp"], AGENCY);
        assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 16));
        assert!(claims.get("nonce").is_none(), "not an ID token of a login");
        let person = &claims["verified_claims"]["claims"];
        for claim in [
            "person_identifier",
            "given_name",
            "family_name",
            "birthdate",
        ] {
            assert!(
                person.get(claim).is_some(),
                "{country}: {claim} in {claims}"
            );
        }
        let id = person["person_identifier"].as_str().unwrap();
        let national = jisr_devidp::citizens(cc(country))[0].id;
        if country == "SA" {
            // SA→BH discloses the national identifier, at high assurance, with gender.
            assert_eq!(id, format!("SA/BH/{national}"));
            assert_eq!(claims["acr"], "urn:jisr:loa:high");
            assert!(person.get("gender").is_some());
        } else {
            assert!(id.starts_with(&format!("{country}/BH/")) && !id.contains(national));
            assert!(person.get("gender").is_none(), "{country}: not released");
        }
    }
}

#[tokio::test]
async fn exchange_for_an_access_token_or_a_jwt_carries_the_same_assertion() {
    // The same citizen, agency and rule: userinfo behind the access token and the signed
    // assertion carry the same identity (same mapping, same pairwise subject).
    let demo = demo(None).await;
    let token = national_token(&demo, "KW").await;
    let (status, body) = exchange(
        &demo.gateway_url,
        Auth::As(AGENCY),
        &token,
        &[("requested_token_type", ACCESS_TOKEN)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, text) =
        jisr_e2e::agency::userinfo_at(&demo.gateway_url, body["access_token"].as_str().unwrap())
            .await;
    assert_eq!(status, 200, "{text}");
    let userinfo: Value = serde_json::from_str(&text).unwrap();
    let (_, body) = exchange(
        &demo.gateway_url,
        Auth::As(AGENCY),
        &national_token(&demo, "KW").await,
        &[],
    )
    .await;
    let assertion = verify(&demo, body["access_token"].as_str().unwrap(), AGENCY).await;
    assert_eq!(userinfo["sub"], assertion["sub"]);
    assert_eq!(
        userinfo["verified_claims"]["claims"],
        assertion["verified_claims"]["claims"]
    );
}

#[tokio::test]
async fn exchange_refusals_name_the_check_that_failed() {
    let demo = demo(None).await;
    let base = demo.gateway_url.clone();
    let sa = national_token(&demo, "SA").await;
    let refused = |status: u16, body: &Value| (status, refusal(body));
    let expect = |status: u16, error: &str, description: &str| {
        (status, (error.to_owned(), description.to_owned()))
    };

    // The request itself.
    let (s, b) = post(&base, "/token", Auth::As(AGENCY), &[("grant_type", GRANT)]).await;
    assert_eq!(
        refused(s, &b),
        expect(400, "invalid_request", "subject_token is missing")
    );
    let (s, b) = post(
        &base,
        "/token",
        Auth::As(AGENCY),
        &[("grant_type", GRANT), ("subject_token", &sa)],
    )
    .await;
    assert_eq!(
        refused(s, &b),
        expect(400, "invalid_request", "subject_token_type is missing")
    );
    let (s, b) = post(
        &base,
        "/token",
        Auth::As(AGENCY),
        &[
            ("grant_type", GRANT),
            ("subject_token", &sa),
            ("subject_token_type", ACCESS_TOKEN),
        ],
    )
    .await;
    assert_eq!(refused(s, &b).1.0, "invalid_request");
    assert!(
        refusal(&b).1.starts_with("subject_token_type must be"),
        "{b}"
    );
    let (s, b) = post(
        &base,
        "/token",
        Auth::As(AGENCY),
        &[
            ("grant_type", GRANT),
            ("subject_token", &sa),
            ("subject_token", &sa),
            ("subject_token_type", ID_TOKEN),
        ],
    )
    .await;
    assert_eq!(
        refused(s, &b),
        expect(
            400,
            "invalid_request",
            "parameter `subject_token` is repeated"
        )
    );
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: [Case; 4] = [
        (
            &[("actor_token", "x"), ("actor_token_type", JWT)],
            "invalid_request",
            "actor_token is not supported: the gateway exchanges a citizen's token for its own caller, not for delegation",
        ),
        (
            &[("requested_token_type", ID_TOKEN)],
            "invalid_request",
            "requested_token_type must be urn:ietf:params:oauth:token-type:jwt or urn:ietf:params:oauth:token-type:access_token",
        ),
        (
            &[("audience", RESOURCE_SERVER)],
            "invalid_target",
            "audience must be the calling agency's own client_id: the assertion is issued to its caller only",
        ),
        (
            &[("resource", "https://elsewhere.example/api")],
            "invalid_target",
            "resource may only be the gateway's userinfo endpoint, with an access token requested",
        ),
    ];
    for (extra, error, description) in cases {
        let (s, b) = exchange(&base, Auth::As(AGENCY), &sa, extra).await;
        assert_eq!(refused(s, &b), expect(400, error, description), "{extra:?}");
    }

    // The caller.
    let (s, b) = exchange(&base, Auth::None, &sa, &[]).await;
    assert_eq!(
        refused(s, &b),
        expect(401, "invalid_client", "client authentication is required")
    );
    let (s, b) = exchange(&base, Auth::Basic(AGENCY, "wrong-secret"), &sa, &[]).await;
    assert_eq!(
        refused(s, &b),
        expect(401, "invalid_client", "client authentication failed")
    );
    // The demo agency registered no national client for exchange.
    let (s, b) = exchange(
        &base,
        Auth::Basic(AGENCY_CLIENT_ID, &demo.agency_secret),
        &sa,
        &[],
    )
    .await;
    assert_eq!(
        refused(s, &b),
        expect(
            400,
            "invalid_grant",
            "subject_token refused: this agency registered no national client of SA for token exchange"
        )
    );

    // The national token. Its aud is the gateway's own client at the IdP: not registered.
    let mut own = app_claims("SA");
    own.insert("aud".into(), json!("jisr"));
    let token = national_token_with(&demo, "SA", own, None).await;
    let (s, b) = exchange(&base, Auth::As(AGENCY), &token, &[]).await;
    assert_eq!(
        refused(s, &b),
        expect(
            400,
            "invalid_grant",
            "subject_token refused: `aud` is not a national client this agency registered for SA"
        )
    );
    let mut expired = app_claims("QA");
    expired.insert("exp".into(), json!(now() - 3600));
    expired.insert("iat".into(), json!(now() - 7200));
    let token = national_token_with(&demo, "QA", expired, None).await;
    let (s, b) = exchange(&base, Auth::As(AGENCY), &token, &[]).await;
    assert_eq!(
        refused(s, &b),
        expect(
            400,
            "invalid_grant",
            "subject_token refused: token has expired"
        )
    );
    // The login reads OM's names from userinfo; a token without them cannot be mapped.
    let mut bare = serde_json::Map::new();
    bare.insert("aud".into(), json!(national_app("OM")));
    let token = national_token_with(&demo, "OM", bare, None).await;
    let (s, b) = exchange(&base, Auth::As(AGENCY), &token, &[]).await;
    assert_eq!((s, refusal(&b).0.as_str()), (400, "invalid_grant"), "{b}");
    assert!(
        refusal(&b)
            .1
            .starts_with("subject_token cannot be mapped: "),
        "{b}"
    );
    let b_text = b.to_string();
    assert!(!b_text.contains(jisr_devidp::citizens(cc("OM"))[0].id));

    // The policy: below the rule's minimum, a refused pair, consent without a legal basis.
    let low = jisr_devidp::claims::acr_values(cc("SA"))[0];
    let token = national_token_with(&demo, "SA", app_claims("SA"), Some(low)).await;
    let (s, b) = exchange(&base, Auth::As(AGENCY), &token, &[]).await;
    assert_eq!(
        refused(s, &b),
        expect(
            400,
            "invalid_grant",
            "subject_token refused: level of assurance substantial is below the minimum high of policy rule SA→BH"
        )
    );
    let qa = national_token(&demo, "QA").await;
    let (s, b) = exchange(&base, Auth::As(NO_BASIS), &qa, &[]).await;
    assert_eq!(
        (s, refusal(&b).0.as_str()),
        (400, "unauthorized_client"),
        "{b}"
    );
    assert!(
        refusal(&b).1.contains("QA") && refusal(&b).1.contains("KW"),
        "{b}"
    );
    let (s, b) = exchange(&base, Auth::As(NO_BASIS), &sa, &[]).await;
    assert_eq!(
        refused(s, &b),
        expect(
            400,
            "consent_required",
            "rule *→* requires the citizen's consent and accepts no legal basis this agency registered for exchange; use the browser sign-in"
        )
    );
    // None of these used the token up: it still exchanges once.
    let (s, b) = exchange(&base, Auth::As(AGENCY), &sa, &[]).await;
    assert_eq!(s, 200, "{b}");
}

#[tokio::test]
async fn exchange_of_ae_tokens_is_refused_uae_pass_issues_no_id_token() {
    let demo = demo(None).await;
    let ae = demo.idp(cc("AE")).unwrap();
    // A JWT naming UAE PASS as issuer: refused before any key is looked at.
    let b64 = |v: Value| {
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            v.to_string(),
        )
    };
    let forged = format!(
        "{}.{}.c2ln",
        b64(json!({"alg": "RS256"})),
        b64(
            json!({"iss": ae.issuer(), "sub": "x", "aud": "ae-app", "exp": now() + 60, "iat": now()})
        )
    );
    let (s, b) = exchange(&demo.gateway_url, Auth::As(AGENCY), &forged, &[]).await;
    assert_eq!(s, 400);
    assert_eq!(
        refusal(&b),
        (
            "invalid_grant".into(),
            "subject_token refused: the national IdP of AE issues no ID tokens, so none of its tokens can be exchanged".into()
        )
    );
    // Its opaque access token is not a JWT at all.
    let (s, b) = exchange(
        &demo.gateway_url,
        Auth::As(AGENCY),
        "opaque-uae-pass-access-token",
        &[],
    )
    .await;
    assert_eq!(
        (s, refusal(&b)),
        (
            400,
            (
                "invalid_grant".into(),
                "subject_token refused: token is malformed: not three dot-separated parts (JWE and JSON serialisation are not accepted)".into()
            )
        )
    );
}

#[tokio::test]
async fn exchange_replay_once_per_agency_within_the_token_lifetime() {
    let demo = demo(None).await;
    let base = &demo.gateway_url;
    let token = national_token(&demo, "QA").await;
    let (s, b) = exchange(base, Auth::As(AGENCY), &token, &[]).await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = exchange(
        base,
        Auth::As(AGENCY),
        &token,
        &[("requested_token_type", ACCESS_TOKEN)],
    )
    .await;
    assert_eq!(
        (s, refusal(&b)),
        (
            400,
            (
                "invalid_grant".into(),
                "subject_token was already exchanged by this agency".into()
            )
        )
    );
    // Another agency holding the same token exchanges it once too.
    let (s, b) = exchange(base, Auth::As(RESOURCE_SERVER), &token, &[]).await;
    assert_eq!(s, 200, "{b}");
    // With a jti, a second token of the same issuer and jti is the same token.
    let mut with_jti = app_claims("KW");
    with_jti.insert("jti".into(), json!("kw-app-token-1"));
    let first = national_token_with(&demo, "KW", with_jti.clone(), None).await;
    with_jti.insert("iat".into(), json!(now() - 1));
    let second = national_token_with(&demo, "KW", with_jti, None).await;
    assert_ne!(first, second);
    assert_eq!(exchange(base, Auth::As(AGENCY), &first, &[]).await.0, 200);
    let (s, b) = exchange(base, Auth::As(AGENCY), &second, &[]).await;
    assert_eq!((s, refusal(&b).0.as_str()), (400, "invalid_grant"), "{b}");
}

#[tokio::test]
async fn exchange_replay_is_refused_across_replicas_on_one_redis() {
    let url = redis_url();
    require_redis(&url).await;
    let keyspace = Keyspace::new(&url);
    let key = EncryptionKey::generate();
    let store_a: std::sync::Arc<dyn Store> = keyspace.store(&key, Duration::from_secs(1));
    let store_b = keyspace.store(&key, Duration::from_secs(1));
    let demo = demo(Some(store_a)).await;
    let b_url = demo.start_replica(store_b).await.unwrap();
    let token = national_token(&demo, "SA").await;
    let (s, b) = exchange(&demo.gateway_url, Auth::As(AGENCY), &token, &[]).await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = exchange(&b_url, Auth::As(AGENCY), &token, &[]).await;
    assert_eq!(
        (s, refusal(&b)),
        (
            400,
            (
                "invalid_grant".into(),
                "subject_token was already exchanged by this agency".into()
            )
        )
    );
    // Concurrently on both replicas: exactly one wins.
    let token = national_token(&demo, "OM").await;
    let (a, b) = tokio::join!(
        exchange(&demo.gateway_url, Auth::As(AGENCY), &token, &[]),
        exchange(&b_url, Auth::As(AGENCY), &token, &[])
    );
    let mut statuses = [a.0, b.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 400], "{} {}", a.1, b.1);
    // The replay marker lives as long as the national token (plus leeway), not forever.
    let keys = keyspace.keys().unwrap();
    let marker = keys
        .iter()
        .find(|k| k.contains("xchg:"))
        .expect("a replay marker");
    let mut conn = keyspace.connection().unwrap();
    let ttl: i64 = redis::cmd("PTTL").arg(marker).query(&mut conn).unwrap();
    assert!(ttl > 0 && ttl <= 4000 * 1000, "{ttl}");
    demo.shutdown();
}
