//! `sid` in ID tokens, single sign-on between agencies, `prompt=none`, and sessions shared
//! by replicas.

use super::*;

#[tokio::test]
async fn oidcc_id_token_sid_and_sso_into_a_second_agency_skips_the_national_login() {
    let demo = demo_with(vec![other_agency(None)]).await;
    let browser = Browser::new();
    let ops = demo.gateway.store.stats().operations;
    let (first, _) = first_login(&demo, &browser, "SA").await;
    // A fresh login costs one store operation more than before sessions: the session's put
    // (upstream state put and taken, code put and taken, live marker put; userinfo is not
    // called here).
    assert_eq!(demo.gateway.store.stats().operations - ops, 6);
    let sid = first["sid"].as_str().expect("sid in the ID token");
    assert!(sid.len() >= 22);

    // The second agency: straight back with a code, no picker and no national IdP.
    let req = other_request(&demo, &[]);
    let r = browser.get(&req.url).await;
    let q = back_to(&location(&r), &req, &demo);
    let tokens = token_as(&demo.gateway_url, OTHER, &q["code"], &req).await;
    let second = verify_for(&demo, tokens["id_token"].as_str().unwrap(), OTHER, "JWT").await;
    assert_eq!(second["nonce"], req.nonce.as_str());
    let other_sid = second["sid"].as_str().unwrap();
    assert_ne!(other_sid, sid, "each agency has its own sid");
    // Pairwise per sector: another subject; the same national authentication.
    assert_ne!(second["sub"], first["sub"]);
    assert_eq!(second["auth_time"], first["auth_time"]);
    assert_eq!(second["acr"], first["acr"]);
    assert_eq!(
        second["verified_claims"]["claims"]["given_name"],
        first["verified_claims"]["claims"]["given_name"]
    );
    // Discovery says so.
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
        meta["end_session_endpoint"],
        format!("{}/logout", demo.gateway_url)
    );
    for k in [
        "backchannel_logout_supported",
        "backchannel_logout_session_supported",
        "frontchannel_logout_supported",
        "frontchannel_logout_session_supported",
    ] {
        assert_eq!(meta[k], true, "{k}");
    }
}

#[tokio::test]
async fn no_sso_when_the_pair_does_not_allow_it() {
    let demo = demo_with(vec![other_agency(None)]).await;
    let browser = Browser::new();
    first_login(&demo, &browser, "AE").await;
    let req = other_request(&demo, &[]);
    let r = browser.get(&req.url).await;
    assert_eq!(r.status(), 200, "the country picker, not single sign-on");
    let html = r.text().await.unwrap();
    hidden(&html, "flow");
    // With prompt=none: the agency hears login_required.
    let req = other_request(&demo, &[("prompt", "none")]);
    let q = back_to(&location(&browser.get(&req.url).await), &req, &demo);
    assert_eq!(q["error"], "login_required");
}

