//! The citizen at the edges, over real HTTP with the development IdPs: a failed national
//! login shows a page whose button tells the agency (RFC 6749 4.1.2.1, with `state` and RFC
//! 9207 `iss`); Back after signing in offers to start again; a browser's 404 is a page; two
//! sign-ins in two tabs do not collide; the consent page reads in words.

use jisr_e2e::agency::{Request, request, token};
use jisr_e2e::browser::{Browser, hidden, location, query};
use jisr_e2e::cc;
use jisr_e2e::demo::demo_for;
use jisr_e2e::signin::{finish_login, to_callback};

/// The `href` of the error page's button back to the agency, unescaped.
fn back_button(html: &str) -> String {
    let marker = "class=\"primary back\" href=\"";
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("no button: {html}"))
        + marker.len();
    html[start..start + html[start..].find('"').unwrap()].replace("&#38;", "&")
}

/// The flow ids of `Set-Cookie` headers that set (`true`) or end (`false`) a flow cookie.
fn flow_cookies(r: &reqwest::Response) -> Vec<(String, bool)> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| {
            let (name, rest) = v.split_once('=')?;
            let id = name.strip_prefix("jisr_flow_")?;
            Some((id.to_owned(), !rest.contains("Max-Age=0")))
        })
        .collect()
}

/// Picker for `req`, then the country: the redirect to the national IdP and the flow id.
async fn choose(
    browser: &Browser,
    gateway: &str,
    req: &Request,
    country: &str,
) -> (String, String) {
    let picker = browser.get(&req.url).await;
    assert_eq!(picker.status(), 200);
    let set = flow_cookies(&picker);
    let html = picker.text().await.unwrap();
    let (flow, csrf) = (hidden(&html, "flow"), hidden(&html, "csrf"));
    assert!(set.contains(&(flow.clone(), true)), "{set:?}");
    let r = browser
        .post(
            &format!("{gateway}/login/country"),
            &[("flow", &flow), ("csrf", &csrf), ("country", country)],
        )
        .await;
    (location(&r), flow)
}

/// Two sign-ins started in two tabs of one browser, their steps interleaved: each has its own
/// cookie, and both end at the agency with their own `state` and a code that redeems.
#[tokio::test]
async fn two_tabs_sign_in_interleaved_without_colliding() {
    let demo = demo_for("BH").await;
    let gw = demo.gateway_url.as_str();
    let browser = Browser::new();
    let first = request(&demo, &[]);
    let second = request(&demo, &[("ui_locales", "en")]);
    let (idp1, flow1) = choose(&browser, gw, &first, "OM").await;
    let (idp2, flow2) = choose(&browser, gw, &second, "KW").await;
    assert_ne!(flow1, flow2);
    let om = jisr_devidp::citizens(cc("OM"))[0].id;
    let kw = jisr_devidp::citizens(cc("KW"))[0].id;
    // The second tab comes back from its IdP first, then the first.
    let cb2 = location(&browser.get(&format!("{idp2}&login_hint={kw}")).await);
    let cb1 = location(&browser.get(&format!("{idp1}&login_hint={om}")).await);
    let back2 = finish_login(&browser, &cb2, gw, gw, "allow").await;
    let back1 = finish_login(&browser, &cb1, gw, gw, "allow").await;
    for (back, req) in [(&back1, &first), (&back2, &second)] {
        let q = query(back);
        assert!(back.starts_with(&req.redirect_uri), "{back}");
        assert_eq!(q.get("state"), Some(&req.state), "{back}");
        let (status, body) = token(&demo, &q["code"], req).await;
        assert_eq!(status, 200, "{body}");
    }
}

