//! RP-initiated logout, back-channel logout tokens to agencies, and the demo agency's
//! sign-out.

use super::*;

#[tokio::test]
async fn rp_initiated_logout_with_id_token_hint() {
    let (bcl, received) = receiver().await;
    let demo = demo_with(vec![other_agency(Some(format!("{bcl}/bcl/{OTHER}")))]).await;
    let browser = Browser::new();
    let (_, id_token) = first_login(&demo, &browser, "SA").await;
    let req = other_request(&demo, &[]);
    let q = back_to(&location(&browser.get(&req.url).await), &req, &demo);
    let tokens = token_as(&demo.gateway_url, OTHER, &q["code"], &req).await;
    let other_claims = verify_for(&demo, tokens["id_token"].as_str().unwrap(), OTHER, "JWT").await;
    let other_hint = tokens["id_token"].as_str().unwrap().to_owned();
    let _ = id_token;

    let url = format!(
        "{}/logout?id_token_hint={other_hint}&post_logout_redirect_uri={}&state=bye-state&ui_locales=en",
        demo.gateway_url,
        urlencode(OTHER_BYE)
    );
    let r = browser.get(&url).await;
    let to = location(&r);
    assert_eq!(to, format!("{OTHER_BYE}?state=bye-state"));
    let cleared = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|v| v.to_str().unwrap().starts_with("jisr_session=;"));
    assert!(cleared, "the session cookie is cleared");
    // The session is over: prompt=none hears login_required.
    let req = other_request(&demo, &[("prompt", "none")]);
    let q = back_to(&location(&browser.get(&req.url).await), &req, &demo);
    assert_eq!(q["error"], "login_required");
    // The agency's back channel got a logout token for its sid.
    let tokens = received.wait_for(OTHER, 1).await;
    let claims = verify_for(&demo, &tokens[0], OTHER, "logout+jwt").await;
    assert_eq!(claims["sid"], other_claims["sid"]);
}

#[tokio::test]
async fn rp_backchannel_rpinitlogout() {
    let (bcl, received) = receiver().await;
    let demo = demo_with(vec![other_agency(Some(format!("{bcl}/bcl/{OTHER}")))]).await;
    let browser = Browser::new();
    first_login(&demo, &browser, "SA").await;
    let req = other_request(&demo, &[]);
    let q = back_to(&location(&browser.get(&req.url).await), &req, &demo);
    let tokens = token_as(&demo.gateway_url, OTHER, &q["code"], &req).await;
    let id_claims = verify_for(&demo, tokens["id_token"].as_str().unwrap(), OTHER, "JWT").await;
    let hint = tokens["id_token"].as_str().unwrap();
    let r = browser
        .post(
            &format!("{}/logout", demo.gateway_url),
            &[("id_token_hint", hint)],
        )
        .await;
    assert_eq!(r.status(), 200, "the signed-out page");
    let got = received.wait_for(OTHER, 1).await;
    assert_eq!(got.len(), 1);
    let t = &got[0];
    let claims = verify_for(&demo, t, OTHER, "logout+jwt").await;
    assert_eq!(claims["iss"], demo.gateway_url.as_str());
    assert_eq!(claims["aud"], OTHER);
    assert_eq!(claims["sid"], id_claims["sid"]);
    // `sub` too: the subject the agency knows the citizen by (pairwise for SA→BH here).
    assert_eq!(claims["sub"], id_claims["sub"]);
    assert!(claims.get("nonce").is_none());
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 16));
    let iat = claims["iat"].as_i64().unwrap();
    assert!((now() - 30..=now() + 5).contains(&iat));
    assert!(claims["exp"].as_i64().unwrap() > now());
    assert_eq!(
        claims["events"],
        serde_json::json!({"http://schemas.openid.net/event/backchannel-logout": {}})
    );
    // Counted, by agency and outcome (the delivery's event follows its POST).
    let expected =
        format!("jisr_backchannel_logout_total{{agency=\"{OTHER}\",outcome=\"delivered\"}} 1");
    let metrics = jisr_e2e::scrape_until(&demo.admin_url, &expected).await;
    assert!(metrics.contains(&expected), "{metrics}");
    assert!(metrics.contains("jisr_logouts_total{"), "{metrics}");
}

