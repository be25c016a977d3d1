//! The operators' dashboard on the admin listener: sign-in through the development operator
//! IdP (operator mode of the dev IdP), roles, the fleet matrix fed by a real login,
//! suspend/resume, and no personal data in anything the dashboard answers.

use jisr_demo::{Demo, DemoOptions};
use jisr_e2e::agency::{request, token};
use jisr_e2e::browser::{Browser, hidden, location, query};
use jisr_e2e::cc;
use jisr_e2e::demo::{demo_for, start};
use jisr_e2e::signin::sign_in;
use serde_json::Value;

/// Signs `account` in at the operator IdP; returns the browser and the callback's answer.
async fn operator(demo: &Demo, account: &str) -> (Browser, reqwest::Response) {
    let browser = Browser::new();
    let to_idp = location(
        &browser
            .get(&format!("{}/login?lang=en", demo.admin_url))
            .await,
    );
    assert!(
        to_idp.starts_with(&format!("{}/authorize?", demo.operator_idp.issuer())),
        "{to_idp}"
    );
    let q = query(&to_idp);
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(q.contains_key("nonce") && q.contains_key("state"));
    let callback = location(&browser.get(&format!("{to_idp}&login_hint={account}")).await);
    assert!(
        callback.starts_with(&format!("{}/login/callback?", demo.admin_url)),
        "{callback}"
    );
    let answer = browser.get(&callback).await;
    (browser, answer)
}

/// A signed-in operator's browser (the callback must have set a session).
async fn signed_in(demo: &Demo, account: &str) -> Browser {
    signed_in_with_cookie(demo, account).await.0
}

/// [`signed_in`], and the session cookie as a `Cookie` header value (`jisr_ops=…`).
async fn signed_in_with_cookie(demo: &Demo, account: &str) -> (Browser, String) {
    let (browser, answer) = operator(demo, account).await;
    assert_eq!(location(&answer), "/?lang=en", "{account}");
    let cookie = answer.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("jisr_ops="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap().to_owned();
    (browser, pair)
}

/// `GET /api/overview` with only `cookie` (a copy of a session cookie, another browser).
async fn overview_status_with(demo: &Demo, cookie: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{}/api/overview", demo.admin_url))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn overview(demo: &Demo, browser: &Browser) -> (String, Value) {
    let r = browser
        .get(&format!("{}/api/overview", demo.admin_url))
        .await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    let v = serde_json::from_str(&text).unwrap();
    (text, v)
}

fn cell<'a>(o: &'a Value, origin: &str, destination: &str) -> Option<&'a Value> {
    o["matrix"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["origin"] == origin && c["destination"] == destination)
}

