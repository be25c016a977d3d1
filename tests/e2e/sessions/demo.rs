//! The demo as `jisr demo` runs it, with the shipped policy: single sign-on from the first
//! demo agency into the second (Saudi citizens at Bahraini agencies), consent asked at each,
//! and "sign out" at one agency ending the gateway's session, the national one and the other
//! agency's.

use super::*;

/// Follows redirects from `url` until one leads to a URL starting with `until`; returns it
/// (not requested). Each hop must be a redirect.
async fn follow(browser: &Browser, mut url: String, until: &str) -> String {
    for _ in 0..10 {
        if url.starts_with(until) {
            return url;
        }
        url = location(&browser.get(&url).await);
    }
    panic!("no redirect reached {until}; last {url}");
}

/// Allows the consent page at `url` (the gateway's answer to the agency's `/login`, after
/// any national login): the agency's callback.
async fn consent_at(demo: &Demo, browser: &Browser, html: &str) -> String {
    assert!(html.contains("decision"), "the consent page: {html}");
    let (flow, csrf) = (hidden(html, "flow"), hidden(html, "csrf"));
    location(
        &browser
            .post(
                &format!("{}/consent", demo.gateway_url),
                &[("flow", &flow), ("csrf", &csrf), ("decision", "allow")],
            )
            .await,
    )
}

async fn home(browser: &Browser, agency: &str) -> String {
    browser
        .get(&format!("{agency}/?lang=en"))
        .await
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_demo_signs_in_to_a_second_agency_without_a_national_login_and_signs_out_of_both() {
    let demo = start(DemoOptions {
        second_agency_port: Some(0),
        national_logout: true,
        ..DemoOptions::default()
    })
    .await;
    let first = demo.agency_url.clone();
    let second = demo
        .second_agency_url
        .clone()
        .expect("the second demo agency");
    let browser = Browser::new();
    let citizen = jisr_devidp::citizens(cc("SA"))[0];

    // Each agency links the other.
    let page = home(&browser, &first).await;
    assert!(page.contains("Ministry of Health (demo)"), "{page}");
    assert!(page.contains(&format!("{second}/?lang=en")), "{page}");
    assert!(
        home(&browser, &second)
            .await
            .contains(&format!("{first}/?lang=en"))
    );

    // The first agency: the country picker, the Saudi IdP, consent.
    let to_gateway = location(&browser.get(&format!("{first}/login")).await);
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
    let callback = location(
        &browser
            .get(&format!("{idp_url}&login_hint={}", citizen.id))
            .await,
    );
    let consent = browser.get(&callback).await.text().await.unwrap();
    let back = consent_at(&demo, &browser, &consent).await;
    assert!(back.starts_with(&format!("{first}/callback?")), "{back}");
    location(&browser.get(&back).await);
    assert!(home(&browser, &first).await.contains(citizen.given_en));

    // The second agency: straight to its consent page (no picker, no national IdP), then in.
    let to_gateway = location(&browser.get(&format!("{second}/login")).await);
    assert!(to_gateway.starts_with(&format!("{}/authorize?", demo.gateway_url)));
    let r = browser.get(&to_gateway).await;
    assert_eq!(
        r.status(),
        200,
        "single sign-on: the consent page, not a redirect"
    );
    let consent = r.text().await.unwrap();
    assert!(consent.contains("Ministry of Labour (demo)"), "{consent}");
    let back = consent_at(&demo, &browser, &consent).await;
    assert!(back.starts_with(&format!("{second}/callback?")), "{back}");
    location(&browser.get(&back).await);
    let signed_in = home(&browser, &second).await;
    assert!(signed_in.contains(citizen.given_en), "{signed_in}");

    // "Sign out" at the second agency: the gateway, the Saudi IdP's end_session, back home.
    let out = location(&browser.get(&format!("{second}/logout")).await);
    assert!(
        out.starts_with(&format!("{}/logout?", demo.gateway_url)),
        "{out}"
    );
    let landed = follow(&browser, out, &second).await;
    assert_eq!(landed, format!("{second}/"));
    assert!(!home(&browser, &second).await.contains(citizen.given_en));
    // The first agency heard it on its back channel.
    let mut still = true;
    for _ in 0..100 {
        still = home(&browser, &first).await.contains(citizen.given_en);
        if !still {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        !still,
        "the first demo agency still shows the citizen signed in"
    );
    // And a new sign-in starts at the country picker again.
    let to_gateway = location(&browser.get(&format!("{first}/login")).await);
    let html = browser.get(&to_gateway).await.text().await.unwrap();
    assert!(
        html.contains("name=\"country\""),
        "the country picker: {html}"
    );
}
