use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::*;
use crate::app::{Gateway, system_clock};
use crate::provider::keys::{SigningAlg, generate_key_file};
use crate::upstream::config::ClientAuth;

fn repo_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config")
}

#[test]
fn shipped_config_loads_clean() {
    let cfg = MappingConfig::load_dir(&repo_config()).unwrap_or_else(|p| panic!("{p:#?}"));
    let mut countries: Vec<&str> = cfg
        .profiles
        .iter()
        .map(|(_, p)| p.country.as_str())
        .collect();
    countries.sort();
    assert_eq!(countries, ["AE", "BH", "KW", "OM", "QA", "SA"]);
}

/// A copy of the shipped config directory (countries, policy, agencies, gateway.toml).
fn copy_config() -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        fs::create_dir_all(to).unwrap();
        for e in fs::read_dir(from).unwrap() {
            let p = e.unwrap().path();
            let target = to.join(p.file_name().unwrap());
            if p.is_dir() {
                copy(&p, &target);
            } else {
                fs::copy(&p, target).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    copy(&repo_config(), dir.path());
    dir
}

#[test]
fn check_reports_absent_deployment_material_as_notes() {
    let report = check(&repo_config(), &[]).unwrap_or_else(|p| panic!("{p:#?}"));
    assert_eq!(
        report.summary(),
        "ok: 6 country profiles (AE, BH, KW, OM, QA, SA), policy with 5 rules, 3 agencies, gateway config"
    );
    let notes: Vec<String> = report
        .absent
        .iter()
        .map(|p| {
            assert!(p.is_absent(), "{p}");
            let file = Path::new(&p.file).file_name().unwrap().to_string_lossy();
            format!("{file}: {}", p.key)
        })
        .collect();
    assert_eq!(
        notes,
        [
            "gateway.toml: pairwise_key",
            "gateway.toml: store.encryption_key",
            "gateway.toml: keys.files[0]",
            "ae.toml: idp.client_auth.secret",
            "bh.toml: idp.client_auth.secret",
            "kw.toml: idp.client_auth.secret",
            "om.toml: idp.client_auth.secret",
            "qa.toml: idp.client_auth.secret",
            "sa.toml: idp.client_auth.key_file",
            "agencies.toml: agency[0].auth.secret",
            "agencies.toml: agency[1].auth.secret",
        ]
    );
    // Present but unusable material is a problem, not a note.
    let vars = [("JISR_PAIRWISE_KEY".to_owned(), "too short".to_owned())];
    let problems = check(&repo_config(), &vars).unwrap_err();
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(
        problems[0].to_string(),
        format!(
            "{}: pairwise_key: pairwise key must be at least 32 bytes, got 9",
            repo_config().join("gateway.toml").display()
        )
    );
}

/// The variables the shipped config names, set.
fn shipped_env() -> Vec<(String, String)> {
    [
        ("JISR_PAIRWISE_KEY", format!("base64:{}", "A".repeat(43))),
        (
            "JISR_STORE_ENCRYPTION_KEY",
            format!("hex:{}", "0f".repeat(32)),
        ),
        ("JISR_AGENCY_BH_MOH_SECRET", "b".repeat(32)),
        ("JISR_AE_CLIENT_SECRET", "ae-secret".into()),
        ("JISR_BH_CLIENT_SECRET", "bh-secret".into()),
        ("JISR_OM_CLIENT_SECRET", "om-secret".into()),
        ("JISR_QA_CLIENT_SECRET", "qa-secret".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Writes the files the shipped config names that are not in the repository.
fn write_deployment_files(d: &Path) {
    fs::create_dir_all(d.join("keys")).unwrap();
    let (key, _) = generate_key_file(SigningAlg::ES256, &d.join("keys")).unwrap();
    fs::rename(key, d.join("keys/signing-2025-06.pem")).unwrap();
    fs::create_dir_all(d.join("secrets")).unwrap();
    fs::write(d.join("secrets/om-mol.secret"), "o".repeat(40)).unwrap();
    fs::write(d.join("secrets/kw-client-secret"), "kw-secret\n").unwrap();
    let (key, _) = generate_key_file(SigningAlg::ES256, &d.join("secrets")).unwrap();
    fs::rename(key, d.join("secrets/sa-client-key.pem")).unwrap();
}

#[test]
fn config_load_needs_every_secret_and_key_file() {
    let dir = copy_config();
    let d = dir.path();
    let vars = shipped_env();
    let lines = |p: Vec<ConfigProblem>| -> Vec<String> {
        let root = d.display().to_string();
        p.iter().map(|p| p.to_string().replace(&root, "")).collect()
    };
    assert_eq!(
        lines(Config::load(d, &vars).unwrap_err()),
        [
            "/gateway.toml: keys.files[0]: absent: /keys/signing-2025-06.pem not found",
            "/countries/kw.toml: idp.client_auth.secret: absent: /countries/../secrets/kw-client-secret not found",
            "/countries/sa.toml: idp.client_auth.key_file: absent: /countries/../secrets/sa-client-key.pem not found",
            "/agencies.toml: agency[1].auth.secret: absent: /secrets/om-mol.secret not found",
        ]
    );
    fs::create_dir_all(d.join("keys")).unwrap();
    fs::write(d.join("keys/signing-2025-06.pem"), "not a PEM key").unwrap();
    let problems = Config::load(d, &vars).unwrap_err();
    assert!(!problems[0].is_absent(), "{problems:#?}");
    assert_eq!(problems[0].key, "keys.files[0]");

    write_deployment_files(d);
    let cfg = Config::load(&d.join("gateway.toml"), &vars).unwrap_or_else(|p| panic!("{p:#?}"));
    assert_eq!(cfg.agencies.len(), 3);
    assert_eq!(cfg.mapping.profiles.len(), 6);
    assert!(matches!(&cfg.store, StoreSettings::Redis(r) if r.prefix == "jisr:"));
    assert_eq!(cfg.issuer(), "https://jisr.example");
    assert!(cfg.tls.is_none());
    let upstreams: Vec<(&str, &str)> = cfg
        .upstreams
        .iter()
        .map(|u| (u.country.as_str(), u.redirect_uri.as_str()))
        .collect();
    assert_eq!(
        upstreams,
        [
            ("AE", "https://jisr.example/callback/ae"),
            ("BH", "https://jisr.example/callback/bh"),
            ("KW", "https://jisr.example/callback/kw"),
            ("OM", "https://jisr.example/callback/om"),
            ("QA", "https://jisr.example/callback/qa"),
            ("SA", "https://jisr.example/callback/sa"),
        ]
    );
    let upstream = |cc: &str| {
        cfg.upstreams
            .iter()
            .find(|u| u.country.as_str() == cc)
            .unwrap()
    };
    // The relative secret file resolved against the country file, its newline dropped.
    assert!(matches!(&upstream("KW").client_auth, ClientAuth::SecretBasic(s) if s == "kw-secret"));
    assert!(matches!(
        &upstream("SA").client_auth,
        ClientAuth::PrivateKeyJwt { .. }
    ));
    // userinfo is decided with the profile: always in OAuth 2.0 mode, skipped by OIDC
    // countries whose profile reads only the ID token.
    assert!(upstream("AE").userinfo);
    for cc in ["AE", "BH", "KW", "OM", "QA", "SA"] {
        let u = upstream(cc);
        let profile = cfg.mapping.profile(u.country).unwrap();
        assert_eq!(
            u.userinfo,
            u.mode == crate::upstream::Mode::Oauth2Userinfo
                || profile.reads(jisr_mapping::Source::Userinfo),
            "{cc}"
        );
    }
}

// In a runtime, as `serve` builds it: with a Redis `[store]` the fleet aggregates open a
// Redis connection manager, which needs one.
#[tokio::test]
async fn the_loaded_config_builds_a_gateway_and_a_replica() {
    let dir = copy_config();
    let d = dir.path();
    write_deployment_files(d);
    let cfg = Config::load(d, &shipped_env()).unwrap_or_else(|p| panic!("{p:#?}"));
    let store = || -> Arc<dyn jisr_store::Store> { Arc::new(jisr_store::MemoryStore::new(16)) };
    let gw = Gateway::from_config(cfg.clone(), store(), system_clock()).unwrap();
    assert_eq!(gw.issuer, "https://jisr.example");
    assert_eq!(gw.upstreams.countries().count(), 6);
    assert_eq!(gw.agencies.len(), 3);
    assert_eq!(gw.ttls.code, std::time::Duration::from_secs(60));
    assert_eq!(gw.keys.active_kid(), cfg.keys.active_kid());
    let replica = Gateway::from_config(cfg, store(), system_clock()).unwrap();
    assert_eq!(replica.keys.jwks(), gw.keys.jwks());
}

#[test]
fn idp_sections_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let base = fs::read_to_string(repo_config().join("countries/bh.toml")).unwrap();
    let cases = [
        (
            r#"algorithms = ["ES256"]"#,
            r#"algorithms = ["HS256"]"#,
            "idp.algorithms[0]",
            "`HS256` is not an accepted algorithm",
        ),
        (
            r#"issuer = "https://ekey.bh.example""#,
            r#"issuer = "http://ekey.bh.example""#,
            "idp.issuer",
            "issuer must be https",
        ),
        (
            r#"client_auth = { method = "client_secret_basic", secret = { env = "JISR_BH_CLIENT_SECRET" } }"#,
            r#"client_auth = { method = "client_secret_basic", secret = "in-the-toml" }"#,
            "idp.client_auth",
            "secrets are never written in the config",
        ),
        (
            r#"algorithms = ["ES256"]"#,
            "algorithms = [\"ES256\"]\ncolour = 1",
            "idp.colour",
            "unknown field `colour`",
        ),
    ];
    for (from, to, key, needle) in cases {
        assert!(base.contains(from), "{from}");
        let file = dir.path().join("bh.toml");
        fs::write(&file, base.replace(from, to)).unwrap();
        let p = load_country_file(&file).unwrap_err();
        assert_eq!(p.key, key, "{p}");
        assert!(p.problem.contains(needle), "{p}");
    }
}

#[test]
fn every_problem_is_reported_at_once() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("countries")).unwrap();
    fs::write(
        dir.path().join("countries/xx.toml"),
        "country = \"SA\"\ncolour = 1\n",
    )
    .unwrap();
    fs::write(dir.path().join("countries/yy.toml"), [0xff, 0xfe]).unwrap();
    let problems = MappingConfig::load_dir(dir.path()).unwrap_err();
    let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(lines[0].ends_with("xx.toml: colour: unknown field `colour`, expected one of `country`, `idp_name`, `source`, `identifier`, `given_name`, `family_name`, `birthdate`, `gender`, `nationalities`, `place_of_birth`, `loa`"), "{}", lines[0]);
    assert!(
        lines[1].ends_with("yy.toml: (file): not valid UTF-8"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].ends_with("policy.toml: (file): not found"),
        "{}",
        lines[2]
    );
}

#[test]
fn a_country_file_is_split_into_profile_and_idp() {
    let file = repo_config().join("countries/om.toml");
    let c = load_country_file(&file).unwrap();
    assert_eq!(c.profile.country.as_str(), "OM");
    let idp = c.idp.unwrap();
    assert_eq!(idp.issuer, "https://eid.om.example");
    assert!(matches!(
        &idp.client_auth,
        idp::ClientAuthSection::ClientSecretBasic { secret: SecretSource::Env(v) } if v == "JISR_OM_CLIENT_SECRET"
    ));
    // Without `[idp]` the country has a profile but no upstream.
    let dir = tempfile::tempdir().unwrap();
    let text = fs::read_to_string(&file).unwrap();
    let profile_only = &text[..text.find("[idp]").unwrap()];
    fs::write(dir.path().join("om.toml"), profile_only).unwrap();
    let c = load_country_file(&dir.path().join("om.toml")).unwrap();
    assert!(c.idp.is_none());
    // A syntax error inside `[idp]` still names its line.
    fs::write(
        dir.path().join("om.toml"),
        format!("{profile_only}[idp]\nissuer = \n"),
    )
    .unwrap();
    let p = load_country_file(&dir.path().join("om.toml")).unwrap_err();
    assert_eq!(p.key, format!("line {}", profile_only.lines().count() + 2));
}

#[test]
fn a_directory_without_gateway_toml_checks_but_does_not_serve() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir(d.join("countries")).unwrap();
    fs::copy(
        repo_config().join("countries/om.toml"),
        d.join("countries/om.toml"),
    )
    .unwrap();
    fs::write(
        d.join("policy.toml"),
        "[[rule]]\norigin = \"OM\"\ndestination = \"*\"\nmin_loa = \"substantial\"\nidentifier = \"pairwise\"\nconsent = true\n",
    )
    .unwrap();
    let report = check(d, &[]).unwrap_or_else(|p| panic!("{p:#?}"));
    assert_eq!(
        report.summary(),
        "ok: 1 country profiles (OM), policy with 1 rules"
    );
    assert_eq!(report.absent.len(), 1, "{:#?}", report.absent);
    assert_eq!(report.absent[0].key, "idp.client_auth.secret");
    let problems = Config::load(d, &[]).unwrap_err();
    assert_eq!(
        problems[0].to_string(),
        format!("{}: (file): not found", d.join("gateway.toml").display())
    );
}

