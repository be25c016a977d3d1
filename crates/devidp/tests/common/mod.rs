//! Shared helpers: start an IdP on loopback, drive the code flow over real HTTP, and read
//! or verify the tokens it returns.
#![allow(dead_code)]

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jisr_devidp::{
    ClientAuth, Clock, DevClient, DevIdp, DevIdpConfig, Faults, SigningAlg, spawn_with_clock,
};
use jisr_mapping::CountryCode;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Value, json};

pub const CLIENT: &str = "jisr";
pub const SECRET: &str = "s3cret:with%special chars";
pub const REDIRECT: &str = "http://127.0.0.1:9/callback";
pub const PKJWT_CLIENT: &str = "jisr-pkjwt";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// RFC 7636 appendix B: the S256 challenge of [`VERIFIER`].
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

pub fn cc(s: &str) -> CountryCode {
    s.parse().unwrap()
}

/// The key a `private_key_jwt` test client signs its assertions with.
pub struct ClientKey {
    pub encoding: EncodingKey,
    pub jwks: JwkSet,
    pub kid: String,
}

pub fn client_key(kid: &str) -> ClientKey {
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let encoding = EncodingKey::from_ec_der(pair.to_pkcs8v1().unwrap().as_ref());
    let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::ES256).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    ClientKey {
        encoding,
        jwks: JwkSet { keys: vec![jwk] },
        kid: kid.to_owned(),
    }
}

pub struct Env {
    pub idp: DevIdp,
    pub http: reqwest::Client,
    pub client_key: ClientKey,
    pub clock: Clock,
}

pub async fn start(country: &str, alg: SigningAlg, faults: Faults) -> Env {
    start_with(country, alg, faults, Clock::System, false).await
}

pub async fn start_with(
    country: &str,
    alg: SigningAlg,
    faults: Faults,
    clock: Clock,
    admin: bool,
) -> Env {
    start_tweaked(country, alg, faults, clock, admin, |_| {}).await
}

/// [`start_with`], the config changed by `tweak` before the IdP starts.
pub async fn start_tweaked(
    country: &str,
    alg: SigningAlg,
    faults: Faults,
    clock: Clock,
    admin: bool,
    tweak: impl FnOnce(&mut DevIdpConfig),
) -> Env {
    let client_key = client_key("client-key-1");
    let config = DevIdpConfig {
        faults,
        admin,
        clients: vec![
            DevClient::secret_basic(CLIENT, SECRET, &[REDIRECT]),
            DevClient {
                client_id: PKJWT_CLIENT.into(),
                auth: ClientAuth::PrivateKeyJwt(client_key.jwks.clone()),
                redirect_uris: vec![REDIRECT.into()],
            },
        ],
        ..DevIdpConfig::new(cc(country), alg)
    };
    let mut config = config;
    tweak(&mut config);
    let idp = spawn_with_clock(config, clock.clone()).await.unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Env {
        idp,
        http,
        client_key,
        clock,
    }
}

/// What came back on the redirect URI.
#[derive(Debug)]
pub struct Callback {
    pub status: u16,
    pub params: Vec<(String, String)>,
}

impl Callback {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    pub fn code(&self) -> &str {
        self.get("code")
            .unwrap_or_else(|| panic!("no code: {self:?}"))
    }
}

