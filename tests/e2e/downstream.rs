//! The cross-border sign-in through the gateway, end to end over real HTTP: agencies are OIDC
//! clients, citizens walk the real pages with a cookie-keeping client, national IdPs are the
//! development IdPs. Checks are named after the OpenID OP certification tests they mirror.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jisr_demo::{AGENCY_CLIENT_ID, DemoOptions};
use jisr_e2e::agency::{request, token, verify_id_token};
use jisr_e2e::browser::{Browser, hidden, location, query};
use jisr_e2e::demo::demo_for;
use jisr_e2e::signin::sign_in;
use jisr_e2e::{cc, now};
use jisr_gateway::config::agencies::{Agency, AgencyAuth};
use jisr_mapping::CountryCode;
use serde_json::Value;

#[tokio::test]
async fn every_country_signs_in_to_an_agency_of_another() {
    for (agency_country, origins) in [
        ("BH", vec!["SA", "AE", "OM", "KW", "QA"]),
        ("OM", vec!["BH"]),
    ] {
        let demo = demo_for(agency_country).await;
        for origin in origins {
            let citizen = jisr_devidp::citizens(cc(origin))[0];
            let browser = Browser::new();
            let req = request(&demo, &[("ui_locales", "en")]);
            let back = sign_in(&demo, &browser, &req, origin, citizen.id, "allow").await;
            let q = query(&back);
            assert!(back.starts_with(&req.redirect_uri), "{origin}: {back}");
            assert_eq!(q.get("state"), Some(&req.state));
            assert_eq!(q.get("iss"), Some(&demo.gateway_url), "RFC 9207 iss");
            let (status, tokens) = token(&demo, &q["code"], &req).await;
            assert_eq!(status, 200, "{origin}: {tokens}");
            let claims = verify_id_token(&demo, tokens["id_token"].as_str().unwrap()).await;
            assert_eq!(claims["nonce"], req.nonce.as_str());
            assert_eq!(claims["origin_country"], origin);
            assert_eq!(claims["destination_country"], agency_country);
            assert_eq!(
                claims["verified_claims"]["verification"]["trust_framework"],
                "jisr_gcc"
            );
            let vc = &claims["verified_claims"]["claims"];
            assert_eq!(vc["given_name#en"], citizen.given_en, "{origin}");
            assert_eq!(vc["family_name#ar"], citizen.family_ar, "{origin}");
            assert!(
                vc["person_identifier"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("{origin}/{agency_country}/"))
            );
            assert!(claims["acr"].as_str().unwrap().starts_with("urn:jisr:loa:"));
            // userinfo: the same identity for the access token.
            let info: Value = reqwest::Client::new()
                .get(format!("{}/userinfo", demo.gateway_url))
                .bearer_auth(tokens["access_token"].as_str().unwrap())
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(info["sub"], claims["sub"]);
            assert_eq!(info["verified_claims"], claims["verified_claims"]);
            assert!(info.get("nonce").is_none());
        }
    }
}

