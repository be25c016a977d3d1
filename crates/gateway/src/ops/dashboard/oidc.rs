//! The gateway as a Relying Party of the operators' own IdP (`[admin.login]`): discovery
//! and the JWKS cache are the upstream module's (`upstream::discovery`, `upstream::jwks`),
//! the ID token is verified with jsonwebtoken: signature with a key of the issuer's JWKS
//! (by `kid`, refreshed once on an unknown one), `alg` from the accepted table, then `iss`,
//! `aud`, `exp` and `iat` (both required), `nbf` when present (30 s leeway each), the `nonce`
//! of this sign-in, and `azp` (this client; required when `aud` has several entries).

use std::time::Duration;

use jsonwebtoken::Validation;
use openidconnect::{CsrfToken, Nonce, PkceCodeChallenge};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::config::gateway::admin::OperatorLogin;
use crate::upstream::config::JwksSettings;
use crate::upstream::discovery::{self, Endpoints};
use crate::upstream::http::HttpClient;
use crate::upstream::jwks::{JwksCache, Refresh};

/// Clock skew tolerated on `exp`, `iat` and `nbf`.
pub const LEEWAY_SECS: u64 = 30;

/// Why an operator sign-in failed; shown to the operator as one line, logged.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LoginError {
    #[error("the operator IdP cannot be reached ({0})")]
    Unavailable(String),
    #[error("the sign-in answer does not match this browser's sign-in (state)")]
    StateMismatch,
    #[error("the operator IdP refused the sign-in ({0})")]
    Refused(String),
    #[error("the token endpoint failed ({0})")]
    Token(String),
    #[error("the ID token failed verification ({0})")]
    IdToken(String),
}

/// What the browser keeps (sealed, in a cookie) between `/login` and `/login/callback`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingSignIn {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    pub exp: i64,
    pub lang: String,
}

/// A verified operator: their subject at the operator IdP and their groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    pub subject: String,
    pub groups: Vec<String>,
}

/// The operator IdP client (discovered once, on the first sign-in).
pub struct OperatorIdp {
    login: OperatorLogin,
    issuer: String,
    redirect_uri: String,
    http: HttpClient,
    endpoints: Endpoints,
    jwks: JwksCache,
}

