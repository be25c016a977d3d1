//! At the edges toward national IdPs that behave as certified OPs do (issue 10, items 1, 2
//! and 8): `acr` and `auth_time` only when asked, single sign-on sessions reused, keys
//! rotated under load.
//!
//! - A plain login (the agency asks no level) works and reaches the pair's minimum: the
//!   gateway always asks the IdP for the acr values that meet it.
//! - A country whose IdP cannot reach the level is greyed out in the picker, and refused
//!   before the citizen signs in there when the agency hints it.
//! - `max_age` and `prompt=login` go to the IdP; its `auth_time` is checked on return and the
//!   agency hears `login_required` when they were not met (OIDC Core 3.1.2.1); the ID token's
//!   `auth_time` is the IdP's, never "now".
//! - JWKS: zero failed logins across key rotations mid-run, a bounded number of fetches, a
//!   token without kid after a rotation, and a flood of unknown kids.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jisr_devidp::{Faults, SigningAlg};
use jisr_e2e::agency::{self, Request};
use jisr_e2e::browser::{Browser, query};
use jisr_e2e::demo::demo_for;
use jisr_e2e::signin::sign_in;
use jisr_e2e::upstream::*;
use jisr_e2e::{cc, now};
use jisr_gateway::upstream::{Expect, UpstreamError, Upstreams, VerifyError};
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};

/// The agency's redirect after a sign-in of `country`'s first citizen: the query, and the ID
/// token's claims when a code came back.
async fn agency_sees(
    demo: &jisr_demo::Demo,
    req: &Request,
    country: &str,
) -> (std::collections::HashMap<String, String>, Option<Value>) {
    let citizen = jisr_devidp::citizens(cc(country))[0].id;
    let back = sign_in(demo, &Browser::new(), req, country, citizen, "allow").await;
    assert!(back.starts_with(&req.redirect_uri), "{back}");
    let q = query(&back);
    let Some(code) = q.get("code") else {
        return (q, None);
    };
    let (status, tokens) = agency::token(demo, code, req).await;
    assert_eq!(status, 200, "{tokens}");
    let claims = agency::verify_id_token(demo, tokens["id_token"].as_str().unwrap()).await;
    (q, Some(claims))
}

#[tokio::test]
async fn plain_login_reaches_the_pairs_minimum_without_acr_values_from_the_agency() {
    // SA→BH requires high; the agency asks nothing. The IdP (acr only when asked) is asked
    // for the SA values at or above high, and the citizen lands at high.
    let demo = demo_for("BH").await;
    let req = agency::request(&demo, &[]);
    let (q, claims) = agency_sees(&demo, &req, "SA").await;
    let claims = claims.unwrap_or_else(|| panic!("refused: {q:?}"));
    assert_eq!(claims["acr"], json!("urn:jisr:loa:high"));
    // Nothing asked about freshness, and this IdP says auth_time only when asked: none is
    // claimed (never the national token's iat passed off as one).
    assert!(claims.get("auth_time").is_none(), "{claims}");
}

#[tokio::test]
async fn picker_greys_out_countries_that_cannot_reach_the_level_and_a_hint_is_refused() {
    let demo = demo_for("BH").await;
    // UAE PASS is capped at substantial: it cannot serve a request for high.
    let req = agency::request(&demo, &[("acr_values", "urn:jisr:loa:high")]);
    let html = Browser::new().get(&req.url).await.text().await.unwrap();
    let ae = html
        .split("value=\"AE\"")
        .nth(1)
        .unwrap_or_else(|| panic!("no AE button: {html}"));
    assert!(ae.starts_with(" class=\"country\" disabled"), "{ae:.200}");
    assert!(
        ae.contains("level of assurance this service requires"),
        "{ae:.600}"
    );
    let sa = html.split("value=\"SA\"").nth(1).unwrap();
    assert!(sa.starts_with(" class=\"country\">"), "{sa:.100}");

    let req = agency::request(
        &demo,
        &[("acr_values", "urn:jisr:loa:high"), ("country", "AE")],
    );
    let r = Browser::new().get(&req.url).await;
    let back = jisr_e2e::browser::location(&r);
    assert!(back.starts_with(&req.redirect_uri), "{back}");
    let q = query(&back);
    assert_eq!(q["error"], "unmet_authentication_requirements");
    assert_eq!(
        q["error_description"],
        "the national IdP of AE cannot reach the level of assurance high"
    );
    assert_eq!(q["state"], req.state);
}

