//! What agencies and citizens hit first at the gateway's OpenID Provider edges (issue 10):
//! RS256 beside ES256 per agency, the client-assertion clock allowance, CORS on the public
//! metadata, RFC 6750 at userinfo, a `state` that cannot be echoed, a consent decision
//! replayed after Decline, and the development IdP's page on a phone. Named after the OpenID
//! OP certification tests they mirror where there is one.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jisr_demo::{AGENCY_CLIENT_ID, Demo, DemoOptions};
use jisr_e2e::agency::{Request, request, token};
use jisr_e2e::browser::{Browser, hidden, location, query};
use jisr_e2e::demo::start;
use jisr_e2e::signin::{sign_in, to_callback};
use jisr_e2e::{cc, now};
use jisr_gateway::config::agencies::{Agency, AgencyAuth, Secret};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::cookie::CookieStore as _;
use serde_json::Value;

const RS_CLIENT: &str = "rs256-agency";
const RS_SECRET: &str = "rs256-agency-secret-of-32-bytes-or-more";
const RS_CALLBACK: &str = "http://127.0.0.1:9/rs/callback";

/// An agency registered with `id_token_signed_response_alg = "RS256"`.
fn rs256_agency() -> Agency {
    Agency {
        client_id: RS_CLIENT.into(),
        name_en: "RS256 agency (test)".into(),
        name_ar: "جهة RS256".into(),
        country: cc("BH"),
        sector: "health".into(),
        redirect_uris: vec![RS_CALLBACK.into()],
        auth: AgencyAuth::ClientSecretPost(Secret::new(RS_SECRET)),
        id_token_signed_response_alg: Some(Algorithm::RS256),
        notice: Default::default(),
        back_channel: Default::default(),
        logout: Default::default(),
    }
}

/// Signs in the first citizen of `country` for the request `req` and returns the code.
async fn code_for(demo: &Demo, req: &Request, country: &str) -> String {
    let citizen = jisr_devidp::citizens(cc(country))[0].id;
    let back = sign_in(demo, &Browser::new(), req, country, citizen, "allow").await;
    let q = query(&back);
    assert_eq!(q.get("state"), Some(&req.state), "{back}");
    q.get("code")
        .unwrap_or_else(|| panic!("no code: {back}"))
        .clone()
}

/// Verifies an ID token as an agency library does: the key by `kid` from the published JWKS,
/// the algorithm the JWK declares (never the token's own say), `aud`, `iss`.
async fn verify_with_published_jwks(demo: &Demo, token: &str, aud: &str) -> Value {
    let jwks: JwkSet = reqwest::get(format!("{}/jwks", demo.gateway_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    let jwk = jwks.find(header.kid.as_deref().unwrap()).unwrap();
    let alg = Algorithm::try_from(jwk.common.key_algorithm.unwrap()).unwrap();
    let mut v = Validation::new(alg);
    v.set_audience(&[aud]);
    v.set_issuer(&[demo.gateway_url.as_str()]);
    jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &v)
        .unwrap()
        .claims
}

/// OIDC Core 3.1.3.6 `at_hash` for a SHA-256 algorithm.
fn at_hash_sha256(access_token: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&d.as_ref()[..16])
}