/// The issuer as the IdP writes it: a bare origin without the `/` the URL parser adds.
fn issuer_string(login: &OperatorLogin) -> String {
    let s = login.issuer.as_str();
    if login.issuer.path() == "/" {
        s.trim_end_matches('/').to_owned()
    } else {
        s.to_owned()
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    id_token: Option<String>,
}

impl OperatorIdp {
    /// Discovers the operator IdP; the dashboard's callback is `<public_url>/login/callback`.
    pub async fn discover(login: &OperatorLogin, public_url: &str) -> Result<Self, LoginError> {
        let http = HttpClient::new(Duration::from_secs(5))
            .map_err(|e| LoginError::Unavailable(e.to_string()))?;
        let issuer = issuer_string(login);
        let endpoints = discovery::discover(&http, &issuer)
            .await
            .map_err(|e| LoginError::Unavailable(e.to_string()))?;
        let jwks = JwksCache::new(http.clone(), JwksSettings::default());
        jwks.set_uri(endpoints.jwks_uri.clone());
        Ok(OperatorIdp {
            login: login.clone(),
            issuer,
            redirect_uri: format!("{public_url}/login/callback"),
            http,
            endpoints,
            jwks,
        })
    }

    /// The authorization request (code, PKCE S256, state, nonce) and what to keep.
    pub fn begin(&self, now: i64, lang: &str) -> Result<(String, PendingSignIn), LoginError> {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let state = CsrfToken::new_random();
        let nonce = Nonce::new_random();
        let mut url = url::Url::parse(&self.endpoints.authorization)
            .map_err(|e| LoginError::Unavailable(format!("authorization endpoint: {e}")))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.login.client_id)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("scope", "openid profile")
            .append_pair("state", state.secret())
            .append_pair("nonce", nonce.secret())
            .append_pair("code_challenge", challenge.as_str())
            .append_pair("code_challenge_method", "S256")
            .append_pair("ui_locales", lang);
        Ok((
            url.into(),
            PendingSignIn {
                state: state.secret().clone(),
                nonce: nonce.secret().clone(),
                verifier: verifier.secret().clone(),
                exp: now + 600,
                lang: lang.to_owned(),
            },
        ))
    }

    /// Checks `state` (and RFC 9207 `iss`), redeems the code and verifies the ID token.
    pub async fn complete(
        &self,
        pending: &PendingSignIn,
        code: Option<&str>,
        state: Option<&str>,
        iss: Option<&str>,
        error: Option<&str>,
        now: i64,
    ) -> Result<Operator, LoginError> {
        let same_state = state.is_some_and(|s| {
            aws_lc_rs::constant_time::verify_slices_are_equal(
                s.as_bytes(),
                pending.state.as_bytes(),
            )
            .is_ok()
        });
        if !same_state || pending.exp < now {
            return Err(LoginError::StateMismatch);
        }
        if iss.is_some_and(|i| i != self.issuer)
            || (iss.is_none() && self.endpoints.iss_parameter_supported)
        {
            return Err(LoginError::Refused(
                "iss does not name the operator IdP".into(),
            ));
        }
        if let Some(error) = error {
            let short: String = error
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(64)
                .collect();
            return Err(LoginError::Refused(short));
        }
        let code = code
            .filter(|c| !c.is_empty() && c.len() <= 4096)
            .ok_or_else(|| LoginError::Refused("no code".into()))?;
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let request = self
            .http
            .reqwest()
            .post(&self.endpoints.token)
            .basic_auth(
                enc(&self.login.client_id),
                Some(enc(&self.login.client_secret)),
            )
            .header("accept", "application/json")
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &self.redirect_uri),
                ("code_verifier", &pending.verifier),
            ]);
        let fetched = self
            .http
            .send(request, "token")
            .await
            .map_err(|e| LoginError::Token(e.to_string()))?;
        if fetched.status != 200 {
            return Err(LoginError::Token(format!("HTTP {}", fetched.status)));
        }
        let tokens: TokenResponse = serde_json::from_slice(&fetched.body)
            .map_err(|_| LoginError::Token("not a token response".into()))?;
        let id_token = tokens
            .id_token
            .ok_or_else(|| LoginError::Token("no id_token".into()))?;
        let claims = self.verify(&id_token, &pending.nonce, now).await?;
        let subject = claims
            .get("sub")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| LoginError::IdToken("no sub".into()))?
            .to_owned();
        let groups = match claims.get(&self.login.groups_claim) {
            Some(Value::Array(list)) => list
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            Some(Value::String(one)) => vec![one.clone()],
            _ => Vec::new(),
        };
        Ok(Operator { subject, groups })
    }

    /// Verifies the ID token strictly and returns its claims.
    pub async fn verify(
        &self,
        token: &str,
        nonce: &str,
        now: i64,
    ) -> Result<Map<String, Value>, LoginError> {
        let bad = |m: &str| LoginError::IdToken(m.to_owned());
        if token.len() > crate::upstream::idtoken::MAX_TOKEN_BYTES {
            return Err(bad("too large"));
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| bad("malformed header"))?;
        let alg = header.alg;
        if !crate::alg::accepts(alg) {
            return Err(bad("algorithm not accepted"));
        }
        if header.jku.is_some()
            || header.jwk.is_some()
            || header.x5u.is_some()
            || header.x5c.is_some()
        {
            return Err(bad("key material in the header is not accepted"));
        }
        let kid = header.kid.as_deref();
        let mut set = self
            .jwks
            .keys()
            .await
            .map_err(|e| LoginError::Unavailable(e.to_string()))?;
        // By kid; without one, only when the set holds a single key that fits.
        let pick = |set: &crate::upstream::jwks::KeySet| {
            let mut fitting = set
                .keys
                .iter()
                .filter(|k| k.fits(alg) && (kid.is_none() || k.kid.as_deref() == kid));
            match (fitting.next(), fitting.next(), kid) {
                (Some(k), None, _) | (Some(k), Some(_), Some(_)) => Some(k.decoding.clone()),
                _ => None,
            }
        };
        let key = match pick(&set) {
            Some(key) => key,
            None => {
                set = self
                    .jwks
                    .refresh(Refresh::UnknownKid, Some(set.generation))
                    .await
                    .map_err(|e| LoginError::Unavailable(e.to_string()))?;
                pick(&set).ok_or_else(|| bad("no key of the operator IdP fits"))?
            }
        };
        let mut validation = Validation::new(alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.login.client_id]);
        validation.set_required_spec_claims(&["iss", "aud", "exp", "sub"]);
        validation.leeway = LEEWAY_SECS;
        // jsonwebtoken reads the system clock for `exp`; the gateway's clock decides below.
        validation.validate_exp = false;
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
            .map_err(|e| LoginError::IdToken(format!("{:?}", e.kind())))?;
        let claims = data.claims;
        check_claims(&claims, nonce, &self.login.client_id, now)?;
        Ok(claims)
    }
}