/// A browser keeps at most four flow cookies: a fifth sign-in ends the oldest, whose form is
/// then refused as expired, while the newest still goes through.
#[tokio::test]
async fn flow_cookies_are_bounded_and_the_oldest_is_dropped() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicI64, Ordering};
    // The gateway's clock moves one second per sign-in, so "oldest" is well defined.
    let time = Arc::new(AtomicI64::new(jisr_e2e::now()));
    let clock = time.clone();
    let demo = jisr_e2e::demo::start(jisr_demo::DemoOptions {
        clock: Some(Arc::new(move || clock.load(Ordering::SeqCst))),
        ..Default::default()
    })
    .await;
    let browser = Browser::new();
    let mut flows = Vec::new();
    let mut last_set = Vec::new();
    for _ in 0..5 {
        time.fetch_add(1, Ordering::SeqCst);
        let r = browser.get(&request(&demo, &[]).url).await;
        last_set = flow_cookies(&r);
        let html = r.text().await.unwrap();
        flows.push((hidden(&html, "flow"), hidden(&html, "csrf")));
    }
    assert!(
        last_set.contains(&(flows[0].0.clone(), false)),
        "the fifth sign-in ends the first's cookie: {last_set:?}"
    );
    assert!(
        last_set.contains(&(flows[4].0.clone(), true)),
        "{last_set:?}"
    );
    assert_eq!(last_set.len(), 2, "{last_set:?}");
    let post = |i: usize| {
        let (flow, csrf) = flows[i].clone();
        let browser = &browser;
        let url = format!("{}/login/country", demo.gateway_url);
        async move {
            browser
                .post(&url, &[("flow", &flow), ("csrf", &csrf), ("country", "OM")])
                .await
        }
    };
    let oldest = post(0).await;
    assert_eq!(oldest.status(), 400);
    assert!(
        oldest
            .text()
            .await
            .unwrap()
            .contains("has expired or was already used")
    );
    let newest = post(4).await;
    assert!(location(&newest).starts_with(demo.idp(cc("OM")).unwrap().issuer()));
}

/// OpenID RP test `rp_id_token_bad_sig` as the citizen lives it: a national ID token whose
/// signature does not verify shows a page in the citizen's language, no technical reason on
/// it, and a "Return to <agency>" button that gives the agency `access_denied` with its
/// `state` and the gateway's `iss`.
#[tokio::test]
async fn a_refused_national_login_offers_to_return_to_the_agency_with_access_denied() {
    let demo = demo_for("BH").await;
    let gw = demo.gateway_url.as_str();
    let browser = Browser::new();
    let req = request(&demo, &[("ui_locales", "en")]);
    let callback = to_callback(&demo, &browser, &req, gw, gw, "OM").await;
    demo.idp(cc("OM")).unwrap().set_faults(jisr_devidp::Faults {
        wrong_signature: true,
        ..Default::default()
    });
    let r = browser.get(&callback).await;
    assert_eq!(r.status(), 502);
    let ended = flow_cookies(&r);
    assert!(
        ended.len() == 1 && !ended[0].1,
        "the flow's cookie ends: {ended:?}"
    );
    let html = r.text().await.unwrap();
    assert!(html.starts_with("<!doctype html>\n<html lang=\"en\" dir=\"ltr\">"));
    assert!(html.contains("We could not confirm your sign-in"), "{html}");
    assert!(
        html.contains("Return to <bdi>Ministry of Health (demo)</bdi>"),
        "{html}"
    );
    assert!(
        html.contains("العودة إلى <bdi>وزارة الصحة (تجريبي)</bdi>"),
        "{html}"
    );
    for technical in ["signature", "RFC", "kid", "JWKS", "id_token"] {
        assert!(
            !html.contains(technical),
            "`{technical}` on the page: {html}"
        );
    }
    let href = back_button(&html);
    assert!(href.starts_with(&req.redirect_uri), "{href}");
    let q = query(&href);
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["state"], req.state);
    assert_eq!(q["iss"], demo.gateway.issuer);
    // The agency's description quotes the page's reference, for its support desk.
    let reference = {
        let marker = "class=\"reference\">";
        let at = html.find(marker).unwrap() + marker.len();
        html[at..at + 11].to_owned()
    };
    assert!(q["error_description"].contains(&reference), "{q:?}");
}