#[tokio::test]
async fn a_slow_agency_does_not_delay_the_logout() {
    let (bcl, received) = receiver().await;
    let demo = demo_with(vec![
        other_agency(Some(format!("{bcl}/bcl/{OTHER}"))),
        slow_agency(&bcl),
    ])
    .await;
    let browser = Browser::new();
    first_login(&demo, &browser, "SA").await;
    let slow = request_for(&demo, "slow", "http://127.0.0.1:9/slow/callback", &[]);
    location(&browser.get(&slow.url).await);
    let req = other_request(&demo, &[]);
    let q = back_to(&location(&browser.get(&req.url).await), &req, &demo);
    let tokens = token_as(&demo.gateway_url, OTHER, &q["code"], &req).await;
    let hint = tokens["id_token"].as_str().unwrap();
    let started = Instant::now();
    let r = browser
        .get(&format!(
            "{}/logout?id_token_hint={hint}&post_logout_redirect_uri={}",
            demo.gateway_url,
            urlencode(OTHER_BYE)
        ))
        .await;
    assert_eq!(location(&r), OTHER_BYE);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "logout took {:?}",
        started.elapsed()
    );
    // The other agency is told at once, the slow one is still being waited for.
    received.wait_for(OTHER, 1).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    received.wait_for("slow", 1).await;
}

#[tokio::test]
async fn rp_initiated_logout_without_hint_asks_the_citizen_first() {
    let demo = demo_with(vec![other_agency(None)]).await;
    let browser = Browser::new();
    first_login(&demo, &browser, "SA").await;
    let url = format!(
        "{}/logout?client_id={OTHER}&post_logout_redirect_uri={}&state=s1",
        demo.gateway_url,
        urlencode(OTHER_BYE)
    );
    let page = browser.get(&url).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains(r#"<html lang="ar" dir="rtl">"#),
        "Arabic leads by default"
    );
    assert!(html.contains("Sign out") && html.contains("تسجيل الخروج"));
    let sealed = hidden(&html, "request");
    // "Stay signed in" keeps the session.
    let r = browser
        .post(
            &format!("{}/logout/confirm", demo.gateway_url),
            &[("request", &sealed), ("decision", "stay")],
        )
        .await;
    assert_eq!(r.status(), 200);
    let req = other_request(&demo, &[("prompt", "none")]);
    let q = back_to(&location(&browser.get(&req.url).await), &req, &demo);
    assert!(q.contains_key("code"), "still signed in: {q:?}");
    // Another browser cannot use this form: it ends nothing of ours.
    let intruder = Browser::new();
    let r = intruder
        .post(
            &format!("{}/logout/confirm", demo.gateway_url),
            &[("request", &sealed), ("decision", "logout")],
        )
        .await;
    assert_eq!(location(&r), format!("{OTHER_BYE}?state=s1"));
    let req = other_request(&demo, &[("prompt", "none")]);
    let q = back_to(&location(&browser.get(&req.url).await), &req, &demo);
    assert!(q.contains_key("code"), "still signed in: {q:?}");
    // Confirmed: signed out and on to the agency with its state.
    let r = browser
        .post(
            &format!("{}/logout/confirm", demo.gateway_url),
            &[("request", &sealed), ("decision", "logout")],
        )
        .await;
    assert_eq!(location(&r), format!("{OTHER_BYE}?state=s1"));
    let req = other_request(&demo, &[("prompt", "none")]);
    let q = back_to(&location(&browser.get(&req.url).await), &req, &demo);
    assert_eq!(q["error"], "login_required");
}