#[tokio::test]
async fn oidcc_codereuse_revokes_the_tokens() {
    let demo = demo_for("BH").await;
    let browser = Browser::new();
    let req = request(&demo, &[]);
    let back = sign_in(
        &demo,
        &browser,
        &req,
        "SA",
        jisr_devidp::citizens(cc("SA"))[0].id,
        "allow",
    )
    .await;
    let code = query(&back)["code"].clone();
    let (status, tokens) = token(&demo, &code, &req).await;
    assert_eq!(status, 200);
    let (status, again) = token(&demo, &code, &req).await;
    assert_eq!(status, 400);
    assert_eq!(again["error"], "invalid_grant");
    assert_eq!(
        again["error_description"],
        "authorization code was already used; tokens issued from it are revoked"
    );
    let r = reqwest::Client::new()
        .get(format!("{}/userinfo", demo.gateway_url))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn oidcc_ensure_registered_redirect_uri() {
    let demo = demo_for("BH").await;
    let browser = Browser::new();
    let req = request(
        &demo,
        &[("redirect_uri", "https://attacker.example/callback")],
    );
    let r = browser.get(&req.url).await;
    assert_eq!(r.status(), 400);
    assert!(
        r.headers().get("location").is_none(),
        "never an open redirect"
    );
    let html = r.text().await.unwrap();
    assert!(
        html.contains("redirect_uri is not registered for this agency"),
        "{html}"
    );
}

#[tokio::test]
async fn oidcc_pkce_is_required_and_plain_refused() {
    let demo = demo_for("BH").await;
    let browser = Browser::new();
    for (extra, description) in [
        (
            vec![("code_challenge", "")],
            "code_challenge is required (PKCE S256)",
        ),
        (
            vec![("code_challenge_method", "plain")],
            "code_challenge_method must be S256 (plain is not accepted)",
        ),
        (
            vec![("code_challenge_method", "")],
            "code_challenge_method must be S256 (plain is not accepted)",
        ),
    ] {
        let req = request(&demo, &extra);
        let back = location(&browser.get(&req.url).await);
        let q = query(&back);
        assert!(back.starts_with(&req.redirect_uri));
        assert_eq!(q["error"], "invalid_request");
        assert_eq!(q["error_description"], description);
        assert_eq!(q["state"], req.state);
        assert_eq!(q["iss"], demo.gateway_url);
    }
}

#[tokio::test]
async fn authorize_parameters_are_validated() {
    let demo = demo_for("BH").await;
    let browser = Browser::new();
    // Errors on a valid client + redirect go back as OAuth errors.
    for (extra, error) in [
        (
            vec![("response_type", "token")],
            "unsupported_response_type",
        ),
        (vec![("response_type", "")], "invalid_request"),
        (vec![("scope", "profile")], "invalid_scope"),
        (vec![("prompt", "none")], "login_required"),
        (vec![("request", "eyJ")], "request_not_supported"),
        (vec![("country", "FR")], "invalid_request"),
    ] {
        let req = request(&demo, &extra);
        let q = query(&location(&browser.get(&req.url).await));
        assert_eq!(q["error"], error, "{extra:?}");
    }
    // Without a trustworthy client or redirect URI: a page, never a redirect.
    let req = request(&demo, &[("client_id", "nobody")]);
    let r = browser.get(&req.url).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("invalid_client"));
    let duplicated = format!("{}&client_id=again", request(&demo, &[]).url);
    let r = browser.get(&duplicated).await;
    assert_eq!(r.status(), 400);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("parameter `client_id` is repeated")
    );
    let huge = format!("{}&x={}", request(&demo, &[]).url, "a".repeat(5000));
    assert_eq!(browser.get(&huge).await.status(), 400);
}

#[tokio::test]
async fn consent_declined_is_access_denied() {
    let demo = demo_for("BH").await;
    let browser = Browser::new();
    let req = request(&demo, &[]);
    let back = sign_in(
        &demo,
        &browser,
        &req,
        "OM",
        jisr_devidp::citizens(cc("OM"))[0].id,
        "deny",
    )
    .await;
    let q = query(&back);
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["state"], req.state);
}

#[tokio::test]
async fn pair_forbidden_by_policy_is_access_denied() {
    // Qatar → Kuwait has an explicit refusal in the shipped policy.
    let demo = demo_for("KW").await;
    let browser = Browser::new();
    let req = request(&demo, &[]);
    let back = sign_in(
        &demo,
        &browser,
        &req,
        "QA",
        jisr_devidp::citizens(cc("QA"))[0].id,
        "allow",
    )
    .await;
    let q = query(&back);
    assert_eq!(q["error"], "access_denied");
    assert_eq!(
        q["error_description"],
        "no agreement allows identities from QA for KW"
    );
}

