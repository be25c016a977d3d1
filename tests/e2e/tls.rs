//! `jisr serve` with `server.tls`: the gateway itself serves HTTPS (rustls, aws-lc-rs) with a
//! certificate from files, and sends HSTS.

use std::fs;
use std::path::Path;
use std::time::Duration;

/// A self-signed certificate for 127.0.0.1 (rcgen), trusted by the test clients only.
fn certificate() -> rcgen::CertifiedKey<rcgen::KeyPair> {
    rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .unwrap()
}

/// Writes `cert` and its key where `gateway.toml` names them (`tls.crt`, `tls.key`).
fn write_certificate(d: &Path, cert: &rcgen::CertifiedKey<rcgen::KeyPair>) {
    fs::write(d.join("tls.key"), cert.signing_key.serialize_pem()).unwrap();
    fs::write(d.join("tls.crt"), cert.cert.pem()).unwrap();
}

/// A configuration directory for `jisr serve` over TLS with `cert` (OM only, one BH agency,
/// in-memory store, no drain); returns its port and the secrets it names.
fn tls_config(
    d: &Path,
    cert: &rcgen::CertifiedKey<rcgen::KeyPair>,
) -> (u16, Vec<(String, String)>) {
    fs::create_dir_all(d.join("countries")).unwrap();
    fs::create_dir_all(d.join("keys")).unwrap();
    write_certificate(d, cert);
    let (key_file, _kid) = jisr_gateway::provider::keys::generate_key_file(
        jisr_gateway::provider::keys::SigningAlg::ES256,
        &d.join("keys"),
    )
    .unwrap();
    let om = fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../config/countries/om.toml"
    ))
    .unwrap()
    .replace("https://eid.om.example", "http://127.0.0.1:9");
    fs::write(d.join("countries/om.toml"), om).unwrap();
    fs::write(d.join("policy.toml"), "[[rule]]\norigin = \"OM\"\ndestination = \"*\"\nmin_loa = \"substantial\"\nidentifier = \"pairwise\"\nconsent = true\n").unwrap();
    fs::write(
        d.join("agencies.toml"),
        "[[agency]]\nclient_id = \"bh-test\"\nname_en = \"Test\"\nname_ar = \"اختبار\"\ncountry = \"BH\"\nsector = \"health\"\nredirect_uris = [\"https://agency.example/cb\"]\nauth = { method = \"client_secret_basic\", secret = { env = \"AGENCY_SECRET\" } }\n",
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    fs::write(
        d.join("gateway.toml"),
        format!(
            "pairwise_key = {{ env = \"PAIRWISE\" }}\n[server]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"https://127.0.0.1:{port}\"\ntls = {{ cert_file = \"tls.crt\", key_file = \"tls.key\" }}\ndrain_secs = 0\n[store]\nkind = \"memory\"\n[keys]\nfiles = [\"{}\"]\n",
            key_file.display()
        ),
    )
    .unwrap();
    let vars = vec![
        ("PAIRWISE".to_owned(), format!("hex:{}", "cd".repeat(32))),
        (
            "JISR_OM_CLIENT_SECRET".to_owned(),
            "om-client-secret".to_owned(),
        ),
        (
            "AGENCY_SECRET".to_owned(),
            "an agency secret of at least 32 bytes!".to_owned(),
        ),
    ];
    (port, vars)
}

/// Starts `serve_until` on `d`; `stop` ends it.
fn serve(
    d: &Path,
    vars: Vec<(String, String)>,
) -> (
    tokio::sync::watch::Sender<bool>,
    tokio::task::JoinHandle<Result<(), jisr_gateway::serve::ServeError>>,
) {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let path = d.to_owned();
    let server =
        tokio::spawn(async move { jisr_gateway::serve::serve_until(&path, vars, stopped).await });
    (stop, server)
}

/// A client that trusts only `certs`.
fn client(certs: &[&rcgen::CertifiedKey<rcgen::KeyPair>]) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_only(
            certs
                .iter()
                .map(|c| reqwest::Certificate::from_pem(c.cert.pem().as_bytes()).unwrap()),
        )
        .build()
        .unwrap()
}

#[tokio::test]
async fn serve_speaks_https_with_the_configured_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cert = certificate();
    let (port, vars) = tls_config(d, &cert);
    let (stop, server) = serve(d, vars);

    let client = client(&[&cert]);
    let url = format!("https://127.0.0.1:{port}/.well-known/openid-configuration");
    let mut response = None;
    for _ in 0..100 {
        if let Ok(r) = client.get(&url).send().await {
            response = Some(r);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let response = response.expect("the gateway answers over TLS");
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .starts_with("max-age=")
    );
    let meta: serde_json::Value = response.json().await.unwrap();
    assert_eq!(meta["issuer"], format!("https://127.0.0.1:{port}"));
    // Plain HTTP on the TLS port gets no page.
    let plain = reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await;
    assert!(plain.map(|r| !r.status().is_success()).unwrap_or(true));
    stop.send(true).unwrap();
    server.await.unwrap().unwrap();
}