#[tokio::test]
async fn oidcc_max_age_and_prompt_login_reach_the_idp_and_its_auth_time_is_checked() {
    let demo = demo_for("BH").await;
    let idp = demo.idp(cc("SA")).unwrap();
    // The citizen signed in at the national IdP an hour ago.
    idp.set_faults(Faults {
        sso_session_age_secs: 3600,
        ..Faults::default()
    });
    // A long max_age: the session is reused and its auth_time is the ID token's.
    let req = agency::request(&demo, &[("max_age", "7200")]);
    let (q, claims) = agency_sees(&demo, &req, "SA").await;
    let claims = claims.unwrap_or_else(|| panic!("refused: {q:?}"));
    let auth_time = claims["auth_time"].as_i64().unwrap();
    assert!((now() - 3600 - auth_time).abs() <= 5, "{claims}");
    // A short one, and prompt=login: the IdP authenticates again.
    for extra in [("max_age", "60"), ("prompt", "login")] {
        let req = agency::request(&demo, &[extra]);
        let (q, claims) = agency_sees(&demo, &req, "SA").await;
        let claims = claims.unwrap_or_else(|| panic!("{extra:?} refused: {q:?}"));
        let auth_time = claims["auth_time"].as_i64().unwrap();
        assert!((now() - auth_time).abs() <= 5, "{extra:?}: {claims}");
    }

    // An IdP that ignores them: the agency hears login_required, with state and iss.
    idp.set_faults(Faults {
        sso_session_age_secs: 3600,
        ignore_reauthentication: true,
        ..Faults::default()
    });
    for (extra, description) in [
        (
            ("max_age", "60"),
            "the national IdP of SA: the national authentication is older than max_age",
        ),
        (
            ("prompt", "login"),
            "the national IdP of SA: the national IdP did not authenticate the person again (prompt=login)",
        ),
    ] {
        let req = agency::request(&demo, &[extra]);
        let (q, claims) = agency_sees(&demo, &req, "SA").await;
        assert!(claims.is_none(), "{extra:?}");
        assert_eq!(q["error"], "login_required", "{extra:?}");
        assert_eq!(q["error_description"], description);
        assert_eq!(q["state"], req.state);
        assert_eq!(q["iss"], demo.gateway_url);
    }

    // A malformed max_age is the agency's mistake.
    let req = agency::request(&demo, &[("max_age", "soon")]);
    let back = jisr_e2e::browser::location(&Browser::new().get(&req.url).await);
    let q = query(&back);
    assert_eq!(q["error"], "invalid_request");
    assert_eq!(
        q["error_description"],
        "max_age must be a non-negative integer number of seconds"
    );
}

/// An upstream client for `idp` with `min_refresh_secs` as given (the harness's is 0).
async fn rate_limited(idp: &jisr_devidp::DevIdp, min_refresh_secs: u64) -> Upstreams {
    let mut cfg = config_for(idp, "SA", &[Algorithm::ES256]);
    cfg.jwks.min_refresh_secs = min_refresh_secs;
    let upstreams = Upstreams::new(vec![cfg]).unwrap();
    upstreams.get(cc("SA")).unwrap().discover().await.unwrap();
    upstreams
}

#[tokio::test]
async fn jwks_rotation_mid_run_zero_failed_logins_bounded_fetches() {
    let idp = idp("SA", SigningAlg::ES256, Faults::default()).await;
    let upstreams = rate_limited(&idp, 2).await;
    let up = upstreams.get(cc("SA")).unwrap().clone();
    login(&up, citizen("SA")).await.unwrap();
    assert_eq!(up.jwks().fetch_count(), 1);

    // Six workers log in continuously while the IdP rotates its key twice, the first time
    // right after the first fetch (well within min_refresh_secs).
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let workers: Vec<_> = (0..6)
        .map(|_| {
            let (up, stop, ok, failed) = (up.clone(), stop.clone(), ok.clone(), failed.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    match login(&up, citizen("SA")).await {
                        Ok(_) => ok.fetch_add(1, Ordering::Relaxed),
                        Err(e) => {
                            eprintln!("login failed: {e}");
                            failed.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                }
            })
        })
        .collect();
    let rotations = 2u32;
    for generation in 1..=rotations {
        // Old keys stay published for a while, as a rotating IdP does for tokens in flight.
        idp.set_faults(Faults {
            key_generation: generation,
            publish_old_keys: true,
            ..Faults::default()
        });
        tokio::time::sleep(Duration::from_millis(3000)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    assert_eq!(failed.load(Ordering::Relaxed), 0, "failed logins");
    assert!(ok.load(Ordering::Relaxed) >= 12, "{ok:?}");
    // One fetch at start and at most one per rotation, however many logins missed the kid.
    let fetches = up.jwks().fetch_count();
    assert!(
        (2..=1 + u64::from(rotations)).contains(&fetches),
        "{fetches} JWKS fetches"
    );
}

#[tokio::test]
async fn jwks_token_without_kid_after_a_rotation_refreshes_and_verifies() {
    let idp = idp(
        "SA",
        SigningAlg::ES256,
        Faults {
            omit_kid: true,
            ..Faults::default()
        },
    )
    .await;
    let upstreams = rate_limited(&idp, 1).await;
    let up = upstreams.get(cc("SA")).unwrap().clone();
    login(&up, citizen("SA")).await.unwrap();
    // A new key, the old one gone, and still no kid: the cached key fails the signature,
    // which for a token without kid means a refresh (after waiting out min_refresh_secs).
    idp.set_faults(Faults {
        omit_kid: true,
        key_generation: 1,
        ..Faults::default()
    });
    let started = Instant::now();
    login(&up, citizen("SA")).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(up.jwks().fetch_count(), 2);
}

/// `token` with its header's kid replaced (the signature no longer matters: the kid is looked
/// up first).
fn with_kid(token: &str, kid: &str) -> String {
    let mut parts = token.splitn(2, '.');
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap()).unwrap();
    let mut header = header;
    header["kid"] = json!(kid);
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap()),
        parts.next().unwrap()
    )
}