/// A national IdP that answers 5xx at its token endpoint: the page says try later, and the
/// agency hears `temporarily_unavailable`.
#[tokio::test]
async fn an_unreachable_national_idp_returns_temporarily_unavailable() {
    let demo = demo_for("BH").await;
    let gw = demo.gateway_url.as_str();
    let browser = Browser::new();
    let req = request(&demo, &[]);
    let callback = to_callback(&demo, &browser, &req, gw, gw, "OM").await;
    demo.idp(cc("OM")).unwrap().set_faults(jisr_devidp::Faults {
        down: true,
        ..Default::default()
    });
    let r = browser.get(&callback).await;
    assert_eq!(r.status(), 503);
    let html = r.text().await.unwrap();
    // Arabic leads (no ui_locales).
    assert!(html.starts_with("<!doctype html>\n<html lang=\"ar\" dir=\"rtl\">"));
    assert!(html.contains("cannot be reached right now"), "{html}");
    let q = query(&back_button(&html));
    assert_eq!(q["error"], "temporarily_unavailable");
    assert_eq!(q["state"], req.state);
    assert_eq!(q["iss"], demo.gateway.issuer);
}

/// Back after signing in replays the national IdP's answer: the flow is over, so the page
/// says so and offers to start again at the agency's site — never an error to the agency for
/// a sign-in that succeeded.
#[tokio::test]
async fn back_after_signing_in_offers_to_start_again_at_the_agency() {
    let demo = demo_for("BH").await;
    let gw = demo.gateway_url.as_str();
    let browser = Browser::new();
    let req = request(&demo, &[("ui_locales", "en")]);
    let callback = to_callback(&demo, &browser, &req, gw, gw, "OM").await;
    let back = finish_login(&browser, &callback, gw, gw, "allow").await;
    assert!(query(&back).contains_key("code"), "{back}");
    let again = browser.get(&callback).await;
    assert_eq!(again.status(), 400);
    let html = again.text().await.unwrap();
    assert!(
        html.starts_with("<!doctype html>\n<html lang=\"en\" dir=\"ltr\">"),
        "{html}"
    );
    assert!(html.contains("has expired or was already used"), "{html}");
    assert!(
        html.contains("Start again at <bdi>Ministry of Health (demo)</bdi>"),
        "{html}"
    );
    assert_eq!(back_button(&html), format!("{}/", demo.agency_url));
    // A browser that never started a sign-in here gets the page without a button.
    let stranger = Browser::new().get(&callback).await;
    assert_eq!(stranger.status(), 400);
    assert!(
        !stranger
            .text()
            .await
            .unwrap()
            .contains("class=\"primary back\"")
    );
}

/// A 404 is a bilingual page for a browser, JSON for a program.
#[tokio::test]
async fn a_browser_gets_a_404_page_and_a_program_gets_json() {
    let demo = demo_for("BH").await;
    let url = format!("{}/no/such/page", demo.gateway_url);
    let http = reqwest::Client::new();
    let r = http
        .get(&url)
        .header("accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8")
        .header("accept-language", "en-GB,en;q=0.9,ar;q=0.5")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = r.text().await.unwrap();
    assert!(
        html.starts_with("<!doctype html>\n<html lang=\"en\" dir=\"ltr\">"),
        "{html}"
    );
    assert!(html.contains("This page does not exist") && html.contains("هذه الصفحة غير موجودة"));
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "not_found");
}

