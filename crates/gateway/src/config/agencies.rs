//! `agencies.toml`: the OIDC clients of the gateway's OpenID Provider, one `[[agency]]` table
//! each: client id, bilingual name, country and sector (which fix its pairwise subjects),
//! exact redirect URIs, and how it authenticates at the token endpoint.
//!
//! Client secrets come from env vars or files ([`SecretSource`]); `private_key_jwt` agencies
//! publish public keys in a JWKS file kept beside the config. [`Agencies::check`] validates
//! structure and JWKS files without any secret (CI, a laptop); [`Agencies::load`] also reads
//! the secrets, for `serve`. The file is not layered with environment overrides: a list of
//! clients is not something to patch variable by variable.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use jisr_mapping::{ConfigProblem, CountryCode};
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use serde::Deserialize;
use url::Url;

use super::gateway::{SecretError, SecretSource, is_loopback};

/// Shortest client secret accepted: 32 bytes, as for any key the gateway holds.
pub const MIN_SECRET_BYTES: usize = 32;

/// One agency (OIDC client), validated.
#[derive(Debug, Clone)]
pub struct Agency {
    pub client_id: String,
    pub name_en: String,
    pub name_ar: String,
    /// A GCC member state: the destination country of the assertions it receives.
    pub country: CountryCode,
    /// e.g. `health`; with the country it scopes pairwise subjects.
    pub sector: String,
    /// Compared exactly with the `redirect_uri` of a request.
    pub redirect_uris: Vec<String>,
    pub auth: AgencyAuth,
}

impl Agency {
    /// The pairwise sector: `<country lowercase>:<sector>`, e.g. `bh:health`. Agencies of one
    /// country and sector see the same subject for a citizen; all others see different ones.
    pub fn pairwise_sector(&self) -> String {
        format!(
            "{}:{}",
            self.country.as_str().to_ascii_lowercase(),
            self.sector
        )
    }
}

/// How an agency authenticates at the token, introspection and exchange endpoints.
#[derive(Debug, Clone)]
pub enum AgencyAuth {
    ClientSecretBasic(Secret),
    ClientSecretPost(Secret),
    /// RFC 7523 client assertions verified with these public keys.
    PrivateKeyJwt(JwkSet),
}

