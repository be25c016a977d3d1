use std::path::PathBuf;

use super::*;

fn shipped() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/agencies.toml")
}

const BASE: &str = r#"[[agency]]
client_id = "bh-moh"
name_en = "Bahrain Ministry of Health"
name_ar = "وزارة الصحة"
country = "BH"
sector = "health"
redirect_uris = ["https://moh.bh.example/cb", "http://localhost:8400/cb"]
auth = { method = "client_secret_basic", secret = { env = "BH_SECRET" } }

[[agency]]
client_id = "om-mol"
name_en = "Oman Ministry of Labour"
name_ar = "وزارة العمل"
country = "OMN"
sector = "labour"
redirect_uris = ["https://mol.om.example/cb"]
auth = { method = "client_secret_post", secret = { file = "om.secret" } }

[[agency]]
client_id = "sa-moe"
name_en = "Saudi Ministry of Education"
name_ar = "وزارة التعليم"
country = "SA"
sector = "education"
redirect_uris = ["https://moe.sa.example/cb"]
auth = { method = "private_key_jwt", jwks_file = "sa.jwks.json" }
"#;

const SECRET: &str = "0123456789abcdef0123456789abcdef";

/// A directory with agencies.toml (BASE with `from` → `to`), the JWKS and the om secret.
fn setup(from: &str, to: &str) -> (tempfile::TempDir, PathBuf) {
    assert!(BASE.contains(from), "{from}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("agencies.toml");
    std::fs::write(&file, BASE.replacen(from, to, 1)).unwrap();
    std::fs::copy(
        shipped()
            .parent()
            .unwrap()
            .join("agencies/sa-moe.jwks.json"),
        dir.path().join("sa.jwks.json"),
    )
    .unwrap();
    std::fs::write(dir.path().join("om.secret"), format!("{SECRET}-om\n")).unwrap();
    (dir, file)
}

fn env(k: &str) -> Option<String> {
    (k == "BH_SECRET").then(|| format!("{SECRET}-bh"))
}

fn problems(from: &str, to: &str) -> Vec<String> {
    let (_dir, file) = setup(from, to);
    Agencies::check(&file)
        .unwrap_err()
        .iter()
        .map(|p| {
            assert_eq!(p.file, file.display().to_string());
            let dir = file.parent().unwrap().display().to_string();
            format!("{}: {}", p.key, p.problem.replace(&dir, "{dir}"))
        })
        .collect()
}

#[test]
fn shipped_agencies_pass_the_structure_check() {
    assert_eq!(Agencies::check(&shipped()), Ok(3));
}

#[test]
fn load_resolves_secrets_and_jwks() {
    let (_dir, file) = setup("", "");
    let agencies = Agencies::load(&file, &env).unwrap_or_else(|p| panic!("{p:#?}"));
    let ids: Vec<&str> = agencies.iter().map(|a| a.client_id.as_str()).collect();
    assert_eq!(ids, ["bh-moh", "om-mol", "sa-moe"]);
    let bh = agencies.get("bh-moh").unwrap();
    assert_eq!(bh.pairwise_sector(), "bh:health");
    assert!(
        matches!(&bh.auth, AgencyAuth::ClientSecretBasic(s) if s.matches(&format!("{SECRET}-bh")))
    );
    let om = agencies.get("om-mol").unwrap();
    assert_eq!(om.country.as_str(), "OM");
    assert_eq!(om.pairwise_sector(), "om:labour");
    // The file's trailing newline is not part of the secret.
    assert!(
        matches!(&om.auth, AgencyAuth::ClientSecretPost(s) if s.matches(&format!("{SECRET}-om")))
    );
    let sa = agencies.get("sa-moe").unwrap();
    assert!(
        matches!(&sa.auth, AgencyAuth::PrivateKeyJwt(set) if set.find("sa-moe-2025-1").is_some())
    );
    assert!(agencies.get("nobody").is_none());
    assert!(!format!("{agencies:?}").contains(SECRET));
}

#[test]
fn load_reports_absent_and_short_secrets() {
    let (dir, file) = setup("", "");
    std::fs::remove_file(dir.path().join("om.secret")).unwrap();
    let short = |k: &str| (k == "BH_SECRET").then(|| "short".to_owned());
    let lines: Vec<String> = Agencies::load(&file, &short)
        .unwrap_err()
        .iter()
        .map(|p| format!("{}: {}", p.key, p.problem))
        .collect();
    assert_eq!(
        lines,
        [
            "agency[0].auth.secret: client secret must be at least 32 bytes, got 5".to_owned(),
            format!(
                "agency[1].auth.secret: {} not found",
                dir.path().join("om.secret").display()
            ),
        ]
    );
    // The structure check reads no secret, so neither matters to it.
    assert_eq!(Agencies::check(&file), Ok(3));
}

#[test]
fn every_problem_names_its_key() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "client_id = \"om-mol\"",
            "client_id = \"bh-moh\"",
            "agency[1].client_id: duplicate client_id `bh-moh` (also agency[0])",
        ),
        (
            "client_id = \"om-mol\"",
            "client_id = \"\"",
            "agency[1].client_id: must not be empty",
        ),
        (
            "client_id = \"om-mol\"",
            "client_id = \"om mol\"",
            "agency[1].client_id: use at most 255 printable ASCII characters without spaces",
        ),
        (
            "country = \"SA\"",
            "country = \"EG\"",
            "agency[2].country: EG is not a GCC member state",
        ),
        (
            "country = \"SA\"",
            "country = \"XX\"",
            "agency[2].country: `XX` is not an ISO 3166-1 alpha-2 or alpha-3 country code",
        ),
        (
            "sector = \"health\"",
            "sector = \"\"",
            "agency[0].sector: must not be empty",
        ),
        (
            "sector = \"health\"",
            "sector = \"bh:health\"",
            "agency[0].sector: use only a-z, 0-9, `-` and `_` (it is part of the pairwise sector)",
        ),
        (
            "name_ar = \"وزارة العمل\"",
            "name_ar = \" \"",
            "agency[1].name_ar: must not be empty",
        ),
        (
            "https://mol.om.example/cb",
            "http://mol.om.example/cb",
            "agency[1].redirect_uris[0]: http is allowed only on loopback (127.0.0.1, localhost, [::1]); use https",
        ),
        (
            "https://mol.om.example/cb",
            "https://mol.om.example/cb#top",
            "agency[1].redirect_uris[0]: must not contain a fragment",
        ),
        (
            "https://mol.om.example/cb",
            "/cb",
            "agency[1].redirect_uris[0]: not an absolute URL: relative URL without a base",
        ),
        (
            "https://mol.om.example/cb",
            "com.example.app:/cb",
            "agency[1].redirect_uris[0]: scheme `com.example.app` is not allowed; use https",
        ),
        (
            "redirect_uris = [\"https://mol.om.example/cb\"]",
            "redirect_uris = []",
            "agency[1].redirect_uris: list at least one redirect URI",
        ),
        (
            "sector = \"labour\"",
            "sector = \"labour\"\ncolour = \"red\"",
            "agency[1].colour: unknown field `colour`, expected one of `client_id`, `name_en`, `name_ar`, `country`, `sector`, `redirect_uris`, `auth`, `id_token_signed_response_alg`, `purpose`, `privacy_url`, `exchange`, `introspection_for`, `post_logout_redirect_uris`, `backchannel_logout_uri`, `backchannel_logout_session_required`, `frontchannel_logout_uri`, `frontchannel_logout_session_required`",
        ),
        (
            "sector = \"labour\"",
            "sector = \"labour\"\nprivacy_url = \"http://mol.om.example/privacy\"",
            "agency[1].privacy_url: `http://mol.om.example/privacy` must be https",
        ),
        (
            "sector = \"labour\"",
            "sector = \"labour\"\npurpose = { en = \"Work permits\", ar = \" \" }",
            "agency[1].purpose.ar: write 1 to 300 characters",
        ),
        (
            "sector = \"labour\"",
            "sector = \"labour\"\npurpose = { en = \"Work permits\" }",
            "agency[1].purpose: missing field `ar`",
        ),
        (
            "method = \"client_secret_post\"",
            "method = \"client_secret_jwt\"",
            "agency[1].auth.method: unknown variant `client_secret_jwt`, expected one of `client_secret_basic`, `client_secret_post`, `private_key_jwt`",
        ),
        (
            "secret = { env = \"BH_SECRET\" }",
            "secret = \"in-the-toml\"",
            "agency[0].auth: secrets are never written in the config: use `{ env = \"VAR\" }` or `{ file = \"path\" }`",
        ),
        (
            "jwks_file = \"sa.jwks.json\"",
            "jwks_file = \"none.json\"",
            "agency[2].auth.jwks_file: {dir}/none.json: not found",
        ),
        (
            "[[agency]]",
            "[[agency]\n",
            "line 1: unclosed array table, expected `]`",
        ),
    ];
    for (from, to, expected) in cases {
        assert_eq!(problems(from, to), [*expected], "{from} → {to}");
    }
}

