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
