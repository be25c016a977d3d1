//! The login flow toward one national IdP: the authorization request (PKCE S256, state,
//! nonce, acr_values, prompt=login, max_age, auth_time asked for) and the callback (RFC 9207
//! `iss`, code exchange, ID token, the upstream `auth_time` against what was asked, userinfo).
//!
//! Like kanidm's upstream client, `begin` returns values (a URL and the state to keep) and
//! the web layer stores them; `complete` takes them back.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jisr_mapping::{AuthContext, CountryCode, NationalClaims};
use openidconnect::{CsrfToken, Nonce, PkceCodeChallenge};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Upstream;
use super::config::{ClientAuth, Mode};
use super::error::{Call, UpstreamError};
use super::idtoken::Expect;

/// What the gateway keeps (in the store) between redirecting the citizen and the callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLogin {
    pub country: CountryCode,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// The freshness asked of the IdP; the callback holds its `auth_time` to it.
    #[serde(default)]
    pub fresh: Freshness,
}

/// How recent the national authentication must be (OIDC Core 3.1.2.1 `prompt=login`,
/// `max_age`), as forwarded to the IdP and checked against its `auth_time` on return.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Freshness {
    /// `max_age` in seconds: the authentication must be at most this old when it returns.
    #[serde(default)]
    pub max_age: Option<u64>,
    /// `prompt=login`: the person must authenticate again, after the request was sent.
    #[serde(default)]
    pub login: bool,
    /// When the request was sent, seconds since the epoch (`prompt=login` is met by an
    /// `auth_time` not before it).
    #[serde(default)]
    pub requested_at: i64,
}

impl Freshness {
    /// Whether anything was asked (then `auth_time` is required).
    pub const fn asked(&self) -> bool {
        self.max_age.is_some() || self.login
    }

    /// Holds the IdP's `auth_time` to what was asked, with the IdP's clock leeway.
    pub fn check(
        &self,
        auth_time: Option<i64>,
        now: i64,
        leeway: i64,
    ) -> Result<(), AuthTimeError> {
        let Some(auth_time) = auth_time else {
            return if self.asked() {
                Err(AuthTimeError::Missing)
            } else {
                Ok(())
            };
        };
        if auth_time > now.saturating_add(leeway) {
            return Err(AuthTimeError::InFuture);
        }
        if let Some(max_age) = self.max_age {
            let max_age = i64::try_from(max_age).unwrap_or(i64::MAX);
            if now.saturating_sub(auth_time) > max_age.saturating_add(leeway) {
                return Err(AuthTimeError::TooOld);
            }
        }
        if self.login && auth_time < self.requested_at.saturating_sub(leeway) {
            return Err(AuthTimeError::NotReauthenticated);
        }
        Ok(())
    }
}

/// Why the national authentication is not recent enough for what the agency asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthTimeError {
    #[error("the national ID token has no auth_time, but max_age or prompt=login was asked")]
    Missing,
    #[error("the national auth_time is in the future")]
    InFuture,
    #[error("the national authentication is older than max_age")]
    TooOld,
    #[error("the national IdP did not authenticate the person again (prompt=login)")]
    NotReauthenticated,
}

impl AuthTimeError {
    /// A fixed code (metric label, audit reason).
    pub const fn reason(self) -> &'static str {
        match self {
            AuthTimeError::Missing => "auth_time_missing",
            AuthTimeError::InFuture => "auth_time_in_future",
            AuthTimeError::TooOld => "auth_time_too_old",
            AuthTimeError::NotReauthenticated => "reauthentication_not_done",
        }
    }
}

/// What the gateway asks of the national IdP for one login, beyond its configuration.
#[derive(Debug, Clone, Default)]
pub struct Ask<'a> {
    /// The national `acr` values to ask for, strongest first (space-separated on the wire).
    pub acr_values: Vec<&'a str>,
    pub ui_locales: Option<&'a str>,
    /// The agency's `max_age` and `prompt=login`, forwarded; `requested_at` is now.
    pub fresh: Freshness,
}

/// The query parameters of the callback.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuthorizationResponse {
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// A verified national login: the claims to map and the authentication context.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedLogin {
    pub claims: NationalClaims,
    pub context: AuthContext,
    /// The national ID token as received (kept sealed in the gateway session, for
    /// `id_token_hint` at the national IdP's logout).
    pub id_token: Option<String>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    id_token: Option<String>,
    #[serde(default)]
    token_type: Option<String>,
}

#[derive(Deserialize)]
struct ErrorResponse {
    error: String,
}

/// Longest value accepted for a callback parameter or a token-endpoint field we echo.
const MAX_PARAM: usize = 4096;

