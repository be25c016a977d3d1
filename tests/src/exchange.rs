//! The agencies' back channel as the tests drive it: agencies registered for token exchange
//! and introspection, a policy whose pairs accept exchange under a legal basis, national ID
//! tokens minted by the demo's development IdPs for a national app's client id, and the
//! exchange, introspection and revocation calls.

use std::collections::HashMap;
use std::sync::Arc;

use jisr_demo::{Demo, DemoOptions};
use jisr_gateway::config::agencies::{Agency, AgencyAuth, BackChannel, Secret};
use jisr_gateway::upstream::config::ClientAuth;
use jisr_mapping::Policy;
use jisr_store::Store;
use serde_json::{Map, Value, json};

use crate::browser::{Browser, location, query};
use crate::cc;

/// The exchanging agency (Bahrain, legal basis accepted), `client_secret_basic`.
pub const AGENCY: &str = "xchg-agency";
/// A second Bahraini agency, the first one's resource server (`introspection_for`), which
/// may also exchange (`client_secret_post`).
pub const RESOURCE_SERVER: &str = "xchg-rs";
/// A Kuwaiti agency registered for exchange without a legal basis.
pub const NO_BASIS: &str = "xchg-nobasis";
pub const SECRET: &str = "exchange-test-secret-0123456789abcdef";
pub const LEGAL_BASIS: &str = "gcc-border-2026";
pub const GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
pub const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";
pub const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";

/// Countries whose national IdP issues ID tokens (AE's does not).
pub const OIDC_COUNTRIES: [&str; 5] = ["SA", "OM", "KW", "QA", "BH"];

/// The national app's client id at `country`'s IdP that the agencies register.
pub fn national_app(country: &str) -> String {
    format!("{}-mobile-app", country.to_ascii_lowercase())
}

/// The test policy: every pair at substantial with consent, exchangeable under
/// [`LEGAL_BASIS`]; SA→BH at high with the national identifier; QA→KW refused.
pub fn policy() -> Policy {
    Policy::from_toml(
        "policy.toml",
        &format!(
            r#"
[[rule]]
origin = "*"
destination = "*"
min_loa = "substantial"
identifier = "pairwise"
consent = true
release = ["nationalities"]
exchange_legal_bases = ["{LEGAL_BASIS}"]

[[rule]]
origin = "SA"
destination = "BH"
min_loa = "high"
identifier = "national"
consent = true
release = ["gender"]
exchange_legal_bases = ["{LEGAL_BASIS}"]

[[rule]]
origin = "QA"
destination = "KW"
allow = false
"#
        ),
    )
    .unwrap()
}

fn agency(client_id: &str, country: &str, auth: AgencyAuth, back_channel: BackChannel) -> Agency {
    Agency {
        client_id: client_id.into(),
        name_en: format!("{client_id} (test)"),
        name_ar: "جهة اختبار".into(),
        country: cc(country),
        sector: "border".into(),
        redirect_uris: vec![format!("http://127.0.0.1:9/{client_id}/callback")],
        auth,
        id_token_signed_response_alg: None,
        notice: Default::default(),
        back_channel,
        logout: Default::default(),
    }
}

fn audiences() -> HashMap<jisr_mapping::CountryCode, Vec<String>> {
    OIDC_COUNTRIES
        .iter()
        .map(|c| (cc(c), vec![national_app(c)]))
        .collect()
}

/// The agencies of the back-channel tests.
pub fn agencies() -> Vec<Agency> {
    let with_basis = BackChannel {
        exchange_audiences: audiences(),
        legal_basis: Some(LEGAL_BASIS.into()),
        introspection_for: Vec::new(),
    };
    vec![
        agency(
            AGENCY,
            "BH",
            AgencyAuth::ClientSecretBasic(Secret::new(SECRET)),
            with_basis.clone(),
        ),
        agency(
            RESOURCE_SERVER,
            "BH",
            AgencyAuth::ClientSecretPost(Secret::new(SECRET)),
            BackChannel {
                introspection_for: vec![AGENCY.into()],
                ..with_basis
            },
        ),
        agency(
            NO_BASIS,
            "KW",
            AgencyAuth::ClientSecretBasic(Secret::new(SECRET)),
            BackChannel {
                exchange_audiences: audiences(),
                ..BackChannel::default()
            },
        ),
    ]
}