#[tokio::test]
async fn loa_too_low_is_unmet_authentication_requirements() {
    let demo = demo_for("BH").await;
    // UAE PASS logins are capped at substantial: an agency asking for high is refused.
    let browser = Browser::new();
    let req = request(&demo, &[("acr_values", "urn:jisr:loa:high")]);
    let back = sign_in(
        &demo,
        &browser,
        &req,
        "AE",
        jisr_devidp::citizens(cc("AE"))[0].id,
        "allow",
    )
    .await;
    let q = query(&back);
    assert_eq!(q["error"], "unmet_authentication_requirements", "{back}");
    // An SOP1 (unverified) UAE PASS account is below the policy minimum.
    let sop1 = jisr_devidp::citizens(cc("AE"))
        .iter()
        .find(|c| c.user_type == "SOP1")
        .unwrap();
    let req = request(&demo, &[]);
    let back = sign_in(&demo, &Browser::new(), &req, "AE", sop1.id, "allow").await;
    assert_eq!(
        query(&back)["error"],
        "unmet_authentication_requirements",
        "{back}"
    );
}

#[tokio::test]
async fn token_endpoint_refusals() {
    let demo = demo_for("BH").await;
    let browser = Browser::new();
    let req = request(&demo, &[]);
    let back = sign_in(
        &demo,
        &browser,
        &req,
        "KW",
        jisr_devidp::citizens(cc("KW"))[0].id,
        "allow",
    )
    .await;
    let code = query(&back)["code"].clone();
    let post = |form: Vec<(&'static str, String)>, basic: Option<(&'static str, String)>| {
        let url = format!("{}/token", demo.gateway_url);
        async move {
            let mut r = reqwest::Client::new().post(url).form(&form);
            if let Some((id, secret)) = basic {
                r = r.basic_auth(id, Some(secret));
            }
            let r = r.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let good = |code: &str, verifier: &str| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("redirect_uri", req.redirect_uri.clone()),
            ("code_verifier", verifier.to_owned()),
        ]
    };
    let agency = Some((AGENCY_CLIENT_ID, demo.agency_secret.clone()));
    // Wrong secret.
    let (s, b) = post(
        good(&code, &req.verifier),
        Some((AGENCY_CLIENT_ID, "wrong".into())),
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (401, Some("invalid_client")));
    // Code of another client (client_secret_post).
    let mut other = good(&code, &req.verifier);
    other.push(("client_id", "other-agency".into()));
    other.push(("client_secret", "other-secret".into()));
    let (s, b) = post(other, None).await;
    assert_eq!(
        (s, b["error"].as_str(), b["error_description"].as_str()),
        (
            400,
            Some("invalid_grant"),
            Some("authorization code was issued to another client")
        )
    );
    // The code was consumed by that attempt: single use even when refused.
    let (s, b) = post(good(&code, &req.verifier), agency.clone()).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));

    // Wrong code_verifier on a fresh code.
    let req = request(&demo, &[]);
    let back = sign_in(
        &demo,
        &Browser::new(),
        &req,
        "KW",
        jisr_devidp::citizens(cc("KW"))[0].id,
        "allow",
    )
    .await;
    let code = query(&back)["code"].clone();
    let (s, b) = post(good(&code, &"x".repeat(43)), agency.clone()).await;
    assert_eq!(
        (s, b["error_description"].as_str()),
        (400, Some("code_verifier does not match the code_challenge"))
    );
    // Unsupported grant type, missing fields.
    let (s, b) = post(vec![("grant_type", "password".into())], agency.clone()).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let (s, b) = post(
        vec![("grant_type", "authorization_code".into())],
        agency.clone(),
    )
    .await;
    assert_eq!(
        (s, b["error_description"].as_str()),
        (400, Some("code is missing"))
    );
    let (s, b) = post(good("nope", &req.verifier), None).await;
    assert_eq!((s, b["error"].as_str()), (401, Some("invalid_client")));
}