/// Polls the overview until `done` holds (the aggregates are written off the login path).
async fn overview_until(
    demo: &Demo,
    browser: &Browser,
    done: impl Fn(&Value) -> bool,
) -> (String, Value) {
    for _ in 0..50 {
        let (text, v) = overview(demo, browser).await;
        if done(&v) {
            return (text, v);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the overview never showed what was expected");
}

/// Whether the overview's latest events hold the operator event `reason` (by `operator`).
fn has_operator_event(o: &Value, reason: &str, outcome: &str, operator: Option<&str>) -> bool {
    o["events"].as_array().unwrap().iter().any(|e| {
        e["kind"] == "operator_action"
            && e["reason"] == reason
            && e["outcome"] == outcome
            && operator.is_none_or(|op| e["operator"] == op)
    })
}

/// The audit log's records (read until `done` holds: the sink writes off the request path).
async fn audit_records_until(dir: &std::path::Path, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    for _ in 0..50 {
        let records: Vec<Value> = jisr_audit::log::replica_files(dir, "demo")
            .unwrap_or_default()
            .iter()
            .flat_map(|f| {
                std::fs::read_to_string(f)
                    .unwrap_or_default()
                    .lines()
                    .filter_map(|l| serde_json::from_str(l).ok())
                    .collect::<Vec<Value>>()
            })
            .collect();
        if done(&records) {
            return records;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the audit log never held what was expected");
}

async fn csrf_of(demo: &Demo, browser: &Browser) -> String {
    let page = browser.get(&format!("{}/?lang=en", demo.admin_url)).await;
    assert_eq!(page.status(), 200);
    hidden(&page.text().await.unwrap(), "csrf")
}

#[tokio::test]
async fn dashboard_sign_in_roles_matrix_suspend_and_no_personal_data() {
    let tmp = tempfile::tempdir().unwrap();
    let audit_dir = tmp.path().join("audit");
    let demo = start(DemoOptions {
        agency_country: cc("BH"),
        audit_dir: Some(audit_dir.clone()),
        ..DemoOptions::default()
    })
    .await;
    let admin_url = demo.admin_url.clone();
    let anonymous = Browser::new();
    let mut answers: Vec<String> = Vec::new();

    // Anonymous: the page sends to sign-in, the API and the actions answer 401.
    let page = anonymous.get(&format!("{admin_url}/")).await;
    assert_eq!(location(&page), "/login");
    let api = anonymous.get(&format!("{admin_url}/api/overview")).await;
    assert_eq!(api.status(), 401);
    let act = anonymous
        .post(&format!("{admin_url}/actions/suspend"), &[("origin", "SA")])
        .await;
    assert_eq!(act.status(), 401);

    // Signed in at the operator IdP but on no allow-list: 403, and no session.
    let (stranger, answer) = operator(&demo, "ops-stranger").await;
    assert_eq!(answer.status(), 403);
    let api = stranger.get(&format!("{admin_url}/api/overview")).await;
    assert_eq!(api.status(), 401, "a refused operator gets no session");

    // A viewer sees the dashboard (with its own CSP) and the API.
    let (viewer, viewer_cookie) = signed_in_with_cookie(&demo, "ops-viewer").await;
    let page = viewer.get(&format!("{admin_url}/?lang=en")).await;
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    assert!(page.text().await.unwrap().contains("ops-viewer"));

    // Sign-ins, refused ones too, are operator events on the dashboard.
    overview_until(&demo, &viewer, |o| {
        has_operator_event(
            o,
            "operator_sign_in_refused",
            "refused",
            Some("ops-stranger"),
        ) && has_operator_event(o, "operator_signed_in", "ok", Some("ops-viewer"))
    })
    .await;

    // A completed login SA -> BH, with its personal data as canaries.
    let citizen = jisr_devidp::citizens(cc("SA"))[0];
    let req = request(&demo, &[]);
    let back = sign_in(&demo, &Browser::new(), &req, "SA", citizen.id, "allow").await;
    let code = query(&back)["code"].clone();
    let (status, tokens) = token(&demo, &code, &req).await;
    assert_eq!(status, 200, "{tokens}");
    let (text, o) = overview_until(&demo, &viewer, |o| {
        cell(o, "SA", "BH").is_some_and(|c| c["completed"] == 1)
    })
    .await;
    answers.push(text);
    let sa_bh = cell(&o, "SA", "BH").unwrap();
    assert_eq!(sa_bh["refused"], 0);
    assert_eq!(o["scope"], "memory");
    assert!(
        cell(&o, "KW", "BH").is_none(),
        "only the pair that had logins"
    );
    assert!(
        o["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "code_issued"
                && e["origin"] == "SA"
                && e["agency"] == "demo-agency")
    );
    let series = o["series"].as_array().unwrap();
    assert_eq!(series.len(), 1);
    assert_eq!(series[0]["points"].as_array().unwrap().len(), 60);

    // The viewer cannot suspend, even with a good CSRF token.
    let csrf = csrf_of(&demo, &viewer).await;
    let act = viewer
        .post(
            &format!("{admin_url}/actions/suspend"),
            &[("csrf", &csrf), ("origin", "SA")],
        )
        .await;
    assert_eq!(act.status(), 403);

    // The admin suspends SA; without the CSRF token it does not happen.
    let admin = signed_in(&demo, "ops-admin").await;
    let act = admin
        .post(&format!("{admin_url}/actions/suspend"), &[("origin", "SA")])
        .await;
    assert_eq!(act.status(), 403, "no CSRF token");
    let csrf = csrf_of(&demo, &admin).await;
    let act = admin
        .post(
            &format!("{admin_url}/actions/suspend"),
            &[("csrf", &csrf), ("origin", "SA"), ("lang", "en")],
        )
        .await;
    assert_eq!(location(&act), "/?lang=en");

    // A citizen of SA: the picker shows SA unavailable; choosing it anyway is refused.
    let browser = Browser::new();
    let req = request(&demo, &[("ui_locales", "en")]);
    let picker = browser.get(&req.url).await.text().await.unwrap();
    assert!(
        picker.contains("value=\"SA\" class=\"country\" disabled"),
        "SA offered while suspended"
    );
    let (flow, fcsrf) = (hidden(&picker, "flow"), hidden(&picker, "csrf"));
    let refused = browser
        .post(
            &format!("{}/login/country", demo.gateway_url),
            &[("flow", &flow), ("csrf", &fcsrf), ("country", "SA")],
        )
        .await;
    assert_eq!(refused.status(), 503);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains(">temporarily_unavailable<"),
        "refused with temporarily_unavailable"
    );
    let (text, o) = overview_until(&demo, &admin, |o| {
        cell(o, "SA", "BH").is_some_and(|c| c["refused"] == 1)
    })
    .await;
    answers.push(text);
    let sa_bh = cell(&o, "SA", "BH").unwrap();
    assert_eq!(sa_bh["reasons"][0], serde_json::json!(["suspended", 1]));
    assert_eq!(sa_bh["suspended"], true);
    assert_eq!(
        o["suspended"],
        serde_json::json!([{"scope": "country", "origin": "SA"}])
    );
    let action = o["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "operator_action")
        .expect("the suspension is on the dashboard");
    assert_eq!(action["reason"], "suspend_country");
    assert_eq!(action["operator"], "ops-admin");

    // Other countries still go through; the page in both languages shows the suspension.
    for lang in ["en", "ar"] {
        let page = admin
            .get(&format!("{admin_url}/?lang={lang}"))
            .await
            .text()
            .await
            .unwrap();
        assert!(page.contains(&format!("<html lang=\"{lang}\"")));
        assert!(
            page.contains("/actions/resume"),
            "{lang}: resume form for admins"
        );
        answers.push(page);
    }
    assert!(
        viewer
            .get(&format!("{admin_url}/?lang=en"))
            .await
            .text()
            .await
            .unwrap()
            .contains("only administrators change them")
    );

    // Resume: SA is offered again.
    let act = admin
        .post(
            &format!("{admin_url}/actions/resume"),
            &[("csrf", &csrf), ("origin", "SA")],
        )
        .await;
    assert_eq!(location(&act), "/?lang=ar");
    let (text, o) = overview(&demo, &admin).await;
    answers.push(text);
    assert_eq!(o["suspended"], serde_json::json!([]));
    let picker = Browser::new()
        .get(&request(&demo, &[]).url)
        .await
        .text()
        .await
        .unwrap();
    assert!(!picker.contains("value=\"SA\" class=\"country\" disabled"));

    // Nothing the dashboard answered carries the citizen's data or tokens.
    let canaries = [
        citizen.given_en,
        citizen.given_ar,
        citizen.family_ar,
        citizen.id,
        citizen.sub,
        citizen.birthdate,
        code.as_str(),
        tokens["access_token"].as_str().unwrap(),
        tokens["id_token"].as_str().unwrap(),
    ];
    for answer in &answers {
        for canary in canaries {
            assert!(
                !answer.contains(canary),
                "personal data on the dashboard: {canary:?}"
            );
        }
    }

    // Sign out ends the session, and every copy of its cookie with it.
    assert_eq!(overview_status_with(&demo, &viewer_cookie).await, 200);
    let csrf = csrf_of(&demo, &viewer).await;
    let out = viewer
        .post(&format!("{admin_url}/logout"), &[("csrf", &csrf)])
        .await;
    assert_eq!(location(&out), "/login");
    let api = viewer.get(&format!("{admin_url}/api/overview")).await;
    assert_eq!(api.status(), 401);
    assert_eq!(
        overview_status_with(&demo, &viewer_cookie).await,
        401,
        "a copied cookie dies at sign-out"
    );
    overview_until(&demo, &admin, |o| {
        has_operator_event(o, "operator_signed_out", "ok", Some("ops-viewer"))
    })
    .await;

    // Sign-in, refused sign-in and sign-out are in the hash-chained audit log.
    let operator_records = |records: &[Value]| -> Vec<(String, String, String)> {
        records
            .iter()
            .filter(|r| r["event"] == "operator_action")
            .map(|r| {
                (
                    r["reason"].as_str().unwrap_or_default().to_owned(),
                    r["outcome"].as_str().unwrap_or_default().to_owned(),
                    r["operator"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    };
    let expected = [
        ("operator_sign_in_refused", "refused", "ops-stranger"),
        ("operator_signed_in", "ok", "ops-viewer"),
        ("operator_signed_in", "ok", "ops-admin"),
        ("suspend_country", "ok", "ops-admin"),
        ("resume_country", "ok", "ops-admin"),
        ("operator_signed_out", "ok", "ops-viewer"),
    ]
    .map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned()));
    let records =
        audit_records_until(&audit_dir, |r| operator_records(r).len() >= expected.len()).await;
    assert_eq!(operator_records(&records), expected);
}

/// Headless Chromium signs in as `ops-admin` and photographs the dashboard in Arabic and
/// English (`target/screenshots/dashboard-{ar,en}.png`) after real traffic: two completed
/// logins and one refused by a suspended pair, which stays suspended on the pictures.
#[tokio::test]
async fn chromium_signs_in_and_screenshots_the_dashboard() {
    crate::interop::require_node_modules();
    crate::interop::require_chromium();
    let demo = demo_for("BH").await;
    for origin in ["SA", "OM", "SA"] {
        let citizen = jisr_devidp::citizens(cc(origin))[0];
        let req = request(&demo, &[]);
        let back = sign_in(&demo, &Browser::new(), &req, origin, citizen.id, "allow").await;
        assert!(query(&back).contains_key("code"), "{origin}: {back}");
    }
    let admin = signed_in(&demo, "ops-admin").await;
    let csrf = csrf_of(&demo, &admin).await;
    let act = admin
        .post(
            &format!("{}/actions/suspend", demo.admin_url),
            &[("csrf", &csrf), ("origin", "KW"), ("destination", "BH")],
        )
        .await;
    assert!(act.status().is_redirection());
    let req = request(&demo, &[]);
    let picker = Browser::new();
    let html = picker.get(&req.url).await.text().await.unwrap();
    let refused = picker
        .post(
            &format!("{}/login/country", demo.gateway_url),
            &[
                ("flow", &hidden(&html, "flow")),
                ("csrf", &hidden(&html, "csrf")),
                ("country", "KW"),
            ],
        )
        .await;
    assert_eq!(refused.status(), 503);
    overview_until(&demo, &admin, |o| {
        cell(o, "KW", "BH").is_some_and(|c| c["refused"] == 1)
            && cell(o, "SA", "BH").is_some_and(|c| c["completed"] == 2)
    })
    .await;

    let target = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("screenshots");
    let out = crate::interop::node(
        "dashboard-flow.mjs",
        &[
            "--admin",
            &demo.admin_url,
            "--screenshots",
            target.to_str().unwrap(),
            "--chromium",
            crate::interop::CHROMIUM,
        ],
        &[],
        std::time::Duration::from_secs(120),
    )
    .await;
    eprintln!("{out:#}");
    assert_eq!(out["idp_origin"], demo.operator_idp.issuer());
    for (lang, dir) in [("ar", "rtl"), ("en", "ltr")] {
        let v = &out["views"][lang];
        assert_eq!(v["lang"], lang);
        assert_eq!(v["dir"], dir);
        assert_eq!(v["body_direction"], dir);
        assert_eq!(v["matrix_rows"], 6);
        assert_eq!(v["charts"], 3, "SA→BH, OM→BH and KW→BH: {lang}");
        assert_eq!(
            v["panels"],
            serde_json::json!(["matrix", "series", "idps", "keys", "actions", "events"])
        );
        let shot = out["screenshots"][lang].as_str().unwrap();
        assert!(
            std::fs::metadata(shot).is_ok_and(|m| m.len() > 10_000),
            "{shot}"
        );
    }
    assert!(
        out["views"]["en"]["text"]
            .as_str()
            .unwrap()
            .contains("suspended")
    );
    assert!(
        out["api_polls"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s == 200)
    );
    assert_eq!(out["csp_violations"], serde_json::json!([]));
    assert_eq!(out["failed_resources"], serde_json::json!([]));
}

/// Redis mode: two replicas share the fleet's aggregates and suspensions. A login on replica
/// B shows on the dashboard (served by A); a suspension made on A reaches B's picker and
/// country choice within the refresh period, without B asking Redis per login.
#[tokio::test]
async fn fleet_view_spans_replicas_on_redis() {
    use jisr_e2e::store::{Keyspace, redis_url, require_redis};
    use jisr_gateway::config::StoreSettings;
    use std::time::Duration;

    let url = redis_url();
    require_redis(&url).await;
    let keyspace = Keyspace::new(&url);
    let key = jisr_store::EncryptionKey::generate();
    let store_a = keyspace.store(&key, Duration::from_secs(1));
    let store_b = keyspace.store(&key, Duration::from_secs(1));
    let demo = jisr_e2e::demo::start(jisr_demo::DemoOptions {
        store: Some(store_a),
        store_settings: Some(StoreSettings::Redis(
            keyspace.config(&key, Duration::from_secs(1)),
        )),
        ..jisr_demo::DemoOptions::default()
    })
    .await;
    let b = demo.start_replica(store_b).await.unwrap();
    let admin = signed_in(&demo, "ops-admin").await;

    // A login entirely on replica B is counted in the fleet view served by A.
    let citizen = jisr_devidp::citizens(cc("OM"))[0];
    let req = request(&demo, &[]);
    let browser = Browser::new();
    let callback =
        jisr_e2e::signin::to_national_idp(&demo, &browser, &req, (&b, &b), "OM", citizen.id)
            .await
            .unwrap();
    let back = jisr_e2e::signin::finish_login(&browser, &callback, &b, &b, "allow").await;
    assert!(query(&back).contains_key("code"), "{back}");
    let (_, o) = overview_until(&demo, &admin, |o| {
        cell(o, "OM", "BH").is_some_and(|c| c["completed"] == 1)
    })
    .await;
    assert_eq!(o["scope"], "redis");

    // Suspended on A: B stops offering and accepting OM within the refresh period.
    let csrf = csrf_of(&demo, &admin).await;
    let act = admin
        .post(
            &format!("{}/actions/suspend", demo.admin_url),
            &[("csrf", &csrf), ("origin", "OM"), ("destination", "BH")],
        )
        .await;
    assert!(act.status().is_redirection());
    let mut offered = true;
    for _ in 0..40 {
        let req = request(&demo, &[]);
        let picker = Browser::new()
            .get(&jisr_e2e::browser::via(&b, &req.url))
            .await
            .text()
            .await
            .unwrap();
        offered = !picker.contains("value=\"OM\" class=\"country\" disabled");
        if !offered {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        !offered,
        "replica B still offers OM 4 s after the suspension"
    );
    let browser = Browser::new();
    let req = request(&demo, &[]);
    let html = browser
        .get(&jisr_e2e::browser::via(&b, &req.url))
        .await
        .text()
        .await
        .unwrap();
    let refused = browser
        .post(
            &format!("{b}/login/country"),
            &[
                ("flow", &hidden(&html, "flow")),
                ("csrf", &hidden(&html, "csrf")),
                ("country", "OM"),
            ],
        )
        .await;
    assert_eq!(refused.status(), 503, "B refuses the suspended pair");
    overview_until(&demo, &admin, |o| {
        cell(o, "OM", "BH").is_some_and(|c| c["refused"] == 1 && c["suspended"] == true)
    })
    .await;
    demo.shutdown();
    tokio::time::sleep(Duration::from_millis(200)).await;
    keyspace.finish();
}

/// The operator IdP's ID token is checked strictly: each fault of the development IdP makes
/// the sign-in fail (403, no session), named after the OpenID RP tests they mirror.
#[tokio::test]
async fn operator_sign_in_rp_id_token_checks() {
    let demo = demo_for("BH").await;
    let faults = [
        (
            "rp_id_token_sig_none",
            jisr_devidp::Faults {
                alg_none: true,
                ..Default::default()
            },
        ),
        (
            "rp_id_token_bad_sig",
            jisr_devidp::Faults {
                wrong_signature: true,
                ..Default::default()
            },
        ),
        (
            "rp_id_token_iss_mismatch",
            jisr_devidp::Faults {
                wrong_iss: true,
                ..Default::default()
            },
        ),
        (
            "rp_id_token_aud_mismatch",
            jisr_devidp::Faults {
                wrong_aud: true,
                ..Default::default()
            },
        ),
        (
            "rp_id_token_expired",
            jisr_devidp::Faults {
                expired: true,
                ..Default::default()
            },
        ),
        (
            "rp_id_token_iat_future",
            jisr_devidp::Faults {
                iat_future: true,
                ..Default::default()
            },
        ),
        (
            "rp_nonce_invalid",
            jisr_devidp::Faults {
                nonce_mismatch: true,
                ..Default::default()
            },
        ),
        (
            "rp_id_token_hs256_with_public_key",
            jisr_devidp::Faults {
                hs256_with_public_key: true,
                ..Default::default()
            },
        ),
    ];
    for (name, fault) in faults {
        demo.operator_idp.set_faults(fault);
        let (browser, answer) = operator(&demo, "ops-admin").await;
        assert_eq!(answer.status(), 403, "{name}");
        assert!(
            answer
                .headers()
                .get("set-cookie")
                .is_none_or(|c| !c.to_str().unwrap().starts_with("jisr_ops=")),
            "{name}: no session"
        );
        assert!(
            answer
                .headers()
                .get_all("set-cookie")
                .iter()
                .filter_map(|c| c.to_str().ok())
                .any(|c| c.starts_with("jisr_ops_login=;") && c.contains("Max-Age=0")),
            "{name}: the sign-in cookie is cleared"
        );
        let api = browser
            .get(&format!("{}/api/overview", demo.admin_url))
            .await;
        assert_eq!(api.status(), 401, "{name}");
    }
    demo.operator_idp.set_faults(jisr_devidp::Faults::default());
    signed_in(&demo, "ops-admin").await;

    // The callback without the browser's sign-in cookie (another browser) is refused.
    let first = Browser::new();
    let to_idp = location(&first.get(&format!("{}/login", demo.admin_url)).await);
    let callback = location(&first.get(&format!("{to_idp}&login_hint=ops-admin")).await);
    let other = Browser::new();
    let answer = other.get(&callback).await;
    assert_eq!(answer.status(), 400, "rp_state_from_another_browser");
}