/// A renewed certificate written over the files is served to new connections within a few
/// seconds, while a connection opened before keeps working; a broken pair written next is
/// not loaded and the renewed one stays.
#[tokio::test]
async fn serve_reloads_a_renewed_certificate_without_dropping_connections() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (first, renewed) = (certificate(), certificate());
    let (port, vars) = tls_config(d, &first);
    let (stop, server) = serve(d, vars);
    let url = format!("https://127.0.0.1:{port}/healthz");
    let old = client(&[&first]);
    let mut up = false;
    for _ in 0..100 {
        if old.get(&url).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "the gateway answers over TLS");

    write_certificate(d, &renewed);
    let new = client(&[&renewed]);
    let mut served = false;
    for _ in 0..60 {
        // A fresh client each time: a new handshake.
        if client(&[&renewed]).get(&url).send().await.is_ok() {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        served,
        "the renewed certificate is served to new connections"
    );
    // The connection opened under the first certificate is still open and still answers
    // (a new one would have to accept the renewed certificate, which this client does not).
    let r = old
        .get(&url)
        .send()
        .await
        .expect("the old connection stays up");
    assert_eq!(r.status(), 200);
    assert!(
        client(&[&first]).get(&url).send().await.is_err(),
        "new connections no longer get the first certificate"
    );

    // A key that is not the certificate's: not loaded, the renewed pair stays.
    fs::write(d.join("tls.key"), certificate().signing_key.serialize_pem()).unwrap();
    tokio::time::sleep(jisr_gateway::serve::TLS_RELOAD_EVERY * 2).await;
    let r = client(&[&renewed]).get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(new.get(&url).send().await.unwrap().status(), 200);
    stop.send(true).unwrap();
    server.await.unwrap().unwrap();
}

// ---- Outbound: the gateway's calls to a national IdP over TLS (`[idp.tls]`) ----------------

/// A certificate authority made at test time.
struct Ca {
    cert: rcgen::Certificate,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Ca {
            cert,
            issuer: rcgen::Issuer::new(params, key),
        }
    }

    /// A leaf for 127.0.0.1 valid until `not_after` (year), for a server or a client.
    fn leaf(&self, client: bool, not_after: i32) -> (rcgen::Certificate, rcgen::KeyPair) {
        let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
        params.extended_key_usages = vec![if client {
            rcgen::ExtendedKeyUsagePurpose::ClientAuth
        } else {
            rcgen::ExtendedKeyUsagePurpose::ServerAuth
        }];
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(not_after, 1, 1);
        let key = rcgen::KeyPair::generate().unwrap();
        (params.signed_by(&key, &self.issuer).unwrap(), key)
    }
}

/// A stand-in national IdP endpoint over TLS with `server`'s certificate, which requires a
/// client certificate issued by `clients`. Answers any path with a small JSON document.
async fn mtls_server(server: &(rcgen::Certificate, rcgen::KeyPair), clients: &Ca) -> String {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let mut roots = rustls::RootCertStore::empty();
    roots.add(clients.cert.der().clone()).unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier =
        rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider.clone())
            .build()
            .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![CertificateDer::from(server.0.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server.1.serialize_der())),
        )
        .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let app =
        axum::Router::new().fallback(|| async { axum::Json(serde_json::json!({"ok": true})) });
    let tls = axum_server::tls_rustls::RustlsConfig::from_config(std::sync::Arc::new(config));
    tokio::spawn(async move {
        axum_server::from_tcp_rustls(listener, tls)
            .unwrap()
            .serve(app.into_make_service())
            .await
    });
    format!("https://{addr}")
}

/// A country file's `[idp]` with `tls` (the lines of `[idp.tls]`), its files in `d`.
fn idp_section(tls: &str) -> jisr_gateway::config::idp::IdpSection {
    toml::from_str(&format!(
        "issuer = \"https://127.0.0.1\"\nclient_id = \"jisr\"\nalgorithms = [\"ES256\"]\nclient_auth = {{ method = \"client_secret_basic\", secret = {{ env = \"S\" }} }}\n[tls]\n{tls}"
    ))
    .unwrap()
}

/// Resolves `[idp.tls]` from the country file `d/countries/xx.toml` (files relative to it).
fn resolve(
    d: &Path,
    tls: &str,
) -> Result<jisr_gateway::upstream::UpstreamConfig, jisr_mapping::ConfigProblem> {
    let env = |k: &str| (k == "S").then(|| "secret".to_owned());
    idp_section(tls).resolve(
        &d.join("countries/xx.toml"),
        "SA".parse().unwrap(),
        "https://jisr.example/callback/sa".into(),
        &env,
    )
}