#[tokio::test]
async fn flow_state_is_single_use_and_bound_to_the_browser() {
    let demo = demo_for("BH").await;
    let browser = Browser::new();
    let req = request(&demo, &[]);
    let html = browser.get(&req.url).await.text().await.unwrap();
    let (flow, csrf) = (hidden(&html, "flow"), hidden(&html, "csrf"));
    // Another browser (no flow cookie) cannot use this flow's form.
    let stranger = Browser::new();
    let r = stranger
        .post(
            &format!("{}/login/country", demo.gateway_url),
            &[("flow", &flow), ("csrf", &csrf), ("country", "SA")],
        )
        .await;
    assert_eq!(r.status(), 400);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("has expired or was already used")
    );
    // A forged CSRF token is refused too.
    let r = browser
        .post(
            &format!("{}/login/country", demo.gateway_url),
            &[("flow", &flow), ("csrf", "forged"), ("country", "SA")],
        )
        .await;
    assert_eq!(r.status(), 403);
    let idp_url = location(
        &browser
            .post(
                &format!("{}/login/country", demo.gateway_url),
                &[("flow", &flow), ("csrf", &csrf), ("country", "SA")],
            )
            .await,
    );
    let callback = location(
        &browser
            .get(&format!(
                "{idp_url}&login_hint={}",
                jisr_devidp::citizens(cc("SA"))[0].id
            ))
            .await,
    );
    // The callback in another browser is refused, and its state is then spent.
    assert_eq!(stranger.get(&callback).await.status(), 403);
    assert_eq!(browser.get(&callback).await.status(), 400);
}

