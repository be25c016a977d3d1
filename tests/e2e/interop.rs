//! Interop with third-party implementations, driven from here through Node scripts in
//! `tests/interop/`: panva's `openid-client` (a certified OpenID Relying Party library) signs
//! in with no custom OIDC code, and Debian's headless Chromium clicks through the Arabic pages
//! with the gateway's real CSP enforced. Checks inside are named after the OpenID OP
//! conformance tests they mirror.
//!
//! Needs `node`, `tests/interop/node_modules` and `/usr/bin/chromium`: `scripts/prerequisites`
//! installs them. Missing tools fail the tests, never skip them.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use jisr_demo::{Demo, DemoOptions};
use jisr_e2e::cc;
use jisr_gateway::config::agencies::{Agency, AgencyAuth, Secret};
use serde_json::Value;

pub(crate) const CHROMIUM: &str = "/usr/bin/chromium";
const NODE_CLIENT_ID: &str = "openid-client-rp";
/// Never contacted: the Node script is the browser and stops at this redirect.
const NODE_REDIRECT_URI: &str = "http://127.0.0.1:9/openid-client/callback";

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("interop")
}

/// Fails (does not skip) when the Node dependencies are not installed.
pub(crate) fn require_node_modules() {
    let dir = interop_dir();
    for package in ["openid-client", "playwright-core"] {
        let manifest = dir.join("node_modules").join(package).join("package.json");
        assert!(
            manifest.is_file(),
            "{} is missing: run scripts/prerequisites (it runs `npm ci` in tests/interop)",
            manifest.display()
        );
    }
}

/// Fails (does not skip) when Chromium is not installed.
pub(crate) fn require_chromium() {
    assert!(
        Path::new(CHROMIUM).is_file(),
        "{CHROMIUM} is missing: run scripts/prerequisites (it installs Debian's chromium)"
    );
}

/// Runs `node <script> <args>` in `tests/interop/` and parses the JSON it prints. Panics with
/// the script's own error report when it fails or outlives `timeout`.
pub(crate) async fn node(
    script: &str,
    args: &[&str],
    env: &[(&str, &str)],
    timeout: Duration,
) -> Value {
    let mut command = tokio::process::Command::new("node");
    command
        .arg(script)
        .args(args)
        .current_dir(interop_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        command.env(k, v);
    }
    let started = Instant::now();
    let child = command.spawn().unwrap_or_else(|e| {
        panic!(
            "cannot start `node {script}` ({e}): install Node.js 20+ and run scripts/prerequisites"
        )
    });
    let output = tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("`node {script}` did not finish within {timeout:?}"))
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "`node {script}` failed ({}):\n{stderr}\n{stdout}",
        output.status
    );
    eprintln!("node {script}: {:?}", started.elapsed());
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("`node {script}` printed no JSON ({e}):\n{stdout}\n{stderr}"))
}

