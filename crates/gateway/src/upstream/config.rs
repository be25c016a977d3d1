//! Upstream settings of one national IdP: the `[idp]` table of `config/countries/<cc>.toml`,
//! parsed into types and with secrets resolved from env vars or files at start.

use std::path::{Path, PathBuf};
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

/// Client authentication at the IdP's token endpoint, as written in config.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientAuthSection {
    /// HTTP Basic with a secret from `secret_env` or `secret_file`.
    ClientSecretBasic {
        #[serde(default)]
        secret_env: Option<String>,
        #[serde(default)]
        secret_file: Option<PathBuf>,
    },
    /// RFC 7523 client assertion signed with a private key (PEM, PKCS#8).
    PrivateKeyJwt {
        key_file: PathBuf,
        alg: String,
        #[serde(default)]
        kid: Option<String>,
    },
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

fn ten() -> u64 {
    10
}
fn five_minutes() -> u64 {
    300
}
fn one_day() -> u64 {
    86_400
}
fn sixty() -> u64 {
    60
}
fn five() -> u64 {
    5
}
fn yes() -> bool {
    true
}
fn default_scopes() -> Vec<String> {
    vec!["openid".into(), "profile".into()]
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

/// The `[idp]` table as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdpSection {
    pub issuer: String,
    pub client_id: String,
    pub client_auth: ClientAuthSection,
    /// Signing algorithms accepted for this IdP's ID tokens (asymmetric only).
    pub algorithms: Vec<String>,
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub mode: Mode,
    /// Whether to call userinfo in OIDC mode (always called in OAuth2 mode). Even when true,
    /// the gateway skips it for a country whose profile reads nothing from userinfo.
    #[serde(default = "yes")]
    pub userinfo: bool,
    #[serde(default = "sixty")]
    pub leeway_secs: u64,
    /// A `typ` the ID token header must carry, when the IdP sets one.
    #[serde(default)]
    pub require_typ: Option<String>,
    #[serde(default = "five")]
    pub timeout_secs: u64,
    #[serde(default)]
    pub jwks: JwksSettings,
    /// Fixed endpoints instead of discovery.
    #[serde(default)]
    pub endpoints: Option<StaticEndpoints>,
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

impl IdpSection {
    /// Validates the section without reading secrets (for `jisr check-config`).
    pub fn check(&self) -> Result<(), (String, String)> {
        check_issuer(&self.issuer).map_err(|e| ("issuer".into(), e))?;
        if self.client_id.trim().is_empty() {
            return Err(("client_id".into(), "must not be empty".into()));
        }
        if self.algorithms.is_empty() {
            return Err(("algorithms".into(), "list at least one algorithm".into()));
        }
        for (i, a) in self.algorithms.iter().enumerate() {
            parse_alg(a).map_err(|e| (format!("algorithms[{i}]"), e))?;
        }
        match &self.client_auth {
            ClientAuthSection::ClientSecretBasic {
                secret_env,
                secret_file,
            } => {
                if secret_env.is_some() == secret_file.is_some() {
                    return Err((
                        "client_auth".into(),
                        "set exactly one of `secret_env` or `secret_file`".into(),
                    ));
                }
            }
            ClientAuthSection::PrivateKeyJwt { alg, .. } => {
                parse_alg(alg).map_err(|e| ("client_auth.alg".into(), e))?;
            }
        }
        if self.mode == Mode::Oidc && !self.scopes.iter().any(|s| s == "openid") {
            return Err((
                "scopes".into(),
                "OpenID Connect mode needs the `openid` scope".into(),
            ));
        }
        if !(1..=60).contains(&self.timeout_secs) {
            return Err(("timeout_secs".into(), "must be between 1 and 60".into()));
        }
        if self.leeway_secs > 300 {
            return Err(("leeway_secs".into(), "must be at most 300".into()));
        }
        if let Some(e) = &self.endpoints {
            check_endpoints(e, self.mode)?;
        }
        Ok(())
    }

    /// Resolves secrets (`env` looks up environment variables, relative files are under
    /// `base_dir`) and builds the runtime config.
    pub fn resolve(
        &self,
        country: CountryCode,
        redirect_uri: String,
        base_dir: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<UpstreamConfig, String> {
        self.check().map_err(|(k, e)| format!("idp.{k}: {e}"))?;
        let read = |p: &Path| {
            let path = if p.is_absolute() {
                p.to_owned()
            } else {
                base_dir.join(p)
            };
            std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))
        };
        let client_auth = match &self.client_auth {
            ClientAuthSection::ClientSecretBasic {
                secret_env,
                secret_file,
            } => {
                let secret = match (secret_env, secret_file) {
                    (Some(var), _) => env(var).ok_or_else(|| {
                        format!("idp.client_auth: environment variable {var} is not set")
                    })?,
                    (None, Some(file)) => read(file)?.trim().to_owned(),
                    (None, None) => unreachable!("checked above"),
                };
                if secret.is_empty() {
                    return Err("idp.client_auth: the client secret is empty".into());
                }
                ClientAuth::SecretBasic(secret)
            }
            ClientAuthSection::PrivateKeyJwt { key_file, alg, kid } => {
                let alg = parse_alg(alg)?;
                let pem = read(key_file)?;
                let key = match alg {
                    Algorithm::ES256 | Algorithm::ES384 => EncodingKey::from_ec_pem(pem.as_bytes()),
                    Algorithm::EdDSA => EncodingKey::from_ed_pem(pem.as_bytes()),
                    _ => EncodingKey::from_rsa_pem(pem.as_bytes()),
                }
                .map_err(|e| format!("idp.client_auth.key_file: not a {alg:?} private key: {e}"))?;
                ClientAuth::PrivateKeyJwt {
                    key,
                    alg,
                    kid: kid.clone(),
                }
            }
        };
        Ok(UpstreamConfig {
            country,
            issuer: self.issuer.clone(),
            client_id: self.client_id.clone(),
            client_auth,
            algorithms: self
                .algorithms
                .iter()
                .map(|a| parse_alg(a))
                .collect::<Result<_, _>>()?,
            scopes: self.scopes.clone(),
            mode: self.mode,
            userinfo: self.userinfo || self.mode == Mode::Oauth2Userinfo,
            leeway: Duration::from_secs(self.leeway_secs),
            require_typ: self.require_typ.clone(),
            timeout: Duration::from_secs(self.timeout_secs),
            jwks: self.jwks,
            redirect_uri,
            endpoints: self.endpoints.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(extra: &str) -> Result<IdpSection, toml::de::Error> {
        toml::from_str(&format!(
            "issuer = \"https://sso.sa.example\"\nclient_id = \"jisr\"\nalgorithms = [\"RS256\", \"ES256\"]\n{extra}"
        ))
    }

    #[test]
    fn secrets_come_from_env_or_file_never_toml() {
        let s = section(
            "client_auth = { method = \"client_secret_basic\", secret_env = \"SA_SECRET\" }",
        )
        .unwrap();
        let env = |k: &str| (k == "SA_SECRET").then(|| "s3cret".to_owned());
        let cfg = s
            .resolve(
                "SA".parse().unwrap(),
                "https://jisr/callback/sa".into(),
                Path::new("."),
                &env,
            )
            .unwrap();
        assert!(matches!(&cfg.client_auth, ClientAuth::SecretBasic(s) if s == "s3cret"));
        assert_eq!(format!("{:?}", cfg.client_auth), "SecretBasic(<redacted>)");
        let err = s
            .resolve(
                "SA".parse().unwrap(),
                String::new(),
                Path::new("."),
                &|_| None,
            )
            .unwrap_err();
        assert_eq!(
            err,
            "idp.client_auth: environment variable SA_SECRET is not set"
        );
        // A literal secret in the TOML is an unknown field.
        let err = section("client_auth = { method = \"client_secret_basic\", secret = \"x\" }")
            .unwrap_err();
        assert!(err.to_string().contains("unknown field `secret`"), "{err}");
    }

    #[test]
    fn checks_name_the_key() {
        let auth = "client_auth = { method = \"client_secret_basic\", secret_env = \"X\" }";
        let cases = [
            ("issuer = \"http://idp.example\"", "issuer"),
            ("algorithms = [\"HS256\"]", "algorithms[0]"),
            ("algorithms = [\"none\"]", "algorithms[0]"),
            ("scopes = [\"profile\"]", "scopes"),
            ("timeout_secs = 0", "timeout_secs"),
        ];
        for (line, key) in cases {
            let text = format!("{line}\nclient_id = \"jisr\"\n{auth}\n");
            let text = if line.starts_with("issuer") {
                format!("{text}algorithms = [\"RS256\"]\n")
            } else {
                format!(
                    "issuer = \"https://sso.sa.example\"\n{text}{}",
                    if line.starts_with("algorithms") {
                        ""
                    } else {
                        "algorithms = [\"RS256\"]\n"
                    }
                )
            };
            let s: IdpSection = toml::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(s.check().unwrap_err().0, key, "{line}");
        }
        assert!(check_issuer("http://127.0.0.1:9101").is_ok());
    }
}
