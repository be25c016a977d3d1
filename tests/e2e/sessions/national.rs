//! Logout at the national IdP: its back-channel logout tokens to the gateway, and its
//! end-session endpoint after the gateway's own logout.

use super::*;

/// POSTs a logout token to the gateway's back-channel logout URI for `cc`.
async fn national_logout(demo: &Demo, cc: &str, token: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/backchannel-logout/{cc}", demo.gateway_url))
        .form(&[("logout_token", token)])
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn national_backchannel_logout_ends_the_session_and_forgeries_are_refused() {
    let (bcl, received) = receiver().await;
    let demo =
        demo_with_national_logout(vec![other_agency(Some(format!("{bcl}/bcl/{OTHER}")))]).await;
    let browser = Browser::new();
    first_login(&demo, &browser, "SA").await;
    let req = other_request(&demo, &[]);
    back_to(&location(&browser.get(&req.url).await), &req, &demo);
    let idp = demo.idp(cc("SA")).unwrap();
    let citizen = jisr_devidp::citizens(cc("SA"))[0];
    let sids = idp.sessions_of(citizen.sub);
    assert_eq!(sids.len(), 1, "the national ID token named its session");
    let claims = |edit: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut c = serde_json::Map::new();
        c.insert("iss".into(), idp.issuer().into());
        c.insert("aud".into(), "jisr".into());
        c.insert("iat".into(), now().into());
        c.insert("exp".into(), (now() + 120).into());
        c.insert("jti".into(), jisr_e2e::store::random_hex(12).into());
        c.insert("sid".into(), sids[0].clone().into());
        c.insert(
            "events".into(),
            serde_json::json!({"http://schemas.openid.net/event/backchannel-logout": {}}),
        );
        edit(&mut c);
        c
    };
    let none = jisr_devidp::Faults::default();
    let bad_sig = jisr_devidp::Faults {
        wrong_signature: true,
        ..Default::default()
    };
    for (token, reason) in [
        (
            idp.sign_logout_token(&claims(&|_| {}), &bad_sig),
            "bad signature",
        ),
        (
            idp.sign_logout_token(
                &claims(&|c| {
                    c.remove("events");
                }),
                &none,
            ),
            "no events",
        ),
        (
            idp.sign_logout_token(
                &claims(&|c| {
                    c.insert("nonce".into(), "n".into());
                }),
                &none,
            ),
            "a nonce",
        ),
        (
            idp.sign_logout_token(
                &claims(&|c| {
                    c.insert("aud".into(), "someone-else".into());
                }),
                &none,
            ),
            "wrong aud",
        ),
        (
            idp.sign_logout_token(
                &claims(&|c| {
                    c.insert("iat".into(), (now() - 3600).into());
                }),
                &none,
            ),
            "old iat",
        ),
        (
            idp.sign_logout_token(
                &claims(&|c| {
                    c.remove("sid");
                }),
                &none,
            ),
            "neither sid nor sub",
        ),
    ] {
        let (status, body) = national_logout(&demo, "sa", &token).await;
        assert_eq!(status, 400, "{reason}: {body}");
        assert_eq!(body["error"], "invalid_request", "{reason}");
    }
    // Another country's IdP cannot end a Saudi session (its key, its issuer).
    let om = demo.idp(cc("OM")).unwrap();
    let (status, _) =
        national_logout(&demo, "sa", &om.sign_logout_token(&claims(&|_| {}), &none)).await;
    assert_eq!(status, 400);
    // Still signed in.
    let req = other_request(&demo, &[("prompt", "none")]);
    assert!(back_to(&location(&browser.get(&req.url).await), &req, &demo).contains_key("code"));
    // A valid token is single use.
    let stray = idp.sign_logout_token(
        &claims(&|c| {
            c.insert("sid".into(), "another-session".into());
        }),
        &none,
    );
    assert_eq!(national_logout(&demo, "sa", &stray).await.0, 200);
    assert_eq!(
        national_logout(&demo, "sa", &stray).await.0,
        400,
        "replayed jti"
    );
    // The national IdP ends the citizen's session: the gateway's ends, the agencies hear.
    assert_eq!(idp.logout_citizen(citizen.sub).await, vec![200]);
    let req = other_request(&demo, &[("prompt", "none")]);
    let q = back_to(&location(&browser.get(&req.url).await), &req, &demo);
    assert_eq!(q["error"], "login_required");
    let got = received.wait_for(OTHER, 1).await;
    let claims = verify_for(&demo, &got[0], OTHER, "logout+jwt").await;
    assert_eq!(claims["aud"], OTHER);
}

#[tokio::test]
async fn rp_initiated_logout_ends_the_national_session_too() {
    let demo = demo_with_national_logout(vec![other_agency(None)]).await;
    let browser = Browser::new();
    first_login(&demo, &browser, "SA").await;
    let req = other_request(&demo, &[]);
    let q = back_to(&location(&browser.get(&req.url).await), &req, &demo);
    let tokens = token_as(&demo.gateway_url, OTHER, &q["code"], &req).await;
    let hint = tokens["id_token"].as_str().unwrap();
    let idp = demo.idp(cc("SA")).unwrap();
    let citizen = jisr_devidp::citizens(cc("SA"))[0];
    assert_eq!(idp.sessions_of(citizen.sub).len(), 1);
    let r = browser
        .get(&format!(
            "{}/logout?id_token_hint={hint}&post_logout_redirect_uri={}&state=st",
            demo.gateway_url,
            urlencode(OTHER_BYE)
        ))
        .await;
    // To the national IdP's logout, with the national ID token as hint …
    let national = location(&r);
    assert!(national.starts_with(&idp.url("/logout?")), "{national}");
    let nq = query(&national);
    assert_eq!(
        nq["post_logout_redirect_uri"],
        format!("{}/logout/return", demo.gateway_url)
    );
    assert_eq!(nq["client_id"], "jisr");
    // … which ends its session and sends the citizen back to the gateway …
    let back = location(&browser.get(&national).await);
    assert!(
        back.starts_with(&format!("{}/logout/return?", demo.gateway_url)),
        "{back}"
    );
    assert!(idp.sessions_of(citizen.sub).is_empty());
    // … and on to the agency with its state.
    assert_eq!(
        location(&browser.get(&back).await),
        format!("{OTHER_BYE}?state=st")
    );
}
