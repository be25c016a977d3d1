//! Certified third-party OpenID implementations as the interop tests run them, each installed by
//! `scripts/prerequisites` and set up only through its own configuration:
//!
//! - panva's `oidc-provider` (npm) as a country's national IdP ([`OidcProviderIdp`]), with a
//!   gateway whose profile for that country points to it ([`gateway_with_national_idp`]);
//! - Python Authlib (PyPI, in `tests/interop/.venv`) as an agency ([`AuthlibAgency`]);
//! - Apache httpd with mod_auth_openidc (Debian) as an agency ([`ModAuthOpenidc`]), run as an
//!   unprivileged process on a free loopback port from a generated configuration.
//!
//! A missing tool fails the test under CI (`CI=true`); elsewhere it is skipped with a note, for
//! a machine where `scripts/prerequisites` genuinely could not install it.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use jisr_demo::Demo;
use jisr_gateway::app::{Gateway, system_clock};
use jisr_gateway::config::agencies::{Agencies, Agency};
use jisr_gateway::upstream::UpstreamConfig;
use serde_json::{Map, Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::TcpListener;
use tokio::process::{Child, ChildStdout, Command};

use crate::cc;

/// `tests/interop/`: the Node packages, the Python venv and the third-party runners.
pub fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("interop")
}

/// Whether this runs under CI, where every interop tool must be present.
pub fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// `true` when `what` is installed. When it is not: panics under CI (the install must not have
/// failed there), otherwise prints why the test is skipped and returns `false`.
pub fn available(what: &str, path: &Path) -> bool {
    if path.exists() {
        return true;
    }
    let why = format!(
        "{what}: {} is missing; run scripts/prerequisites (it installs it)",
        path.display()
    );
    assert!(!ci(), "{why}");
    eprintln!("SKIPPED (not installed here): {why}");
    false
}

/// A random URL-safe secret of 32 bytes (the gateway's own token generator).
pub fn random_secret() -> String {
    jisr_gateway::app::random_token(32)
}

/// A loopback listener on a free port and its base URL.
pub async fn bind() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

/// Reads the next line a child printed, failing with its stderr when it printed none in time.
async fn next_line(lines: &mut Lines<BufReader<ChildStdout>>, what: &str) -> String {
    match tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await {
        Ok(Ok(Some(line))) => line,
        other => panic!("{what} printed no line ({other:?})"),
    }
}

/// panva's `oidc-provider` running `tests/interop/oidc-provider-idp.mjs`: a national IdP
/// knowing the gateway as client `jisr`. Killed on drop.
pub struct OidcProviderIdp {
    pub issuer: String,
    /// The client secret the gateway authenticates with.
    pub secret: String,
    _child: Child,
    _accounts: tempfile::TempPath,
}

impl OidcProviderIdp {
    /// Starts oidc-provider for `country` with its synthetic citizens (the claims the
    /// development IdP would send, split between the `openid` and `profile` scopes), the
    /// country's acr values, and `login_acr` as the acr of its one login method.
    pub async fn start(country: &str, redirect_uri: &str, login_acr: &str) -> OidcProviderIdp {
        let code = cc(country);
        let mut accounts = Map::new();
        for c in jisr_devidp::citizens(code) {
            accounts.insert(
                c.id.into(),
                json!({
                    "sub": c.sub,
                    "id_token": jisr_devidp::claims::id_token_claims(code, c),
                    "userinfo": jisr_devidp::claims::userinfo_claims(code, c, login_acr),
                }),
            );
        }
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), Value::Object(accounts).to_string()).unwrap();
        let accounts = file.into_temp_path();
        let secret = random_secret();
        let mut child = Command::new("node")
            .arg("oidc-provider-idp.mjs")
            .args(["--client-id", "jisr", "--redirect-uri", redirect_uri])
            .args(["--login-acr", login_acr])
            .arg("--acr-values")
            .arg(jisr_devidp::claims::acr_values(code).join(" "))
            .arg("--accounts")
            .arg(&*accounts)
            .env("JISR_CLIENT_SECRET", &secret)
            .current_dir(interop_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("cannot start node: install Node.js 20+ and run scripts/prerequisites");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready: Value =
            serde_json::from_str(&next_line(&mut lines, "oidc-provider-idp.mjs").await).unwrap();
        // oidc-provider writes notices to stdout later: keep reading, or it dies of EPIPE.
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("oidc-provider: {line}");
            }
        });
        OidcProviderIdp {
            issuer: ready["issuer"].as_str().unwrap().to_owned(),
            secret,
            _child: child,
            _accounts: accounts,
        }
    }
}

