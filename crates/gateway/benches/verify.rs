//! Verifying one realistic national ID token with a warm JWKS cache, beside the raw
//! signature check of the same key in the same run:
//!
//! - `raw_aws_lc`: aws-lc-rs verifying the signature over the signing input, key pre-parsed.
//! - `raw_jsonwebtoken`: `jsonwebtoken::crypto::verify` with the cached `DecodingKey` (what
//!   the verifier calls; adds base64 of the signature and the key's verifier setup).
//! - `verify_national_token`: the gateway's entry point: size and structure checks, header
//!   allow-list, route by `iss`, key selection, signature, OIDC claim checks.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::hint::black_box;

use aws_lc_rs::signature::{self, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use jisr_devidp::{DevClient, DevIdpConfig, SigningAlg};
use jisr_gateway::upstream::config::{ClientAuth, JwksSettings};
use jisr_gateway::upstream::{Expect, Mode, UpstreamConfig, Upstreams};
use serde_json::Value;

struct Case {
    name: &'static str,
    upstreams: Upstreams,
    token: String,
    raw: Box<dyn Fn() -> bool>,
    decoding: jsonwebtoken::DecodingKey,
    alg: jsonwebtoken::Algorithm,
    now: i64,
    _idp: jisr_devidp::DevIdp,
}

#[allow(clippy::disallowed_methods)]
fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn case(name: &'static str, alg: SigningAlg) -> Case {
    let redirect = "http://127.0.0.1:9/callback/sa";
    let idp = jisr_devidp::spawn(DevIdpConfig {
        clients: vec![DevClient::secret_basic("jisr", "s", &[redirect])],
        ..DevIdpConfig::new("SA".parse().unwrap(), alg)
    })
    .await
    .unwrap();
    let config = UpstreamConfig {
        country: "SA".parse().unwrap(),
        issuer: idp.issuer().to_owned(),
        client_id: "jisr".into(),
        client_auth: ClientAuth::SecretBasic("s".into()),
        algorithms: vec![alg.jwt()],
        scopes: vec!["openid".into()],
        mode: Mode::Oidc,
        userinfo: false,
        leeway: std::time::Duration::from_secs(60),
        require_typ: None,
        timeout: std::time::Duration::from_secs(5),
        jwks: JwksSettings::default(),
        redirect_uri: redirect.into(),
        endpoints: None,
        tls: None,
    };
    let upstreams = Upstreams::new(vec![config]).unwrap();
    let up = upstreams.get("SA".parse().unwrap()).unwrap().clone();
    up.discover().await.unwrap();
    // A real ID token from the IdP's token endpoint: authorize with a login_hint, exchange.
    let (url, pending) = up.begin(None, None).unwrap();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let citizen = jisr_devidp::citizens("SA".parse().unwrap())[0].id;
    let location = client
        .get(format!("{url}&login_hint={citizen}"))
        .send()
        .await
        .unwrap()
        .headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    let code = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let tokens: Value = client
        .post(idp.url("/token"))
        .basic_auth("jisr", Some("s"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", redirect),
            ("code_verifier", &pending.pkce_verifier),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = tokens["id_token"].as_str().unwrap().to_owned();
    let t = now();
    // Warm the cache.
    upstreams
        .verify_national_token(
            &token,
            &Expect {
                nonce: None,
                access_token: None,
                now: t,
            },
        )
        .await
        .unwrap();
    let set = up.jwks().keys().await.unwrap();
    let decoding = set.keys[0].decoding.clone();
    let jwks: Value = client
        .get(idp.url("/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwk = jwks["keys"][0].clone();
    let (input, sig) = token.rsplit_once('.').unwrap();
    let (input, sig) = (
        input.as_bytes().to_vec(),
        URL_SAFE_NO_PAD.decode(sig).unwrap(),
    );
    let b64 = |k: &str| URL_SAFE_NO_PAD.decode(jwk[k].as_str().unwrap()).unwrap();
    let raw: Box<dyn Fn() -> bool> = match alg {
        SigningAlg::RS256 => {
            let key = signature::RsaPublicKeyComponents {
                n: b64("n"),
                e: b64("e"),
            };
            Box::new(move || {
                key.verify(&signature::RSA_PKCS1_2048_8192_SHA256, &input, &sig)
                    .is_ok()
            })
        }
        SigningAlg::ES256 => {
            let point = [vec![4u8], b64("x"), b64("y")].concat();
            let key = UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point);
            Box::new(move || key.verify(&input, &sig).is_ok())
        }
        _ => unreachable!(),
    };
    assert!(raw());
    Case {
        name,
        upstreams,
        token,
        raw,
        decoding,
        alg: alg.jwt(),
        now: t,
        _idp: idp,
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let cases = rt.block_on(async {
        vec![
            case("rs256", SigningAlg::RS256).await,
            case("es256", SigningAlg::ES256).await,
        ]
    });
    for case in &cases {
        let mut group = c.benchmark_group(format!("id_token_{}", case.name));
        group.bench_function("raw_aws_lc", |b| b.iter(|| assert!((case.raw)())));
        let (input, sig) = case.token.rsplit_once('.').unwrap();
        group.bench_function("raw_jsonwebtoken", |b| {
            b.iter(|| {
                assert!(
                    jsonwebtoken::crypto::verify(
                        black_box(sig),
                        input.as_bytes(),
                        &case.decoding,
                        case.alg
                    )
                    .unwrap()
                )
            })
        });
        group.bench_function("parse_only", |b| {
            b.iter(|| {
                jisr_gateway::upstream::idtoken::parse(black_box(&case.token))
                    .unwrap()
                    .claims
                    .len()
            })
        });
        let expect = Expect {
            nonce: None,
            access_token: None,
            now: case.now,
        };
        group.bench_function("verify_national_token", |b| {
            // A warm cache never awaits anything, so a plain executor measures the real path.
            b.iter(|| {
                futures::executor::block_on(
                    case.upstreams
                        .verify_national_token(black_box(&case.token), &expect),
                )
                .unwrap()
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
