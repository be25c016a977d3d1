//! The `[idp]` table of a country file: how the gateway connects to that country's national
//! IdP (issuer, client, algorithms, scopes, endpoints). Parsed and checked with the country
//! file ([`super::mapping`]); [`IdpSection::resolve`] reads its secret and builds the
//! [`UpstreamConfig`] the upstream client runs on.

use std::path::{Path, PathBuf};
use std::time::Duration;

use jisr_mapping::{ConfigProblem, CountryCode};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde::Deserialize;

use super::files::{base_dir, invalid};
use super::secret::{Env, SecretError, SecretSource, read_material};
use crate::upstream::config::{
    ClientAuth, JwksSettings, Mode, StaticEndpoints, UpstreamConfig, check_issuer, parse_alg,
};

/// Client authentication at the IdP's token endpoint, as written in config.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientAuthSection {
    /// HTTP Basic with a client secret: `secret = { env = "VAR" }` or `{ file = "path" }`.
    ClientSecretBasic { secret: SecretSource },
    /// RFC 7523 client assertion signed with a private key (PEM, PKCS#8).
    PrivateKeyJwt {
        key_file: PathBuf,
        alg: String,
        #[serde(default)]
        kid: Option<String>,
    },
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
    /// How the gateway's calls to this IdP are secured (roots, client certificate).
    #[serde(default)]
    pub tls: Option<IdpTlsSection>,
}

/// `[idp.tls]`: whom the gateway trusts for this IdP's server certificate, and the client
/// certificate it presents (mutual TLS) where the IdP requires one. Files are PEM, relative
/// to the country file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdpTlsSection {
    /// Trust only these roots for this IdP (instead of the system's).
    #[serde(default)]
    pub ca_file: Option<std::path::PathBuf>,
    /// The gateway's client certificate chain for this IdP (leaf first).
    #[serde(default)]
    pub client_cert_file: Option<std::path::PathBuf>,
    /// Its private key (PKCS#8, SEC1 or PKCS#1).
    #[serde(default)]
    pub client_key_file: Option<std::path::PathBuf>,
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

impl IdpSection {
    /// Validates the section without reading secrets; the error names the key under `idp`.
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
        if let ClientAuthSection::PrivateKeyJwt { alg, .. } = &self.client_auth {
            parse_alg(alg).map_err(|e| ("client_auth.alg".into(), e))?;
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
        self.jwks.check()?;
        if let Some(e) = &self.endpoints {
            e.check(self.mode)?;
        }
        Ok(())
    }

    /// Reads the client secret or private key (`env` looks up environment variables; a
    /// relative file is under the directory of `file`, the country file) and builds the
    /// runtime config. Problems are tagged absent or invalid and name `file`.
    pub fn resolve(
        &self,
        file: &Path,
        country: CountryCode,
        redirect_uri: String,
        env: Env<'_>,
    ) -> Result<UpstreamConfig, ConfigProblem> {
        let bad = |key: &str, msg: String| invalid(file, &format!("idp.{key}"), msg);
        self.check().map_err(|(key, msg)| bad(&key, msg))?;
        let base = base_dir(file);
        let client_auth = match &self.client_auth {
            ClientAuthSection::ClientSecretBasic { secret } => {
                let bytes = secret
                    .read_classified(&base, env)
                    .map_err(|e| e.problem(file, "idp.client_auth.secret"))?;
                let secret = String::from_utf8(bytes).map_err(|_| {
                    bad(
                        "client_auth.secret",
                        "the client secret is not UTF-8".into(),
                    )
                })?;
                ClientAuth::SecretBasic(secret)
            }
            ClientAuthSection::PrivateKeyJwt { key_file, alg, kid } => {
                let alg = parse_alg(alg).map_err(|e| bad("client_auth.alg", e))?;
                let path = base.join(key_file);
                let pem = read_material(&path)
                    .map_err(|e| e.problem(file, "idp.client_auth.key_file"))?;
                let key = match alg {
                    Algorithm::ES256 | Algorithm::ES384 => EncodingKey::from_ec_pem(&pem),
                    Algorithm::EdDSA => EncodingKey::from_ed_pem(&pem),
                    _ => EncodingKey::from_rsa_pem(&pem),
                }
                .map_err(|e| {
                    let msg = format!("{} is not a {alg:?} private key: {e}", path.display());
                    SecretError::Invalid(msg).problem(file, "idp.client_auth.key_file")
                })?;
                ClientAuth::PrivateKeyJwt {
                    key,
                    alg,
                    kid: kid.clone(),
                }
            }
        };
        let algorithms = self
            .algorithms
            .iter()
            .map(|a| parse_alg(a))
            .collect::<Result<_, _>>()
            .map_err(|e| bad("algorithms", e))?;
        let tls = match &self.tls {
            Some(t) => Some(resolve_tls(t, &base, file)?),
            None => None,
        };
        Ok(UpstreamConfig {
            country,
            issuer: self.issuer.clone(),
            client_id: self.client_id.clone(),
            client_auth,
            algorithms,
            scopes: self.scopes.clone(),
            mode: self.mode,
            userinfo: self.userinfo || self.mode == Mode::Oauth2Userinfo,
            leeway: Duration::from_secs(self.leeway_secs),
            require_typ: self.require_typ.clone(),
            timeout: Duration::from_secs(self.timeout_secs),
            jwks: self.jwks,
            redirect_uri,
            endpoints: self.endpoints.clone(),
            tls,
        })
    }
}

