//! The load driver shared by the login benchmark and the soak: one complete cross-border
//! login as a browser and an agency do it, over real HTTP against a running demo.
//!
//! GET /authorize (picker) → POST /login/country → GET the national IdP's /authorize with a
//! `login_hint` → GET the gateway's /callback/<cc> (consent page) → POST /consent allow →
//! POST /token (client_secret_basic, PKCE) → GET /userinfo.

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jisr_demo::{AGENCY_CLIENT_ID, Demo};
use jisr_mapping::{CountryCode, Gcc};
use serde_json::Value;

/// One citizen of one origin country.
#[derive(Clone)]
pub struct Target {
    pub country: CountryCode,
    pub citizen: &'static str,
}

/// Every origin country but the agency's, citizens interleaved so each country gets the same
/// share; AE's SOP1 account is below the policy's minimum LoA and is left out.
pub fn targets(agency: CountryCode) -> Vec<Target> {
    let per_country: Vec<(CountryCode, Vec<&'static str>)> = Gcc::ALL
        .iter()
        .map(|g| g.code())
        .filter(|c| *c != agency)
        .map(|c| {
            let ids = jisr_devidp::citizens(c)
                .iter()
                .filter(|z| z.user_type != "SOP1")
                .map(|z| z.id)
                .collect();
            (c, ids)
        })
        .collect();
    let rounds = per_country
        .iter()
        .map(|(_, ids)| ids.len())
        .max()
        .unwrap_or(0);
    (0..rounds)
        .flat_map(|round| {
            per_country.iter().map(move |(country, ids)| Target {
                country: *country,
                citizen: ids[round % ids.len()],
            })
        })
        .collect()
}

/// A browser's cookie jar that never keeps the gateway's session cookie: every login is the
/// citizen's first in their browser, as when each citizen uses their own. (Kept, a worker's
/// next login would end the previous citizen's session, or sign in by single sign-on where
/// the pair allows it, skipping the national login this driver walks.) A cookie the server
/// deletes (`Max-Age=0`) is dropped from the jar, as browsers do: reqwest's own jar keeps
/// each one marked expired, so a long run's jar (a new flow cookie per login) grew without
/// bound and was the soak's memory growth.
#[derive(Default)]
struct NoSession(std::sync::Mutex<cookie_store::CookieStore>);

impl reqwest::cookie::CookieStore for NoSession {
    fn set_cookies(
        &self,
        headers: &mut dyn Iterator<Item = &reqwest::header::HeaderValue>,
        url: &url::Url,
    ) {
        let mut store = self.0.lock().unwrap();
        for header in headers {
            let Ok(text) = std::str::from_utf8(header.as_bytes()) else {
                continue;
            };
            let Ok(cookie) = cookie_store::RawCookie::parse(text.to_owned()) else {
                continue;
            };
            if cookie.name() == "jisr_session" || cookie.name() == "__Host-jisr_session" {
                continue;
            }
            if cookie
                .max_age()
                .is_some_and(|a| a.is_zero() || a.is_negative())
            {
                let host = url.host_str().unwrap_or_default();
                store.remove(host, cookie.path().unwrap_or("/"), cookie.name());
            } else {
                let _ = store.insert_raw(&cookie, url);
            }
        }
    }

    fn cookies(&self, url: &url::Url) -> Option<reqwest::header::HeaderValue> {
        let store = self.0.lock().unwrap();
        let value = store
            .get_request_values(url)
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        (!value.is_empty())
            .then(|| reqwest::header::HeaderValue::from_str(&value).ok())
            .flatten()
    }
}

/// What the workers need to know about the running demo.
pub struct Site {
    pub gateway: String,
    pub redirect_uri: String,
    pub agency_secret: String,
    pub idps: HashMap<CountryCode, String>,
}

impl Site {
    #[allow(dead_code)] // the fault runs build their Site from their own processes
    pub fn new(demo: &Demo) -> Self {
        Site {
            gateway: demo.gateway_url.clone(),
            redirect_uri: format!("{}/callback", demo.agency_url),
            agency_secret: demo.agency_secret.clone(),
            idps: demo
                .idps
                .iter()
                .map(|(c, idp)| (*c, idp.issuer().to_owned()))
                .collect(),
        }
    }
}

pub fn random_b64() -> String {
    let mut b = [0u8; 32];
    aws_lc_rs::rand::fill(&mut b).expect("random");
    URL_SAFE_NO_PAD.encode(b)
}

fn hidden(html: &str, name: &str) -> Result<String, String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .ok_or_else(|| format!("no hidden `{name}` in page"))?
        + marker.len();
    let len = html[start..].find('"').ok_or("unterminated value")?;
    Ok(html[start..start + len].to_owned())
}

/// An answer other than the one expected, with the OAuth error code it carries (a JSON
/// error's `error`, or the code an error page shows) ahead of the start of its body.
fn unexpected(step: &str, want: u16, got: reqwest::StatusCode, body: &str) -> String {
    let code = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_owned))
        .or_else(|| {
            let start = body.find("<code dir=\"ltr\">")? + "<code dir=\"ltr\">".len();
            let len = body[start..].find('<')?;
            Some(body[start..start + len].to_owned())
        });
    match code {
        Some(code) => format!("{step}: expected {want}, got {got} [{code}]: {body:.300}"),
        None => format!("{step}: expected {want}, got {got}: {body:.300}"),
    }
}

