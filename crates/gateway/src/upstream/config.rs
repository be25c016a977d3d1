//! Upstream settings of one national IdP, as the upstream client uses them: built at load by
//! [`crate::config::idp`] from the `[idp]` table of `config/countries/<cc>.toml`, secrets read.

use std::time::Duration;

use jisr_mapping::CountryCode;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde::Deserialize;
use url::Url;

/// How the IdP gives claims: OpenID Connect (a signed ID token, optionally userinfo), or plain
/// OAuth 2.0 with claims only at userinfo (UAE PASS style; LoA capped by the profile).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    Oidc,
    Oauth2Userinfo,
}

/// JWKS cache timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwksSettings {
    /// At most one JWKS fetch per issuer per this many seconds (unknown kid, bad signature).
    #[serde(default = "ten")]
    pub min_refresh_secs: u64,
    /// Refresh age when the IdP sends no Cache-Control max-age.
    #[serde(default = "five_minutes")]
    pub default_max_age_secs: u64,
    /// How long a JWKS may still be used when the IdP cannot be reached.
    #[serde(default = "one_day")]
    pub stale_if_error_secs: u64,
    /// Upper bound on the IdP's Cache-Control max-age.
    #[serde(default = "one_day")]
    pub max_age_cap_secs: u64,
}

impl Default for JwksSettings {
    fn default() -> Self {
        JwksSettings {
            min_refresh_secs: ten(),
            default_max_age_secs: five_minutes(),
            stale_if_error_secs: one_day(),
            max_age_cap_secs: one_day(),
        }
    }
}

impl JwksSettings {
    /// Checks the timing; the error names the key under `idp`. `min_refresh_secs` must be at
    /// least 1 (0 would let every forged kid fetch the JWKS) and at most the longest a kid
    /// miss waits for the next fetch ([`super::jwks::MAX_KID_WAIT`]).
    pub fn check(&self) -> Result<(), (String, String)> {
        let max_wait = super::jwks::MAX_KID_WAIT.as_secs();
        if !(1..=max_wait).contains(&self.min_refresh_secs) {
            return Err((
                "jwks.min_refresh_secs".into(),
                format!("must be between 1 and {max_wait}"),
            ));
        }
        for (key, value) in [
            ("default_max_age_secs", self.default_max_age_secs),
            ("max_age_cap_secs", self.max_age_cap_secs),
        ] {
            if value == 0 {
                return Err((format!("jwks.{key}"), "must be at least 1".into()));
            }
        }
        Ok(())
    }
}

fn ten() -> u64 {
    10
}
fn five_minutes() -> u64 {
    300
}
fn one_day() -> u64 {
    86_400
}

/// Endpoints written in config, for IdPs without discovery (UAE PASS publishes none).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticEndpoints {
    pub authorization: String,
    pub token: String,
    #[serde(default)]
    pub userinfo: Option<String>,
    /// Required in OpenID Connect mode (ID tokens are verified with it).
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// RFC 9207: the IdP puts `iss` in authorization responses.
    #[serde(default)]
    pub iss_parameter_supported: bool,
}

impl StaticEndpoints {
    /// Checks the URLs (as for an issuer) and that the mode's endpoints are there; the error
    /// names the key (`endpoints.token`, …).
    pub fn check(&self, mode: Mode) -> Result<(), (String, String)> {
        check_endpoints(self, mode)
    }
}

/// Client authentication with its secret material loaded.
#[derive(Clone)]
pub enum ClientAuth {
    SecretBasic(String),
    PrivateKeyJwt {
        key: EncodingKey,
        alg: Algorithm,
        kid: Option<String>,
    },
}

impl std::fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientAuth::SecretBasic(_) => f.write_str("SecretBasic(<redacted>)"),
            ClientAuth::PrivateKeyJwt { alg, kid, .. } => {
                write!(f, "PrivateKeyJwt({alg:?}, kid {kid:?})")
            }
        }
    }
}

/// Everything the upstream client of one country needs, validated.
#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    pub country: CountryCode,
    pub issuer: String,
    pub client_id: String,
    pub client_auth: ClientAuth,
    pub algorithms: Vec<Algorithm>,
    pub scopes: Vec<String>,
    pub mode: Mode,
    pub userinfo: bool,
    pub leeway: Duration,
    pub require_typ: Option<String>,
    pub timeout: Duration,
    pub jwks: JwksSettings,
    /// This gateway's callback for the country: `<public base>/callback/<cc>`.
    pub redirect_uri: String,
    /// Fixed endpoints; `None` means discovery.
    pub endpoints: Option<StaticEndpoints>,
    /// Roots and client certificate for this IdP; `None`: the system's roots, no client
    /// certificate.
    pub tls: Option<UpstreamTls>,
}

/// `[idp.tls]` with its files read (PEM).
#[derive(Clone, PartialEq, Eq)]
pub struct UpstreamTls {
    /// Trusted roots for this IdP, instead of the system's.
    pub roots: Option<Vec<u8>>,
    /// The client certificate chain followed by its private key.
    pub identity: Option<Vec<u8>>,
}

impl std::fmt::Debug for UpstreamTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamTls")
            .field("roots", &self.roots.as_ref().map(|_| "<pem>"))
            .field("identity", &self.identity.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Parses an asymmetric JWS algorithm name; symmetric (HS*) and `none` are refused.
pub fn parse_alg(name: &str) -> Result<Algorithm, String> {
    crate::alg::parse(name).map_err(|e| e.to_string())
}

fn check_endpoints(e: &StaticEndpoints, mode: Mode) -> Result<(), (String, String)> {
    let urls = [
        ("authorization", Some(&e.authorization)),
        ("token", Some(&e.token)),
        ("userinfo", e.userinfo.as_ref()),
        ("jwks_uri", e.jwks_uri.as_ref()),
    ];
    for (key, url) in urls {
        if let Some(url) = url {
            check_issuer(url)
                .map_err(|m| (format!("endpoints.{key}"), m.replace("issuer", "endpoint")))?;
        }
    }
    if mode == Mode::Oidc && e.jwks_uri.is_none() {
        return Err((
            "endpoints.jwks_uri".into(),
            "OpenID Connect mode needs the IdP's jwks_uri".into(),
        ));
    }
    if mode == Mode::Oauth2Userinfo && e.userinfo.is_none() {
        return Err((
            "endpoints.userinfo".into(),
            "OAuth 2.0 userinfo mode needs the userinfo endpoint".into(),
        ));
    }
    Ok(())
}

/// Checks an issuer URL: https, or http only toward loopback (development IdPs).
pub fn check_issuer(issuer: &str) -> Result<Url, String> {
    let url = Url::parse(issuer).map_err(|e| format!("issuer is not a URL: {e}"))?;
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => {
            return Err("issuer must be https (http only toward loopback development IdPs)".into());
        }
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("issuer must not have a query or fragment".into());
    }
    Ok(url)
}