async fn call(config: &jisr_gateway::upstream::UpstreamConfig, url: &str) -> Result<(), String> {
    let http = jisr_gateway::upstream::http::HttpClient::with_tls(
        Duration::from_secs(5),
        config.tls.as_ref(),
    )
    .unwrap();
    http.send(http.reqwest().get(url), "discovery")
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The IdP's server certificate is checked against `[idp.tls] ca_file` only, and the gateway
/// presents `client_cert_file` / `client_key_file` when the IdP asks for one. Each failure is
/// a clear error: at load naming the setting, or at the handshake saying what the
/// certificate's fault is.
#[tokio::test]
async fn calls_to_a_national_idp_verify_its_configured_roots_and_present_a_client_certificate() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fs::create_dir_all(d.join("countries/tls")).unwrap();
    let idp_ca = Ca::new("SA IdP test CA");
    let client_ca = Ca::new("SA client test CA");
    let other_ca = Ca::new("Someone else's CA");
    let server = idp_ca.leaf(false, 2100);
    let url = mtls_server(&server, &client_ca).await;
    let (client_cert, client_key) = client_ca.leaf(true, 2100);
    let write =
        |name: &str, text: String| fs::write(d.join("countries/tls").join(name), text).unwrap();
    write("idp-ca.pem", idp_ca.cert.pem());
    write("other-ca.pem", other_ca.cert.pem());
    write("client.pem", client_cert.pem());
    write("client.key", client_key.serialize_pem());
    let (stranger_cert, stranger_key) = other_ca.leaf(true, 2100);
    write("stranger.pem", stranger_cert.pem());
    write("stranger.key", stranger_key.serialize_pem());
    let (_, wrong_key) = client_ca.leaf(true, 2100);
    write("wrong.key", wrong_key.serialize_pem());
    write("not-pem.pem", "this is not a certificate".into());

    // The right roots and the right client certificate: the call goes through.
    let good = resolve(
        d,
        "ca_file = \"tls/idp-ca.pem\"\nclient_cert_file = \"tls/client.pem\"\nclient_key_file = \"tls/client.key\"",
    )
    .unwrap();
    assert!(!format!("{good:?}").contains("PRIVATE KEY"), "{good:?}");
    call(&good, &url).await.unwrap();

    // Roots that did not issue the IdP's certificate: refused at the handshake, saying why.
    let untrusted = resolve(
        d,
        "ca_file = \"tls/other-ca.pem\"\nclient_cert_file = \"tls/client.pem\"\nclient_key_file = \"tls/client.key\"",
    )
    .unwrap();
    let err = call(&untrusted, &url).await.unwrap_err();
    assert!(
        err.contains("TLS handshake failed") && err.contains("UnknownIssuer"),
        "{err}"
    );
    // The system's roots do not know a test CA either: no silent trust.
    let err = call(&resolve(d, "").unwrap(), &url).await.unwrap_err();
    assert!(err.contains("TLS handshake failed"), "{err}");

    // No client certificate, or one the IdP does not trust: the IdP refuses the handshake.
    let anonymous = resolve(d, "ca_file = \"tls/idp-ca.pem\"").unwrap();
    let err = call(&anonymous, &url).await.unwrap_err();
    assert!(err.contains("TLS handshake failed"), "{err}");
    let stranger = resolve(
        d,
        "ca_file = \"tls/idp-ca.pem\"\nclient_cert_file = \"tls/stranger.pem\"\nclient_key_file = \"tls/stranger.key\"",
    )
    .unwrap();
    let err = call(&stranger, &url).await.unwrap_err();
    assert!(err.contains("TLS handshake failed"), "{err}");
    // A key that is not the certificate's is refused at load (rustls checks the pair).
    let problem = |tls: &str| resolve(d, tls).unwrap_err().to_string();
    let mismatched = problem(
        "ca_file = \"tls/idp-ca.pem\"\nclient_cert_file = \"tls/client.pem\"\nclient_key_file = \"tls/wrong.key\"",
    );
    assert!(
        mismatched.contains("idp.tls.client_key_file"),
        "{mismatched}"
    );

    // An expired server certificate: refused at the handshake, saying so.
    let expired_server = idp_ca.leaf(false, 2021);
    let expired_url = mtls_server(&expired_server, &client_ca).await;
    let err = call(&good, &expired_url).await.unwrap_err();
    assert!(
        err.contains("TLS handshake failed") && err.to_lowercase().contains("expired"),
        "{err}"
    );

    // Files that do not load are refused at start, naming the setting.
    let not_pem = problem("ca_file = \"tls/not-pem.pem\"");
    assert!(
        not_pem.contains("idp.tls.ca_file") && not_pem.contains("no certificate"),
        "{not_pem}"
    );
    let missing = problem("ca_file = \"tls/nowhere.pem\"");
    assert!(
        missing.contains("idp.tls.ca_file") && missing.contains("not found"),
        "{missing}"
    );
    let half = problem("client_cert_file = \"tls/client.pem\"");
    assert!(
        half.contains("idp.tls.client_key_file: client_cert_file needs its private key"),
        "{half}"
    );
}