/// What the demo does: a configuration made in code (generated keys, the shipped profiles, no
/// files or secrets) goes through the same builder as a loaded one.
#[test]
fn a_config_made_in_code_builds_a_gateway() {
    let agency = agencies::Agency {
        client_id: "demo-agency".into(),
        name_en: "Demo".into(),
        name_ar: "تجربة".into(),
        country: "BH".parse().unwrap(),
        sector: "health".into(),
        redirect_uris: vec!["http://127.0.0.1:8081/callback".into()],
        auth: agencies::AgencyAuth::ClientSecretBasic(agencies::Secret::new("s".repeat(32))),
        id_token_signed_response_alg: None,
        notice: Default::default(),
        back_channel: Default::default(),
        logout: Default::default(),
    };
    let config = Config {
        server: ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            public_url: "http://127.0.0.1:8080".parse().unwrap(),
            tls: None,
            drain: std::time::Duration::ZERO,
            shutdown_timeout: std::time::Duration::from_secs(5),
        },
        tls: None,
        store: StoreSettings::Memory { max_entries: 16 },
        keys: crate::provider::keys::SigningKeys::generate(SigningAlg::ES256).unwrap(),
        pairwise_key: jisr_mapping::PairwiseKey::new([7u8; 32]).unwrap(),
        tokens: TokenConfig::default(),
        mapping: MappingConfig::load_dir(&repo_config()).unwrap(),
        agencies: agencies::Agencies::from_list(vec![agency]).unwrap(),
        upstreams: Vec::new(),
        admin: None,
        audit: None,
        session: Default::default(),
        rate_limits: Default::default(),
    };
    let store = crate::serve::open_store(&config.store).unwrap();
    let gw = Gateway::from_config(config, store, Arc::new(|| 1_700_000_000)).unwrap();
    assert_eq!(gw.issuer, "http://127.0.0.1:8080");
    assert!(!gw.is_https());
    assert_eq!(gw.now(), 1_700_000_000);
    assert!(gw.agencies.get("demo-agency").is_some());
}