/// A client secret. Debug never shows it; comparison takes the same time wherever a
/// candidate differs, and does not reveal its length.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps secret bytes (no length check; config loading enforces [`MIN_SECRET_BYTES`]).
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Secret(bytes.into())
    }

    /// Whether `candidate` is this secret. Both sides are hashed first so the constant-time
    /// comparison always runs over 32 bytes.
    pub fn matches(&self, candidate: &str) -> bool {
        use aws_lc_rs::digest::{SHA256, digest};
        let a = digest(&SHA256, &self.0);
        let b = digest(&SHA256, candidate.as_bytes());
        aws_lc_rs::constant_time::verify_slices_are_equal(a.as_ref(), b.as_ref()).is_ok()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Every agency, by client id, in file order.
#[derive(Debug, Clone)]
pub struct Agencies {
    list: Vec<Agency>,
    by_id: HashMap<String, usize>,
}

impl Agencies {
    /// Loads and validates `agencies.toml`, reading client secrets (through `env`, or files
    /// relative to the file's directory) and JWKS files. Reports every problem at once.
    pub fn load(
        file: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, Vec<ConfigProblem>> {
        let outcome = build(file, Some(env))?;
        let problems: Vec<ConfigProblem> =
            outcome.problems.into_iter().chain(outcome.absent).collect();
        if !problems.is_empty() {
            return Err(problems);
        }
        Agencies::from_list(outcome.agencies).map_err(|e| vec![problem(file, "agency", e)])
    }

    /// Validates structure and JWKS files without reading any secret; returns how many
    /// agencies there are.
    pub fn check(file: &Path) -> Result<usize, Vec<ConfigProblem>> {
        let outcome = build(file, None)?;
        if outcome.problems.is_empty() {
            Ok(outcome.count)
        } else {
            Err(outcome.problems)
        }
    }

    /// [`Agencies::check`], plus the secrets available through `env`: a secret present but
    /// unusable (too short, unreadable) is a problem; an absent one is returned as a note.
    pub(crate) fn check_with_env(
        file: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(usize, Vec<ConfigProblem>), Vec<ConfigProblem>> {
        let outcome = build(file, Some(env))?;
        if outcome.problems.is_empty() {
            Ok((outcome.count, outcome.absent))
        } else {
            Err(outcome.problems)
        }
    }

    /// Builds the set from agencies made in code (tests, `jisr demo`); refuses a duplicate
    /// client id.
    pub fn from_list(list: Vec<Agency>) -> Result<Self, String> {
        let mut by_id = HashMap::with_capacity(list.len());
        for (i, agency) in list.iter().enumerate() {
            if by_id.insert(agency.client_id.clone(), i).is_some() {
                return Err(format!("duplicate client_id `{}`", agency.client_id));
            }
        }
        Ok(Agencies { list, by_id })
    }

    pub fn get(&self, client_id: &str) -> Option<&Agency> {
        self.by_id.get(client_id).map(|&i| &self.list[i])
    }

    pub fn iter(&self) -> impl Iterator<Item = &Agency> {
        self.list.iter()
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

// ---- The file as written -------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    agency: Vec<RawAgency>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAgency {
    client_id: String,
    name_en: String,
    name_ar: String,
    country: CountryCode,
    sector: String,
    redirect_uris: Vec<String>,
    auth: RawAuth,
}

#[derive(Deserialize)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
enum RawAuth {
    ClientSecretBasic { secret: SecretSource },
    ClientSecretPost { secret: SecretSource },
    PrivateKeyJwt { jwks_file: PathBuf },
}

/// Looks up an environment variable (secrets named by `{ env = "VAR" }`).
type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

struct Outcome {
    count: usize,
    /// Complete only when `problems` and `absent` are empty and secrets were read.
    agencies: Vec<Agency>,
    problems: Vec<ConfigProblem>,
    absent: Vec<ConfigProblem>,
}

/// Parses and validates; with `env`, also reads secrets. A syntax or type error stops early
/// (nothing after it can be trusted); validation problems are all collected.
fn build(file: &Path, env: Option<EnvLookup<'_>>) -> Result<Outcome, Vec<ConfigProblem>> {
    let text = super::read(file).map_err(|p| vec![p])?;
    let raw: RawFile = super::parse_toml(file, &text).map_err(|p| vec![p])?;
    let base_dir = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let mut out = Outcome {
        count: raw.agency.len(),
        agencies: Vec::new(),
        problems: Vec::new(),
        absent: Vec::new(),
    };
    if raw.agency.is_empty() {
        out.problems.push(problem(
            file,
            "agency",
            "list at least one [[agency]]".into(),
        ));
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, a) in raw.agency.iter().enumerate() {
        let mut bad = |key: &str, msg: String| {
            out.problems
                .push(problem(file, &format!("agency[{i}].{key}"), msg))
        };
        let id = a.client_id.as_str();
        if id.is_empty() {
            bad("client_id", "must not be empty".into());
        } else if id.len() > 255 || id.chars().any(|c| !c.is_ascii_graphic()) {
            bad(
                "client_id",
                "use at most 255 printable ASCII characters without spaces".into(),
            );
        } else if let Some(first) = seen.get(id) {
            bad(
                "client_id",
                format!("duplicate client_id `{id}` (also agency[{first}])"),
            );
        } else {
            seen.insert(id, i);
        }
        for (key, name) in [("name_en", &a.name_en), ("name_ar", &a.name_ar)] {
            if name.trim().is_empty() {
                bad(key, "must not be empty".into());
            }
        }
        if a.country.gcc().is_none() {
            bad(
                "country",
                format!("{} is not a GCC member state", a.country),
            );
        }
        if a.sector.is_empty() {
            bad("sector", "must not be empty".into());
        } else if !a
            .sector
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            bad(
                "sector",
                "use only a-z, 0-9, `-` and `_` (it is part of the pairwise sector)".into(),
            );
        }
        if a.redirect_uris.is_empty() {
            bad("redirect_uris", "list at least one redirect URI".into());
        }
        for (j, uri) in a.redirect_uris.iter().enumerate() {
            if let Err(e) = check_redirect_uri(uri) {
                bad(&format!("redirect_uris[{j}]"), e);
            }
        }
        let auth = match &a.auth {
            RawAuth::PrivateKeyJwt { jwks_file } => match load_jwks(&base_dir.join(jwks_file)) {
                Ok(set) => Some(AgencyAuth::PrivateKeyJwt(set)),
                Err(e) => {
                    bad("auth.jwks_file", e);
                    None
                }
            },
            RawAuth::ClientSecretBasic { secret } | RawAuth::ClientSecretPost { secret } => {
                let Some(env) = env else { continue };
                let read = secret.read_classified(&base_dir, env).and_then(|b| {
                    if b.len() < MIN_SECRET_BYTES {
                        Err(SecretError::Invalid(format!(
                            "client secret must be at least {MIN_SECRET_BYTES} bytes, got {}",
                            b.len()
                        )))
                    } else {
                        Ok(Secret(b))
                    }
                });
                match read {
                    Ok(s) if matches!(a.auth, RawAuth::ClientSecretBasic { .. }) => {
                        Some(AgencyAuth::ClientSecretBasic(s))
                    }
                    Ok(s) => Some(AgencyAuth::ClientSecretPost(s)),
                    Err(SecretError::Absent(m)) => {
                        out.absent
                            .push(problem(file, &format!("agency[{i}].auth.secret"), m));
                        None
                    }
                    Err(SecretError::Invalid(m)) => {
                        bad("auth.secret", m);
                        None
                    }
                }
            }
        };
        if let Some(auth) = auth {
            out.agencies.push(Agency {
                client_id: a.client_id.clone(),
                name_en: a.name_en.trim().to_owned(),
                name_ar: a.name_ar.trim().to_owned(),
                country: a.country,
                sector: a.sector.clone(),
                redirect_uris: a.redirect_uris.clone(),
                auth,
            });
        }
    }
    Ok(out)
}

/// A redirect URI an agency may register: absolute https (http only on loopback, for
/// development), no fragment (RFC 6749 §3.1.2), no credentials.
fn check_redirect_uri(uri: &str) -> Result<(), String> {
    let url = Url::parse(uri).map_err(|e| format!("not an absolute URL: {e}"))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(
                "http is allowed only on loopback (127.0.0.1, localhost, [::1]); use https".into(),
            );
        }
        other => return Err(format!("scheme `{other}` is not allowed; use https")),
    }
    if url.fragment().is_some() || uri.contains('#') {
        return Err("must not contain a fragment".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain credentials".into());
    }
    Ok(())
}

/// Reads an agency's JWKS: public signature keys only, at least one.
fn load_jwks(path: &Path) -> Result<JwkSet, String> {
    let shown = path.display();
    let text = super::read(path).map_err(|p| format!("{shown}: {}", p.problem))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{shown} is not JSON: {e}"))?;
    let private = ["d", "p", "q", "dp", "dq", "qi", "k"];
    if let Some(keys) = value.get("keys").and_then(|k| k.as_array()) {
        for (i, key) in keys.iter().enumerate() {
            if let Some(p) = private.iter().find(|p| key.get(**p).is_some()) {
                return Err(format!(
                    "{shown}: keys[{i}] has private or symmetric key material (`{p}`); publish public keys only"
                ));
            }
        }
    }
    let set: JwkSet =
        serde_json::from_value(value).map_err(|e| format!("{shown} is not a JWK Set: {e}"))?;
    if set.keys.is_empty() {
        return Err(format!("{shown}: list at least one key"));
    }
    for (i, jwk) in set.keys.iter().enumerate() {
        // jsonwebtoken takes members it cannot read as a key of another type.
        if matches!(jwk.algorithm, AlgorithmParameters::Other(_)) {
            return Err(format!(
                "{shown} is not a JWK Set: keys[{i}] is not a complete key of a known type"
            ));
        }
        if matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_)) {
            return Err(format!("{shown}: keys[{i}] is a symmetric key"));
        }
        jsonwebtoken::DecodingKey::from_jwk(jwk)
            .map_err(|e| format!("{shown}: keys[{i}] is not a usable public key: {e}"))?;
    }
    Ok(set)
}

fn problem(file: &Path, key: &str, problem: String) -> ConfigProblem {
    ConfigProblem {
        file: file.display().to_string(),
        key: key.to_owned(),
        problem,
    }
}

#[cfg(test)]
mod tests {
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
                "agency[1].colour: unknown field `colour`, expected one of `client_id`, `name_en`, `name_ar`, `country`, `sector`, `redirect_uris`, `auth`",
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
}
