//! The agency's side of OpenID Connect, as a test drives it: the authorization request with
//! PKCE, the back channel (token, userinfo) and the ID token checked against the gateway's
//! published keys.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jisr_demo::{AGENCY_CLIENT_ID, Demo};
use serde_json::Value;

/// What the agency (the OIDC client) keeps for one authorization request.
pub struct Request {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    pub redirect_uri: String,
}

/// The demo agency's authorization request at the gateway: fresh `state`, `nonce` and PKCE
/// S256. `extra` replaces a default parameter (an empty value leaves it out) or adds one.
pub fn request(demo: &Demo, extra: &[(&str, &str)]) -> Request {
    let verifier = URL_SAFE_NO_PAD.encode(rand_bytes());
    let challenge = URL_SAFE_NO_PAD.encode(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()).as_ref(),
    );
    let state = URL_SAFE_NO_PAD.encode(rand_bytes());
    let nonce = URL_SAFE_NO_PAD.encode(rand_bytes());
    let redirect_uri = format!("{}/callback", demo.agency_url);
    let mut url = url::Url::parse(&format!("{}/authorize", demo.gateway_url)).unwrap();
    {
        let mut q = url.query_pairs_mut();
        let defaults = [
            ("client_id", AGENCY_CLIENT_ID),
            ("redirect_uri", redirect_uri.as_str()),
            ("response_type", "code"),
            ("scope", "openid"),
            ("state", state.as_str()),
            ("nonce", nonce.as_str()),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        for (k, v) in defaults {
            match extra.iter().find(|(ek, _)| *ek == k) {
                Some((_, "")) => {}
                Some((_, ev)) => {
                    q.append_pair(k, ev);
                }
                None => {
                    q.append_pair(k, v);
                }
            }
        }
        for (k, v) in extra
            .iter()
            .filter(|(k, _)| !defaults.iter().any(|(d, _)| d == k))
        {
            q.append_pair(k, v);
        }
    }
    Request {
        url: url.into(),
        state,
        nonce,
        verifier,
        redirect_uri,
    }
}

fn rand_bytes() -> [u8; 32] {
    let mut b = [0u8; 32];
    aws_lc_rs::rand::fill(&mut b).unwrap();
    b
}

/// The agency's back channel: redeems `code` at the demo's gateway.
pub async fn token(demo: &Demo, code: &str, req: &Request) -> (reqwest::StatusCode, Value) {
    token_at(&demo.gateway_url, demo, code, req).await
}

/// The agency's back channel: redeems `code` at the gateway (or replica) at `base`.
pub async fn token_at(
    base: &str,
    demo: &Demo,
    code: &str,
    req: &Request,
) -> (reqwest::StatusCode, Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}/token"))
        .basic_auth(AGENCY_CLIENT_ID, Some(&demo.agency_secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &req.redirect_uri),
            ("code_verifier", &req.verifier),
        ])
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap())
}

/// GET `/userinfo` at the gateway (or replica) at `base`: the status and the body as text.
pub async fn userinfo_at(base: &str, access_token: &str) -> (reqwest::StatusCode, String) {
    let r = reqwest::Client::new()
        .get(format!("{base}/userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

/// Verifies an ID token with the gateway's published JWKS.
pub async fn verify_id_token(demo: &Demo, token: &str) -> Value {
    let jwks: jsonwebtoken::jwk::JwkSet = reqwest::get(format!("{}/jwks", demo.gateway_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    let key =
        jsonwebtoken::DecodingKey::from_jwk(jwks.find(header.kid.as_deref().unwrap()).unwrap())
            .unwrap();
    let mut v = jsonwebtoken::Validation::new(header.alg);
    v.set_audience(&[AGENCY_CLIENT_ID]);
    v.set_issuer(&[demo.gateway_url.as_str()]);
    jsonwebtoken::decode::<Value>(token, &key, &v)
        .unwrap()
        .claims
}