/// `check-config` and `serve` share the loader: an agency registered with an ID token alg no
/// loaded key signs is refused at its `agencies.toml` key, also when its secret is absent
/// on this machine; with an RS256 key named in `keys.algs` it loads and that agency is
/// signed for with RS256.
#[test]
fn agency_id_token_alg_is_checked_against_the_keys_held() {
    let dir = copy_config();
    let d = dir.path();
    let vars = shipped_env();
    write_deployment_files(d);
    let agencies = fs::read_to_string(d.join("agencies.toml")).unwrap();
    let asks = agencies.replacen(
        "sector = \"health\"",
        "sector = \"health\"\nid_token_signed_response_alg = \"RS256\"",
        1,
    );
    assert_ne!(asks, agencies);
    fs::write(d.join("agencies.toml"), &asks).unwrap();
    let refused = |problems: Vec<ConfigProblem>| -> Vec<(String, String)> {
        problems
            .into_iter()
            .filter(|p| !p.is_absent())
            .map(|p| (p.key, p.problem))
            .collect()
    };
    let expected = vec![(
        "agency[0].id_token_signed_response_alg".to_owned(),
        "no signing key signs RS256 (keys.files hold ES256); add one made with \
         `jisr keys generate --alg RS256`"
            .to_owned(),
    )];
    assert_eq!(refused(Config::load(d, &vars).unwrap_err()), expected);
    // check-config without the agency's secret on this machine says the same.
    let without_secret: Vec<(String, String)> = vars
        .iter()
        .filter(|(k, _)| k != "JISR_AGENCY_BH_MOH_SECRET")
        .cloned()
        .collect();
    assert_eq!(
        refused(check::check(d, &without_secret).unwrap_err()),
        expected
    );

    let (rsa, kid) = generate_key_file(SigningAlg::RS256, &d.join("keys")).unwrap();
    let gateway = fs::read_to_string(d.join("gateway.toml")).unwrap().replace(
        "files = [\"keys/signing-2025-06.pem\"]",
        &format!(
            "files = [\"keys/signing-2025-06.pem\", \"keys/{}\"]\nalgs = {{ \"{kid}\" = \"RS256\" }}",
            rsa.file_name().unwrap().to_str().unwrap()
        ),
    );
    fs::write(d.join("gateway.toml"), gateway).unwrap();
    let cfg = Config::load(d, &vars).unwrap_or_else(|p| panic!("{p:#?}"));
    assert_eq!(cfg.keys.algs(), vec![SigningAlg::ES256, SigningAlg::RS256]);
    let agency = cfg.agencies.iter().next().unwrap();
    assert_eq!(agency.id_token_signed_response_alg, Some(SigningAlg::RS256));
    assert_eq!(
        cfg.keys
            .signing_alg(agency.id_token_signed_response_alg)
            .unwrap(),
        SigningAlg::RS256
    );
}

