//! Each fault switch visibly changes what the IdP sends.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

mod common;

use std::time::Instant;

use common::*;
use jisr_devidp::{Faults, SigningAlg};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::{Map, Value, json};

const HINT: &str = "1000000016";

async fn id_token_with(alg: SigningAlg, faults: Faults) -> (Env, String) {
    let env = start("SA", alg, faults).await;
    let t = env.flow(HINT).await;
    let jwt = t["id_token"].as_str().unwrap().to_owned();
    (env, jwt)
}

/// Whether `jwt` verifies with the published key of its kid (or the only key).
async fn verifies(env: &Env, jwt: &str, alg: SigningAlg) -> bool {
    let jwks: JwkSet = serde_json::from_value(env.get_json("/jwks").await).unwrap();
    let header = part(jwt, 0);
    let jwk = match header["kid"].as_str() {
        Some(kid) => jwks.find(kid).unwrap(),
        None => &jwks.keys[0],
    };
    let key = DecodingKey::from_jwk(jwk).unwrap();
    let signing_input = jwt.rsplit_once('.').unwrap().0;
    let sig = jwt.rsplit_once('.').unwrap().1;
    jsonwebtoken::crypto::verify(sig, signing_input.as_bytes(), &key, alg.jwt()).unwrap_or(false)
}

#[tokio::test]
async fn rp_id_token_bad_sig() {
    for alg in SigningAlg::ALL {
        let (env, good) = id_token_with(alg, Faults::default()).await;
        assert!(verifies(&env, &good, alg).await, "{alg}");
        env.idp.set_faults(Faults {
            wrong_signature: true,
            ..Faults::default()
        });
        let jwt = env.flow(HINT).await["id_token"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(!verifies(&env, &jwt, alg).await, "{alg}");
        assert_eq!(part(&jwt, 0)["alg"], json!(alg.name()));
    }
}

#[tokio::test]
async fn rp_id_token_sig_none() {
    let (_env, jwt) = id_token_with(
        SigningAlg::RS256,
        Faults {
            alg_none: true,
            ..Faults::default()
        },
    )
    .await;
    assert_eq!(part(&jwt, 0)["alg"], json!("none"));
    assert!(jwt.ends_with('.'), "empty signature");
    assert_eq!(part(&jwt, 1)["sub"], json!("sa-synthetic-0001"));
}

#[tokio::test]
async fn payload_faults() {
    let (env, jwt) = id_token_with(
        SigningAlg::ES256,
        Faults {
            wrong_iss: true,
            ..Faults::default()
        },
    )
    .await;
    let c = part(&jwt, 1);
    assert_ne!(c["iss"], json!(env.idp.issuer()));
    assert!(
        verifies(&env, &jwt, SigningAlg::ES256).await,
        "only iss is wrong"
    );

    let (_, jwt) = id_token_with(
        SigningAlg::ES256,
        Faults {
            wrong_aud: true,
            ..Faults::default()
        },
    )
    .await;
    assert_eq!(part(&jwt, 1)["aud"], json!("another-client"));

    let now = chrono_now();
    let (_, jwt) = id_token_with(
        SigningAlg::ES256,
        Faults {
            expired: true,
            ..Faults::default()
        },
    )
    .await;
    assert!(part(&jwt, 1)["exp"].as_i64().unwrap() < now);

    let (_, jwt) = id_token_with(
        SigningAlg::ES256,
        Faults {
            iat_future: true,
            ..Faults::default()
        },
    )
    .await;
    assert!(part(&jwt, 1)["iat"].as_i64().unwrap() >= now + 3600);

    let (_, jwt) = id_token_with(
        SigningAlg::ES256,
        Faults {
            nonce_mismatch: true,
            ..Faults::default()
        },
    )
    .await;
    assert_eq!(part(&jwt, 1)["nonce"], json!("n-456-mismatch"));

    let faults = Faults {
        missing_claims: vec!["national_id".into(), "nonce".into()],
        claims: Some(Map::from_iter([("acr".to_owned(), json!("urn:x:forged"))])),
        pad_id_token_bytes: 20_000,
        ..Faults::default()
    };
    let (env, jwt) = id_token_with(SigningAlg::ES256, faults).await;
    let c = part(&jwt, 1);
    assert!(c.get("national_id").is_none() && c.get("nonce").is_none());
    assert_eq!(c["acr"], json!("urn:x:forged"));
    assert_eq!(c["padding"].as_str().unwrap().len(), 20_000);
    assert!(jwt.len() > 26_000);
    assert!(verifies(&env, &jwt, SigningAlg::ES256).await);
}

#[tokio::test]
async fn header_faults() {
    let (env, jwt) = id_token_with(
        SigningAlg::ES256,
        Faults {
            omit_kid: true,
            extra_keys: 2,
            ..Faults::default()
        },
    )
    .await;
    assert!(part(&jwt, 0).get("kid").is_none());
    assert_eq!(
        env.get_json("/jwks").await["keys"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    let header = json!({"crit": ["b64"], "b64": false, "jku": "http://attacker.example/jwks", "kid": "forged-kid"});
    let faults = Faults {
        header: Some(header.as_object().unwrap().clone()),
        ..Faults::default()
    };
    let (_, jwt) = id_token_with(SigningAlg::ES256, faults).await;
    let h = part(&jwt, 0);
    assert_eq!(h["crit"], json!(["b64"]));
    assert_eq!(h["jku"], json!("http://attacker.example/jwks"));
    assert_eq!(h["kid"], json!("forged-kid"));

    let (_, jwt) = id_token_with(
        SigningAlg::ES256,
        Faults {
            ecdsa_zero_signature: true,
            ..Faults::default()
        },
    )
    .await;
    assert_eq!(part(&jwt, 0)["alg"], json!("ES256"));
    assert_eq!(signature(&jwt), vec![0u8; 64]);
}

/// The classic key-confusion token: HS256 keyed with the RSA public key's PEM.
#[tokio::test]
async fn rp_id_token_hs256_with_public_key() {
    let (env, jwt) = id_token_with(
        SigningAlg::RS256,
        Faults {
            hs256_with_public_key: true,
            ..Faults::default()
        },
    )
    .await;
    assert_eq!(part(&jwt, 0)["alg"], json!("HS256"));
    // Rebuild the PEM an attacker would use from the published JWK and check the MAC.
    let jwks: JwkSet = serde_json::from_value(env.get_json("/jwks").await).unwrap();
    let jsonwebtoken::jwk::AlgorithmParameters::RSA(rsa) = &jwks.keys[0].algorithm else {
        panic!("RSA key expected");
    };
    use base64::Engine as _;
    let b = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let n = b.decode(&rsa.n).unwrap();
    let e = b.decode(&rsa.e).unwrap();
    let components = aws_lc_rs::rsa::PublicKeyComponents {
        n: n.as_slice(),
        e: e.as_slice(),
    };
    use aws_lc_rs::encoding::AsDer as _;
    let spki = components.as_der().unwrap();
    let body = base64::engine::general_purpose::STANDARD.encode(spki.as_ref());
    let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).unwrap());
        pem.push('\n');
    }
    pem.push_str("-----END PUBLIC KEY-----\n");
    let mut v = Validation::new(jsonwebtoken::Algorithm::HS256);
    v.set_audience(&[CLIENT]);
    let decoded =
        jsonwebtoken::decode::<Value>(&jwt, &DecodingKey::from_secret(pem.as_bytes()).unwrap(), &v);
    assert!(decoded.is_ok(), "{decoded:?}");
}

