//! `jisr serve` with `server.tls`: the gateway itself serves HTTPS (rustls, aws-lc-rs) with a
//! certificate from files, and sends HSTS.

use std::fs;

#[tokio::test]
async fn serve_speaks_https_with_the_configured_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir_all(d.join("countries")).unwrap();
    fs::create_dir_all(d.join("keys")).unwrap();
    // A test certificate for 127.0.0.1 (rcgen), trusted by the test client only.
    let cert =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    fs::write(d.join("tls.crt"), cert.cert.pem()).unwrap();
    fs::write(d.join("tls.key"), cert.signing_key.serialize_pem()).unwrap();
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
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let path = d.to_owned();
    let server =
        tokio::spawn(async move { jisr_gateway::serve::serve_until(&path, vars, stopped).await });

    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap()])
        .build()
        .unwrap();
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