/// OIDC Discovery §3 and OP certification `OP-IDToken-RS256`: discovery lists RS256 beside
/// ES256, the JWKS publishes both keys, and in the same gateway the agency registered with
/// RS256 gets RS256 ID tokens while the one that registered nothing gets ES256; both verify
/// with nothing but the published JWKS, and an RS256 token does not pass as ES256.
#[tokio::test]
async fn op_idtoken_rs256_per_agency_beside_es256() {
    let demo = start(DemoOptions {
        extra_agencies: vec![rs256_agency()],
        ..DemoOptions::default()
    })
    .await;
    let meta: Value = reqwest::get(format!(
        "{}/.well-known/openid-configuration",
        demo.gateway_url
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(
        meta["id_token_signing_alg_values_supported"],
        serde_json::json!(["ES256", "RS256"])
    );
    assert_eq!(meta["scopes_supported"], serde_json::json!(["openid"]));
    let jwks: Value = reqwest::get(format!("{}/jwks", demo.gateway_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let published: Vec<(&str, &str)> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["kty"].as_str().unwrap(), k["alg"].as_str().unwrap()))
        .collect();
    assert_eq!(published, vec![("EC", "ES256"), ("RSA", "RS256")]);

    // The demo agency registered no alg: the active key's, ES256.
    let req = request(&demo, &[]);
    let code = code_for(&demo, &req, "SA").await;
    let (status, tokens) = token(&demo, &code, &req).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["scope"], "openid");
    let es = tokens["id_token"].as_str().unwrap();
    assert_eq!(
        jsonwebtoken::decode_header(es).unwrap().alg,
        Algorithm::ES256
    );
    let claims = verify_with_published_jwks(&demo, es, AGENCY_CLIENT_ID).await;
    assert_eq!(claims["nonce"], req.nonce.as_str());

    // The RS256 agency, same gateway.
    let req = request(
        &demo,
        &[("client_id", RS_CLIENT), ("redirect_uri", RS_CALLBACK)],
    );
    let code = code_for(&demo, &req, "QA").await;
    let r = reqwest::Client::new()
        .post(format!("{}/token", demo.gateway_url))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", RS_CALLBACK),
            ("code_verifier", req.verifier.as_str()),
            ("client_id", RS_CLIENT),
            ("client_secret", RS_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let tokens: Value = r.json().await.unwrap();
    let rs = tokens["id_token"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(rs).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.kid.as_deref(), jwks["keys"][1]["kid"].as_str());
    let claims = verify_with_published_jwks(&demo, rs, RS_CLIENT).await;
    assert_eq!(claims["aud"], RS_CLIENT);
    assert_eq!(claims["nonce"], req.nonce.as_str());
    assert_eq!(
        claims["at_hash"],
        at_hash_sha256(tokens["access_token"].as_str().unwrap())
    );

    // The EC key does not verify it, nor does the RSA key under another alg.
    let set: JwkSet = serde_json::from_value(jwks.clone()).unwrap();
    let mut as_es = Validation::new(Algorithm::ES256);
    as_es.set_audience(&[RS_CLIENT]);
    assert_eq!(
        jsonwebtoken::decode::<Value>(rs, &DecodingKey::from_jwk(&set.keys[0]).unwrap(), &as_es)
            .unwrap_err()
            .into_kind(),
        jsonwebtoken::errors::ErrorKind::InvalidAlgorithm
    );
    let mut as_ps = Validation::new(Algorithm::PS256);
    as_ps.set_audience(&[RS_CLIENT]);
    assert_eq!(
        jsonwebtoken::decode::<Value>(rs, &DecodingKey::from_jwk(&set.keys[1]).unwrap(), &as_ps)
            .unwrap_err()
            .into_kind(),
        jsonwebtoken::errors::ErrorKind::InvalidAlgorithm
    );
}

/// RFC 7523 client assertions get the same 30 s clock allowance on their lifetime as on
/// `exp` and `nbf`: an agency whose clock runs 10 s ahead may issue Authlib's default 3600 s
/// assertion; one asking 45 s beyond the hour is still refused.
#[tokio::test]
async fn client_assertion_lifetime_gets_the_clock_leeway() {
    let pair = aws_lc_rs::signature::EcdsaKeyPair::generate(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
    )
    .unwrap();
    let public = aws_lc_rs::signature::KeyPair::public_key(&pair)
        .as_ref()
        .to_vec();
    let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
    let jwks: JwkSet = serde_json::from_value(serde_json::json!({"keys": [{
        "kty": "EC", "crv": "P-256", "kid": "k1", "alg": "ES256", "use": "sig",
        "x": b64(&public[1..33]), "y": b64(&public[33..65])
    }]}))
    .unwrap();
    let key = jsonwebtoken::EncodingKey::from_ec_der(pair.to_pkcs8v1().unwrap().as_ref());
    let callback = "http://127.0.0.1:9/pk/callback";
    let demo = start(DemoOptions {
        extra_agencies: vec![Agency {
            client_id: "pk-agency".into(),
            name_en: "Key agency (test)".into(),
            name_ar: "جهة بمفتاح".into(),
            country: cc("BH"),
            sector: "health".into(),
            redirect_uris: vec![callback.into()],
            auth: AgencyAuth::PrivateKeyJwt(jwks),
            id_token_signed_response_alg: None,
            notice: Default::default(),
            back_channel: Default::default(),
            logout: Default::default(),
        }],
        ..DemoOptions::default()
    })
    .await;
    let redeem = |ahead: i64, lifetime: i64, jti: &'static str| {
        let demo = &demo;
        let key = &key;
        async move {
            let req = request(
                demo,
                &[("client_id", "pk-agency"), ("redirect_uri", callback)],
            );
            let code = code_for(demo, &req, "QA").await;
            // The agency's clock runs `ahead` seconds ahead of the gateway's.
            let iat = now() + ahead;
            let claims = serde_json::json!({"iss": "pk-agency", "sub": "pk-agency",
                "aud": format!("{}/token", demo.gateway_url), "jti": jti,
                "iat": iat, "exp": iat + lifetime});
            let mut h = jsonwebtoken::Header::new(Algorithm::ES256);
            h.kid = Some("k1".into());
            let assertion = jsonwebtoken::encode(&h, &claims, key).unwrap();
            let r = reqwest::Client::new()
                .post(format!("{}/token", demo.gateway_url))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", callback),
                    ("code_verifier", req.verifier.as_str()),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", assertion.as_str()),
                ])
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = redeem(10, 3600, "authlib-default").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = redeem(0, 3600 + 45, "too-long").await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(
        body["error_description"],
        "client assertion refused: exp is too far in the future"
    );
}

/// Browser-based agencies read discovery and the JWKS cross-origin (any origin, GET only, no
/// credentials); nothing else answers CORS.
#[tokio::test]
async fn cors_on_discovery_and_jwks_only() {
    let demo = start(DemoOptions::default()).await;
    let http = reqwest::Client::new();
    let origin = "https://spa.agency.example";
    for path in ["/.well-known/openid-configuration", "/jwks"] {
        let url = format!("{}{path}", demo.gateway_url);
        let r = http
            .get(&url)
            .header("origin", origin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["access-control-allow-origin"], "*", "{path}");
        assert!(
            r.headers()
                .get("access-control-allow-credentials")
                .is_none(),
            "{path}"
        );
        let preflight = http
            .request(reqwest::Method::OPTIONS, &url)
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .send()
            .await
            .unwrap();
        assert!(preflight.status().is_success(), "{path}");
        assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
        assert_eq!(preflight.headers()["access-control-allow-methods"], "GET");
        assert!(
            preflight
                .headers()
                .get("access-control-allow-credentials")
                .is_none()
        );
    }
    for (method, path) in [
        (reqwest::Method::POST, "/token"),
        (reqwest::Method::GET, "/userinfo"),
        (reqwest::Method::GET, "/authorize"),
    ] {
        let r = http
            .request(method, format!("{}{path}", demo.gateway_url))
            .header("origin", origin)
            .send()
            .await
            .unwrap();
        assert!(
            r.headers().get("access-control-allow-origin").is_none(),
            "{path}"
        );
    }
}

/// RFC 6750 at userinfo: no credentials → 401 with the bare challenge and no error code
/// (3.1); the scheme in any case (2.1); the token in a form body (2.2); never both.
#[tokio::test]
async fn userinfo_follows_rfc6750() {
    let demo = start(DemoOptions::default()).await;
    let req = request(&demo, &[]);
    let code = code_for(&demo, &req, "SA").await;
    let (status, tokens) = token(&demo, &code, &req).await;
    assert_eq!(status, 200, "{tokens}");
    let at = tokens["access_token"].as_str().unwrap();
    let url = format!("{}/userinfo", demo.gateway_url);
    let http = reqwest::Client::new();

    for r in [
        http.get(&url).send().await.unwrap(),
        http.post(&url).send().await.unwrap(),
        http.get(&url)
            .header("authorization", "Basic YTpi")
            .send()
            .await
            .unwrap(),
    ] {
        assert_eq!(r.status(), 401);
        assert_eq!(r.headers()["www-authenticate"], "Bearer realm=\"jisr\"");
        assert_eq!(r.headers()["cache-control"], "no-store");
        assert_eq!(r.text().await.unwrap(), "", "no error code in the body");
    }

    for scheme in ["bearer", "BEARER", "Bearer"] {
        let r = http
            .get(&url)
            .header("authorization", format!("{scheme} {at}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{scheme}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["origin_country"], "SA");
    }
    // POST with the header (oidcc-userinfo-post-header).
    let r = http
        .post(&url)
        .header("authorization", format!("Bearer {at}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["origin_country"], "SA");
    let r = http
        .post(&url)
        .form(&[("access_token", at)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["origin_country"], "SA");

    let r = http
        .post(&url)
        .bearer_auth(at)
        .form(&[("access_token", at)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.headers()["www-authenticate"],
        "Bearer realm=\"jisr\", error=\"invalid_request\""
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");

    let r = http
        .post(&url)
        .form(&[("access_token", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token");
}

/// A `state` that is not UTF-8 once percent-decoded cannot be returned as it was sent: the
/// agency gets `invalid_request` (without `state`, with `iss`), never an altered `state`.
#[tokio::test]
async fn state_that_is_not_utf8_is_refused_not_echoed_altered() {
    let demo = start(DemoOptions::default()).await;
    let mut req = request(&demo, &[("state", "")]);
    req.url.push_str("&state=ab%FFcd");
    let r = Browser::new().get(&req.url).await;
    let back = location(&r);
    assert!(back.starts_with(&req.redirect_uri), "{back}");
    let q = query(&back);
    assert_eq!(q["error"], "invalid_request");
    assert_eq!(
        q["error_description"],
        "state is not valid UTF-8 once percent-decoded, so it cannot be returned unaltered"
    );
    assert!(!q.contains_key("state"), "{back}");
    assert_eq!(q["iss"], demo.gateway_url);

    // Valid UTF-8 (Arabic) goes through and comes back byte for byte.
    let req = request(&demo, &[("state", "جسر-1")]);
    let citizen = jisr_devidp::citizens(cc("SA"))[0].id;
    let back = sign_in(&demo, &Browser::new(), &req, "SA", citizen, "allow").await;
    assert_eq!(query(&back)["state"], "جسر-1");
}

/// The citizen presses Decline; the same consent form posted again with the cookie saved
/// before (a replay, or Back then Share) is refused: no code reaches the agency.
#[tokio::test]
async fn consent_replayed_after_decline_is_refused() {
    let demo = start(DemoOptions::default()).await;
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let browser = Browser {
        http: reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    };
    let req = request(&demo, &[]);
    let gw = demo.gateway_url.as_str();
    let callback = to_callback(&demo, &browser, &req, gw, gw, "SA").await;
    let consent = browser.get(&callback).await;
    assert_eq!(consent.status(), 200);
    let html = consent.text().await.unwrap();
    let form = [
        ("flow", hidden(&html, "flow")),
        ("csrf", hidden(&html, "csrf")),
    ];
    let gateway = url::Url::parse(&demo.gateway_url).unwrap();
    let saved = jar.cookies(&gateway).expect("the flow cookie");

    let decline = browser
        .post(
            &format!("{}/consent", demo.gateway_url),
            &[
                ("flow", form[0].1.as_str()),
                ("csrf", form[1].1.as_str()),
                ("decision", "deny"),
            ],
        )
        .await;
    let q = query(&location(&decline));
    assert_eq!(q["error"], "access_denied");

    let replay = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/consent", demo.gateway_url))
        .header("cookie", saved)
        .form(&[
            ("flow", form[0].1.as_str()),
            ("csrf", form[1].1.as_str()),
            ("decision", "allow"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 400, "no redirect with a code");
    assert!(replay.headers().get("location").is_none());
    let page = replay.text().await.unwrap();
    assert!(page.contains("already used"), "{page}");
}

/// The development IdP's login page renders at the phone's width.
#[tokio::test]
async fn devidp_login_page_has_a_viewport() {
    let demo = start(DemoOptions::default()).await;
    let browser = Browser::new();
    let req = request(&demo, &[]);
    let picker = browser.get(&req.url).await.text().await.unwrap();
    let idp = location(
        &browser
            .post(
                &format!("{}/login/country", demo.gateway_url),
                &[
                    ("flow", &hidden(&picker, "flow")),
                    ("csrf", &hidden(&picker, "csrf")),
                    ("country", "OM"),
                ],
            )
            .await,
    );
    let page = browser.get(&idp).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains(r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#),
        "{html:.300}"
    );
}