#[test]
fn validation_problems_are_reported_together() {
    let (_dir, file) = setup("", "");
    let text = BASE
        .replacen("sector = \"health\"", "sector = \"\"", 1)
        .replacen("country = \"SA\"", "country = \"EG\"", 1)
        .replacen("https://moe.sa.example/cb", "http://moe.sa.example/cb#f", 1);
    std::fs::write(&file, text).unwrap();
    let lines: Vec<String> = Agencies::check(&file)
        .unwrap_err()
        .iter()
        .map(|p| format!("{}: {}", p.key, p.problem))
        .collect();
    assert_eq!(
        lines,
        [
            "agency[0].sector: must not be empty",
            "agency[2].country: EG is not a GCC member state",
            "agency[2].redirect_uris[0]: http is allowed only on loopback (127.0.0.1, localhost, [::1]); use https",
        ]
    );
}

#[test]
fn jwks_must_hold_public_signature_keys_only() {
    let (dir, file) = setup("", "");
    let jwks = dir.path().join("sa.jwks.json");
    let public = std::fs::read_to_string(&jwks).unwrap();
    let check = |text: &str| {
        std::fs::write(&jwks, text).unwrap();
        Agencies::check(&file).unwrap_err()[0].problem.clone()
    };
    let shown = jwks.display();
    assert_eq!(
        check(&public.replace("\"kty\"", "\"d\": \"c2VjcmV0\",\n      \"kty\"")),
        format!(
            "{shown}: keys[0] has private or symmetric key material (`d`); publish public keys only"
        )
    );
    assert_eq!(
        check(r#"{"keys": []}"#),
        format!("{shown}: list at least one key")
    );
    assert!(check("{").starts_with(&format!("{shown} is not JSON")));
    assert!(
        check(r#"{"keys": [{"kty": "EC"}]}"#).starts_with(&format!("{shown} is not a JWK Set"))
    );
}

#[test]
fn secret_match_is_exact_and_debug_is_redacted() {
    let s = Secret::new(SECRET);
    assert!(s.matches(SECRET));
    assert!(!s.matches(&SECRET[..31]));
    assert!(!s.matches(&format!("{SECRET}x")));
    assert!(!s.matches(&SECRET.replace('0', "1")));
    assert!(!s.matches(""));
    assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
}

#[test]
fn from_list_refuses_duplicates() {
    let (_dir, file) = setup("", "");
    let list: Vec<Agency> = Agencies::load(&file, &env)
        .unwrap()
        .iter()
        .cloned()
        .collect();
    let mut twice = list.clone();
    twice.push(list[0].clone());
    assert_eq!(
        Agencies::from_list(twice).unwrap_err(),
        "duplicate client_id `bh-moh`"
    );
    let agencies = Agencies::from_list(list).unwrap();
    assert_eq!(agencies.len(), 3);
    assert_eq!(
        agencies.get("sa-moe").unwrap().pairwise_sector(),
        "sa:education"
    );
}

#[test]
fn id_token_signed_response_alg_is_a_signing_alg_spelled_exactly() {
    let (_dir, file) = setup(
        "sector = \"health\"",
        "sector = \"health\"\nid_token_signed_response_alg = \"RS256\"",
    );
    let read = load::read(&file, &env);
    assert_eq!(
        read.id_token_algs,
        vec![(0, jsonwebtoken::Algorithm::RS256)]
    );
    let agencies = read.agencies.unwrap_or_else(|p| panic!("{p:#?}"));
    assert_eq!(
        agencies.get("bh-moh").unwrap().id_token_signed_response_alg,
        Some(jsonwebtoken::Algorithm::RS256)
    );
    assert_eq!(
        agencies.get("om-mol").unwrap().id_token_signed_response_alg,
        None
    );
    for bad in ["rs256", "HS256", "none", "RS384"] {
        assert_eq!(
            problems(
                "sector = \"health\"",
                &format!("sector = \"health\"\nid_token_signed_response_alg = \"{bad}\""),
            ),
            [format!(
                "agency[0].id_token_signed_response_alg: unknown signing algorithm \"{bad}\" \
                 (expected ES256, RS256, PS256, EdDSA)"
            )]
        );
    }
}

/// `check-config` and `serve`: an agency asking an alg no key signs is refused at load,
/// naming the agency, the algs held and how to make the missing key.
#[test]
fn an_alg_no_signing_key_signs_is_refused_at_load() {
    use crate::provider::keys::SigningKeys;
    let keys = SigningKeys::generate(jsonwebtoken::Algorithm::ES256).unwrap();
    let file = Path::new("agencies.toml");
    let algs = [
        (0, jsonwebtoken::Algorithm::ES256),
        (2, jsonwebtoken::Algorithm::RS256),
    ];
    let problems = load::check_signing_algs(file, &algs, &keys);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].key, "agency[2].id_token_signed_response_alg");
    assert!(!problems[0].is_absent());
    assert_eq!(
        problems[0].problem,
        "no signing key signs RS256 (keys.files hold ES256); add one made with \
         `jisr keys generate --alg RS256`"
    );
    let both = SigningKeys::generate_set(&[
        jsonwebtoken::Algorithm::ES256,
        jsonwebtoken::Algorithm::RS256,
    ])
    .unwrap();
    assert!(load::check_signing_algs(file, &algs, &both).is_empty());
}