/// The demo with the back-channel agencies and policy, on `store` (`None`: memory).
pub async fn demo(store: Option<Arc<dyn Store>>) -> Demo {
    crate::demo::start(DemoOptions {
        extra_agencies: agencies(),
        policy: Some(policy()),
        store,
        ..DemoOptions::default()
    })
    .await
}

/// The claims a national app's ID token carries for the first synthetic citizen of
/// `country`: `aud` the app, and the profile's claims (names and birthdate too, where the
/// login reads them from userinfo).
pub fn app_claims(country: &str) -> Map<String, Value> {
    let citizen = &jisr_devidp::citizens(cc(country))[0];
    let mut claims = jisr_devidp::claims::userinfo_claims(cc(country), citizen, "");
    claims.remove("sub");
    claims.insert("aud".into(), json!(national_app(country)));
    claims
}

/// A national ID token of `country`'s development IdP for the first synthetic citizen, with
/// `claims` merged into its payload, the `acr` asked for (`None`: the strongest), and
/// whatever other faults are set on the IdP.
pub async fn national_token_with(
    demo: &Demo,
    country: &str,
    claims: Map<String, Value>,
    acr: Option<&str>,
) -> String {
    let idp = demo.idp(cc(country)).unwrap();
    let mut faults = idp.faults();
    faults.claims = Some(claims);
    idp.set_faults(faults);
    let up = demo.gateway.upstreams.get(cc(country)).unwrap();
    let strongest = jisr_devidp::claims::acr_values(cc(country))
        .last()
        .copied()
        .unwrap_or("");
    let (url, pending) = up
        .begin(Some(acr.unwrap_or(strongest)), Some("en"))
        .unwrap();
    let citizen = jisr_devidp::citizens(cc(country))[0].id;
    let redirect = location(
        &Browser::new()
            .get(&format!("{url}&login_hint={citizen}"))
            .await,
    );
    let code = query(&redirect)
        .remove("code")
        .expect("a code from the IdP");
    let ClientAuth::SecretBasic(secret) = &up.config.client_auth else {
        panic!("the demo's IdPs use client_secret_basic");
    };
    let response: Value = reqwest::Client::new()
        .post(idp.url("/token"))
        .basic_auth(&up.config.client_id, Some(secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", &up.config.redirect_uri),
            ("code_verifier", &pending.pkce_verifier),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    response["id_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no id_token: {response}"))
        .to_owned()
}

/// [`national_token_with`] the national app's claims and the strongest `acr`.
pub async fn national_token(demo: &Demo, country: &str) -> String {
    national_token_with(demo, country, app_claims(country), None).await
}

/// How an agency authenticates in these tests.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    /// Basic for [`AGENCY`] and [`NO_BASIS`], post for [`RESOURCE_SERVER`].
    As(&'a str),
    Basic(&'a str, &'a str),
    None,
}

/// POSTs `form` to `path` at `base` as `auth`: the status and the JSON body (`Null` if none).
pub async fn post(base: &str, path: &str, auth: Auth<'_>, form: &[(&str, &str)]) -> (u16, Value) {
    let mut fields: Vec<(&str, &str)> = form.to_vec();
    let mut request = reqwest::Client::new().post(format!("{base}{path}"));
    match auth {
        Auth::As(id) if id == RESOURCE_SERVER => {
            fields.push(("client_id", id));
            fields.push(("client_secret", SECRET));
        }
        Auth::As(id) => request = request.basic_auth(id, Some(SECRET)),
        Auth::Basic(id, secret) => request = request.basic_auth(id, Some(secret)),
        Auth::None => {}
    }
    let response = request.form(&fields).send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A token exchange of `subject_token` by `auth` at `base`, with `extra` parameters.
pub async fn exchange(
    base: &str,
    auth: Auth<'_>,
    subject_token: &str,
    extra: &[(&str, &str)],
) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", GRANT),
        ("subject_token", subject_token),
        ("subject_token_type", ID_TOKEN),
    ];
    form.extend_from_slice(extra);
    post(base, "/token", auth, &form).await
}

/// The refusal's `error` and `error_description`, for assertions.
pub fn refusal(body: &Value) -> (String, String) {
    (
        body["error"].as_str().unwrap_or("").to_owned(),
        body["error_description"].as_str().unwrap_or("").to_owned(),
    )
}