#[tokio::test]
async fn jwks_flood_of_unknown_kids_keeps_fetches_bounded() {
    let idp = idp("SA", SigningAlg::ES256, Faults::default()).await;
    let upstreams = rate_limited(&idp, 1).await;
    let up = upstreams.get(cc("SA")).unwrap().clone();
    let (pending, callback) = authorize(&up, citizen("SA"), None).await;
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
    let token = response["id_token"].as_str().unwrap().to_owned();
    let expect = Expect {
        nonce: None,
        access_token: None,
        now: now(),
    };
    upstreams
        .verify_national_token(&token, &expect)
        .await
        .unwrap();
    let before = up.jwks().fetch_count();
    // For about three seconds, bursts of 50 tokens each naming a kid nobody published.
    let started = Instant::now();
    let mut n = 0;
    while started.elapsed() < Duration::from_secs(3) {
        let forged: Vec<String> = (0..50)
            .map(|i| with_kid(&token, &format!("k{n}-{i}")))
            .collect();
        n += 1;
        let results = futures::future::join_all(
            forged
                .iter()
                .map(|t| upstreams.verify_national_token(t, &expect)),
        )
        .await;
        for r in results {
            match r {
                Err(UpstreamError::Verify(VerifyError::UnknownKid)) => {}
                other => panic!("{other:?}"),
            }
        }
    }
    let elapsed = started.elapsed().as_secs() + 1;
    let fetches = up.jwks().fetch_count() - before;
    assert!(n * 50 >= 100, "{n} bursts");
    assert!(
        fetches >= 1 && fetches <= elapsed + 1,
        "{fetches} fetches in {elapsed} s"
    );
}

/// A national IdP whose authorization endpoint stops answering (the gateway probes it) is
/// unavailable: greyed out in the picker, and a citizen who chooses it gets the gateway's
/// bilingual page, with `temporarily_unavailable` for the agency, instead of a browser sent
/// to an address that does not answer. One failed probe is not an outage; the first answer
/// ends it, and the country signs in again.
#[tokio::test]
async fn an_idp_that_stops_answering_is_greyed_out_and_refused_with_the_gateways_page() {
    let demo = demo_for("BH").await;
    let idp = demo.idp(cc("KW")).unwrap();
    let kw = demo.gateway.upstreams.get(cc("KW")).unwrap().clone();
    assert!(kw.probe().await, "a healthy IdP answers the probe");
    idp.set_faults(Faults {
        down: true,
        ..Faults::default()
    });
    assert!(!kw.probe().await, "503 is not an answer");
    assert!(kw.is_available(), "one failed probe is not an outage");
    // The picker is shown, the citizen chooses Kuwait: the country is still offered.
    let browser = Browser::new();
    let req = agency::request(&demo, &[]);
    let picker = browser.get(&req.url).await.text().await.unwrap();
    let button = picker.split("value=\"KW\"").nth(1).unwrap();
    assert!(button.starts_with(" class=\"country\">"), "{button:.100}");
    assert!(!kw.probe().await);
    assert!(!kw.is_available());
    assert_eq!(
        kw.state(),
        (
            jisr_gateway::upstream::UpstreamState::Down,
            Some("not_answering")
        )
    );

    // The citizen who had the picker open chooses Kuwait anyway: the gateway's page.
    let flow = jisr_e2e::browser::hidden(&picker, "flow");
    let csrf = jisr_e2e::browser::hidden(&picker, "csrf");
    let r = browser
        .post(
            &format!("{}/login/country", demo.gateway_url),
            &[("flow", &flow), ("csrf", &csrf), ("country", "KW")],
        )
        .await;
    assert_eq!(r.status(), 503);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("<code dir=\"ltr\">temporarily_unavailable</code>"),
        "{page}"
    );
    assert!(
        !page.contains(idp.issuer()),
        "the page links to the IdP: {page}"
    );
    let back = page
        .split("class=\"primary back\" href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no way back to the agency: {page}"))
        .replace("&amp;", "&");
    assert!(back.starts_with(&req.redirect_uri), "{back}");
    assert_eq!(query(&back)["error"], "temporarily_unavailable");

    // A new visit: Kuwait is greyed out.
    let picker = Browser::new().get(&agency::request(&demo, &[]).url).await;
    let picker = picker.text().await.unwrap();
    let button = picker.split("value=\"KW\"").nth(1).unwrap();
    assert!(
        button.starts_with(" class=\"country\" disabled"),
        "{button:.100}"
    );

    // The IdP answers again: offered again, and its citizens sign in.
    idp.set_faults(Faults::default());
    assert!(kw.probe().await);
    assert!(kw.is_available());
    let req = agency::request(&demo, &[]);
    let (q, claims) = agency_sees(&demo, &req, "KW").await;
    assert!(claims.is_some(), "refused after the IdP came back: {q:?}");
}