#[tokio::test]
async fn rp_initiated_logout_bad_post_logout_redirect_uri_is_refused() {
    let demo = demo_with(vec![other_agency(None)]).await;
    let browser = Browser::new();
    let (_, id_token) = first_login(&demo, &browser, "SA").await;
    let gw = &demo.gateway_url;
    for (url, why) in [
        (
            format!(
                "{gw}/logout?client_id={OTHER}&post_logout_redirect_uri={}",
                urlencode("https://evil.example/")
            ),
            "unregistered",
        ),
        (
            format!(
                "{gw}/logout?client_id={OTHER}&post_logout_redirect_uri={}",
                urlencode(&format!("{OTHER_BYE}/x"))
            ),
            "not an exact match",
        ),
        (
            format!(
                "{gw}/logout?post_logout_redirect_uri={}",
                urlencode(OTHER_BYE)
            ),
            "no client",
        ),
        (
            format!(
                "{gw}/logout?id_token_hint={id_token}&post_logout_redirect_uri={}",
                urlencode(OTHER_BYE)
            ),
            "registered for another agency than the hint's",
        ),
        (
            format!("{gw}/logout?id_token_hint={id_token}&client_id={OTHER}"),
            "client_id is not the hint's audience",
        ),
        (
            format!(
                "{gw}/logout?id_token_hint={}x",
                &id_token[..id_token.len() - 1]
            ),
            "a forged hint",
        ),
    ] {
        let r = browser.get(&url).await;
        assert_eq!(r.status(), 400, "{why}");
        assert!(r.headers().get("location").is_none(), "{why}: no redirect");
        let html = r.text().await.unwrap();
        assert!(html.contains("invalid_request"), "{why}");
    }
    // Still signed in after all that.
    let req = request(&demo, &[("prompt", "none")]);
    let q = back_to(&location(&browser.get(&req.url).await), &req, &demo);
    assert!(q.contains_key("code"));
    // The demo agency's own hint, without a redirect: signed out, on the signed-out page.
    let r = browser
        .get(&format!("{gw}/logout?id_token_hint={id_token}"))
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("You are signed out") && html.contains("تم تسجيل خروجك"));
    // An expired hint is still accepted (RP-Initiated Logout 1.0 section 2): the same
    // token later, with no session left, goes on without asking.
    let r = browser
        .get(&format!("{gw}/logout?id_token_hint={id_token}"))
        .await;
    assert_eq!(r.status(), 200);
    let _ = AGENCY_CLIENT_ID;
}

/// Signs the first Saudi citizen in at the demo agency's own app (its `/login`), SA→BH
/// needing no consent under [`POLICY`]; returns the agency's home page.
async fn agency_app_login(demo: &Demo, browser: &Browser) -> String {
    let to_gateway = location(&browser.get(&format!("{}/login", demo.agency_url)).await);
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
    let agency_cb = location(&browser.get(&callback).await);
    location(&browser.get(&agency_cb).await);
    agency_home(demo, browser).await
}