#[test]
fn back_channel_registration_loads_and_each_problem_names_its_key() {
    let from = "auth = { method = \"client_secret_basic\", secret = { env = \"BH_SECRET\" } }\n";
    let registration = format!(
        "{from}introspection_for = [\"om-mol\"]\n\n[agency.exchange]\n\
         audiences = {{ SA = [\"sa-mobile-app\"], KW = [\"kw-app\", \"kw-app-2\"] }}\n\
         legal_basis = \"gcc-health-2025\"\n"
    );
    let (_dir, file) = setup(from, &registration);
    let agencies = Agencies::load(&file, &env).unwrap();
    let bh = agencies.get("bh-moh").unwrap();
    assert_eq!(
        bh.back_channel.audiences("SA".parse().unwrap()),
        ["sa-mobile-app"]
    );
    assert_eq!(
        bh.back_channel.audiences("KW".parse().unwrap()),
        ["kw-app", "kw-app-2"]
    );
    assert!(bh.back_channel.audiences("QA".parse().unwrap()).is_empty());
    assert_eq!(
        bh.back_channel.legal_basis.as_deref(),
        Some("gcc-health-2025")
    );
    assert_eq!(bh.back_channel.introspection_for, ["om-mol"]);
    // Agencies without a registration have none.
    let om = agencies.get("om-mol").unwrap();
    assert_eq!(om.back_channel, BackChannel::default());

    let cases = [
        (
            format!("{from}\n[agency.exchange]\naudiences = {{ SA = [] }}\n"),
            "agency[0].exchange.audiences.SA: list at least one national client id",
        ),
        (
            format!("{from}\n[agency.exchange]\naudiences = {{ US = [\"x\"] }}\n"),
            "agency[0].exchange.audiences.US: US is not a GCC member state",
        ),
        (
            format!("{from}\n[agency.exchange]\naudiences = {{ SA = [\"a b\"] }}\n"),
            "agency[0].exchange.audiences.SA[0]: use 1 to 255 printable ASCII characters without spaces",
        ),
        (
            format!("{from}\n[agency.exchange]\nlegal_basis = \"\"\n"),
            "agency[0].exchange.legal_basis: use 1 to 128 printable ASCII characters without spaces, as the policy names it",
        ),
        (
            format!("{from}introspection_for = [\"nobody\"]\n"),
            "agency[0].introspection_for[0]: `nobody` is not a registered client_id",
        ),
        (
            format!("{from}introspection_for = [\"bh-moh\"]\n"),
            "agency[0].introspection_for[0]: an agency always introspects its own tokens; list other agencies only",
        ),
    ];
    for (to, want) in cases {
        assert_eq!(problems(from, &to), [want], "{to}");
    }
}