async fn redirect(r: reqwest::Response, status: u16, step: &str) -> Result<String, String> {
    if r.status().as_u16() != status {
        let got = r.status();
        let body = r.text().await.unwrap_or_default();
        return Err(unexpected(step, status, got, &body));
    }
    r.headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| format!("{step}: no Location"))
}

async fn page(r: reqwest::Response, step: &str) -> Result<String, String> {
    let status = r.status();
    let body = r.text().await.map_err(|e| format!("{step}: {e}"))?;
    if status != 200 {
        return Err(unexpected(step, 200, status, &body));
    }
    Ok(body)
}

fn send_err(step: &'static str) -> impl Fn(reqwest::Error) -> String {
    move |e| format!("{step}: {e}")
}

/// One complete login; returns the gateway's ID token.
#[allow(dead_code)] // the fault runs keep the code too (login_code)
pub async fn login(
    browser: &reqwest::Client,
    agency: &reqwest::Client,
    site: &Site,
    target: &Target,
) -> Result<String, String> {
    login_code(browser, agency, site, target)
        .await
        .map(|done| done.id_token)
}

/// A completed login: the gateway's ID token, and the code it redeemed with its PKCE
/// verifier (for a replay that must be refused).
#[allow(dead_code)] // each bench uses its own part of the driver
pub struct Done {
    pub id_token: String,
    pub code: String,
    pub verifier: String,
}

/// One complete login, keeping the code and verifier it redeemed.
pub async fn login_code(
    browser: &reqwest::Client,
    agency: &reqwest::Client,
    site: &Site,
    target: &Target,
) -> Result<Done, String> {
    let verifier = random_b64();
    let challenge = URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        verifier.as_bytes(),
    ));
    let (state, nonce) = (random_b64(), random_b64());
    let mut authorize = url::Url::parse(&format!("{}/authorize", site.gateway)).expect("url");
    authorize
        .query_pairs_mut()
        .append_pair("client_id", AGENCY_CLIENT_ID)
        .append_pair("redirect_uri", &site.redirect_uri)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid")
        .append_pair("state", &state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");

    let r = browser.get(authorize).send().await;
    let html = page(r.map_err(send_err("authorize"))?, "authorize").await?;
    let (flow, csrf) = (hidden(&html, "flow")?, hidden(&html, "csrf")?);
    let r = browser
        .post(format!("{}/login/country", site.gateway))
        .form(&[
            ("flow", flow.as_str()),
            ("csrf", csrf.as_str()),
            ("country", target.country.as_str()),
        ])
        .send()
        .await;
    let idp_url = redirect(r.map_err(send_err("login/country"))?, 303, "login/country").await?;
    if !idp_url.starts_with(&site.idps[&target.country]) {
        return Err(format!("login/country went to {idp_url}"));
    }
    let r = browser
        .get(format!("{idp_url}&login_hint={}", target.citizen))
        .send()
        .await;
    let callback = redirect(r.map_err(send_err("idp authorize"))?, 302, "idp authorize").await?;
    let r = browser.get(&callback).send().await;
    let html = page(r.map_err(send_err("callback"))?, "callback (consent page)").await?;
    let (flow, csrf) = (hidden(&html, "flow")?, hidden(&html, "csrf")?);
    let r = browser
        .post(format!("{}/consent", site.gateway))
        .form(&[
            ("flow", flow.as_str()),
            ("csrf", csrf.as_str()),
            ("decision", "allow"),
        ])
        .send()
        .await;
    let back = redirect(r.map_err(send_err("consent"))?, 303, "consent").await?;
    if !back.starts_with(&site.redirect_uri) {
        return Err(format!("consent went to {back}"));
    }
    let query: HashMap<String, String> = url::Url::parse(&back)
        .map_err(|e| e.to_string())?
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if query.get("state") != Some(&state) {
        return Err(format!("state mismatch in {back}"));
    }
    let code = query
        .get("code")
        .ok_or_else(|| format!("no code in {back}"))?;

    let r = agency
        .post(format!("{}/token", site.gateway))
        .basic_auth(AGENCY_CLIENT_ID, Some(&site.agency_secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", site.redirect_uri.as_str()),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await;
    let tokens: Value = serde_json::from_str(&page(r.map_err(send_err("token"))?, "token").await?)
        .map_err(|e| format!("token: {e}"))?;
    let (Some(id_token), Some(access_token)) =
        (tokens["id_token"].as_str(), tokens["access_token"].as_str())
    else {
        return Err(format!("token response without tokens: {tokens}"));
    };
    let r = agency
        .get(format!("{}/userinfo", site.gateway))
        .bearer_auth(access_token)
        .send()
        .await;
    let info: Value =
        serde_json::from_str(&page(r.map_err(send_err("userinfo"))?, "userinfo").await?)
            .map_err(|e| format!("userinfo: {e}"))?;
    if info["sub"].as_str().is_none() {
        return Err(format!("userinfo without sub: {info}"));
    }
    Ok(Done {
        id_token: id_token.to_owned(),
        code: code.to_owned(),
        verifier,
    })
}

pub fn client(cookies: bool) -> reqwest::Client {
    let builder = reqwest::Client::builder();
    let builder = if cookies {
        builder.cookie_provider(std::sync::Arc::new(NoSession::default()))
    } else {
        builder
    };
    builder
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("HTTP client")
}