async fn agency_home(demo: &Demo, browser: &Browser) -> String {
    browser
        .get(&format!("{}/", demo.agency_url))
        .await
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_demo_agency_signs_out_at_the_gateway_too() {
    let demo = demo_with(vec![other_agency(None)]).await;
    let browser = Browser::new();
    let citizen = jisr_devidp::citizens(cc("SA"))[0];
    assert!(
        agency_app_login(&demo, &browser)
            .await
            .contains(citizen.given_en)
    );
    // "Sign out": to the gateway's end_session_endpoint with the hint, then back home.
    let to_gateway = location(&browser.get(&format!("{}/logout", demo.agency_url)).await);
    assert!(to_gateway.starts_with(&format!("{}/logout?id_token_hint=", demo.gateway_url)));
    let home = location(&browser.get(&to_gateway).await);
    assert_eq!(home, format!("{}/", demo.agency_url));
    assert!(
        !agency_home(&demo, &browser)
            .await
            .contains(citizen.given_en)
    );
    // The gateway's session is over too.
    let req = other_request(&demo, &[("prompt", "none")]);
    let q = back_to(&location(&browser.get(&req.url).await), &req, &demo);
    assert_eq!(q["error"], "login_required");
}

#[tokio::test]
async fn the_demo_agency_hears_a_logout_started_elsewhere() {
    let demo = demo_with(vec![other_agency(None)]).await;
    let browser = Browser::new();
    let citizen = jisr_devidp::citizens(cc("SA"))[0];
    assert!(
        agency_app_login(&demo, &browser)
            .await
            .contains(citizen.given_en)
    );
    // Single sign-on into the other agency, which then signs the citizen out.
    let req = other_request(&demo, &[]);
    let q = back_to(&location(&browser.get(&req.url).await), &req, &demo);
    let tokens = token_as(&demo.gateway_url, OTHER, &q["code"], &req).await;
    let hint = tokens["id_token"].as_str().unwrap();
    browser
        .get(&format!("{}/logout?id_token_hint={hint}", demo.gateway_url))
        .await;
    // The demo agency's back channel ends its own session.
    for _ in 0..100 {
        if !agency_home(&demo, &browser)
            .await
            .contains(citizen.given_en)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the demo agency still shows the citizen signed in");
}

#[tokio::test]
async fn frontchannel_logout_frames_the_agencies_that_registered_it() {
    const FC_CALLBACK: &str = "http://127.0.0.1:9/fc/callback";
    let fc = Agency {
        client_id: "fc-agency".into(),
        sector: "fc".into(),
        redirect_uris: vec![FC_CALLBACK.into()],
        logout: AgencyLogout {
            frontchannel_logout_uri: Some("http://127.0.0.1:9/fc/logout".into()),
            frontchannel_logout_session_required: true,
            ..Default::default()
        },
        ..other_agency(None)
    };
    let demo = demo_with(vec![fc]).await;
    let browser = Browser::new();
    let (_, hint) = first_login(&demo, &browser, "SA").await;
    let req = request_for(&demo, "fc-agency", FC_CALLBACK, &[]);
    let q = back_to(&location(&browser.get(&req.url).await), &req, &demo);
    let tokens = token_as(&demo.gateway_url, "fc-agency", &q["code"], &req).await;
    let fc_claims = verify_for(
        &demo,
        tokens["id_token"].as_str().unwrap(),
        "fc-agency",
        "JWT",
    )
    .await;
    let r = browser
        .get(&format!("{}/logout?id_token_hint={hint}", demo.gateway_url))
        .await;
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("frame-src http://127.0.0.1:9"), "{csp}");
    // askama escapes `&` in the attribute.
    let html = r.text().await.unwrap().replace("&#38;", "&");
    let src = format!(
        "http://127.0.0.1:9/fc/logout?iss={}&sid={}",
        urlencode(&demo.gateway_url),
        fc_claims["sid"].as_str().unwrap()
    );
    assert!(html.contains(&src), "{html}");
}

/// An agency the citizen declined to share their identity with (after single sign-on, at
/// its consent page) is not part of the session: the logout tells the agency the citizen
/// did sign in to, and never the one that received nothing.
#[tokio::test]
async fn a_declined_agency_is_not_told_of_the_logout() {
    let (bcl, received) = receiver().await;
    let demo = demo_with(vec![
        other_agency(Some(format!("{bcl}/bcl/{OTHER}"))),
        Agency {
            client_id: "signed-in".into(),
            sector: "signed-in".into(),
            redirect_uris: vec!["http://127.0.0.1:9/signed-in/callback".into()],
            logout: AgencyLogout {
                backchannel_logout_uri: Some(format!("{bcl}/bcl/signed-in")),
                ..Default::default()
            },
            ..other_agency(None)
        },
    ])
    .await;
    // OM→BH: single sign-on, with consent per agency.
    let browser = Browser::new();
    let (_, hint) = first_login(&demo, &browser, "OM").await;
    let declined = sso_consent(&demo, &browser, OTHER, OTHER_CALLBACK, "deny").await;
    assert_eq!(declined["error"], "access_denied");
    let allowed = sso_consent(
        &demo,
        &browser,
        "signed-in",
        "http://127.0.0.1:9/signed-in/callback",
        "allow",
    )
    .await;
    assert!(allowed.contains_key("code"));

    let r = browser
        .post(
            &format!("{}/logout", demo.gateway_url),
            &[("id_token_hint", hint.as_str())],
        )
        .await;
    assert_eq!(r.status(), 200, "the signed-out page");
    // The agency signed in through single sign-on hears of it (and the demo agency, by
    // the metric); the declined one never does.
    assert_eq!(received.wait_for("signed-in", 1).await.len(), 1);
    let demo_told = format!(
        "jisr_backchannel_logout_total{{agency=\"{AGENCY_CLIENT_ID}\",outcome=\"delivered\"}} 1"
    );
    let metrics = jisr_e2e::scrape_until(&demo.admin_url, &demo_told).await;
    assert!(metrics.contains(&demo_told), "{metrics}");
    assert!(received.tokens_for(OTHER).is_empty());
    assert!(
        !metrics.contains(&format!(
            "jisr_backchannel_logout_total{{agency=\"{OTHER}\""
        )),
        "no delivery to the declined agency was even tried: {metrics}"
    );
}

/// A sign-in at `client` through the browser's session (no national login) whose consent
/// page the citizen answers with `decision`: the redirect back to the agency, checked.
async fn sso_consent(
    demo: &Demo,
    browser: &Browser,
    client: &str,
    callback: &str,
    decision: &str,
) -> std::collections::HashMap<String, String> {
    let req = request_for(demo, client, callback, &[]);
    let page = browser.get(&req.url).await;
    assert_eq!(page.status(), 200, "the consent page, no national login");
    let html = page.text().await.unwrap();
    let (flow, csrf) = (hidden(&html, "flow"), hidden(&html, "csrf"));
    let r = browser
        .post(
            &format!("{}/consent", demo.gateway_url),
            &[("flow", &flow), ("csrf", &csrf), ("decision", decision)],
        )
        .await;
    back_to(&location(&r), &req, demo)
}

/// Another citizen signs in with the same browser: the first citizen's session ends at once
/// (it would otherwise linger unreachable until its idle end), and its agencies are told.
#[tokio::test]
async fn another_citizens_login_in_the_same_browser_ends_the_first_session() {
    let (bcl, received) = receiver().await;
    let demo = demo_with(vec![other_agency(Some(format!("{bcl}/bcl/{OTHER}")))]).await;
    let browser = Browser::new();
    first_login(&demo, &browser, "SA").await;
    // Single sign-on into the other agency (SA→BH), which registered its back channel.
    let req = other_request(&demo, &[]);
    let q = back_to(&location(&browser.get(&req.url).await), &req, &demo);
    let tokens = token_as(&demo.gateway_url, OTHER, &q["code"], &req).await;
    let first = verify_for(&demo, tokens["id_token"].as_str().unwrap(), OTHER, "JWT").await;

    // A Kuwaiti citizen on the same browser (prompt=login: the picker, a national login).
    let kw = jisr_devidp::citizens(cc("KW"))[0];
    let req = request(&demo, &[("prompt", "login")]);
    let back = sign_in(&demo, &browser, &req, "KW", kw.id, "allow").await;
    assert!(back.starts_with(&req.redirect_uri), "{back}");
    let got = received.wait_for(OTHER, 1).await;
    let claims = verify_for(&demo, &got[0], OTHER, "logout+jwt").await;
    assert_eq!(claims["sid"], first["sid"]);
    assert_eq!(claims["sub"], first["sub"]);
    let metrics = reqwest::get(format!("{}/metrics", demo.admin_url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("initiator=\"replaced\""),
        "{}",
        metrics
            .lines()
            .filter(|l| l.starts_with("jisr_logouts_total"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    // The Kuwaiti citizen's session does not serve the other agency (KW→BH: no single
    // sign-on), and the Saudi one is gone: prompt=none hears login_required.
    let req = other_request(&demo, &[("prompt", "none")]);
    let q = back_to(&location(&browser.get(&req.url).await), &req, &demo);
    assert_eq!(q["error"], "login_required");
}