/// A second gateway built from the demo's configuration, served on `listener` (its public URL
/// `url`), with the national IdP of `country` replaced by `issuer` (client `jisr`,
/// client_secret_basic with `secret`). Every other country and the agencies are the demo's.
pub async fn gateway_with_national_idp(
    demo: &Demo,
    (listener, url): (TcpListener, String),
    country: &str,
    issuer: &str,
    secret: &str,
) -> Arc<Gateway> {
    let mut config = demo.config().clone();
    config.server.listen = listener.local_addr().unwrap();
    config.server.public_url = url.parse().unwrap();
    for upstream in &mut config.upstreams {
        upstream.redirect_uri = upstream.redirect_uri.replace(&demo.gateway_url, &url);
        if upstream.country == cc(country) {
            *upstream = UpstreamConfig {
                issuer: issuer.to_owned(),
                client_id: "jisr".into(),
                client_auth: jisr_gateway::upstream::config::ClientAuth::SecretBasic(
                    secret.to_owned(),
                ),
                // The country's profile accepts these; oidc-provider signs with the first.
                algorithms: vec![
                    jsonwebtoken::Algorithm::PS256,
                    jsonwebtoken::Algorithm::RS256,
                ],
                endpoints: None,
                tls: None,
                ..upstream.clone()
            };
        }
    }
    let gateway = Arc::new(
        Gateway::from_config(
            config,
            Arc::new(jisr_store::MemoryStore::default()),
            system_clock(),
        )
        .unwrap(),
    );
    let up = gateway.upstreams.get(cc(country)).unwrap();
    up.discover().await.unwrap();
    tokio::spawn(jisr_gateway::http::run(
        listener,
        gateway.clone(),
        std::future::pending(),
    ));
    gateway
}

/// The Python interpreter of `tests/interop/.venv`, where Authlib is installed.
pub fn venv_python() -> PathBuf {
    interop_dir().join(".venv/bin/python")
}

/// An RSA key for `private_key_jwt`, generated by Authlib's JOSE library: (private JWK as
/// JSON, public JWK set as JSON for the registration's `jwks_file`).
pub async fn authlib_keygen() -> (String, String) {
    let out = Command::new(venv_python())
        .args(["authlib-agency.py", "keygen"])
        .current_dir(interop_dir())
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let keys: Value = serde_json::from_slice(&out.stdout).unwrap();
    let public = json!({ "keys": [keys["public"]] }).to_string();
    (keys["private"].to_string(), public)
}