/// The consent page in words: a Saudi citizen's gender, nationality and place of birth in
/// both languages, the birth date with its Umm al-Qura date, the national number called that
/// (SA→BH discloses it), and the agency's purpose and privacy notice. An Omani citizen's
/// pseudonym is called an identifier for this service only.
#[tokio::test]
async fn the_consent_page_reads_in_words_in_both_languages() {
    let demo = demo_for("BH").await;
    let gw = demo.gateway_url.as_str();
    let browser = Browser::new();
    let req = request(&demo, &[]);
    let callback = to_callback(&demo, &browser, &req, gw, gw, "SA").await;
    let r = browser.get(&callback).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    for words in [
        "Female",
        "أنثى",
        "Saudi Arabia",
        "المملكة العربية السعودية",
        // 14 Jumada al-Ula 1410 AH, as the Saudi IdP sent it, beside the Gregorian date.
        "14 Jumada al-Ula 1410 AH",
        "14 جمادى الأولى 1410 هـ",
        "National identity number",
        "رقم الهوية الوطنية",
        "To open your health record",
        "إشعار الخصوصية",
    ] {
        assert!(html.contains(words), "`{words}` missing: {html}");
    }
    assert!(html.contains(&format!("href=\"{}/privacy\"", demo.agency_url)));
    assert!(
        !html.contains(">female<") && !html.contains(">SA<"),
        "{html}"
    );

    let browser = Browser::new();
    let req = request(&demo, &[("ui_locales", "en")]);
    let callback = to_callback(&demo, &browser, &req, gw, gw, "OM").await;
    let html = browser.get(&callback).await.text().await.unwrap();
    assert!(
        html.contains("An identifier for this service only"),
        "{html}"
    );
    assert!(!html.contains("National identity number"), "{html}");
}

/// `jisr demo` prints the demo agency's credentials and ready settings for one's own OIDC
/// client; those settings work: the printed client is registered with its redirect URI and
/// authenticates at the token endpoint with the printed secret.
#[tokio::test]
async fn the_demo_prints_working_settings_for_your_own_oidc_client() {
    let own_redirect = "http://127.0.0.1:3000/callback";
    let demo = jisr_demo::start(jisr_demo::DemoOptions {
        gateway_port: 0,
        agency_port: 0,
        admin_port: 0,
        own_client_redirect_uris: vec![own_redirect.into()],
        ..Default::default()
    })
    .await
    .unwrap();
    let notes = demo.client_notes();
    let (secret, _) = demo.own_client.clone().unwrap();
    for line in [
        format!("client_id      {}", jisr_demo::AGENCY_CLIENT_ID),
        format!(
            "client_secret  {}   (client_secret_basic)",
            demo.agency_secret
        ),
        format!("client_id      {}", jisr_demo::OWN_CLIENT_ID),
        format!("client_secret  {secret}   (client_secret_basic)"),
        format!("OIDC_CLIENT_SECRET={secret} OIDC_REDIRECT_URI={own_redirect}"),
        format!(
            "OIDCProviderMetadataURL {}/.well-known/openid-configuration",
            demo.gateway.issuer
        ),
        "OIDCPKCEMethod S256".into(),
    ] {
        assert!(notes.contains(&line), "`{line}` missing:\n{notes}");
    }
    // The printed client is registered with the printed redirect URI…
    let mut req = request(
        &demo,
        &[
            ("client_id", jisr_demo::OWN_CLIENT_ID),
            ("redirect_uri", own_redirect),
        ],
    );
    req.redirect_uri = own_redirect.into();
    let picker = Browser::new().get(&req.url).await;
    assert_eq!(picker.status(), 200);
    assert!(
        picker
            .text()
            .await
            .unwrap()
            .contains("Your OIDC client (demo)")
    );
    // …and authenticates with the printed secret (a made-up code is then the only problem).
    let r = reqwest::Client::new()
        .post(format!("{}/token", demo.gateway_url))
        .basic_auth(jisr_demo::OWN_CLIENT_ID, Some(&secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "made-up"),
            ("redirect_uri", own_redirect),
            ("code_verifier", &req.verifier),
        ])
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant", "{body}");
}