/// The demo (agency in Bahrain) with the Node client registered as a second agency.
async fn demo_with_node_client(secret: &str) -> Demo {
    let node_client = Agency {
        client_id: NODE_CLIENT_ID.into(),
        name_en: "openid-client interop (test)".into(),
        name_ar: "اختبار التوافق openid-client".into(),
        country: cc("BH"),
        sector: "interop".into(),
        redirect_uris: vec![NODE_REDIRECT_URI.into()],
        auth: AgencyAuth::ClientSecretBasic(Secret::new(secret)),
        id_token_signed_response_alg: None,
        notice: Default::default(),
        back_channel: Default::default(),
        logout: Default::default(),
    };
    jisr_demo::start(DemoOptions {
        gateway_port: 0,
        agency_port: 0,
        admin_port: 0,
        agency_country: cc("BH"),
        extra_agencies: vec![node_client],
        ..DemoOptions::default()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn openid_client_completes_the_flow() {
    require_node_modules();
    let secret = jisr_e2e::certified::random_secret();
    let demo = demo_with_node_client(&secret).await;
    let citizen = jisr_devidp::citizens(cc("SA"))[0];
    let out = node(
        "openid-client-flow.mjs",
        &[
            "--issuer",
            &demo.gateway_url,
            "--client-id",
            NODE_CLIENT_ID,
            "--redirect-uri",
            NODE_REDIRECT_URI,
            "--country",
            "SA",
            "--citizen",
            citizen.id,
        ],
        &[("JISR_CLIENT_SECRET", &secret)],
        Duration::from_secs(60),
    )
    .await;
    eprintln!("{out:#}");

    // oidcc-discovery-endpoint-verification: openid-client accepted the document for this issuer.
    assert_eq!(out["discovery"]["issuer"], demo.gateway_url.as_str());
    // RFC 9207: advertised, so openid-client required `iss` in the response and checked it.
    assert_eq!(
        out["discovery"]["authorization_response_iss_parameter_supported"],
        true
    );
    assert_eq!(
        out["callback_parameters"],
        serde_json::json!(["code", "iss", "state"])
    );
    assert_eq!(
        out["authorization_request"]["code_challenge_method"],
        "S256"
    );

    // oidcc-server + oidcc-idtoken-signature: the ID token passed openid-client's validation,
    // signature included (non-repudiation checks on, alg pinned to ES256).
    assert_eq!(out["id_token_header"]["alg"], "ES256");
    assert_eq!(out["token_response"]["token_type"], "bearer");
    let claims = &out["claims"];
    assert_eq!(claims["iss"], demo.gateway_url.as_str());
    assert_eq!(claims["aud"], NODE_CLIENT_ID);
    assert!(
        claims["nonce"].is_string(),
        "nonce checked by openid-client"
    );
    assert_eq!(claims["origin_country"], "SA");
    assert_eq!(claims["destination_country"], "BH");
    assert!(
        claims["acr"]
            .as_str()
            .is_some_and(|acr| acr.starts_with("urn:jisr:loa:")),
        "{}",
        claims["acr"]
    );
    let verification = &claims["verified_claims"]["verification"];
    assert_eq!(verification["trust_framework"], "jisr_gcc");
    let vc = &claims["verified_claims"]["claims"];
    assert_eq!(vc["given_name#en"], citizen.given_en);
    assert_eq!(vc["given_name#ar"], citizen.given_ar);
    assert_eq!(vc["family_name#en"], citizen.family_en);
    assert_eq!(vc["family_name#ar"], citizen.family_ar);
    assert!(
        vc["person_identifier"]
            .as_str()
            .is_some_and(|p| p.starts_with("SA/BH/")),
        "{}",
        vc["person_identifier"]
    );

    // oidcc-userinfo-get: same subject (openid-client checks it) and the same assertion.
    let userinfo = &out["userinfo"];
    assert_eq!(userinfo["sub"], claims["sub"]);
    assert_eq!(userinfo["verified_claims"], claims["verified_claims"]);
}

#[tokio::test]
async fn chromium_clicks_through_the_arabic_flow() {
    require_node_modules();
    require_chromium();
    let demo = demo_with_node_client(&jisr_e2e::certified::random_secret()).await;
    let citizen = jisr_devidp::citizens(cc("SA"))[0];
    let screenshots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("interop");
    let out = node(
        "browser-flow.mjs",
        &[
            "--agency",
            &demo.agency_url,
            "--gateway",
            &demo.gateway_url,
            "--country",
            "SA",
            "--screenshots",
            screenshots.to_str().unwrap(),
            "--chromium",
            CHROMIUM,
        ],
        &[],
        Duration::from_secs(120),
    )
    .await;
    eprintln!("{out:#}");

    for page in ["picker", "consent"] {
        let view = &out[page];
        assert_eq!(view["dir"], "rtl", "{page}");
        assert_eq!(view["lang"], "ar", "{page}");
        assert_eq!(view["arabic_block"]["direction"], "rtl", "{page}");
        assert_eq!(view["english_block"]["direction"], "ltr", "{page}");
        let shot = out["screenshots"][page].as_str().unwrap();
        assert!(
            std::fs::metadata(shot).is_ok_and(|m| m.len() > 1000),
            "{shot}"
        );
    }
    assert_eq!(
        out["idp_origin"],
        demo.idp(cc("SA")).unwrap().issuer().trim_end_matches('/')
    );
    assert!(
        out["citizen"]
            .as_str()
            .is_some_and(|c| c.contains(citizen.given_en)),
        "the first citizen link: {}",
        out["citizen"]
    );
    let consent = out["consent"]["shares"].to_string();
    assert!(consent.contains(citizen.given_ar), "{consent}");
    // Chromium enforced the CSP (form-action on the redirects after both POSTs) and blocked
    // nothing; every stylesheet and page loaded.
    assert_eq!(out["csp_violations"], serde_json::json!([]));
    assert_eq!(out["failed_resources"], serde_json::json!([]));
    let agency = out["agency"]["text"].as_str().unwrap();
    assert!(
        agency.contains(citizen.given_en) && agency.contains(citizen.given_ar),
        "{agency}"
    );
    assert!(agency.contains("jisr_gcc"), "{agency}");
}
