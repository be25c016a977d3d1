//! The gateway's single sign-on session and logout, end to end over real HTTP with the
//! development IdPs: `sid` in ID tokens, single sign-on into a second agency where the
//! pair's policy allows it (and not where it does not), `prompt=none` in each case
//! (OIDC Core 3.1.2.6), RP-initiated logout with and without `id_token_hint`, back-channel
//! logout tokens received and verified by agencies (a slow one delaying nobody), the
//! national IdP's back-channel logout, and sessions shared by two replicas on Redis. Named
//! after the OpenID certification tests they mirror where there is one.
//!
//! - `sso`: `sid`, single sign-on, `prompt=none`, sessions across replicas on Redis.
//! - `logout`: RP-initiated and back-channel logout, the demo agency's sign-out.
//! - `national`: the national IdP's logout (back-channel and end-session).
//! - `demo`: the demo's two agencies, single sign-on and sign-out under the shipped policy.

mod demo;
mod logout;
mod national;
mod sso;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use jisr_demo::{AGENCY_CLIENT_ID, Demo, DemoOptions};
use jisr_e2e::agency::{Request, request, token, verify_id_token};
use jisr_e2e::browser::{Browser, hidden, location, query, via};
use jisr_e2e::demo::start;
use jisr_e2e::signin::sign_in;
use jisr_e2e::store::{Keyspace, redis_url, require_redis};
use jisr_e2e::{cc, now};
use jisr_gateway::config::agencies::logout::AgencyLogout;
use jisr_gateway::config::agencies::{Agency, AgencyAuth, Secret};
use jisr_mapping::Policy;
use jisr_store::{EncryptionKey, Store};
use serde_json::Value;

/// A second agency of Bahrain, for single sign-on.
pub(super) const OTHER: &str = "sso-agency";
pub(super) const OTHER_SECRET: &str = "sso-agency-secret-for-the-tests-only";
pub(super) const OTHER_CALLBACK: &str = "http://127.0.0.1:9/sso/callback";
pub(super) const OTHER_BYE: &str = "http://127.0.0.1:9/sso/signed-out";

/// SA→BH: single sign-on, no consent. OM→BH: single sign-on, consent. AE→BH: no single
/// sign-on. Everything else: the default, consent and no single sign-on.
pub(super) const POLICY: &str = r#"
[[rule]]
origin = "*"
destination = "*"
min_loa = "substantial"
identifier = "pairwise"
consent = true

[[rule]]
origin = "SA"
destination = "BH"
min_loa = "substantial"
identifier = "pairwise"
consent = false
sso = true

[[rule]]
origin = "OM"
destination = "BH"
min_loa = "substantial"
identifier = "pairwise"
consent = true
sso = true

[[rule]]
origin = "AE"
destination = "BH"
min_loa = "substantial"
identifier = "pairwise"
consent = false
"#;

/// Logout tokens an agency's back-channel endpoint received, by client id.
#[derive(Clone, Default)]
pub(super) struct Received(Arc<Mutex<Vec<(String, String)>>>);

impl Received {
    pub(super) fn tokens_for(&self, client: &str) -> Vec<String> {
        let all = self.0.lock().unwrap();
        all.iter()
            .filter(|(c, _)| c == client)
            .map(|(_, t)| t.clone())
            .collect()
    }