/// Python Authlib as an agency, mid-flow: it printed its authorization URL and waits for the
/// URL the browser comes back with.
pub struct AuthlibAgency {
    pub authorization_url: String,
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl AuthlibAgency {
    /// Starts `authlib-agency.py flow`; `credential` is `("JISR_CLIENT_SECRET", secret)` or
    /// `("JISR_CLIENT_KEY", private JWK)`.
    pub async fn start(
        issuer: &str,
        client_id: &str,
        redirect_uri: &str,
        auth_method: &str,
        credential: (&str, &str),
    ) -> AuthlibAgency {
        Self::start_with(
            issuer,
            client_id,
            redirect_uri,
            auth_method,
            credential,
            &[],
        )
        .await
    }

    /// [`AuthlibAgency::start`] with more arguments of `authlib-agency.py flow`
    /// (`--post-logout-redirect-uri URI`).
    pub async fn start_with(
        issuer: &str,
        client_id: &str,
        redirect_uri: &str,
        auth_method: &str,
        credential: (&str, &str),
        extra: &[&str],
    ) -> AuthlibAgency {
        let mut child = Command::new(venv_python())
            .args(["authlib-agency.py", "flow", "--issuer", issuer])
            .args(["--client-id", client_id, "--redirect-uri", redirect_uri])
            .args(["--auth-method", auth_method])
            .args(extra)
            .env(credential.0, credential.1)
            .current_dir(interop_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await;
        let Ok(Ok(Some(first))) = first else {
            let out = child.wait_with_output().await.unwrap();
            panic!(
                "authlib-agency.py printed no authorization URL:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let first: Value = serde_json::from_str(&first).unwrap();
        AuthlibAgency {
            authorization_url: first["authorization_url"].as_str().unwrap().to_owned(),
            child,
            lines,
        }
    }

    /// Started with `--post-logout-redirect-uri`: hands Authlib the redirect back
    /// (`callback`); it signs in and answers with the logout URL it built. [`Self::finish`]
    /// then takes where the browser landed after the logout.
    pub async fn logout_url(&mut self, callback: &str) -> Result<String, String> {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin
            .write_all(format!("{callback}\n").as_bytes())
            .await
            .unwrap();
        stdin.flush().await.unwrap();
        let line = tokio::time::timeout(Duration::from_secs(30), self.lines.next_line())
            .await
            .expect("authlib-agency.py did not answer in 30 s")
            .unwrap();
        match line {
            Some(line) => {
                let v: Value = serde_json::from_str(&line).unwrap();
                Ok(v["logout_url"].as_str().unwrap().to_owned())
            }
            None => {
                let out = self.child.stderr.take();
                let mut err = String::new();
                if let Some(mut e) = out {
                    use tokio::io::AsyncReadExt;
                    let _ = e.read_to_string(&mut err).await;
                }
                Err(err)
            }
        }
    }

    /// Hands Authlib the redirect back (`callback`), and returns its summary: the code
    /// exchange, the ID token it validated, userinfo. `Err` carries Authlib's error report.
    pub async fn finish(mut self, callback: &str) -> Result<Value, String> {
        let mut stdin = self.child.stdin.take().unwrap();
        stdin
            .write_all(format!("{callback}\n").as_bytes())
            .await
            .unwrap();
        drop(stdin);
        let line = tokio::time::timeout(Duration::from_secs(30), self.lines.next_line())
            .await
            .expect("authlib-agency.py did not answer in 30 s")
            .unwrap();
        let out = self.child.wait_with_output().await.unwrap();
        match line {
            Some(line) if out.status.success() => Ok(serde_json::from_str(&line).unwrap()),
            _ => Err(String::from_utf8_lossy(&out.stderr).into_owned()),
        }
    }
}

/// Debian's Apache httpd binary and the mod_auth_openidc module it loads.
pub const APACHE: &str = "/usr/sbin/apache2";
pub const MOD_AUTH_OPENIDC: &str = "/usr/lib/apache2/modules/mod_auth_openidc.so";

/// Apache httpd with mod_auth_openidc protecting `/protected/`, as an agency of the gateway:
/// one unprivileged process on a free loopback port, configured from a generated file. The
/// protected page prints claims mod_auth_openidc passes to it (server-side includes).
pub struct ModAuthOpenidc {
    pub base_url: String,
    pub redirect_uri: String,
    pub dir: tempfile::TempDir,
    _child: Child,
}

/// The page behind mod_auth_openidc: claims of the ID token and userinfo, one per line.
const PROTECTED_PAGE: &str = r#"<!doctype html>
<title>Agency (mod_auth_openidc)</title>
<pre>
REMOTE_USER=<!--#echo var="REMOTE_USER" -->
iss=<!--#echo var="OIDC_CLAIM_iss" -->
acr=<!--#echo var="OIDC_CLAIM_acr" -->
origin_country=<!--#echo var="OIDC_CLAIM_origin_country" -->
destination_country=<!--#echo var="OIDC_CLAIM_destination_country" -->
verified_claims=<!--#echo encoding="none" var="OIDC_CLAIM_verified_claims" -->
</pre>
"#;

impl ModAuthOpenidc {
    /// A free loopback port for Apache (its redirect URI is registered before it starts).
    pub async fn free_port() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    }

    /// The redirect URI mod_auth_openidc will use on `port`.
    pub fn redirect_uri(port: u16) -> String {
        format!("http://127.0.0.1:{port}/protected/redirect_uri")
    }

    /// Starts Apache on `port` for the client `client_id` / `secret` of the gateway at
    /// `issuer`.
    pub async fn start(port: u16, issuer: &str, client_id: &str, secret: &str) -> ModAuthOpenidc {
        let base_url = format!("http://127.0.0.1:{port}");
        let redirect_uri = Self::redirect_uri(port);
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("htdocs")).unwrap();
        std::fs::create_dir(d.join("htdocs/protected")).unwrap();
        std::fs::write(d.join("htdocs/protected/index.html"), PROTECTED_PAGE).unwrap();
        let modules = "/usr/lib/apache2/modules";
        let conf = format!(
            r#"# Generated by tests/src/certified.rs for one test run.
ServerRoot "{d}"
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile "{d}/httpd.pid"
DefaultRuntimeDir "{d}"
Mutex file:{d} default
ErrorLog "{d}/error.log"
LogLevel warn auth_openidc:info
LoadModule mpm_prefork_module {modules}/mod_mpm_prefork.so
LoadModule authn_core_module {modules}/mod_authn_core.so
LoadModule authz_core_module {modules}/mod_authz_core.so
LoadModule authz_user_module {modules}/mod_authz_user.so
LoadModule include_module {modules}/mod_include.so
LoadModule auth_openidc_module {MOD_AUTH_OPENIDC}
DocumentRoot "{d}/htdocs"

OIDCProviderMetadataURL {issuer}/.well-known/openid-configuration
OIDCClientID {client_id}
OIDCClientSecret {secret}
OIDCRedirectURI {redirect_uri}
OIDCCryptoPassphrase {passphrase}
OIDCPKCEMethod S256
OIDCScope "openid"
OIDCProviderTokenEndpointAuth client_secret_basic
OIDCRemoteUserClaim sub
OIDCPassClaimsAs environment
OIDCInfoHook iat access_token_expires id_token userinfo

<Directory "{d}/htdocs">
  Require all granted
</Directory>
<Location /protected>
  AuthType openid-connect
  Require valid-user
  Options +Includes
  SetOutputFilter INCLUDES
</Location>
"#,
            d = d.display(),
            passphrase = random_secret(),
        );
        std::fs::write(d.join("httpd.conf"), conf).unwrap();
        // Root (as in CI) starts Apache as www-data, which must read the config and write its
        // logs and pid file here.
        let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
        let mut command = if root {
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o777)).unwrap();
            let mut c = Command::new("setpriv");
            c.args([
                "--reuid=www-data",
                "--regid=www-data",
                "--clear-groups",
                APACHE,
            ]);
            c
        } else {
            Command::new(APACHE)
        };
        let child = command
            .arg("-X")
            .arg("-f")
            .arg(d.join("httpd.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(d.join("stderr.log")).unwrap())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let apache = ModAuthOpenidc {
            base_url,
            redirect_uri,
            dir,
            _child: child,
        };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return apache;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("apache did not listen on {port}:\n{}", apache.error_log());
    }

    /// Apache's error log so far (mod_auth_openidc writes its reasons there), after what it
    /// printed before it had one (configuration errors).
    pub fn error_log(&self) -> String {
        let read = |f: &str| std::fs::read_to_string(self.dir.path().join(f)).unwrap_or_default();
        read("stderr.log") + &read("error.log")
    }
}

/// One agency as an integrator registers it: `fields` are the lines of its `[[agency]]` table
/// in `agencies.toml`, read by the gateway's own loader (so optional fields keep their
/// defaults); `files` are written beside it (a JWKS), `env` holds the secrets it names.
pub fn register(fields: &str, files: &[(&str, &str)], env: &[(&str, &str)]) -> Agency {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in files {
        std::fs::write(dir.path().join(name), content).unwrap();
    }
    let file = dir.path().join("agencies.toml");
    std::fs::write(&file, format!("[[agency]]\n{fields}\n")).unwrap();
    let lookup = |name: &str| {
        env.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    };
    let agencies = Agencies::load(&file, &lookup).unwrap_or_else(|p| panic!("{p:#?}"));
    agencies.iter().next().unwrap().clone()
}