#[test]
fn exchange_countries_need_a_national_idp_that_issues_id_tokens() {
    let dir = copy_config();
    let d = dir.path();
    let vars = shipped_env();
    write_deployment_files(d);
    let agencies = fs::read_to_string(d.join("agencies.toml")).unwrap();
    let registered = agencies.replacen(
        "sector = \"health\"",
        "sector = \"health\"\nexchange = { audiences = { SA = [\"sa-app\"], AE = [\"ae-app\"] } }",
        1,
    );
    assert_ne!(registered, agencies);
    fs::write(d.join("agencies.toml"), &registered).unwrap();
    let problems: Vec<(String, String)> = Config::load(d, &vars)
        .unwrap_err()
        .into_iter()
        .map(|p| (p.key, p.problem))
        .collect();
    assert_eq!(
        problems,
        [(
            "agency[0].exchange.audiences.AE".to_owned(),
            "the national IdP of AE issues no ID tokens (mode oauth2_userinfo); its tokens \
             cannot be exchanged"
                .to_owned()
        )]
    );
    // SA alone loads.
    let sa_only = agencies.replacen(
        "sector = \"health\"",
        "sector = \"health\"\nexchange = { audiences = { SA = [\"sa-app\"] } }",
        1,
    );
    fs::write(d.join("agencies.toml"), &sa_only).unwrap();
    let cfg = Config::load(d, &vars).unwrap_or_else(|p| panic!("{p:#?}"));
    let agency = cfg.agencies.iter().next().unwrap();
    assert_eq!(
        agency.back_channel.audiences("SA".parse().unwrap()),
        ["sa-app"]
    );
}
