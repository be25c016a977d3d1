//! The demo agency as a Relying Party, driven over real HTTP on loopback against the dev IdP
//! standing in for the gateway (any OpenID Provider will do for an RP). Tests are named
//! after the OpenID RP certification tests they mirror where one exists.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use jisr_demo::agency::{self, AgencyConfig};
use jisr_devidp::{DevClient, DevIdp, DevIdpConfig, Faults, SigningAlg, citizens, spawn};
use jisr_mapping::CountryCode;
use reqwest::StatusCode;
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const CLIENT: &str = "agency";
const SECRET: &str = "agency secret:with%special";
const ACR: &str = "urn:jisr:loa:substantial";

fn cc(s: &str) -> CountryCode {
    s.parse().unwrap()
}

/// A running agency and the browser that talks to it.
struct Agency {
    base: String,
    browser: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Agency {
    /// Starts the agency on `listener` with `issuer` as its OpenID Provider.
    fn start(listener: TcpListener, issuer: &str) -> Agency {
        let base = format!("http://{}", listener.local_addr().unwrap());
        let config = AgencyConfig {
            name_en: "Ministry of Health (demo)".into(),
            name_ar: "وزارة الصحة (تجريبي)".into(),
            country: cc("BH"),
            issuer: issuer.to_owned(),
            client_id: CLIENT.into(),
            client_secret: SECRET.into(),
            base_url: None,
            acr_values: Some(ACR.into()),
            siblings: Vec::new(),
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(agency::run(listener, config, async move {
            let _ = stopped.await;
        }));
        Agency {
            base,
            browser: browser(),
            stop: Some(stop),
            task: Some(task),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn get(&self, url: &str) -> reqwest::Response {
        self.browser.get(url).send().await.unwrap()
    }

    /// GET /login: the authorization request URL the agency redirects to.
    async fn authorization_url(&self) -> url::Url {
        let response = self.get(&self.url("/login")).await;
        assert_eq!(response.status(), StatusCode::FOUND, "/login");
        url::Url::parse(location(&response)).unwrap()
    }

    /// Through the OP with `login_hint=hint`: the callback URL the OP redirects back to.
    async fn callback_url(&self, hint: &str) -> url::Url {
        let mut authorize = self.authorization_url().await;
        authorize.query_pairs_mut().append_pair("login_hint", hint);
        let response = self.get(authorize.as_str()).await;
        assert_eq!(response.status(), StatusCode::FOUND, "OP /authorize");
        let callback = url::Url::parse(location(&response)).unwrap();
        assert!(callback.as_str().starts_with(&self.url("/callback?")));
        callback
    }

    /// A full sign-in of `hint`: the callback response.
    async fn sign_in(&self, hint: &str) -> reqwest::Response {
        let callback = self.callback_url(hint).await;
        self.get(callback.as_str()).await
    }

    async fn page(&self, path: &str) -> (StatusCode, String) {
        let response = self.get(&self.url(path)).await;
        (response.status(), response.text().await.unwrap())
    }

    async fn shutdown(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.take().unwrap().await.unwrap().unwrap();
    }
}

/// A browser: keeps cookies, does not follow redirects (each hop is asserted).
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn location(response: &reqwest::Response) -> &str {
    response
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("no Location, status {}", response.status()))
        .to_str()
        .unwrap()
}

fn param(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// `url` with parameter `name` replaced (or removed when `value` is `None`).
fn with_param(url: &url::Url, name: &str, value: Option<&str>) -> String {
    let mut out = url.clone();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .into_owned()
        .filter(|(k, _)| k != name)
        .collect();
    {
        let mut q = out.query_pairs_mut();
        q.clear();
        for (k, v) in &pairs {
            q.append_pair(k, v);
        }
        if let Some(value) = value {
            q.append_pair(name, value);
        }
    }
    out.to_string()
}

fn idp_config(country: &str, alg: SigningAlg, agency_port: u16, faults: Faults) -> DevIdpConfig {
    let redirect = format!("http://127.0.0.1:{agency_port}/callback");
    DevIdpConfig {
        clients: vec![DevClient::secret_basic(
            CLIENT,
            SECRET,
            &[redirect.as_str()],
        )],
        faults,
        ..DevIdpConfig::new(cc(country), alg)
    }
}

/// An agency whose OP is a dev IdP of `country`.
async fn start(country: &str, alg: SigningAlg, faults: Faults) -> (DevIdp, Agency) {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let idp = spawn(idp_config(country, alg, port, faults)).await.unwrap();
    let agency = Agency::start(listener, idp.issuer());
    (idp, agency)
}

fn first_citizen(country: &str) -> &'static jisr_devidp::Citizen {
    &citizens(cc(country))[0]
}

/// Every answer of the agency (pages, redirects, the stylesheet) forbids scripts, framing and
/// a Referer that would carry a code onwards.
#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let (_idp, agency) = start("SA", SigningAlg::ES256, Faults::default()).await;
    for path in ["/", "/login", "/static/agency.css", "/callback?state=x"] {
        let response = agency.get(&agency.url(path)).await;
        let h = response.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
    }
    agency.shutdown().await;
}

#[tokio::test]
async fn rp_response_type_code_signs_in_shows_the_citizen_and_logs_out() {
    let (idp, agency) = start("SA", SigningAlg::ES256, Faults::default()).await;
    let citizen = first_citizen("SA");

    let (status, home) = agency.page("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(home.contains("Sign in with your GCC national digital identity"));
    assert!(home.contains("تسجيل الدخول بهويتك الرقمية الخليجية"));
    assert!(home.contains("Ministry of Health (demo)") && home.contains("وزارة الصحة (تجريبي)"));
    assert!(!home.contains("<script") && !home.contains("style="));

    let response = agency.get(&agency.url("/login")).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(set_cookie.starts_with(&format!("jisr_agency_{CLIENT}=")));
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"));
    let authorize = url::Url::parse(location(&response)).unwrap();
    assert!(authorize.as_str().starts_with(&idp.url("/authorize?")));
    let p = |n: &str| param(&authorize, n);
    assert_eq!(p("response_type").as_deref(), Some("code"));
    assert_eq!(p("client_id").as_deref(), Some(CLIENT));
    assert_eq!(p("scope").as_deref(), Some("openid"));
    assert_eq!(p("redirect_uri"), Some(agency.url("/callback")));
    assert_eq!(p("code_challenge_method").as_deref(), Some("S256"));
    assert_eq!(p("code_challenge").map(|c| c.len()), Some(43));
    assert_eq!(p("acr_values").as_deref(), Some(ACR));
    assert_eq!(p("ui_locales").as_deref(), Some("ar en"));
    assert!(p("state").is_some_and(|s| s.len() >= 16));
    assert!(p("nonce").is_some_and(|s| s.len() >= 16));
    let english = agency.get(&agency.url("/login?lang=en")).await;
    let english = url::Url::parse(location(&english)).unwrap();
    assert_eq!(param(&english, "ui_locales").as_deref(), Some("en ar"));

    let response = agency.sign_in(citizen.id).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/");
    let rotated = response.headers()["set-cookie"].to_str().unwrap();
    assert_ne!(
        rotated.split(';').next(),
        set_cookie.split(';').next(),
        "the session id is replaced at sign-in"
    );

    let (status, page) = agency.page("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("You are signed in") && page.contains("تم تسجيل دخولك"));
    assert!(page.contains(citizen.given_en), "{page}");
    assert!(page.contains(citizen.family_en));
    assert!(page.contains(citizen.given_ar));
    assert!(page.contains(citizen.family_ar));
    // The dev IdP's own acr; the standard claims carry no verified_claims: shown as absent.
    assert!(page.contains("urn:sa:sso:loa:3"));
    assert!(page.contains("not received") && page.contains("لم تُستلم"));
    assert!(!page.contains("<pre"));

    let response = agency.get(&agency.url("/logout")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(
        response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let (_, page) = agency.page("/").await;
    assert!(!page.contains(citizen.given_en));
    assert!(page.contains("Sign in with your GCC national digital identity"));

    let (status, css) = agency.page("/static/agency.css").await;
    assert_eq!(status, StatusCode::OK);
    assert!(css.contains(".pair"));
    agency.shutdown().await;
}

/// What the gateway adds to its ID token, injected into the dev IdP's.
fn shared_assertion(origin: &str) -> Map<String, Value> {
    json!({
        "acr": ACR,
        "origin_country": origin,
        "destination_country": "BH",
        "verified_claims": {
            "verification": {
                "trust_framework": "jisr_gcc",
                "assurance_level": "substantial",
                "time": "2025-03-01T09:30:00Z",
                "evidence": [{ "type": "electronic_record", "record": {
                    "type": "national_digital_identity",
                    "source": { "name": "Dev IdP", "issuer": "http://127.0.0.1", "country_code": origin }
                }}]
            },
            "claims": {
                "person_identifier": format!("{origin}/BH/TEST-0001"),
                "given_name": "Layla", "given_name#ar": "ليلى", "given_name#en": "Layla",
                "family_name": "Al-Test", "family_name#ar": "الاختبار", "family_name#en": "Al-Test",
                "birthdate": "1991-07-04"
            }
        }
    })
    .as_object()
    .unwrap()
    .clone()
}

#[tokio::test]
async fn rp_shows_the_cross_border_assertion_for_es256_ps256_and_eddsa() {
    for alg in [SigningAlg::ES256, SigningAlg::PS256, SigningAlg::EdDSA] {
        let faults = Faults {
            claims: Some(shared_assertion("QA")),
            ..Faults::default()
        };
        let (_idp, agency) = start("QA", alg, faults).await;
        let response = agency.sign_in(first_citizen("QA").id).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{alg}");
        let (_, page) = agency.page("/").await;
        for expected in [
            "ليلى الاختبار",
            "Layla Al-Test",
            "1991-07-04",
            "QA/BH/TEST-0001",
            "Qatar",
            "Bahrain",
            ACR,
            "Dev IdP (QA)",
            "<pre dir=\"ltr\">",
            // The JSON, HTML-escaped (askama writes `"` as `&#34;`).
            "&#34;trust_framework&#34;: &#34;jisr_gcc&#34;",
        ] {
            assert!(
                page.contains(expected),
                "{alg}: `{expected}` missing:\n{page}"
            );
        }
        agency.shutdown().await;
    }
}

#[tokio::test]
async fn rp_state_mismatch_and_replayed_callback_are_refused() {
    let (_idp, agency) = start("SA", SigningAlg::ES256, Faults::default()).await;
    let callback = agency.callback_url(first_citizen("SA").id).await;

    let forged = with_param(&callback, "state", Some("forged-state"));
    let response = agency.get(&forged).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let page = response.text().await.unwrap();
    assert!(page.contains("This sign-in could not be matched"), "{page}");
    assert!(page.contains("تعذّرت مطابقة عملية تسجيل الدخول"));
    assert!(page.contains("state does not match"));

    // Another browser (no session cookie) presenting the genuine response.
    let stranger = browser().get(callback.as_str()).send().await.unwrap();
    assert_eq!(stranger.status(), StatusCode::BAD_REQUEST);

    // The genuine response once, then never again.
    assert_eq!(
        agency.get(callback.as_str()).await.status(),
        StatusCode::SEE_OTHER
    );
    let replay = agency.get(callback.as_str()).await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    agency.shutdown().await;
}

#[tokio::test]
async fn rp_access_denied_is_shown_bilingually() {
    let (_idp, agency) = start("SA", SigningAlg::ES256, Faults::default()).await;
    // The dev IdP answers access_denied for a login_hint naming nobody.
    let callback = agency.callback_url("nobody-at-all").await;
    assert_eq!(param(&callback, "error").as_deref(), Some("access_denied"));
    let response = agency.get(callback.as_str()).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let page = response.text().await.unwrap();
    assert!(page.contains("Sign-in cancelled") && page.contains("تم إلغاء تسجيل الدخول"));
    assert!(page.contains("<code>access_denied</code>"));
    assert!(page.contains("href=\"/login\""), "offers to try again");
    assert!(page.contains("<div lang=\"ar\" dir=\"rtl\">"));
    agency.shutdown().await;
}

#[tokio::test]
async fn rp_iss_parameter_mismatch_and_absence_are_refused() {
    let (_idp, agency) = start("SA", SigningAlg::ES256, Faults::default()).await;
    let callback = agency.callback_url(first_citizen("SA").id).await;
    let other = with_param(&callback, "iss", Some("http://evil.example"));
    let response = agency.get(&other).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("iss does not name the gateway")
    );

    // The dev IdP advertises authorization_response_iss_parameter_supported.
    let callback = agency.callback_url(first_citizen("SA").id).await;
    let response = agency.get(&with_param(&callback, "iss", None)).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("iss is missing from the authorization response")
    );
    agency.shutdown().await;
}

/// Each ID token or userinfo fault ends in the "could not be completed" page with its reason.
#[tokio::test]
async fn rp_id_token_and_userinfo_faults_are_refused() {
    let cases: [(&str, Faults, &str); 7] = [
        (
            "rp_id_token_bad_sig_es256",
            Faults {
                wrong_signature: true,
                ..Faults::default()
            },
            "Signature verification failed",
        ),
        (
            "rp_id_token_sig_none",
            Faults {
                alg_none: true,
                ..Faults::default()
            },
            "the ID token was rejected",
        ),
        (
            "rp_nonce_invalid",
            Faults {
                nonce_mismatch: true,
                ..Faults::default()
            },
            "Invalid nonce",
        ),
        (
            "rp_id_token_aud",
            Faults {
                wrong_aud: true,
                ..Faults::default()
            },
            "Invalid audiences",
        ),
        (
            "rp_id_token_iss_mismatch",
            Faults {
                wrong_iss: true,
                ..Faults::default()
            },
            "Invalid issuer",
        ),
        (
            "rp_id_token_expired",
            Faults {
                expired: true,
                ..Faults::default()
            },
            "Expired",
        ),
        (
            "rp_userinfo_bad_sub_claim",
            Faults {
                userinfo_other_sub: true,
                ..Faults::default()
            },
            "userinfo describes another subject than the ID token",
        ),
    ];
    for (name, faults, reason) in cases {
        let (_idp, agency) = start("SA", SigningAlg::ES256, faults).await;
        let response = agency.sign_in(first_citizen("SA").id).await;
        assert_eq!(response.status(), StatusCode::BAD_GATEWAY, "{name}");
        let page = response.text().await.unwrap();
        assert!(page.contains("Sign-in could not be completed"), "{name}");
        assert!(page.contains("تعذّر إكمال تسجيل الدخول"), "{name}");
        assert!(page.contains(reason), "{name}: `{reason}` missing:\n{page}");
        let (_, home) = agency.page("/").await;
        assert!(!home.contains("You are signed in"), "{name}");
        agency.shutdown().await;
    }
}

/// The gateway may start after the agency: first nothing listens, then it answers 503, then
/// it works — and the agency serves a friendly page throughout.
#[tokio::test]
async fn rp_gateway_down_at_start_then_up() {
    let op = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let op_addr = op.local_addr().unwrap();
    drop(op);
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let agency = Agency::start(listener, &format!("http://{op_addr}"));

    let check_unavailable = |status: StatusCode, page: &str| {
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(page.contains("Sign-in service unavailable"), "{page}");
        assert!(page.contains("خدمة تسجيل الدخول غير متاحة"));
        assert!(page.contains("try again"));
    };
    let (status, page) = agency.page("/login").await;
    check_unavailable(status, &page);
    let (status, _) = agency.page("/").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the home page does not need the gateway"
    );

    // Up, but answering 503.
    let op = TcpListener::bind(op_addr).await.unwrap();
    let config = DevIdpConfig {
        admin: true,
        ..idp_config(
            "SA",
            SigningAlg::ES256,
            port,
            Faults {
                down: true,
                ..Faults::default()
            },
        )
    };
    let (stop_op, op_stopped) = oneshot::channel::<()>();
    let op_task = tokio::spawn(jisr_devidp::run(op, config, async move {
        let _ = op_stopped.await;
    }));
    let (status, page) = agency.page("/login").await;
    check_unavailable(status, &page);

    // Healthy: the next sign-in discovers it and succeeds.
    let healthy = agency
        .browser
        .post(format!("http://{op_addr}/admin/faults"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(healthy.status(), StatusCode::OK);
    let response = agency.sign_in(first_citizen("SA").id).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, page) = agency.page("/").await;
    assert!(page.contains(first_citizen("SA").given_en));

    agency.shutdown().await;
    let _ = stop_op.send(());
    op_task.await.unwrap().unwrap();
}