    pub(super) async fn wait_for(&self, client: &str, n: usize) -> Vec<String> {
        for _ in 0..100 {
            let got = self.tokens_for(client);
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{client} did not receive {n} logout token(s)");
    }
}

/// The agencies' back-channel logout endpoints: `POST /bcl/{client}`; the client named
/// `slow` answers after ten seconds.
pub(super) async fn receiver() -> (String, Received) {
    let received = Received::default();
    async fn receive(
        State(r): State<Received>,
        Path(client): Path<String>,
        axum::Form(form): axum::Form<std::collections::HashMap<String, String>>,
    ) -> axum::http::StatusCode {
        if let Some(t) = form.get("logout_token") {
            r.0.lock().unwrap().push((client.clone(), t.clone()));
        }
        if client == "slow" {
            tokio::time::sleep(Duration::from_secs(10)).await;
        }
        axum::http::StatusCode::OK
    }
    let app = axum::Router::new()
        .route("/bcl/{client}", axum::routing::post(receive))
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

pub(super) fn other_agency(backchannel: Option<String>) -> Agency {
    Agency {
        client_id: OTHER.into(),
        name_en: "Transport agency (test)".into(),
        name_ar: "هيئة النقل (تجريبي)".into(),
        country: cc("BH"),
        sector: "transport".into(),
        redirect_uris: vec![OTHER_CALLBACK.into()],
        auth: AgencyAuth::ClientSecretPost(Secret::new(OTHER_SECRET)),
        id_token_signed_response_alg: None,
        notice: Default::default(),
        back_channel: Default::default(),
        logout: AgencyLogout {
            post_logout_redirect_uris: vec![OTHER_BYE.into()],
            backchannel_logout_uri: backchannel,
            backchannel_logout_session_required: true,
            ..Default::default()
        },
    }
}

pub(super) fn slow_agency(receiver: &str) -> Agency {
    Agency {
        client_id: "slow".into(),
        sector: "slow".into(),
        redirect_uris: vec!["http://127.0.0.1:9/slow/callback".into()],
        back_channel: Default::default(),
        logout: AgencyLogout {
            backchannel_logout_uri: Some(format!("{receiver}/bcl/slow")),
            ..Default::default()
        },
        ..other_agency(None)
    }
}

pub(super) fn options(extra: Vec<Agency>, store: Option<Arc<dyn Store>>) -> DemoOptions {
    DemoOptions {
        agency_country: cc("BH"),
        extra_agencies: extra,
        policy: Some(Policy::from_toml("policy.toml", POLICY).unwrap()),
        store,
        ..DemoOptions::default()
    }
}

pub(super) async fn demo_with(extra: Vec<Agency>) -> Demo {
    start(options(extra, None)).await
}

/// The authorization request of `client` (its registered callback), PKCE and all.
pub(super) fn request_for(
    demo: &Demo,
    client: &str,
    callback: &str,
    extra: &[(&str, &str)],
) -> Request {
    let mut all = vec![("client_id", client), ("redirect_uri", callback)];
    all.extend_from_slice(extra);
    let mut req = request(demo, &all);
    req.redirect_uri = callback.to_owned();
    req
}

pub(super) fn other_request(demo: &Demo, extra: &[(&str, &str)]) -> Request {
    request_for(demo, OTHER, OTHER_CALLBACK, extra)
}

/// Redeems `code` as `client` (client_secret_post) at `base`.
pub(super) async fn token_as(base: &str, client: &str, code: &str, req: &Request) -> Value {
    let r = reqwest::Client::new()
        .post(format!("{base}/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &req.redirect_uri),
            ("code_verifier", &req.verifier),
            ("client_id", client),
            ("client_secret", OTHER_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// The claims of an ID token for `aud`, verified with the gateway's JWKS.
pub(super) async fn verify_for(demo: &Demo, token: &str, aud: &str, typ: &str) -> Value {
    let jwks: jsonwebtoken::jwk::JwkSet = reqwest::get(format!("{}/jwks", demo.gateway_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some(typ));
    let key =
        jsonwebtoken::DecodingKey::from_jwk(jwks.find(header.kid.as_deref().unwrap()).unwrap())
            .unwrap();
    let mut v = jsonwebtoken::Validation::new(header.alg);
    v.set_audience(&[aud]);
    v.set_issuer(&[demo.gateway_url.as_str()]);
    v.set_required_spec_claims(&["iss", "aud", "exp", "iat"]);
    jsonwebtoken::decode::<Value>(token, &key, &v)
        .unwrap()
        .claims
}

/// A first login at the demo agency from `origin` in `browser`: its ID token's claims and
/// the ID token itself.
pub(super) async fn first_login(demo: &Demo, browser: &Browser, origin: &str) -> (Value, String) {
    let citizen = jisr_devidp::citizens(cc(origin))[0];
    let req = request(demo, &[]);
    let back = sign_in(demo, browser, &req, origin, citizen.id, "allow").await;
    let q = query(&back);
    assert!(back.starts_with(&req.redirect_uri), "{back}");
    let (status, tokens) = token(demo, &q["code"], &req).await;
    assert_eq!(status, 200, "{tokens}");
    let id_token = tokens["id_token"].as_str().unwrap().to_owned();
    (verify_id_token(demo, &id_token).await, id_token)
}

/// The redirect back to the agency: its query, after checking `state` and `iss`.
pub(super) fn back_to(
    location: &str,
    req: &Request,
    demo: &Demo,
) -> std::collections::HashMap<String, String> {
    assert!(location.starts_with(&req.redirect_uri), "{location}");
    let q = query(location);
    assert_eq!(q.get("state"), Some(&req.state), "{location}");
    assert_eq!(q.get("iss"), Some(&demo.gateway_url), "{location}");
    q
}

pub(super) fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The demo (SA→BH single sign-on) with `extra` agencies and the national IdPs taking part
/// in logout.
pub(super) async fn demo_with_national_logout(extra: Vec<Agency>) -> Demo {
    start(DemoOptions {
        national_logout: true,
        ..options(extra, None)
    })
    .await
}