impl Env {
    /// The standard authorization request for `client_id`, plus `extra` parameters.
    pub fn auth_params(&self, client_id: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut params: Vec<(String, String)> = [
            ("client_id", client_id),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            ("scope", "openid profile"),
            ("state", "st-123"),
            ("nonce", "n-456"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        for (k, v) in extra {
            params.retain(|(pk, _)| pk != k);
            if !v.is_empty() {
                params.push(((*k).to_owned(), (*v).to_owned()));
            }
        }
        params
    }

    pub async fn authorize_raw(&self, params: &[(String, String)]) -> reqwest::Response {
        self.http
            .get(self.idp.url("/authorize"))
            .query(params)
            .send()
            .await
            .unwrap()
    }

    /// GET /authorize and read the redirect (panics unless it is a 302 to [`REDIRECT`]).
    pub async fn authorize(&self, client_id: &str, extra: &[(&str, &str)]) -> Callback {
        let response = self
            .authorize_raw(&self.auth_params(client_id, extra))
            .await;
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .unwrap_or_else(|| panic!("no redirect, status {status}"))
            .to_str()
            .unwrap()
            .to_owned();
        let url = url::Url::parse(&location).unwrap();
        assert_eq!(&location[..REDIRECT.len()], REDIRECT);
        Callback {
            status,
            params: url.query_pairs().into_owned().collect(),
        }
    }

    /// Signs in `hint` and returns the code.
    pub async fn login(&self, hint: &str, extra: &[(&str, &str)]) -> String {
        let mut extra = extra.to_vec();
        extra.push(("login_hint", hint));
        self.authorize(CLIENT, &extra).await.code().to_owned()
    }

    /// POST /token with client_secret_basic.
    pub async fn redeem(&self, code: &str, verifier: &str) -> reqwest::Response {
        self.http
            .post(self.idp.url("/token"))
            .basic_auth(urlencode(CLIENT), Some(urlencode(SECRET)))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", verifier),
            ])
            .send()
            .await
            .unwrap()
    }

    /// Redeems `code` and returns the token response JSON (asserting 200).
    pub async fn tokens(&self, code: &str) -> Value {
        let response = self.redeem(code, VERIFIER).await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "{body}");
        body
    }

    pub async fn userinfo(&self, access_token: &str) -> reqwest::Response {
        self.http
            .get(self.idp.url("/userinfo"))
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap()
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let response = self.http.get(self.idp.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        response.json().await.unwrap()
    }

    /// A client assertion for the `private_key_jwt` client, with `claims` overriding.
    pub fn assertion(&self, claims: Value) -> String {
        let now = chrono_now();
        let mut body = json!({
            "iss": PKJWT_CLIENT,
            "sub": PKJWT_CLIENT,
            "aud": self.idp.url("/token"),
            "exp": now + 60,
            "iat": now,
            "jti": format!("jti-{}", rand_suffix()),
        });
        for (k, v) in claims.as_object().unwrap() {
            body[k] = v.clone();
        }
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.client_key.kid.clone());
        jsonwebtoken::encode(&header, &body, &self.client_key.encoding).unwrap()
    }

    pub async fn redeem_with_assertion(&self, code: &str, assertion: &str) -> reqwest::Response {
        self.http
            .post(self.idp.url("/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
                ("client_id", PKJWT_CLIENT),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", assertion),
            ])
            .send()
            .await
            .unwrap()
    }

    /// Verifies `jwt` against the IdP's current JWKS (by kid), as an RP would.
    pub async fn verify(&self, jwt: &str, alg: SigningAlg) -> Value {
        let jwks: JwkSet = serde_json::from_value(self.get_json("/jwks").await).unwrap();
        let kid = jsonwebtoken::decode_header(jwt).unwrap().kid.unwrap();
        let jwk = jwks.find(&kid).expect("kid published");
        let key = DecodingKey::from_jwk(jwk).unwrap();
        let mut validation = Validation::new(alg.jwt());
        validation.set_audience(&[CLIENT]);
        validation.set_issuer(&[self.idp.issuer()]);
        jsonwebtoken::decode::<Value>(jwt, &key, &validation)
            .unwrap()
            .claims
    }

    /// A full login of `hint`: the token response JSON.
    pub async fn flow(&self, hint: &str) -> Value {
        let code = self.login(hint, &[]).await;
        self.tokens(&code).await
    }
}

/// The JSON of a JWT part (0 = header, 1 = payload), without verifying anything.
pub fn part(jwt: &str, index: usize) -> Value {
    let raw = jwt.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(raw).unwrap()).unwrap()
}

pub fn signature(jwt: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(jwt.split('.').nth(2).unwrap())
        .unwrap()
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn rand_suffix() -> String {
    let mut b = [0u8; 8];
    aws_lc_rs::rand::fill(&mut b).unwrap();
    URL_SAFE_NO_PAD.encode(b)
}

pub fn chrono_now() -> i64 {
    Clock::System.now()
}