impl Upstream {
    /// Builds the authorization URL and the state to keep until the callback.
    pub fn begin(
        &self,
        acr_values: Option<&str>,
        ui_locales: Option<&str>,
    ) -> Result<(String, PendingLogin), UpstreamError> {
        self.begin_with(&Ask {
            acr_values: acr_values
                .map(|a| a.split(' ').collect())
                .unwrap_or_default(),
            ui_locales,
            fresh: Freshness::default(),
        })
    }

    /// [`Upstream::begin`] with everything a login may ask: the acr values, `prompt=login`
    /// and `max_age` forwarded, and `auth_time` (with the acr values) asked for as essential
    /// claims where the IdP supports the `claims` parameter.
    pub fn begin_with(&self, ask: &Ask<'_>) -> Result<(String, PendingLogin), UpstreamError> {
        let endpoints = self.endpoints()?;
        if !endpoints.code_challenge_s256 {
            return Err(self.unavailable("the IdP does not support PKCE S256"));
        }
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let state = CsrfToken::new_random();
        let nonce = Nonce::new_random();
        let mut url = url::Url::parse(&endpoints.authorization)
            .map_err(|e| self.unavailable(&format!("authorization endpoint: {e}")))?;
        let acr: Vec<&str> = ask
            .acr_values
            .iter()
            .copied()
            .filter(|a| !a.is_empty())
            .collect();
        {
            let cfg = &self.config;
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &cfg.client_id)
                .append_pair("redirect_uri", &cfg.redirect_uri)
                .append_pair("scope", &cfg.scopes.join(" "))
                .append_pair("state", state.secret())
                .append_pair("code_challenge", challenge.as_str())
                .append_pair("code_challenge_method", "S256");
            if cfg.mode == Mode::Oidc {
                q.append_pair("nonce", nonce.secret());
            }
            if !acr.is_empty() {
                q.append_pair("acr_values", &acr.join(" "));
            }
            if ask.fresh.login {
                q.append_pair("prompt", "login");
            }
            if let Some(max_age) = ask.fresh.max_age {
                q.append_pair("max_age", &max_age.to_string());
            }
            if cfg.mode == Mode::Oidc && endpoints.claims_parameter_supported {
                q.append_pair("claims", &claims_request(&acr));
            }
            if let Some(locales) = ask.ui_locales.filter(|l| !l.is_empty()) {
                q.append_pair("ui_locales", locales);
            }
        }
        let pending = PendingLogin {
            country: self.config.country,
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            fresh: ask.fresh,
        };
        Ok((url.into(), pending))
    }

    /// Completes a login from the callback parameters: checks `state` and RFC 9207 `iss`,
    /// exchanges the code, verifies the ID token, fetches userinfo.
    pub async fn complete(
        &self,
        pending: &PendingLogin,
        response: &AuthorizationResponse,
        now: i64,
    ) -> Result<VerifiedLogin, UpstreamError> {
        let endpoints = self.endpoints()?;
        let bad = |m: &str| UpstreamError::AuthorizationResponse(m.to_owned());
        if response.state.as_deref() != Some(pending.state.as_str()) {
            return Err(bad("state does not match"));
        }
        match response.iss.as_deref() {
            Some(iss) if iss != self.config.issuer => {
                return Err(bad("iss does not match the IdP (RFC 9207)"));
            }
            None if endpoints.iss_parameter_supported => {
                return Err(bad("iss is missing but the IdP advertises it (RFC 9207)"));
            }
            _ => {}
        }
        if let Some(error) = &response.error {
            return Err(UpstreamError::IdpError {
                error: short(error),
            });
        }
        let code = response
            .code
            .as_deref()
            .filter(|c| !c.is_empty() && c.len() <= MAX_PARAM)
            .ok_or_else(|| bad("code is missing"))?;

        let tokens = self
            .exchange(&endpoints.token, code, &pending.pkce_verifier, now)
            .await?;
        let (id_claims, context) = match (self.config.mode, &tokens.id_token) {
            (Mode::Oidc, Some(id_token)) => {
                let claims = self
                    .verify_id_token(
                        id_token,
                        &Expect {
                            nonce: Some(&pending.nonce),
                            access_token: Some(&tokens.access_token),
                            now,
                        },
                    )
                    .await?;
                let context = context_of(&self.config.issuer, &claims);
                pending
                    .fresh
                    .check(context.auth_time, now, self.config.leeway.as_secs() as i64)
                    .map_err(UpstreamError::AuthTime)?;
                (Some(claims), context)
            }
            (Mode::Oidc, None) => {
                return Err(UpstreamError::Token(
                    "no id_token in the token response".into(),
                ));
            }
            (Mode::Oauth2Userinfo, _) if pending.fresh.asked() => {
                return Err(UpstreamError::AuthTime(AuthTimeError::Missing));
            }
            (Mode::Oauth2Userinfo, _) => (
                None,
                AuthContext {
                    issuer: self.config.issuer.clone(),
                    acr: None,
                    amr: Vec::new(),
                    // No ID token, so no auth_time: the IdP never says when it authenticated.
                    auth_time: None,
                },
            ),
        };
        let userinfo = if self.config.userinfo {
            let url = endpoints.userinfo.as_deref().ok_or_else(|| {
                UpstreamError::Userinfo("the IdP has no userinfo endpoint".into())
            })?;
            let info = self.userinfo(url, &tokens.access_token).await?;
            let sub = info
                .get("sub")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty());
            match (&id_claims, sub) {
                (_, None) => return Err(UpstreamError::Userinfo("response has no sub".into())),
                (Some(id), Some(sub)) if id.get("sub").and_then(Value::as_str) != Some(sub) => {
                    return Err(UpstreamError::Userinfo(
                        "sub does not match the ID token".into(),
                    ));
                }
                _ => {}
            }
            Some(info)
        } else {
            None
        };
        Ok(VerifiedLogin {
            claims: NationalClaims {
                id_token: id_claims,
                userinfo,
            },
            context,
            id_token: tokens.id_token.filter(|_| self.config.mode == Mode::Oidc),
        })
    }

    async fn exchange(
        &self,
        token_endpoint: &str,
        code: &str,
        verifier: &str,
        now: i64,
    ) -> Result<TokenResponse, UpstreamError> {
        let cfg = &self.config;
        let mut form: Vec<(&str, String)> = vec![
            ("grant_type", "authorization_code".into()),
            ("code", code.into()),
            ("redirect_uri", cfg.redirect_uri.clone()),
            ("code_verifier", verifier.into()),
        ];
        let mut request = self
            .http
            .reqwest()
            .post(token_endpoint)
            .header("accept", "application/json");
        match &cfg.client_auth {
            ClientAuth::SecretBasic(secret) => {
                // RFC 6749 2.3.1: client id and secret are form-urlencoded before Basic.
                let enc = |s: &str| {
                    url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
                };
                request = request.basic_auth(enc(&cfg.client_id), Some(enc(secret)));
            }
            ClientAuth::PrivateKeyJwt { key, alg, kid } => {
                form.push(("client_id", cfg.client_id.clone()));
                form.push((
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
                ));
                form.push((
                    "client_assertion",
                    client_assertion(cfg, key, *alg, kid.as_deref(), now)?,
                ));
            }
        }
        let fetched = self.http.send(request.form(&form), "token").await?;
        if fetched.status >= 500 {
            return Err(UpstreamError::ServerError {
                call: Call::Token,
                status: fetched.status,
            });
        }
        if fetched.status != 200 {
            let error = serde_json::from_slice::<ErrorResponse>(&fetched.body)
                .map(|e| short(&e.error))
                .unwrap_or_default();
            return Err(UpstreamError::Token(
                format!("HTTP {} {error}", fetched.status).trim().to_owned(),
            ));
        }
        let tokens: TokenResponse = serde_json::from_slice(&fetched.body)
            .map_err(|_| UpstreamError::Token("response is not a token response".into()))?;
        if !tokens
            .token_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("bearer"))
        {
            return Err(UpstreamError::Token("token_type is not Bearer".into()));
        }
        Ok(tokens)
    }

    async fn userinfo(
        &self,
        url: &str,
        access_token: &str,
    ) -> Result<Map<String, Value>, UpstreamError> {
        let request = self
            .http
            .reqwest()
            .get(url)
            .bearer_auth(access_token)
            .header("accept", "application/json");
        let fetched = self.http.send(request, "userinfo").await?;
        if fetched.status >= 500 {
            return Err(UpstreamError::ServerError {
                call: Call::Userinfo,
                status: fetched.status,
            });
        }
        if fetched.status != 200 {
            return Err(UpstreamError::Userinfo(format!("HTTP {}", fetched.status)));
        }
        match serde_json::from_slice(&fetched.body) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(UpstreamError::Userinfo(
                "response is not a JSON object".into(),
            )),
        }
    }
}