// ---------------------------------------------------------------- logout registration

#[test]
fn logout_registration_is_read_and_its_uris_checked() {
    let with = r#"redirect_uris = ["https://moh.bh.example/cb", "http://localhost:8400/cb"]
post_logout_redirect_uris = ["https://moh.bh.example/bye"]
backchannel_logout_uri = "https://moh.bh.example/bcl"
backchannel_logout_session_required = true
frontchannel_logout_uri = "https://moh.bh.example/fcl""#;
    let (_dir, file) = setup(
        r#"redirect_uris = ["https://moh.bh.example/cb", "http://localhost:8400/cb"]"#,
        with,
    );
    let agencies = Agencies::load(&file, &env).unwrap_or_else(|p| panic!("{p:#?}"));
    let bh = agencies.get("bh-moh").unwrap();
    assert_eq!(
        bh.logout.post_logout_redirect_uris,
        ["https://moh.bh.example/bye"]
    );
    assert_eq!(
        bh.logout.backchannel_logout_uri.as_deref(),
        Some("https://moh.bh.example/bcl")
    );
    assert!(bh.logout.backchannel_logout_session_required);
    assert_eq!(
        bh.logout.frontchannel_logout_uri.as_deref(),
        Some("https://moh.bh.example/fcl")
    );
    // Unregistered: nothing.
    assert_eq!(agencies.get("om-mol").unwrap().logout, Default::default());

    let bad = r#"redirect_uris = ["https://moh.bh.example/cb", "http://localhost:8400/cb"]
post_logout_redirect_uris = ["http://moh.bh.example/bye", "https://moh.bh.example/bye#x"]
backchannel_logout_uri = "ftp://moh.bh.example/bcl""#;
    let found = problems(
        r#"redirect_uris = ["https://moh.bh.example/cb", "http://localhost:8400/cb"]"#,
        bad,
    );
    for key in [
        "agency[0].post_logout_redirect_uris[0]",
        "agency[0].post_logout_redirect_uris[1]",
        "agency[0].backchannel_logout_uri",
    ] {
        assert!(
            found.iter().any(|p| p.starts_with(key)),
            "{key}: {found:#?}"
        );
    }
}
