//! The `jisr` binary, run as an operator would.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn jisr() -> Command {
    let mut cmd = Command::cargo_bin("jisr").unwrap();
    cmd.current_dir(root())
        .env_remove("JISR_CONFIG")
        .env_remove("JISR_PAIRWISE_KEY_FILE");
    cmd
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A copy of the shipped config that a test may break.
fn config_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("countries")).unwrap();
    for entry in fs::read_dir(root().join("config/countries")).unwrap() {
        let p = entry.unwrap().path();
        fs::copy(
            &p,
            dir.path().join("countries").join(p.file_name().unwrap()),
        )
        .unwrap();
    }
    fs::copy(
        root().join("config/policy.toml"),
        dir.path().join("policy.toml"),
    )
    .unwrap();
    dir
}

#[test]
fn check_config_accepts_the_shipped_config() {
    let out = jisr().args(["check-config"]).output().unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "ok: 6 country profiles (AE, BH, KW, OM, QA, SA), policy with 5 rules, 3 agencies, gateway config"
    );
}

/// `jisr` with none of the shipped config's secrets in its environment.
fn jisr_without_secrets() -> Command {
    let mut cmd = jisr();
    for var in [
        "JISR_PAIRWISE_KEY",
        "JISR_STORE_ENCRYPTION_KEY",
        "JISR_AGENCY_BH_MOH_SECRET",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// A copy of the whole shipped config directory, gateway.toml and agencies included.
fn full_config_copy() -> tempfile::TempDir {
    let dir = config_copy();
    for f in ["gateway.toml", "agencies.toml"] {
        fs::copy(root().join("config").join(f), dir.path().join(f)).unwrap();
    }
    fs::create_dir(dir.path().join("agencies")).unwrap();
    fs::copy(
        root().join("config/agencies/sa-moe.jwks.json"),
        dir.path().join("agencies/sa-moe.jwks.json"),
    )
    .unwrap();
    dir
}

#[test]
fn check_config_on_gateway_toml_checks_everything_and_notes_absent_secrets() {
    let out = jisr_without_secrets()
        .args(["check-config", "--config", "config/gateway.toml"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "ok: 6 country profiles (AE, BH, KW, OM, QA, SA), policy with 5 rules, 3 agencies, gateway config"
    );
    let err = stderr(&out);
    for note in [
        "note: config/gateway.toml: pairwise_key: environment variable JISR_PAIRWISE_KEY is not set (not on this machine; `jisr serve` needs it)",
        "note: config/gateway.toml: keys.files[0]: config/keys/signing-2025-06.pem not found",
        "note: config/agencies.toml: agency[1].auth.secret: config/secrets/om-mol.secret not found",
        "note: config/countries/kw.toml: idp.client_auth.secret: config/countries/../secrets/kw-client-secret not found",
        "note: config/countries/sa.toml: idp.client_auth.key_file: config/countries/../secrets/sa-client-key.pem not found",
    ] {
        assert!(err.contains(note), "{err}");
    }

    let out = jisr()
        .args(["check-config", "--config", "config/agencies.toml"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stdout(&out));
    assert_eq!(stdout(&out).trim(), "ok: 3 agencies");
}

#[test]
fn check_config_reports_gateway_and_agency_problems() {
    let dir = full_config_copy();
    let d = dir.path();
    let gateway = fs::read_to_string(d.join("gateway.toml")).unwrap();
    fs::write(
        d.join("gateway.toml"),
        gateway.replace("prefix = \"jisr:\"", "prefix = \"jisr:\"\ncolour = \"red\""),
    )
    .unwrap();
    let agencies = fs::read_to_string(d.join("agencies.toml")).unwrap();
    fs::write(
        d.join("agencies.toml"),
        agencies
            .replace(
                "client_id = \"om-mol-services\"",
                "client_id = \"bh-moh-portal\"",
            )
            .replace("country = \"SA\"", "country = \"EG\"")
            .replace("sector = \"labour\"", "sector = \"\"")
            .replace(
                "https://portal.moh.bh.example/oidc/callback",
                "http://portal.moh.bh.example/oidc/callback#x",
            )
            .replace(
                "https://noor.moe.sa.example/sso/jisr/callback",
                "https://noor.moe.sa.example/sso/jisr/callback#top",
            ),
    )
    .unwrap();
    let out = jisr_without_secrets()
        .args(["check-config", "--config"])
        .arg(d)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let g = d.join("gateway.toml").display().to_string();
    let a = d.join("agencies.toml").display().to_string();
    let agency_lines = format!(
        "{a}: agency[0].redirect_uris[0]: http is allowed only on loopback (127.0.0.1, localhost, [::1]); use https\n\
         {a}: agency[1].client_id: duplicate client_id `bh-moh-portal` (also agency[0])\n\
         {a}: agency[1].sector: must not be empty\n\
         {a}: agency[2].country: EG is not a GCC member state\n\
         {a}: agency[2].redirect_uris[0]: must not contain a fragment\n"
    );
    // Every problem at once: a broken gateway.toml does not hide the files beside it.
    assert_eq!(
        stdout(&out),
        format!(
            "{g}: store.colour: unknown field `colour`, expected one of `kind`, `max_entries`, `url`, `prefix`, `timeout_ms`, `encryption_key`, `sentinel_service`, `sentinels`, `cluster_nodes`\n{agency_lines}"
        )
    );
    assert!(
        stderr(&out).contains("6 problem(s) found"),
        "{}",
        stderr(&out)
    );

    // Checked through gateway.toml itself, with its TTL out of range.
    fs::write(
        d.join("gateway.toml"),
        gateway.replace("code_ttl_secs = 60 ", "code_ttl_secs = 90 "),
    )
    .unwrap();
    let out = jisr_without_secrets()
        .args(["check-config", "--config"])
        .arg(d.join("gateway.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out),
        format!("{g}: tokens.code_ttl_secs: must be between 1 and 60 seconds\n{agency_lines}")
    );
}
#[test]
fn check_config_applies_env_overrides_and_checks_present_secrets() {
    let out = jisr_without_secrets()
        .args(["check-config"])
        .env("JISR_STORE__URL", "http://redis.example")
        .env("JISR_TOKENS__CODE_TTL_SECS", "0")
        .env("JISR_PAIRWISE_KEY", "short")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out),
        "$JISR_STORE__URL: store.url: store URL must start with redis:// or rediss://\n\
         $JISR_TOKENS__CODE_TTL_SECS: tokens.code_ttl_secs: must be between 1 and 60 seconds\n"
    );
    // Once the gateway config is valid, a secret that is set but unusable is a problem.
    let out = jisr_without_secrets()
        .args(["check-config"])
        .env("JISR_PAIRWISE_KEY", "short")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out),
        "config/gateway.toml: pairwise_key: pairwise key must be at least 32 bytes, got 5\n"
    );
}

#[test]
fn check_config_reports_each_problem_as_file_key_problem() {
    let dir = config_copy();
    let d = dir.path();
    // Unknown key in a profile.
    let sa = fs::read_to_string(d.join("countries/sa.toml")).unwrap();
    fs::write(
        d.join("countries/sa.toml"),
        sa.replace("[birthdate]", "[birthdate]\nformat_hint = 1"),
    )
    .unwrap();
    // Malformed TOML.
    fs::write(
        d.join("countries/zz.toml"),
        "country = \"QA\"\n[identifier\n",
    )
    .unwrap();

    let out = jisr()
        .args(["check-config", "--config"])
        .arg(d)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    let sa_file = d.join("countries/sa.toml").display().to_string();
    let zz_file = d.join("countries/zz.toml").display().to_string();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(
        lines[0],
        format!(
            "{sa_file}: birthdate.format_hint: unknown field `format_hint`, expected one of `claim`, `from`, `format`, `calendar`"
        )
    );
    assert_eq!(
        lines[1],
        format!("{zz_file}: line 2: unclosed table, expected `]`")
    );
    assert!(stderr(&out).contains("2 problem(s) found"));
}

#[test]
fn check_config_cross_checks_policy_against_profiles() {
    let dir = config_copy();
    let d = dir.path();
    // A policy naming a claim the origin's profile does not produce (QA has no gender), an
    // origin without a profile, and a destination outside the GCC.
    let policy = fs::read_to_string(d.join("policy.toml")).unwrap();
    fs::write(
        d.join("policy.toml"),
        format!(
            "{policy}\n[[rule]]\norigin = \"QA\"\ndestination = \"OM\"\nmin_loa = \"high\"\nidentifier = \"pairwise\"\nconsent = true\nrelease = [\"gender\"]\n\
             \n[[rule]]\norigin = \"FR\"\ndestination = \"EG\"\nallow = false\n"
        ),
    )
    .unwrap();
    let out = jisr()
        .args(["check-config", "--config"])
        .arg(d)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let policy_file = d.join("policy.toml").display().to_string();
    let qa_file = d.join("countries/qa.toml").display().to_string();
    assert_eq!(
        stdout(&out),
        format!(
            "{policy_file}: rule[5].release[0]: rule QA→OM releases `gender` but the QA profile ({qa_file}) does not produce it\n\
             {policy_file}: rule[6].origin: rule FR→EG: no country profile for FR\n\
             {policy_file}: rule[6].destination: rule FR→EG: EG is not a GCC member state\n"
        )
    );
}

#[test]
fn check_config_on_single_files() {
    let out = jisr()
        .args(["check-config", "--config", "config/countries/ae.toml"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(stdout(&out).trim(), "ok: country profile for AE");
    let out = jisr()
        .args(["check-config", "--config", "config/policy.toml"])
        .output()
        .unwrap();
    assert_eq!(stdout(&out).trim(), "ok: policy with 5 rules");
    let out = jisr()
        .args(["check-config", "--config", "no/such/file.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out).trim(), "no/such/file.toml: (file): not found");
}

#[test]
fn check_config_rejects_a_bad_regex_and_checksum_name() {
    let dir = config_copy();
    let d = dir.path();
    let ae = fs::read_to_string(d.join("countries/ae.toml")).unwrap();
    fs::write(
        d.join("countries/ae.toml"),
        ae.replace("checksum = \"luhn\"", "checksum = \"verhoeff\""),
    )
    .unwrap();
    let om = fs::read_to_string(d.join("countries/om.toml")).unwrap();
    fs::write(
        d.join("countries/om.toml"),
        om.replace("'^[0-9]{8,9}$'", "'^[0-9]{8,9$'"),
    )
    .unwrap();
    let out = jisr()
        .args(["check-config", "--config"])
        .arg(d)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("ae.toml: identifier.checksum: unknown variant `verhoeff`, expected `luhn`"),
        "{text}"
    );
    assert!(
        text.contains("om.toml: identifier.pattern: invalid regex"),
        "{text}"
    );
}

#[test]
fn map_prints_the_assertion() {
    let key = tempfile::NamedTempFile::new().unwrap();
    fs::write(key.path(), [5u8; 32]).unwrap();
    let run = || {
        jisr()
            .args([
                "map",
                "--country",
                "KWT",
                "--claims",
                "docs/examples/kw-claims.json",
                "--destination",
                "om",
                "--sector",
                "om:health",
            ])
            .arg("--pairwise-key-file")
            .arg(key.path())
            .output()
            .unwrap()
    };
    let out = run();
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["origin_country"], "KW");
    assert_eq!(v["destination_country"], "OM");
    assert_eq!(v["acr"], "urn:jisr:loa:high");
    assert_eq!(v["verified_claims"]["claims"]["birthdate"], "1990-01-01");
    assert_eq!(v["verified_claims"]["claims"]["given_name#ar"], "يوسف");
    let sub = v["sub"].as_str().unwrap();
    assert!(
        sub.starts_with("KW/OM/") && !sub.contains("290010112345"),
        "{sub}"
    );
    // Same key, same sector: same pseudonym.
    let again: Value = serde_json::from_str(&stdout(&run())).unwrap();
    assert_eq!(again["sub"], v["sub"]);
    assert!(stderr(&out).contains("rule *→*: consent required"));
}

#[test]
fn map_refusals_exit_2_with_a_clear_error() {
    let out = jisr()
        .args([
            "map",
            "--country",
            "QA",
            "--claims",
            "docs/examples/qa-claims.json",
            "--destination",
            "KW",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("error: no policy rule allows releasing identities from QA to KW"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());

    let out = jisr()
        .args([
            "map",
            "--country",
            "SA",
            "--claims",
            "docs/examples/sa-claims.json",
            "--destination",
            "BH",
            "--acr",
            "urn:sa:sso:loa:2",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(
            "error: level of assurance substantial is below the minimum high of policy rule SA→BH"
        ),
        "{}",
        stderr(&out)
    );

    let bad = tempfile::NamedTempFile::new().unwrap();
    fs::write(bad.path(), "{\"userinfo\": ").unwrap();
    let out = jisr()
        .args(["map", "--country", "AE", "--claims"])
        .arg(bad.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is not JSON"), "{}", stderr(&out));

    let out = jisr()
        .args([
            "map",
            "--country",
            "XX",
            "--claims",
            "docs/examples/sa-claims.json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--country: `XX` not an ISO 3166-1"),
        "{}",
        stderr(&out)
    );

    let out = jisr()
        .args([
            "map",
            "--country",
            "FR",
            "--claims",
            "docs/examples/sa-claims.json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no country profile for FR"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn map_errors_never_echo_personal_data() {
    let canary = "1098765430"; // a Saudi-shaped id failing Luhn
    let mut v: Value = serde_json::from_str(
        &fs::read_to_string(root().join("docs/examples/sa-claims.json")).unwrap(),
    )
    .unwrap();
    v["id_token"]["national_id"] = Value::from(canary);
    v["id_token"]["given_name#en"] = Value::from("CanaryGivenName");
    let f = tempfile::NamedTempFile::new().unwrap();
    fs::write(f.path(), v.to_string()).unwrap();
    let out = jisr()
        .args(["map", "--country", "SA", "--destination", "BH", "--claims"])
        .arg(f.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        all.contains(
            "attribute `person_identifier` from claim `national_id` fails the `luhn` checksum"
        ),
        "{all}"
    );
    assert!(
        !all.contains(canary) && !all.contains("CanaryGivenName"),
        "{all}"
    );
}

/// `jisr demo` on free ports: it prints where to go, and the demo agency answers there.
#[cfg(feature = "demo")]
#[test]
fn demo_starts_and_prints_the_agency_url() {
    use std::io::{BufRead, BufReader, Read, Write};
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("jisr"))
        .args([
            "demo",
            "--port",
            "0",
            "--agency-port",
            "0",
            "--admin-port",
            "0",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut agency = None;
    for line in BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .take(20)
    {
        if let Some(url) = line.trim().strip_prefix("Open the demo agency:") {
            agency = Some(url.trim().trim_end_matches('/').to_owned());
            break;
        }
    }
    let agency = agency.expect("demo prints the agency URL");
    let addr = agency.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    child.kill().unwrap();
    let _ = child.wait();
    assert!(
        response.starts_with("HTTP/1.1 200"),
        "{}",
        &response[..response.len().min(200)]
    );
    assert!(response.contains("Ministry of Health (demo)"));
}

/// A production build (`--no-default-features`) has no development fixtures to start.
#[cfg(not(feature = "demo"))]
#[test]
fn demo_and_devidp_are_absent_without_the_demo_feature() {
    for command in ["demo", "devidp"] {
        let out = jisr().arg(command).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "jisr {command}");
        assert!(
            stderr(&out).contains(&format!("unrecognized subcommand '{command}'")),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn keys_generate_writes_a_private_key_named_by_kid() {
    let dir = tempfile::tempdir().unwrap();
    let out = jisr()
        .args(["keys", "generate", "--alg", "ES256", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let path = PathBuf::from(stdout(&out).trim());
    let pem = fs::read_to_string(&path).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    let kid = path.file_stem().unwrap().to_str().unwrap();
    assert!(stderr(&out).contains(kid));
    // RS256: an RSA key, with the line that makes it sign RS256.
    let out = jisr()
        .args(["keys", "generate", "--alg", "RS256", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let path = PathBuf::from(stdout(&out).trim());
    let kid = path.file_stem().unwrap().to_str().unwrap();
    assert!(
        stderr(&out).contains(&format!("`\"{kid}\" = \"RS256\"` to keys.algs")),
        "{}",
        stderr(&out)
    );
    let out = jisr()
        .args(["keys", "generate", "--alg", "HS256", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// `jisr serve --config d` with the secrets the test configurations name, stderr piped.
fn spawn_serve(d: &Path) -> std::process::Child {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("jisr"))
        .args(["serve", "--config"])
        .arg(d)
        .env("PAIRWISE", "hex:".to_owned() + &"ab".repeat(32))
        .env("SA_SECRET", "sa-client-secret")
        .env("AGENCY_SECRET", "an agency secret of at least 32 bytes!")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// `GET path` over a fresh connection (`Connection: close`): the raw response, or `None`
/// when nothing accepts or answers.
fn http_get(addr: std::net::SocketAddr, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

/// `jisr serve` from a configuration directory: keys from files, secrets from env and files,
/// the in-memory store; it serves discovery and the JWKS of the key it was given.
#[test]
fn serve_runs_from_a_config_directory() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir_all(d.join("countries")).unwrap();
    fs::create_dir_all(d.join("keys")).unwrap();
    // One country, its IdP on a closed loopback port (discovery retries in the background).
    let shipped = fs::read_to_string(root().join("config/countries/sa.toml")).unwrap();
    let sa = shipped
        .replace("https://sso.sa.example", "http://127.0.0.1:9")
        .replace(
            r#"client_auth = { method = "private_key_jwt", key_file = "../secrets/sa-client-key.pem", alg = "ES256" }"#,
            r#"client_auth = { method = "client_secret_basic", secret = { env = "SA_SECRET" } }"#,
        );
    assert!(
        !sa.contains("private_key_jwt") && !sa.contains("sso.sa.example"),
        "{sa}"
    );
    fs::write(d.join("countries/sa.toml"), sa).unwrap();
    fs::write(
        d.join("policy.toml"),
        "[[rule]]\norigin = \"SA\"\ndestination = \"*\"\nmin_loa = \"substantial\"\nidentifier = \"pairwise\"\nconsent = true\n",
    )
    .unwrap();
    fs::write(
        d.join("agencies.toml"),
        "[[agency]]\nclient_id = \"bh-test\"\nname_en = \"Test\"\nname_ar = \"اختبار\"\ncountry = \"BH\"\nsector = \"health\"\nredirect_uris = [\"http://127.0.0.1:9/cb\"]\nauth = { method = \"client_secret_basic\", secret = { env = \"AGENCY_SECRET\" } }\n",
    )
    .unwrap();
    let out = jisr()
        .args(["keys", "generate", "--out"])
        .arg(d.join("keys"))
        .output()
        .unwrap();
    let key_file = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let kid = std::path::Path::new(&key_file)
        .file_stem()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    fs::write(
        d.join("gateway.toml"),
        format!(
            "pairwise_key = {{ env = \"PAIRWISE\" }}\n[server]\nlisten = \"{addr}\"\npublic_url = \"http://{addr}\"\n[store]\nkind = \"memory\"\n[keys]\nfiles = [\"{key_file}\"]\n"
        ),
    )
    .unwrap();
    let mut child = spawn_serve(d);
    let get = |path: &str| http_get(addr, path);
    let mut discovery = None;
    for _ in 0..100 {
        if let Some(r) = get("/.well-known/openid-configuration") {
            discovery = Some(r);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let jwks = get("/jwks");
    let readyz = get("/readyz");
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let discovery = discovery.unwrap_or_else(|| panic!("serve did not answer: {stderr}"));
    assert!(
        discovery.contains(&format!("\"issuer\":\"http://{addr}\"")),
        "{discovery}"
    );
    assert!(jwks.unwrap().contains(&kid));
    let readyz = readyz.unwrap();
    assert!(
        readyz.starts_with("HTTP/1.1 200")
            && readyz.contains(r#""SA":{"reason":"discovery_pending","state":"down"}"#),
        "{readyz}"
    );
    assert!(
        !stderr.contains("sa-client-secret") && !stderr.contains(&"ab".repeat(32)),
        "no secrets in logs"
    );
}

/// `--pairwise-key-file` reads keys like gateway.toml does: raw bytes or `hex:`/`base64:`.
#[test]
fn map_pairwise_key_file_accepts_encoded_keys() {
    let raw = tempfile::NamedTempFile::new().unwrap();
    fs::write(raw.path(), [0xabu8; 32]).unwrap();
    let hex = tempfile::NamedTempFile::new().unwrap();
    fs::write(hex.path(), format!("hex:{}\n", "ab".repeat(32))).unwrap();
    let sub = |key: &Path| {
        let out = jisr()
            .args([
                "map",
                "--country",
                "KW",
                "--claims",
                "docs/examples/kw-claims.json",
                "--destination",
                "OM",
            ])
            .arg("--pairwise-key-file")
            .arg(key)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_str::<Value>(&stdout(&out)).unwrap()["sub"].clone()
    };
    assert_eq!(sub(raw.path()), sub(hex.path()));
    let bad = tempfile::NamedTempFile::new().unwrap();
    fs::write(bad.path(), "hex:zz").unwrap();
    let out = jisr()
        .args([
            "map",
            "--country",
            "KW",
            "--claims",
            "docs/examples/kw-claims.json",
        ])
        .arg("--pairwise-key-file")
        .arg(bad.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not hexadecimal") || stderr(&out).contains("odd number"),
        "{}",
        stderr(&out)
    );
}

/// An audit log of `n` completed SA→BH logins in January 2026, written by the library as
/// the gateway would, with the key `jisr audit keygen` made.
fn audit_log(dir: &Path, key_pem: &[u8], n: i64) -> Vec<PathBuf> {
    use jisr_audit::{AuditLog, Entry, LogConfig, OnFailure, SigningKey};
    let log = AuditLog::open(
        LogConfig {
            dir: Some(dir.to_owned()),
            stdout: false,
            replica: "gw-1".into(),
            checkpoint_every: 4,
            checkpoint_secs: 60,
            max_file_bytes: 1 << 20,
            on_failure: OnFailure::Refuse,
            buffer_records: 10,
            write_behind: 0,
        },
        SigningKey::from_pkcs8(key_pem).unwrap(),
        1_767_225_600,
    )
    .unwrap();
    for i in 0..n {
        log.append(&Entry {
            time: 1_767_225_600 + i,
            event: "code_issued",
            outcome: "ok",
            origin: Some("SA"),
            destination: Some("BH"),
            sector: Some("health"),
            ..Entry::default()
        });
    }
    log.close(1_767_225_700);
    jisr_audit::log::replica_files(dir, "gw-1").unwrap()
}

#[test]
fn audit_keygen_verify_and_stats() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("audit-signing.pem");
    let out = jisr()
        .args(["audit", "keygen", "--out"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let public = tmp.path().join("audit-public.pem");
    fs::write(&public, &out.stdout).unwrap();
    assert!(stdout(&out).starts_with("-----BEGIN PUBLIC KEY-----"));

    let files = audit_log(&tmp.path().join("log"), &fs::read(&key).unwrap(), 11);
    let out = audit_verify(&public, &files);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "replica gw-1: 15 records verified (seq 0..=14), 4 signed checkpoints\nintact\n"
    );

    let text = fs::read_to_string(&files[0]).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| !l.contains("\"seq\":2,")).collect();
    fs::write(&files[0], lines.join("\n") + "\n").unwrap();
    let out = audit_verify(&public, &files);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains(&format!(
            "PROBLEM {}:3: removed: record seq 2 is missing before seq 3",
            files[0].display()
        )),
        "{}",
        stdout(&out)
    );

    let out = jisr()
        .args([
            "stats",
            "--from",
            "2026-01-01",
            "--to",
            "2026-01-31",
            "--min-count",
            "5",
        ])
        .args(&files)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "table,month,origin,destination,sector,reason,count\nlogins,2026-01,SA,BH,health,,10\n"
    );
    let out = jisr()
        .args([
            "stats",
            "--from",
            "2026-01-01",
            "--to",
            "2026-01-31",
            "--format",
            "json",
            "--min-count",
            "11",
        ])
        .args(&files)
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["logins"][0]["suppressed"], true);
    assert_eq!(json["logins"][0]["count"], Value::Null);
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));

    // Lines that are not records are skipped, with a warning.
    let mut text = fs::read_to_string(&files[0]).unwrap();
    text.push_str("garbage\n{\"v\":1}\n");
    fs::write(&files[0], text).unwrap();
    let out = jisr()
        .args(["stats", "--from", "2026-01-01", "--to", "2026-01-31"])
        .args(&files)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("warning: 2 lines are not audit records and were skipped"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn audit_verify_fails_on_records_no_signature_covers_unless_the_tail_is_allowed() {
    use jisr_audit::{AuditLog, Entry, LogConfig, OnFailure, SigningKey};
    let tmp = tempfile::tempdir().unwrap();
    let pem = SigningKey::generate_pem().unwrap();
    let public = tmp.path().join("audit-public.pem");
    let key = SigningKey::from_pkcs8(pem.as_bytes()).unwrap();
    fs::write(&public, key.public().to_pem()).unwrap();
    let dir = tmp.path().join("log");
    // A live log: no clean shutdown, so its last records are not yet signed.
    let log = AuditLog::open(
        LogConfig {
            dir: Some(dir.clone()),
            stdout: false,
            replica: "gw-1".into(),
            checkpoint_every: 1000,
            checkpoint_secs: 60,
            max_file_bytes: 1 << 20,
            on_failure: OnFailure::Refuse,
            buffer_records: 10,
            write_behind: 0,
        },
        key,
        0,
    )
    .unwrap();
    for time in 1..4 {
        log.append(&Entry {
            time,
            event: "code_issued",
            outcome: "ok",
            ..Entry::default()
        });
    }
    let files = jisr_audit::log::replica_files(&dir, "gw-1").unwrap();
    let verify = |extra: &[&str], files: &[PathBuf]| {
        jisr()
            .args(["audit", "verify", "--public-key"])
            .arg(&public)
            .args(extra)
            .args(files)
            .output()
            .unwrap()
    };
    let out = verify(&[], &files);
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("NOT SIGNED: records after the last checkpoint of gw-1 (3 records)"),
        "{}",
        stdout(&out)
    );
    let out = verify(&["--allow-unsigned-tail"], &files);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("unsigned tail allowed (--allow-unsigned-tail)"),
        "{}",
        stdout(&out)
    );

    // A replica made up without the signing key has no checkpoint: the flag does not help.
    let text = fs::read_to_string(&files[0]).unwrap();
    let mut prev = String::new();
    let mut forged = String::new();
    for line in text.lines().filter(|l| !l.contains("\"checkpoint\"")) {
        let mut v: Value = serde_json::from_str(line).unwrap();
        let o = v.as_object_mut().unwrap();
        o.remove("hash");
        o["seq"] = Value::from(o["seq"].as_u64().unwrap() - 1);
        o["replica"] = Value::from("gw-9");
        o["prev"] = Value::from(prev.clone());
        let p = serde_json::to_string(&v).unwrap();
        let p = &p[..p.len() - 1];
        prev = jisr_audit::record::hash_of(p.as_bytes());
        forged.push_str(&format!("{p},\"hash\":\"{prev}\"}}\n"));
    }
    let fake = tmp.path().join("audit-gw-9-00000000000000000000.jsonl");
    fs::write(&fake, forged).unwrap();
    let out = verify(&["--allow-unsigned-tail"], &[fake]);
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("NOT SIGNED: replica gw-9 has no checkpoint"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn audit_verify_fails_on_records_the_gateway_dropped_unless_allowed() {
    use jisr_audit::{AuditLog, Entry, LogConfig, OnFailure, SigningKey};
    let tmp = tempfile::tempdir().unwrap();
    let pem = SigningKey::generate_pem().unwrap();
    let key = SigningKey::from_pkcs8(pem.as_bytes()).unwrap();
    let public = tmp.path().join("audit-public.pem");
    fs::write(&public, key.public().to_pem()).unwrap();
    // The directory cannot exist while its parent is a file: the sink fails.
    let blocker = tmp.path().join("blocker");
    fs::write(&blocker, b"").unwrap();
    let dir = blocker.join("log");
    let log = AuditLog::open(
        LogConfig {
            dir: Some(dir.clone()),
            stdout: false,
            replica: "gw-1".into(),
            checkpoint_every: 1000,
            checkpoint_secs: 60,
            max_file_bytes: 1 << 20,
            on_failure: OnFailure::Buffer,
            buffer_records: 2,
            write_behind: 0,
        },
        key,
        0,
    )
    .unwrap();
    for time in 1..6 {
        log.append(&Entry {
            time,
            event: "code_issued",
            outcome: "ok",
            ..Entry::default()
        });
    }
    fs::remove_file(&blocker).unwrap();
    log.close(9);
    let files = jisr_audit::log::replica_files(&dir, "gw-1").unwrap();
    let verify = |extra: &[&str]| {
        jisr()
            .args(["audit", "verify", "--public-key"])
            .arg(&public)
            .args(extra)
            .args(&files)
            .output()
            .unwrap()
    };
    let out = verify(&[]);
    assert_eq!(out.status.code(), Some(4), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("RECORDS DROPPED at seq 0: 3 records were lost between 1970-01-01T00:00:03Z and 1970-01-01T00:00:05Z"),
        "{}",
        stdout(&out)
    );
    let out = verify(&["--allow-dropped"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("records dropped allowed (--allow-dropped): 3 records"));
}

/// Runs `cmd` with `input` on its standard input.
/// `jisr audit verify --public-key public files…`.
fn audit_verify(public: &Path, files: &[PathBuf]) -> std::process::Output {
    jisr()
        .args(["audit", "verify", "--public-key"])
        .arg(public)
        .args(files)
        .output()
        .unwrap()
}

fn with_stdin(mut cmd: Command, input: &str) -> std::process::Output {
    cmd.write_stdin(input).output().unwrap()
}

/// A minimal configuration directory (SA only, one BH agency, in-memory store) with an
/// `[audit]` section: its keys in files. Returns the signing key PEM and the subject key.
fn config_with_audit(d: &Path) -> (Vec<u8>, Vec<u8>) {
    fs::create_dir_all(d.join("countries")).unwrap();
    fs::create_dir_all(d.join("keys")).unwrap();
    let sa = fs::read_to_string(root().join("config/countries/sa.toml"))
        .unwrap()
        .replace(
            r#"client_auth = { method = "private_key_jwt", key_file = "../secrets/sa-client-key.pem", alg = "ES256" }"#,
            r#"client_auth = { method = "client_secret_basic", secret = { env = "SA_SECRET" } }"#,
        );
    fs::write(d.join("countries/sa.toml"), sa).unwrap();
    fs::write(
        d.join("policy.toml"),
        "[[rule]]\norigin = \"SA\"\ndestination = \"*\"\nmin_loa = \"substantial\"\nidentifier = \"pairwise\"\nconsent = true\n",
    )
    .unwrap();
    fs::write(
        d.join("agencies.toml"),
        "[[agency]]\nclient_id = \"bh-test\"\nname_en = \"Test\"\nname_ar = \"اختبار\"\ncountry = \"BH\"\nsector = \"health\"\nredirect_uris = [\"http://127.0.0.1:9/cb\"]\nauth = { method = \"client_secret_basic\", secret = { env = \"AGENCY_SECRET\" } }\n",
    )
    .unwrap();
    let out = jisr()
        .args(["keys", "generate", "--out"])
        .arg(d.join("keys"))
        .output()
        .unwrap();
    let key_file = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let signing = jisr_audit::SigningKey::generate_pem().unwrap().into_bytes();
    fs::write(d.join("audit-signing.pem"), &signing).unwrap();
    let subject = vec![0x5au8; 32];
    fs::write(d.join("audit-subject.key"), &subject).unwrap();
    fs::write(
        d.join("gateway.toml"),
        format!(
            "pairwise_key = {{ env = \"PAIRWISE\" }}\n[server]\nlisten = \"127.0.0.1:9\"\npublic_url = \"http://127.0.0.1:9\"\n[store]\nkind = \"memory\"\n[keys]\nfiles = [\"{key_file}\"]\n[audit]\ndir = \"audit\"\nsubject_key = {{ file = \"audit-subject.key\" }}\nsigning_key = {{ file = \"audit-signing.pem\" }}\n"
        ),
    )
    .unwrap();
    (signing, subject)
}

#[test]
fn audit_find_and_verify_with_the_gateway_config() {
    use jisr_audit::{AuditLog, Entry, LogConfig, OnFailure, SigningKey, SubjectKey};
    let tmp = tempfile::tempdir().unwrap();
    let (signing, subject) = config_with_audit(tmp.path());
    let log = AuditLog::open(
        LogConfig {
            dir: Some(tmp.path().join("audit")),
            stdout: false,
            replica: "gw-1".into(),
            checkpoint_every: 1000,
            checkpoint_secs: 60,
            max_file_bytes: 1 << 20,
            on_failure: OnFailure::Refuse,
            buffer_records: 10,
            write_behind: 0,
        },
        SigningKey::from_pkcs8(&signing).unwrap(),
        0,
    )
    .unwrap();
    let citizen = SubjectKey::new(&subject)
        .unwrap()
        .reference("SA", "1000000016");
    let someone_else = SubjectKey::new(&subject)
        .unwrap()
        .reference("SA", "1000000024");
    let step = |time, flow, event, subject| Entry {
        time,
        event,
        outcome: "ok",
        flow: Some(flow),
        subject,
        ..Entry::default()
    };
    log.append(&step(1, "f1", "authorization_accepted", None));
    log.append(&step(2, "f2", "authorization_accepted", None));
    log.append(&step(3, "f1", "code_issued", Some(citizen.as_str())));
    log.append(&step(4, "f2", "code_issued", Some(someone_else.as_str())));
    log.append(&step(5, "f1", "code_redeemed", None));
    log.close(6);
    let files = jisr_audit::log::replica_files(&tmp.path().join("audit"), "gw-1").unwrap();
    let with_env = |cmd: &mut Command| {
        cmd.env("PAIRWISE", "hex:".to_owned() + &"ab".repeat(32))
            .env("SA_SECRET", "sa-client-secret")
            .env("AGENCY_SECRET", "an agency secret of at least 32 bytes!");
    };

    let mut cmd = jisr();
    with_env(&mut cmd);
    cmd.args(["audit", "find", "--config"])
        .arg(tmp.path())
        .args(["--country", "SAU"])
        .args(&files);
    let out = with_stdin(cmd, "1000000016\n");
    assert!(out.status.success(), "{}", stderr(&out));
    let events: Vec<(String, String)> = stdout(&out)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["flow"].as_str().unwrap().to_owned(),
                v["event"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            ("f1".into(), "authorization_accepted".into()),
            ("f1".into(), "code_issued".into()),
            ("f1".into(), "code_redeemed".into())
        ]
    );
    assert!(!stderr(&out).contains("1000000016"));
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));

    // An id that fails the country's rule is refused, not looked up.
    let mut cmd = jisr();
    with_env(&mut cmd);
    cmd.args(["audit", "find", "--config"])
        .arg(tmp.path())
        .args(["--country", "SA", "--subject-id-stdin"])
        .args(&files);
    let out = with_stdin(cmd, "1000000017\n");
    assert!(!stderr(&out).contains("warning"));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("the national id (stdin): not a valid SA national id"),
        "{}",
        stderr(&out)
    );

    // Lines that are not records are skipped, with a warning.
    let garbled = tmp.path().join("garbled.jsonl");
    fs::write(&garbled, "not a record\n").unwrap();
    let mut cmd = jisr();
    with_env(&mut cmd);
    cmd.args(["audit", "find", "--config"])
        .arg(tmp.path())
        .args(["--country", "SA"])
        .args(&files)
        .arg(&garbled);
    let out = with_stdin(cmd, "1000000016\n");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 3);
    assert!(
        stderr(&out).contains("warning: 1 line is not an audit record and was skipped"),
        "{}",
        stderr(&out)
    );

    // The id is never taken from the command line, where `ps` and shell history keep it.
    let mut cmd = jisr();
    with_env(&mut cmd);
    cmd.args(["audit", "find", "--config"])
        .arg(tmp.path())
        .args(["--country", "SA", "--subject-id", "1000000016"])
        .args(&files);
    let out = with_stdin(cmd, "1000000016\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "{}", stdout(&out));

    // Nothing on stdin: refused, not looked up.
    let mut cmd = jisr();
    with_env(&mut cmd);
    cmd.args(["audit", "find", "--config"])
        .arg(tmp.path())
        .args(["--country", "SA"])
        .args(&files);
    let out = with_stdin(cmd, "");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("give the national id on standard input"),
        "{}",
        stderr(&out)
    );

    let mut cmd = jisr();
    with_env(&mut cmd);
    let out = cmd
        .args(["audit", "verify", "--config"])
        .arg(tmp.path())
        .args(&files)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).ends_with("intact\n"));
}

/// `jisr serve` on SIGTERM: `/readyz` answers 503 (`draining`) while the listener still
/// serves, then the listener closes, a request in flight (its body still arriving) is
/// answered, the audit log is closed with a signed checkpoint over every record, and the
/// process exits 0.
#[test]
fn serve_drains_finishes_in_flight_requests_and_exits_0_on_sigterm() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::{Duration, Instant};
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let (signing, _) = config_with_audit(d);
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let toml = fs::read_to_string(d.join("gateway.toml"))
        .unwrap()
        .replace(
            "listen = \"127.0.0.1:9\"\npublic_url = \"http://127.0.0.1:9\"",
            &format!(
                "listen = \"{addr}\"\npublic_url = \"http://{addr}\"\ndrain_secs = 2\nshutdown_timeout_secs = 10"
            ),
        )
        .replace("[audit]\n", "[audit]\nreplica = \"gw-1\"\n");
    assert!(toml.contains("drain_secs = 2"), "{toml}");
    fs::write(d.join("gateway.toml"), toml).unwrap();
    let mut child = spawn_serve(d);
    let get = |path: &str| http_get(addr, path);
    let started = Instant::now();
    while get("/healthz").is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "serve never answered"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let ready = get("/readyz").unwrap();
    assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");

    // A token request whose body is still arriving when the shutdown begins.
    let body = "grant_type=authorization_code&code=none";
    let mut in_flight = TcpStream::connect(addr).unwrap();
    write!(
        in_flight,
        "POST /token HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nAuthorization: Basic YmgtdGVzdDp3cm9uZw==\r\nContent-Length: {}\r\n\r\n{}",
        body.len(),
        &body[..10]
    )
    .unwrap();
    in_flight.flush().unwrap();
    std::thread::sleep(Duration::from_millis(200));

    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let signalled = Instant::now();
    // During the drain: still serving, but not ready.
    std::thread::sleep(Duration::from_millis(300));
    let draining = get("/readyz").expect("still serving while draining");
    assert!(
        draining.starts_with("HTTP/1.1 503") && draining.contains(r#""draining":true"#),
        "{draining}"
    );
    // After the drain: no new connections.
    while signalled.elapsed() < Duration::from_millis(2600) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(get("/healthz").is_none(), "still accepting after the drain");
    // The request in flight is answered.
    in_flight.write_all(&body.as_bytes()[10..]).unwrap();
    let mut answer = String::new();
    in_flight.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(answer.contains("invalid_client"), "{answer}");

    let deadline = Instant::now() + Duration::from_secs(15);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "serve did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(exit.code(), Some(0), "{stderr}");
    assert!(stderr.contains("SIGTERM"), "{stderr}");

    // Every record, the refusal of the request in flight among them, is under a signature.
    let files = jisr_audit::log::replica_files(&d.join("audit"), "gw-1").unwrap();
    let text: String = files
        .iter()
        .map(|f| fs::read_to_string(f).unwrap())
        .collect();
    assert!(text.contains("\"refused\""), "{text}");
    let public = d.join("audit-public.pem");
    fs::write(
        &public,
        jisr_audit::SigningKey::from_pkcs8(&signing)
            .unwrap()
            .public()
            .to_pem(),
    )
    .unwrap();
    let out = audit_verify(&public, &files);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).ends_with("intact\n"), "{}", stdout(&out));
}