/// Chromium walks the consent page, Back after signing in, the logout confirmation and the
/// signed-out page, and a refused national login's error page with its button, in Arabic
/// and in English, on a desktop and a phone; the screenshots go to `target/screenshots/` to
/// be looked at.
#[tokio::test]
async fn chromium_walks_the_consent_expired_and_error_pages_in_both_languages() {
    use crate::interop::{CHROMIUM, node, require_chromium, require_node_modules};
    require_node_modules();
    require_chromium();
    let demo = demo_for("BH").await;
    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
    let sa = demo.idp(cc("SA")).unwrap();
    for (lang, dir, ret) in [("ar", "rtl", "العودة إلى"), ("en", "ltr", "Return to")] {
        let run = |flow: &'static str| {
            let shots = shots.to_str().unwrap().to_owned();
            let (agency, gateway) = (demo.agency_url.clone(), demo.gateway_url.clone());
            async move {
                node(
                    "citizen-pages.mjs",
                    &[
                        "--agency",
                        &agency,
                        "--gateway",
                        &gateway,
                        "--country",
                        "SA",
                        "--lang",
                        lang,
                        "--flow",
                        flow,
                        "--screenshots",
                        &shots,
                        "--chromium",
                        CHROMIUM,
                    ],
                    &[],
                    std::time::Duration::from_secs(120),
                )
                .await
            }
        };
        sa.set_faults(jisr_devidp::Faults::default());
        let out = run("consent").await;
        let consent = &out["consent"];
        assert_eq!(consent["lang"], lang, "{out:#}");
        assert_eq!(consent["dir"], dir, "{out:#}");
        let text = consent["text"].as_str().unwrap();
        assert!(
            text.contains("Jumada al-Ula 1410 AH") && text.contains("أنثى"),
            "{text}"
        );
        let expired = &out["expired"];
        assert_eq!(expired["lang"], lang, "{out:#}");
        assert_eq!(
            expired["back_href"].as_str().unwrap(),
            format!("{}/", demo.agency_url)
        );
        for page in ["consent", "expired"] {
            assert_eq!(
                out[page]["shots"]["phone_overflow_px"], 0,
                "{page} {lang}: {out:#}"
            );
        }

        // The logout confirmation (no hint: the citizen is asked) and the signed-out page,
        // in the agency's language.
        let out = run("logout").await;
        for page in ["confirm", "signed_out"] {
            assert_eq!(out[page]["lang"], lang, "{page}: {out:#}");
            assert_eq!(out[page]["dir"], dir, "{page}: {out:#}");
            assert_eq!(
                out[page]["shots"]["phone_overflow_px"], 0,
                "{page} {lang}: {out:#}"
            );
        }
        let signed_out = out["signed_out"]["text"].as_str().unwrap();
        assert!(
            signed_out.contains(if lang == "ar" {
                "تم تسجيل خروجك"
            } else {
                "signed out"
            }),
            "{signed_out}"
        );

        sa.set_faults(jisr_devidp::Faults {
            wrong_signature: true,
            ..Default::default()
        });
        let out = run("error").await;
        let error = &out["error"];
        assert_eq!(error["lang"], lang, "{out:#}");
        assert!(
            error["back_text"].as_str().unwrap().contains(ret),
            "{out:#}"
        );
        assert!(
            !error["text"].as_str().unwrap().contains("signature"),
            "{out:#}"
        );
        assert_eq!(error["shots"]["phone_overflow_px"], 0, "{out:#}");
        let returned = &out["returned"];
        assert_eq!(returned["path"], "/callback", "{out:#}");
        assert_eq!(returned["error"], "access_denied", "{out:#}");
        assert_eq!(returned["has_state"], true, "{out:#}");
        assert_eq!(returned["iss"], demo.gateway.issuer, "{out:#}");
    }
    sa.set_faults(jisr_devidp::Faults::default());
}