/// RFC 7523 client assertion: iss = sub = client_id, aud = the IdP's issuer, one minute.
fn client_assertion(
    cfg: &super::config::UpstreamConfig,
    key: &jsonwebtoken::EncodingKey,
    alg: jsonwebtoken::Algorithm,
    kid: Option<&str>,
    now: i64,
) -> Result<String, UpstreamError> {
    let mut jti = [0u8; 16];
    rand::Rng::fill(&mut rand::rng(), &mut jti);
    let claims = serde_json::json!({
        "iss": cfg.client_id, "sub": cfg.client_id, "aud": cfg.issuer,
        "jti": URL_SAFE_NO_PAD.encode(jti), "iat": now, "exp": now + 60,
    });
    let mut header = jsonwebtoken::Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, &claims, key)
        .map_err(|e| UpstreamError::Config(format!("client assertion: {e}")))
}

/// acr, amr and auth_time of a verified ID token.
pub fn context_of(issuer: &str, claims: &Map<String, Value>) -> AuthContext {
    AuthContext {
        issuer: issuer.to_owned(),
        acr: claims.get("acr").and_then(Value::as_str).map(str::to_owned),
        amr: claims
            .get("amr")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        // Only the IdP's own auth_time: `iat` says when the token was issued, which after a
        // single sign-on at the IdP may be long after the person authenticated.
        auth_time: claims.get("auth_time").and_then(|v| {
            v.as_i64()
                .or_else(|| v.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
        }),
    }
}

/// The OIDC Core 5.5 `claims` request: `auth_time` essential (so the IdP says when it
/// authenticated the person) and, when asked, `acr` essential among `acr` values.
fn claims_request(acr: &[&str]) -> String {
    let mut id_token = serde_json::json!({ "auth_time": { "essential": true } });
    if !acr.is_empty() {
        id_token["acr"] = serde_json::json!({ "essential": true, "values": acr });
    }
    serde_json::json!({ "id_token": id_token }).to_string()
}

/// An OAuth error code from an IdP, kept to a short token.
fn short(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_764_400_000;

    #[test]
    fn auth_time_is_held_to_max_age_and_prompt_login_with_leeway() {
        let none = Freshness::default();
        assert_eq!(none.check(None, NOW, 60), Ok(()));
        assert_eq!(none.check(Some(NOW - 86_400), NOW, 60), Ok(()));
        assert_eq!(
            none.check(Some(NOW + 61), NOW, 60),
            Err(AuthTimeError::InFuture)
        );

        let max_age = Freshness {
            max_age: Some(600),
            ..Freshness::default()
        };
        assert_eq!(max_age.check(None, NOW, 60), Err(AuthTimeError::Missing));
        assert_eq!(max_age.check(Some(NOW - 660), NOW, 60), Ok(()));
        assert_eq!(
            max_age.check(Some(NOW - 661), NOW, 60),
            Err(AuthTimeError::TooOld)
        );

        let login = Freshness {
            login: true,
            requested_at: NOW - 30,
            ..Freshness::default()
        };
        assert_eq!(login.check(None, NOW, 60), Err(AuthTimeError::Missing));
        assert_eq!(login.check(Some(NOW - 10), NOW, 60), Ok(()));
        assert_eq!(login.check(Some(NOW - 90), NOW, 60), Ok(()), "leeway");
        assert_eq!(
            login.check(Some(NOW - 91), NOW, 60),
            Err(AuthTimeError::NotReauthenticated)
        );
        assert_eq!(
            AuthTimeError::NotReauthenticated.reason(),
            "reauthentication_not_done"
        );
    }

    #[test]
    fn pending_logins_stored_before_freshness_still_open() {
        let old = r#"{"country":"SA","state":"s","nonce":"n","pkce_verifier":"v"}"#;
        let pending: PendingLogin = serde_json::from_str(old).unwrap();
        assert_eq!(pending.fresh, Freshness::default());
    }

    #[test]
    fn claims_request_asks_auth_time_and_acr_as_essential() {
        let v: Value = serde_json::from_str(&claims_request(&["urn:sa:sso:loa:3"])).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"id_token": {
                "auth_time": {"essential": true},
                "acr": {"essential": true, "values": ["urn:sa:sso:loa:3"]}
            }})
        );
        let v: Value = serde_json::from_str(&claims_request(&[])).unwrap();
        assert!(v["id_token"].get("acr").is_none());
    }

    #[test]
    fn context_takes_auth_time_only_from_auth_time() {
        let claims = serde_json::json!({"iat": NOW, "acr": "a"});
        let ctx = context_of("https://idp", claims.as_object().unwrap());
        assert_eq!(ctx.auth_time, None, "never iat");
        let claims = serde_json::json!({"iat": NOW, "auth_time": NOW - 5});
        let ctx = context_of("https://idp", claims.as_object().unwrap());
        assert_eq!(ctx.auth_time, Some(NOW - 5));
    }
}