#[tokio::test]
async fn rp_key_rotation_changes_kid_and_jwks() {
    let alg = SigningAlg::PS256;
    let (env, first) = id_token_with(alg, Faults::default()).await;
    let kid0 = part(&first, 0)["kid"].as_str().unwrap().to_owned();
    let jwks0 = env.get_json("/jwks").await;

    env.idp.set_faults(Faults {
        key_generation: 1,
        ..Faults::default()
    });
    let rotated = env.flow(HINT).await["id_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let kid1 = part(&rotated, 0)["kid"].as_str().unwrap().to_owned();
    assert_ne!(kid0, kid1);
    let jwks1 = env.get_json("/jwks").await;
    let kids: Vec<&str> = jwks1["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, vec![kid1.as_str()], "old key no longer published");
    assert!(env.verify(&rotated, alg).await["sub"].is_string());

    env.idp.set_faults(Faults {
        key_generation: 1,
        publish_old_keys: true,
        ..Faults::default()
    });
    let kids: Vec<String> = env.get_json("/jwks").await["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kids, vec![kid1.clone(), kid0.clone()]);

    // Same kid, new material: the old JWKS no longer verifies new tokens.
    env.idp.set_faults(Faults {
        replace_key_same_kid: true,
        ..Faults::default()
    });
    let replaced = env.flow(HINT).await["id_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(part(&replaced, 0)["kid"], json!(kid0));
    let jwks_now = env.get_json("/jwks").await;
    assert_eq!(jwks_now["keys"][0]["kid"], json!(kid0));
    assert_ne!(jwks_now["keys"][0]["n"], jwks0["keys"][0]["n"]);
    assert!(verifies(&env, &replaced, alg).await);
    let old: JwkSet = serde_json::from_value(jwks0).unwrap();
    let key = DecodingKey::from_jwk(&old.keys[0]).unwrap();
    let (input, sig) = replaced.rsplit_once('.').unwrap();
    assert!(!jsonwebtoken::crypto::verify(sig, input.as_bytes(), &key, alg.jwt()).unwrap());
}

#[tokio::test]
async fn userinfo_faults() {
    let env = start("BH", SigningAlg::ES256, Faults::default()).await;
    env.idp.set_faults(Faults {
        userinfo_other_sub: true,
        missing_claims: vec!["person".into()],
        ..Faults::default()
    });
    let t = env.flow("880300001").await;
    let u: Value = env
        .userinfo(t["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(u["sub"], json!("bh-synthetic-0001-other"));
    assert_eq!(
        part(t["id_token"].as_str().unwrap(), 1)["sub"],
        json!("bh-synthetic-0001")
    );
    assert!(u.get("person").is_none());
}

#[tokio::test]
async fn down_and_slow() {
    let env = start(
        "OM",
        SigningAlg::ES256,
        Faults {
            down: true,
            ..Faults::default()
        },
    )
    .await;
    for path in [
        "/.well-known/openid-configuration",
        "/jwks",
        "/authorize",
        "/userinfo",
    ] {
        let r = env.http.get(env.idp.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 503, "{path}");
    }
    let r = env.http.post(env.idp.url("/token")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        json!("temporarily_unavailable")
    );

    env.idp.set_faults(Faults {
        slow_ms: 300,
        ..Faults::default()
    });
    let started = Instant::now();
    env.get_json("/jwks").await;
    assert!(started.elapsed().as_millis() >= 300);
}