/// The time claims, the nonce and `azp`, on the gateway's clock: `exp` (required, with
/// [`LEEWAY_SECS`]), `iat` (required, not in the future), `nbf` (when present, reached),
/// the nonce of this sign-in, and `azp`: this client when present, and required when `aud`
/// names more than one audience. `iss`, `aud` and the signature are checked before.
pub fn check_claims(
    claims: &Map<String, Value>,
    nonce: &str,
    client_id: &str,
    now: i64,
) -> Result<(), LoginError> {
    let bad = |m: &str| LoginError::IdToken(m.to_owned());
    let leeway = LEEWAY_SECS as i64;
    let time = |name: &str| {
        claims.get(name).map(|v| {
            v.as_i64()
                .ok_or_else(|| bad(&format!("{name} is not a number")))
        })
    };
    let exp = time("exp").ok_or_else(|| bad("no exp"))??;
    if now > exp.saturating_add(leeway) {
        return Err(bad("expired"));
    }
    let iat = time("iat").ok_or_else(|| bad("no iat"))??;
    if iat > now.saturating_add(leeway) {
        return Err(bad("issued in the future"));
    }
    if let Some(nbf) = time("nbf").transpose()?
        && nbf > now.saturating_add(leeway)
    {
        return Err(bad("not valid yet (nbf)"));
    }
    let nonce_ok = claims
        .get("nonce")
        .and_then(Value::as_str)
        .is_some_and(|n| {
            aws_lc_rs::constant_time::verify_slices_are_equal(n.as_bytes(), nonce.as_bytes())
                .is_ok()
        });
    if !nonce_ok {
        return Err(bad("nonce does not match"));
    }
    let audiences = match claims.get("aud") {
        Some(Value::Array(list)) => list.len(),
        _ => 1,
    };
    match claims.get("azp") {
        Some(azp) if azp.as_str() != Some(client_id) => return Err(bad("azp is another client")),
        None if audiences > 1 => return Err(bad("several audiences and no azp")),
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;
    const CLIENT: &str = "jisr-dashboard";

    /// Claims that pass, with `changes` applied (`null` removes a claim).
    fn claims(changes: Value) -> Map<String, Value> {
        let mut c = serde_json::json!({
            "iss": "https://login.ops.example",
            "sub": "op-1",
            "aud": CLIENT,
            "exp": NOW + 300,
            "iat": NOW,
            "nonce": "n-1",
        });
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c.as_object().unwrap().clone()
    }

    fn check(changes: Value) -> Result<(), LoginError> {
        check_claims(&claims(changes), "n-1", CLIENT, NOW)
    }

    fn refused(changes: Value, why: &str) {
        assert_eq!(
            check(changes.clone()),
            Err(LoginError::IdToken(why.into())),
            "{changes}"
        );
    }

    #[test]
    fn good_claims_pass() {
        assert_eq!(check(serde_json::json!({})), Ok(()));
        let leeway = LEEWAY_SECS as i64;
        assert_eq!(check(serde_json::json!({"exp": NOW - leeway})), Ok(()));
        assert_eq!(check(serde_json::json!({"iat": NOW + leeway})), Ok(()));
        assert_eq!(check(serde_json::json!({"azp": CLIENT})), Ok(()));
    }

    #[test]
    fn exp_is_required_and_a_huge_one_does_not_overflow() {
        refused(serde_json::json!({"exp": null}), "no exp");
        refused(serde_json::json!({"exp": "soon"}), "exp is not a number");
        refused(
            serde_json::json!({"exp": NOW - LEEWAY_SECS as i64 - 1}),
            "expired",
        );
        // exp + leeway would overflow i64: it saturates (far future) instead of panicking.
        assert_eq!(check(serde_json::json!({"exp": i64::MAX})), Ok(()));
        assert_eq!(
            check_claims(
                &claims(serde_json::json!({"iat": i64::MIN})),
                "n-1",
                CLIENT,
                i64::MAX
            ),
            Err(LoginError::IdToken("expired".into()))
        );
    }

    #[test]
    fn iat_is_required_and_not_in_the_future() {
        refused(serde_json::json!({"iat": null}), "no iat");
        refused(serde_json::json!({"iat": 1.5}), "iat is not a number");
        refused(
            serde_json::json!({"iat": NOW + LEEWAY_SECS as i64 + 1}),
            "issued in the future",
        );
        assert_eq!(
            check_claims(
                &claims(serde_json::json!({"exp": i64::MAX, "iat": i64::MAX})),
                "n-1",
                CLIENT,
                i64::MAX
            ),
            Ok(()),
            "now + leeway saturates"
        );
    }

    #[test]
    fn nbf_is_checked_when_present() {
        assert_eq!(check(serde_json::json!({"nbf": NOW})), Ok(()));
        assert_eq!(
            check(serde_json::json!({"nbf": NOW + LEEWAY_SECS as i64})),
            Ok(())
        );
        refused(
            serde_json::json!({"nbf": NOW + LEEWAY_SECS as i64 + 1}),
            "not valid yet (nbf)",
        );
        refused(serde_json::json!({"nbf": "later"}), "nbf is not a number");
    }

    #[test]
    fn azp_is_required_with_several_audiences() {
        let two = serde_json::json!([CLIENT, "another-client"]);
        refused(
            serde_json::json!({"aud": two}),
            "several audiences and no azp",
        );
        assert_eq!(
            check(serde_json::json!({"aud": two, "azp": CLIENT})),
            Ok(())
        );
        refused(
            serde_json::json!({"aud": two, "azp": "another-client"}),
            "azp is another client",
        );
        assert_eq!(
            check(serde_json::json!({"aud": [CLIENT]})),
            Ok(()),
            "one audience"
        );
        refused(
            serde_json::json!({"azp": "another-client"}),
            "azp is another client",
        );
    }

    #[test]
    fn the_nonce_must_match() {
        refused(serde_json::json!({"nonce": null}), "nonce does not match");
        refused(serde_json::json!({"nonce": "n-2"}), "nonce does not match");
    }
}
