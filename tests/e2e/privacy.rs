//! No personal data in logs: every log line the gateway, the IdPs and the demo agency write
//! during sign-ins of synthetic citizens (canaries) is captured and searched for their names,
//! identifiers, birthdates and the tokens issued.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use jisr_e2e::agency::{request, token};
use jisr_e2e::browser::{Browser, query};
use jisr_e2e::cc;
use jisr_e2e::demo::demo_for;
use jisr_e2e::signin::sign_in;

/// Everything logged by this test binary from the moment the capture is installed.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture() -> &'static Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture = Capture::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter("trace,hyper=info,h2=info,reqwest=info,rustls=info,tower=info")
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_global_default(subscriber)
            .expect("the privacy test installs the only global subscriber");
        capture
    })
}

#[tokio::test]
async fn logs_carry_no_personal_data_or_tokens() {
    let capture = capture();
    let demo = demo_for("BH").await;
    let mut canaries: Vec<String> = Vec::new();
    for origin in ["SA", "AE", "OM", "KW", "QA"] {
        let citizen = jisr_devidp::citizens(cc(origin))[0];
        let req = request(&demo, &[]);
        let browser = Browser::new();
        let back = sign_in(&demo, &browser, &req, origin, citizen.id, "allow").await;
        let code = query(&back)["code"].clone();
        let (status, tokens) = token(&demo, &code, &req).await;
        assert_eq!(status, 200, "{origin}: {tokens}");
        // The session ends (RP-initiated logout): its logs carry nothing personal either.
        let logout = browser
            .get(&format!(
                "{}/logout?id_token_hint={}",
                demo.gateway_url,
                tokens["id_token"].as_str().unwrap()
            ))
            .await;
        assert_eq!(logout.status(), 200, "{origin}: signed out");
        let digits: String = citizen.id.chars().filter(char::is_ascii_digit).collect();
        canaries.extend([
            citizen.given_en.to_owned(),
            citizen.given_ar.to_owned(),
            citizen.family_en.to_owned(),
            citizen.family_ar.to_owned(),
            citizen.id.to_owned(),
            digits,
            citizen.birthdate.to_owned(),
            code,
            tokens["access_token"].as_str().unwrap().to_owned(),
            tokens["id_token"].as_str().unwrap().to_owned(),
        ]);
        // A refused login logs its reason: still nothing personal.
        let req = request(&demo, &[("acr_values", "urn:jisr:loa:high")]);
        let ae = jisr_devidp::citizens(cc("AE"))[1];
        let _ = sign_in(&demo, &Browser::new(), &req, "AE", ae.id, "allow").await;
        canaries.extend([
            ae.given_en.to_owned(),
            ae.family_ar.to_owned(),
            ae.id.to_owned(),
        ]);
    }
    // The back channel: token exchange (granted and refused), introspection, revocation.
    {
        use jisr_e2e::exchange::{self as x, Auth};
        let demo = x::demo(None).await;
        for origin in ["SA", "KW"] {
            let citizen = jisr_devidp::citizens(cc(origin))[0];
            let national = x::national_token(&demo, origin).await;
            let (status, jwt) =
                x::exchange(&demo.gateway_url, Auth::As(x::AGENCY), &national, &[]).await;
            assert_eq!(status, 200, "{origin}: {jwt}");
            let (_, refused) =
                x::exchange(&demo.gateway_url, Auth::As(x::AGENCY), &national, &[]).await;
            assert_eq!(refused["error"], "invalid_grant");
            let (_, refused) =
                x::exchange(&demo.gateway_url, Auth::As(x::NO_BASIS), &national, &[]).await;
            assert_eq!(refused["error"], "consent_required");
            let other = x::national_token(&demo, origin).await;
            let (_, at) = x::exchange(
                &demo.gateway_url,
                Auth::As(x::RESOURCE_SERVER),
                &other,
                &[("requested_token_type", x::ACCESS_TOKEN)],
            )
            .await;
            let access = at["access_token"].as_str().unwrap().to_owned();
            let _ = x::post(
                &demo.gateway_url,
                "/introspect",
                Auth::As(x::RESOURCE_SERVER),
                &[("token", &access)],
            )
            .await;
            let _ = x::post(
                &demo.gateway_url,
                "/revoke",
                Auth::As(x::RESOURCE_SERVER),
                &[("token", &access)],
            )
            .await;
            canaries.extend([
                citizen.given_en.to_owned(),
                citizen.family_ar.to_owned(),
                citizen.id.to_owned(),
                citizen.birthdate.to_owned(),
                national,
                other,
                access,
                jwt["access_token"].as_str().unwrap().to_owned(),
            ]);
        }
    }
    let logs = String::from_utf8_lossy(&capture.0.lock().unwrap()).into_owned();
    // The refused logins logged their refusal: the capture saw the gateway's logs.
    assert!(
        logs.contains("authorization refused"),
        "the capture saw the gateway's logs"
    );
    for canary in canaries.iter().filter(|c| c.len() >= 4) {
        assert!(
            !logs.contains(canary.as_str()),
            "personal data or a token in the logs: {canary:?}"
        );
    }
}