#[tokio::test]
async fn oidcc_prompt_none_logged_in() {
    let demo = demo_with(vec![other_agency(None)]).await;
    let browser = Browser::new();
    first_login(&demo, &browser, "SA").await;
    let req = other_request(&demo, &[("prompt", "none")]);
    let q = back_to(&location(&browser.get(&req.url).await), &req, &demo);
    assert!(q.contains_key("code"), "{q:?}");
    assert!(!q.contains_key("error"));
    // The same agency again, silently.
    let req = request(&demo, &[("prompt", "none")]);
    let q = back_to(&location(&browser.get(&req.url).await), &req, &demo);
    let (status, _) = token(&demo, &q["code"], &req).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn oidcc_prompt_none_not_logged_in() {
    let demo = demo_with(vec![]).await;
    let req = request(&demo, &[("prompt", "none")]);
    let q = back_to(&location(&Browser::new().get(&req.url).await), &req, &demo);
    assert_eq!(q["error"], "login_required");
    // prompt=none with another value is contradictory.
    let req = request(&demo, &[("prompt", "none login")]);
    let q = back_to(&location(&Browser::new().get(&req.url).await), &req, &demo);
    assert_eq!(q["error"], "invalid_request");
}

#[tokio::test]
async fn prompt_none_refusals_consent_interaction_and_freshness() {
    let demo = demo_with(vec![other_agency(None)]).await;
    // OM→BH needs consent: prompt=none cannot ask for it.
    let om = Browser::new();
    first_login(&demo, &om, "OM").await;
    let req = other_request(&demo, &[("prompt", "none")]);
    let q = back_to(&location(&om.get(&req.url).await), &req, &demo);
    assert_eq!(q["error"], "consent_required");
    // Without prompt=none: no national login, but a fresh consent for this agency.
    let req = other_request(&demo, &[]);
    let page = om.get(&req.url).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("decision"), "the consent page");
    let (flow, csrf) = (hidden(&html, "flow"), hidden(&html, "csrf"));
    let r = om
        .post(
            &format!("{}/consent", demo.gateway_url),
            &[("flow", &flow), ("csrf", &csrf), ("decision", "allow")],
        )
        .await;
    let q = back_to(&location(&r), &req, &demo);
    let tokens = token_as(&demo.gateway_url, OTHER, &q["code"], &req).await;
    let claims = verify_for(&demo, tokens["id_token"].as_str().unwrap(), OTHER, "JWT").await;
    assert_eq!(claims["origin_country"], "OM");

    let sa = Browser::new();
    first_login(&demo, &sa, "SA").await;
    // The agency names another country than the session's: the citizen must choose.
    let req = other_request(&demo, &[("prompt", "none"), ("country", "OM")]);
    let q = back_to(&location(&sa.get(&req.url).await), &req, &demo);
    assert_eq!(q["error"], "interaction_required");
    // max_age=0 asks for a fresh login: never silent.
    let req = other_request(&demo, &[("prompt", "none"), ("max_age", "0")]);
    let q = back_to(&location(&sa.get(&req.url).await), &req, &demo);
    assert_eq!(q["error"], "login_required");
    // prompt=login: the national IdP again, never the session.
    let req = other_request(&demo, &[("prompt", "login")]);
    assert_eq!(sa.get(&req.url).await.status(), 200, "the picker");
}

#[tokio::test]
async fn sessions_survive_a_replica_switch_and_end_on_all_replicas() {
    let url = redis_url();
    require_redis(&url).await;
    let keyspace = Keyspace::new(&url);
    let key = EncryptionKey::generate();
    let store_a = keyspace.store(&key, Duration::from_secs(1));
    let store_b = keyspace.store(&key, Duration::from_secs(1));
    let demo = start(options(vec![other_agency(None)], Some(store_a.clone()))).await;
    let b = demo.start_replica(store_b.clone()).await.unwrap();
    let browser = Browser::new();
    // The national login on replica A …
    first_login(&demo, &browser, "SA").await;
    // … single sign-on on replica B.
    let req = other_request(&demo, &[("prompt", "none")]);
    let q = back_to(
        &location(&browser.get(&via(&b, &req.url)).await),
        &req,
        &demo,
    );
    let tokens = token_as(&b, OTHER, &q["code"], &req).await;
    // The stored session reveals nothing: no name in clear in Redis.
    let citizen = jisr_devidp::citizens(cc("SA"))[0];
    let mut conn = keyspace.connection().unwrap();
    let keys: Vec<String> = keyspace.keys().unwrap();
    let sessions: Vec<&String> = keys.iter().filter(|k| k.contains("sess:")).collect();
    assert_eq!(sessions.len(), 1, "{keys:?}");
    let raw: Vec<u8> = redis::cmd("GET").arg(sessions[0]).query(&mut conn).unwrap();
    let raw = String::from_utf8_lossy(&raw);
    for canary in [citizen.given_en, citizen.family_en, citizen.id] {
        assert!(!raw.contains(canary), "{canary} in clear in Redis");
    }
    // Logout on B ends the session on A too.
    let hint = tokens["id_token"].as_str().unwrap();
    let r = browser
        .get(&format!("{b}/logout?id_token_hint={hint}"))
        .await;
    assert_eq!(r.status(), 200);
    let req = request(&demo, &[("prompt", "none")]);
    let q = back_to(&location(&browser.get(&req.url).await), &req, &demo);
    assert_eq!(q["error"], "login_required");
    drop(demo);
    keyspace.purge().unwrap();
}