#[tokio::test]
async fn pages_carry_security_headers() {
    let demo = demo_for("BH").await;
    let r = Browser::new().get(&request(&demo, &[]).url).await;
    let h = r.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["cache-control"], "no-store");
    let cookie = h["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let meta: Value = reqwest::get(format!(
        "{}/.well-known/openid-configuration",
        demo.gateway_url
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(meta["issuer"], demo.gateway_url);
    assert_eq!(
        meta["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(meta["authorization_response_iss_parameter_supported"], true);
}

#[tokio::test]
async fn the_demo_agency_app_shows_the_assertion() {
    let demo = demo_for("BH").await;
    let browser = Browser::new();
    let to_gateway = location(&browser.get(&format!("{}/login", demo.agency_url)).await);
    assert!(to_gateway.starts_with(&demo.gateway_url));
    let html = browser.get(&to_gateway).await.text().await.unwrap();
    let (flow, csrf) = (hidden(&html, "flow"), hidden(&html, "csrf"));
    let idp_url = location(
        &browser
            .post(
                &format!("{}/login/country", demo.gateway_url),
                &[("flow", &flow), ("csrf", &csrf), ("country", "SA")],
            )
            .await,
    );
    let citizen = jisr_devidp::citizens(cc("SA"))[0];
    let callback = location(
        &browser
            .get(&format!("{idp_url}&login_hint={}", citizen.id))
            .await,
    );
    let consent = browser.get(&callback).await.text().await.unwrap();
    assert!(
        consent.contains(citizen.given_ar),
        "consent shows the values to be shared"
    );
    let (flow, csrf) = (hidden(&consent, "flow"), hidden(&consent, "csrf"));
    let agency_cb = location(
        &browser
            .post(
                &format!("{}/consent", demo.gateway_url),
                &[("flow", &flow), ("csrf", &csrf), ("decision", "allow")],
            )
            .await,
    );
    let home = location(&browser.get(&agency_cb).await);
    let page = browser
        .get(&format!(
            "{}{}",
            demo.agency_url,
            home.trim_start_matches(&demo.agency_url)
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(citizen.given_en) && page.contains("jisr_gcc"),
        "{page}"
    );
    let _: CountryCode = cc("SA");
}

/// Where consent is required, only the code carrying the gateway's approval redeems the
/// grant: the bare stored code (which a citizen could learn) or a forged approval does not.
#[tokio::test]
async fn consent_approval_cannot_be_forged() {
    let demo = demo_for("BH").await;
    for tamper in [
        |c: &str| c.split('.').next().unwrap().to_owned(),
        |c: &str| {
            let mut parts: Vec<&str> = c.split('.').collect();
            let forged = "A".repeat(parts[2].len());
            parts[2] = &forged;
            parts.join(".")
        },
    ] {
        let req = request(&demo, &[]);
        let back = sign_in(
            &demo,
            &Browser::new(),
            &req,
            "OM",
            jisr_devidp::citizens(cc("OM"))[0].id,
            "allow",
        )
        .await;
        let code = query(&back)["code"].clone();
        assert_eq!(code.split('.').count(), 3, "{code}");
        let (status, body) = token(&demo, &tamper(&code), &req).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"], "invalid_grant");
    }
}

#[tokio::test]
async fn callback_and_form_parameters_are_validated() {
    let demo = demo_for("BH").await;
    let browser = Browser::new();
    let r = browser
        .get(&format!(
            "{}/callback/sa?state=a&state=b&code=c",
            demo.gateway_url
        ))
        .await;
    assert_eq!(r.status(), 400);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("parameter `state` is repeated")
    );
    let r = browser
        .get(&format!("{}/callback/sa?code=c", demo.gateway_url))
        .await;
    assert_eq!(r.status(), 400);
    let html = r.text().await.unwrap();
    assert!(html.contains("has expired or was already used") && html.contains("invalid_request"));
    // A bilingual page with a reference an operator can look up.
    assert!(html.contains("dir=\"rtl\""), "{html}");
    let r = browser
        .post(
            &format!("{}/consent", demo.gateway_url),
            &[("decision", "allow")],
        )
        .await;
    assert_eq!(r.status(), 400);
    let r = reqwest::Client::new()
        .post(format!("{}/token", demo.gateway_url))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["error_description"],
        "the body must be application/x-www-form-urlencoded"
    );
    let r = reqwest::Client::new()
        .get(format!("{}/userinfo", demo.gateway_url))
        .bearer_auth("forged")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
}

/// Where the pair's policy needs no consent, the callback sends the citizen straight back with
/// a code, and only that bare code redeems the grant; the national identifier is disclosed
/// when the rule says `national`.
#[tokio::test]
async fn no_consent_rule_issues_the_code_at_the_callback() {
    let policy = jisr_mapping::Policy::from_toml(
        "policy.toml",
        "[[rule]]\norigin = \"*\"\ndestination = \"*\"\nmin_loa = \"substantial\"\nidentifier = \"national\"\nconsent = false\n",
    )
    .unwrap();
    let demo = jisr_demo::start(DemoOptions {
        gateway_port: 0,
        agency_port: 0,
        admin_port: 0,
        policy: Some(policy),
        ..DemoOptions::default()
    })
    .await
    .unwrap();
    let citizen = jisr_devidp::citizens(cc("KW"))[0];
    let browser = Browser::new();
    let req = request(&demo, &[]);
    let html = browser.get(&req.url).await.text().await.unwrap();
    let (flow, csrf) = (hidden(&html, "flow"), hidden(&html, "csrf"));
    let idp_url = location(
        &browser
            .post(
                &format!("{}/login/country", demo.gateway_url),
                &[("flow", &flow), ("csrf", &csrf), ("country", "KW")],
            )
            .await,
    );
    let callback = location(
        &browser
            .get(&format!("{idp_url}&login_hint={}", citizen.id))
            .await,
    );
    let back = location(&browser.get(&callback).await);
    assert!(
        back.starts_with(&req.redirect_uri),
        "no consent page: {back}"
    );
    let code = query(&back)["code"].clone();
    assert_eq!(
        code.split('.').count(),
        1,
        "no approval on a code that needed none"
    );
    let (status, tokens) = token(&demo, &code, &req).await;
    assert_eq!(status, 200, "{tokens}");
    let claims = verify_id_token(&demo, tokens["id_token"].as_str().unwrap()).await;
    assert_eq!(
        claims["verified_claims"]["claims"]["person_identifier"],
        format!("KW/BH/{}", citizen.id)
    );
    assert_eq!(claims["sub"], format!("KW/BH/{}", citizen.id));
}

/// RFC 7523 private_key_jwt at the gateway's token endpoint: a signed client assertion
/// authenticates the agency; a replayed jti, a wrong audience, an expired assertion or a key
/// the agency did not register are refused as invalid_client.
#[tokio::test]
async fn token_endpoint_private_key_jwt() {
    let pair = aws_lc_rs::signature::EcdsaKeyPair::generate(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
    )
    .unwrap();
    let public = aws_lc_rs::signature::KeyPair::public_key(&pair)
        .as_ref()
        .to_vec();
    let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
    let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_value(serde_json::json!({"keys": [{
        "kty": "EC", "crv": "P-256", "kid": "agency-key-1", "alg": "ES256", "use": "sig",
        "x": b64(&public[1..33]), "y": b64(&public[33..65])
    }]}))
    .unwrap();
    let key = jsonwebtoken::EncodingKey::from_ec_der(pair.to_pkcs8v1().unwrap().as_ref());
    let demo = jisr_demo::start(DemoOptions {
        gateway_port: 0,
        agency_port: 0,
        admin_port: 0,
        extra_agencies: vec![Agency {
            client_id: "pkjwt-agency".into(),
            name_en: "Key-authenticated agency (test)".into(),
            name_ar: "جهة بمفتاح".into(),
            country: cc("BH"),
            sector: "health".into(),
            redirect_uris: vec!["http://127.0.0.1:9/pk/callback".into()],
            auth: AgencyAuth::PrivateKeyJwt(jwks),
            id_token_signed_response_alg: None,
            notice: Default::default(),
            back_channel: Default::default(),
            logout: Default::default(),
        }],
        ..DemoOptions::default()
    })
    .await
    .unwrap();
    let assertion = |claims: Value, key: &jsonwebtoken::EncodingKey| {
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        h.kid = Some("agency-key-1".into());
        jsonwebtoken::encode(&h, &claims, key).unwrap()
    };
    let now = now();
    let good = |jti: &str| serde_json::json!({"iss": "pkjwt-agency", "sub": "pkjwt-agency", "aud": demo.gateway_url, "jti": jti, "iat": now, "exp": now + 60});
    let redeem = |code: String, verifier: String, client_assertion: String| {
        let url = format!("{}/token", demo.gateway_url);
        async move {
            let r = reqwest::Client::new()
                .post(url)
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", "http://127.0.0.1:9/pk/callback"),
                    ("code_verifier", &verifier),
                    ("client_id", "pkjwt-agency"),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", &client_assertion),
                ])
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let login = || async {
        let req = request(
            &demo,
            &[
                ("client_id", "pkjwt-agency"),
                ("redirect_uri", "http://127.0.0.1:9/pk/callback"),
            ],
        );
        let back = sign_in(
            &demo,
            &Browser::new(),
            &req,
            "QA",
            jisr_devidp::citizens(cc("QA"))[0].id,
            "allow",
        )
        .await;
        (query(&back)["code"].clone(), req.verifier)
    };

    let (code, verifier) = login().await;
    let (status, body) = redeem(code, verifier, assertion(good("jti-1"), &key)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["id_token"].is_string());

    let other = aws_lc_rs::signature::EcdsaKeyPair::generate(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
    )
    .unwrap();
    let other_key = jsonwebtoken::EncodingKey::from_ec_der(other.to_pkcs8v1().unwrap().as_ref());
    let mut wrong_aud = good("jti-3");
    wrong_aud["aud"] = Value::from("https://elsewhere.example");
    let mut expired = good("jti-4");
    expired["exp"] = Value::from(now - 120);
    for (client_assertion, why) in [
        (assertion(good("jti-1"), &key), "jti was already used"),
        (assertion(good("jti-2"), &other_key), "invalidsignature"),
        (assertion(wrong_aud, &key), "invalidaudience"),
        (assertion(expired, &key), "expired"),
    ] {
        let (code, verifier) = login().await;
        let (status, body) = redeem(code, verifier, client_assertion).await;
        assert_eq!(status, 401, "{why}: {body}");
        assert_eq!(body["error"], "invalid_client");
        assert!(
            body["error_description"].as_str().unwrap().contains(why),
            "{why}: {body}"
        );
    }
}