/// Reads `[idp.tls]`'s files and checks that they load (a client with them is built), so a
/// wrong file is refused at start, naming its setting.
fn resolve_tls(
    t: &IdpTlsSection,
    base: &Path,
    file: &Path,
) -> Result<crate::upstream::config::UpstreamTls, ConfigProblem> {
    let read = |key: &str, path: &std::path::PathBuf| {
        let path = base.join(path);
        read_material(&path)
            .map(|pem| (path, pem))
            .map_err(|e| e.problem(file, &format!("idp.tls.{key}")))
    };
    let bad = |key: &str, msg: String| invalid(file, &format!("idp.tls.{key}"), msg);
    let roots = match &t.ca_file {
        Some(ca) => {
            let (path, pem) = read("ca_file", ca)?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                bad(
                    "ca_file",
                    format!("{} is not PEM certificates: {e}", path.display()),
                )
            })?;
            if certs.is_empty() {
                return Err(bad(
                    "ca_file",
                    format!("{} holds no certificate", path.display()),
                ));
            }
            Some(pem)
        }
        None => None,
    };
    let identity = match (&t.client_cert_file, &t.client_key_file) {
        (Some(cert), Some(key)) => {
            let (_, mut pem) = read("client_cert_file", cert)?;
            let (key_path, key_pem) = read("client_key_file", key)?;
            pem.push(b'\n');
            pem.extend_from_slice(&key_pem);
            reqwest::Identity::from_pem(&pem).map_err(|e| {
                bad(
                    "client_key_file",
                    format!(
                        "{} with the certificate does not make a client identity: {e}",
                        key_path.display()
                    ),
                )
            })?;
            Some(pem)
        }
        (None, None) => None,
        (Some(_), None) => {
            return Err(bad(
                "client_key_file",
                "client_cert_file needs its private key".into(),
            ));
        }
        (None, Some(_)) => {
            return Err(bad(
                "client_cert_file",
                "client_key_file needs its certificate".into(),
            ));
        }
    };
    let tls = crate::upstream::config::UpstreamTls { roots, identity };
    crate::upstream::http::HttpClient::with_tls(Duration::from_secs(5), Some(&tls)).map_err(
        |e| {
            let key = if tls.identity.is_some() {
                "client_key_file"
            } else {
                "ca_file"
            };
            bad(key, format!("the TLS settings do not load: {e}"))
        },
    )?;
    Ok(tls)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(extra: &str) -> Result<IdpSection, toml::de::Error> {
        toml::from_str(&format!(
            "issuer = \"https://sso.sa.example\"\nclient_id = \"jisr\"\nalgorithms = [\"RS256\", \"ES256\"]\n{extra}"
        ))
    }

    fn sa() -> CountryCode {
        "SA".parse().unwrap()
    }

    #[test]
    fn secrets_come_from_env_or_file_never_toml() {
        let s = section(
            "client_auth = { method = \"client_secret_basic\", secret = { env = \"SA_SECRET\" } }",
        )
        .unwrap();
        let env = |k: &str| (k == "SA_SECRET").then(|| "s3cret".to_owned());
        let file = Path::new("countries/sa.toml");
        let cfg = s
            .resolve(file, sa(), "https://jisr/callback/sa".into(), &env)
            .unwrap();
        assert!(matches!(&cfg.client_auth, ClientAuth::SecretBasic(s) if s == "s3cret"));
        assert_eq!(format!("{:?}", cfg.client_auth), "SecretBasic(<redacted>)");
        let err = s.resolve(file, sa(), String::new(), &|_| None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "countries/sa.toml: idp.client_auth.secret: absent: environment variable SA_SECRET is not set"
        );
        // A literal secret in the TOML is refused; the message (all the loader keeps) does not echo it.
        let err =
            section("client_auth = { method = \"client_secret_basic\", secret = \"x-literal\" }")
                .unwrap_err()
                .message()
                .to_owned();
        assert!(
            err.contains("secrets are never written in the config"),
            "{err}"
        );
        assert!(!err.contains("x-literal"), "{err}");
        // The old spelling is gone.
        let err = section("client_auth = { method = \"client_secret_basic\", secret_env = \"X\" }")
            .unwrap_err();
        assert!(
            err.to_string().contains("unknown field `secret_env`"),
            "{err}"
        );
    }

    #[test]
    fn relative_secret_and_key_files_resolve_against_the_country_file() {
        let dir = tempfile::tempdir().unwrap();
        let countries = dir.path().join("countries");
        std::fs::create_dir_all(countries.join("secrets")).unwrap();
        std::fs::write(countries.join("secrets/sa"), "file-secret\n").unwrap();
        let file = countries.join("sa.toml");
        let s = section(
            "client_auth = { method = \"client_secret_basic\", secret = { file = \"secrets/sa\" } }",
        )
        .unwrap();
        let cfg = s.resolve(&file, sa(), String::new(), &|_| None).unwrap();
        assert!(matches!(&cfg.client_auth, ClientAuth::SecretBasic(s) if s == "file-secret"));

        let s = section(
            "client_auth = { method = \"private_key_jwt\", key_file = \"../keys/sa.pem\", alg = \"ES256\" }",
        )
        .unwrap();
        let err = s
            .resolve(&file, sa(), String::new(), &|_| None)
            .unwrap_err();
        assert!(err.is_absent(), "{err}");
        assert_eq!(err.key, "idp.client_auth.key_file");
        assert_eq!(
            err.problem,
            format!("{} not found", countries.join("../keys/sa.pem").display())
        );
        std::fs::create_dir_all(dir.path().join("keys")).unwrap();
        std::fs::write(dir.path().join("keys/sa.pem"), "not a key").unwrap();
        let err = s
            .resolve(&file, sa(), String::new(), &|_| None)
            .unwrap_err();
        assert!(!err.is_absent(), "{err}");
        assert!(err.problem.contains("is not a ES256 private key"), "{err}");
    }

    #[test]
    fn checks_name_the_key() {
        let auth = "client_auth = { method = \"client_secret_basic\", secret = { env = \"X\" } }";
        let cases = [
            ("issuer = \"http://idp.example\"", "issuer"),
            ("algorithms = [\"HS256\"]", "algorithms[0]"),
            ("algorithms = [\"none\"]", "algorithms[0]"),
            ("scopes = [\"profile\"]", "scopes"),
            ("timeout_secs = 0", "timeout_secs"),
            ("jwks = { min_refresh_secs = 0 }", "jwks.min_refresh_secs"),
            ("jwks = { min_refresh_secs = 16 }", "jwks.min_refresh_secs"),
            (
                "jwks = { default_max_age_secs = 0 }",
                "jwks.default_max_age_secs",
            ),
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
