//! Configuration files: read once at start, parsed into typed values, cross-checked.
//!
//! Layout (DESIGN.md): `gateway.toml` ([`gateway`]: server, store, keys, paths, token
//! lifetimes), `countries/<cc>.toml` (one mapping profile per national IdP), `policy.toml`
//! and `agencies.toml` ([`agencies`]: the OIDC clients). Every problem is reported as
//! `file: key: problem`, all of them at once. [`Config::load`] is what `serve` runs on;
//! [`check`] is `jisr check-config`.

pub mod agencies;
pub mod gateway;

use std::fs;
use std::path::{Path, PathBuf};

use crate::upstream::config::IdpSection;
use agencies::Agencies;
use gateway::{GatewayConfig, GatewaySecrets};
use jisr_mapping::{ConfigProblem, CountryCode, CountryProfile, Policy, ProfileFile, check_config};

/// The mapping part of the configuration: every country profile and the release policy.
#[derive(Debug, Clone)]
pub struct MappingConfig {
    pub profiles: Vec<(PathBuf, CountryProfile)>,
    pub policy_file: PathBuf,
    pub policy: Policy,
}

impl MappingConfig {
    /// Loads `<dir>/countries/*.toml` and `<dir>/policy.toml`, validates each file and then
    /// checks them against each other. Returns every problem found, or the config.
    pub fn load_dir(dir: &Path) -> Result<Self, Vec<ConfigProblem>> {
        Self::load_paths(&dir.join("countries"), &dir.join("policy.toml"))
    }

    /// [`MappingConfig::load_dir`] with the two locations given (`paths` of `gateway.toml`).
    pub fn load_paths(countries: &Path, policy_file: &Path) -> Result<Self, Vec<ConfigProblem>> {
        let mut problems = Vec::new();
        let countries = countries.to_owned();
        let mut files: Vec<PathBuf> = match fs::read_dir(&countries) {
            Ok(entries) => entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect(),
            Err(e) => {
                problems.push(io_problem(&countries, &e));
                Vec::new()
            }
        };
        files.sort();
        if files.is_empty() && problems.is_empty() {
            problems.push(problem(
                &countries,
                "(directory)",
                "no country profiles (*.toml) found",
            ));
        }
        let mut profiles = Vec::new();
        for file in files {
            match load_profile(&file) {
                Ok(p) => profiles.push((file, p)),
                Err(p) => problems.push(p),
            }
        }
        let policy_file = policy_file.to_owned();
        let policy = match load_policy(&policy_file) {
            Ok(p) => Some(p),
            Err(p) => {
                problems.push(p);
                None
            }
        };
        // Cross-checks need every file: with one missing they would report its absence
        // rather than the real problem, so they wait until each file loads.
        if let Some(policy) = policy.as_ref().filter(|_| problems.is_empty()) {
            problems.extend(cross_check(&profiles, &policy_file, policy));
        }
        match policy {
            Some(policy) if problems.is_empty() => Ok(MappingConfig {
                profiles,
                policy_file,
                policy,
            }),
            _ => Err(problems),
        }
    }

    /// The profile of one country.
    pub fn profile(&self, country: CountryCode) -> Option<&CountryProfile> {
        self.profiles
            .iter()
            .map(|(_, p)| p)
            .find(|p| p.country == country)
    }
}

fn cross_check(
    profiles: &[(PathBuf, CountryProfile)],
    policy_file: &Path,
    policy: &Policy,
) -> Vec<ConfigProblem> {
    let names: Vec<String> = profiles.iter().map(|(f, _)| display(f)).collect();
    let files: Vec<ProfileFile<'_>> = profiles
        .iter()
        .zip(&names)
        .map(|((_, profile), file)| ProfileFile { file, profile })
        .collect();
    check_config(&files, &display(policy_file), policy)
}

/// Reads and validates one country profile, including its `[idp]` section when present.
pub fn load_profile(file: &Path) -> Result<CountryProfile, ConfigProblem> {
    let text = read(file)?;
    let profile = CountryProfile::from_toml(&display(file), &text)?;
    if let Some(table) = &profile.idp {
        idp_section(table).map_err(|(key, msg)| problem(file, &format!("idp.{key}"), &msg))?;
    }
    Ok(profile)
}

/// Parses and checks an `[idp]` table (without reading secrets).
pub fn idp_section(table: &toml::Table) -> Result<IdpSection, (String, String)> {
    let section: IdpSection = serde_path_to_error::deserialize(toml::Value::Table(table.clone()))
        .map_err(|e| {
        (
            e.path().to_string(),
            e.into_inner().message().trim().to_owned(),
        )
    })?;
    section.check()?;
    Ok(section)
}

/// Reads and validates the release policy.
pub fn load_policy(file: &Path) -> Result<Policy, ConfigProblem> {
    let text = read(file)?;
    Policy::from_toml(&display(file), &text)
}

/// The process environment as `(name, value)` pairs (non-UTF-8 lossily converted). The binary
/// reads it once at start and passes it down; nothing else reads the environment.
pub fn process_env() -> Vec<(String, String)> {
    std::env::vars_os()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
        .collect()
}

/// A lookup over `(name, value)` pairs, for secrets named by `{ env = "VAR" }`.
pub fn env_lookup(vars: &[(String, String)]) -> impl Fn(&str) -> Option<String> + '_ {
    move |name| {
        vars.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

/// Everything `jisr serve` runs on: validated, cross-checked, secrets read.
#[derive(Debug, Clone)]
pub struct Config {
    pub gateway: GatewayConfig,
    pub secrets: GatewaySecrets,
    pub mapping: MappingConfig,
    pub agencies: Agencies,
}

impl Config {
    /// Loads `path` (the config directory, or its `gateway.toml`) with the environment
    /// `vars`: `JISR_…` overrides, secrets, and every file `paths` names. Signing-key and
    /// TLS files must exist (their contents are loaded by the provider and the listener).
    pub fn load(path: &Path, vars: &[(String, String)]) -> Result<Self, Vec<ConfigProblem>> {
        let gateway =
            GatewayConfig::load_with(&gateway_file(path), vars.iter().map(|(k, v)| (k, v)))?;
        let env = env_lookup(vars);
        let mut problems: Vec<ConfigProblem> = Vec::new();
        let secrets = gateway
            .resolve_secrets(&env)
            .map_err(|p| problems.extend(p))
            .ok();
        problems.extend(gateway.deployment_files().into_iter().map(|(p, _)| p));
        let mapping = MappingConfig::load_paths(&gateway.paths.countries, &gateway.paths.policy)
            .map_err(|p| problems.extend(p))
            .ok();
        let agencies = Agencies::load(&gateway.paths.agencies, &env)
            .map_err(|p| problems.extend(p))
            .ok();
        match (secrets, mapping, agencies) {
            (Some(secrets), Some(mapping), Some(agencies)) if problems.is_empty() => Ok(Config {
                gateway,
                secrets,
                mapping,
                agencies,
            }),
            _ => Err(problems),
        }
    }
}

/// `<dir>/gateway.toml` for a directory, the path itself otherwise.
fn gateway_file(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join("gateway.toml")
    } else {
        path.to_owned()
    }
}

/// What `jisr check-config` found in a configuration without problems.
#[derive(Debug)]
pub struct CheckReport {
    pub mapping: MappingConfig,
    /// Number of agencies, when there is an `agencies.toml`.
    pub agencies: Option<usize>,
    /// `None` for a directory without `gateway.toml` (mapping files only).
    pub gateway: Option<GatewayConfig>,
    /// Deployment material absent on this machine: unset secret variables, missing secret,
    /// signing-key or TLS files. Not a problem for `check-config` (CI and laptops have none
    /// of it); `serve` refuses to start without it.
    pub absent: Vec<ConfigProblem>,
}

impl CheckReport {
    /// One line: `ok: 6 country profiles (AE, …), policy with 5 rules, 3 agencies, gateway config`.
    pub fn summary(&self) -> String {
        let countries: Vec<&str> = self
            .mapping
            .profiles
            .iter()
            .map(|(_, p)| p.country.as_str())
            .collect();
        let mut line = format!(
            "ok: {} country profiles ({}), policy with {} rules",
            countries.len(),
            countries.join(", "),
            self.mapping.policy.rules().len()
        );
        if let Some(n) = self.agencies {
            line.push_str(&format!(
                ", {n} {}",
                if n == 1 { "agency" } else { "agencies" }
            ));
        }
        if self.gateway.is_some() {
            line.push_str(", gateway config");
        }
        line
    }
}

/// Validates a config directory or a `gateway.toml`: the gateway config with `JISR_…`
/// overrides from `vars`, country profiles and policy (cross-checked), agencies and their
/// JWKS files. Secrets and key files present here are checked too; absent ones are listed in
/// [`CheckReport::absent`]. A directory without `gateway.toml` is checked as before: its
/// `countries/`, `policy.toml` and, when present, `agencies.toml`.
pub fn check(path: &Path, vars: &[(String, String)]) -> Result<CheckReport, Vec<ConfigProblem>> {
    let file = gateway_file(path);
    let env = env_lookup(vars);
    let mut problems = Vec::new();
    let mut absent = Vec::new();
    let gateway = if path.is_dir() && !file.exists() {
        None
    } else {
        match GatewayConfig::load_with(&file, vars.iter().map(|(k, v)| (k, v))) {
            Ok(g) => Some(g),
            Err(p) => {
                problems.extend(p);
                None
            }
        }
    };
    let (countries, policy, agencies) = match &gateway {
        Some(g) => (
            g.paths.countries.clone(),
            g.paths.policy.clone(),
            Some(g.paths.agencies.clone()),
        ),
        None => {
            // No usable gateway.toml: the default layout beside it.
            let dir = if path.is_dir() {
                path.to_owned()
            } else {
                path.parent().map(Path::to_owned).unwrap_or_default()
            };
            let agencies = dir.join("agencies.toml");
            let gateway_broken = !problems.is_empty();
            if gateway_broken
                && !(dir.join("countries").is_dir() && dir.join("policy.toml").is_file())
            {
                return Err(problems);
            }
            (
                dir.join("countries"),
                dir.join("policy.toml"),
                agencies.exists().then_some(agencies),
            )
        }
    };
    if let Some(g) = &gateway {
        let (_, secret_problems) = g.secrets_classified(&env);
        for (p, is_absent) in secret_problems.into_iter().chain(g.deployment_files()) {
            if is_absent {
                absent.push(p)
            } else {
                problems.push(p)
            }
        }
    }
    let mapping = MappingConfig::load_paths(&countries, &policy)
        .map_err(|p| problems.extend(p))
        .ok();
    let agency_count = match &agencies {
        Some(file) => match Agencies::check_with_env(file, &env) {
            Ok((n, missing)) => {
                absent.extend(missing);
                Some(n)
            }
            Err(p) => {
                problems.extend(p);
                None
            }
        },
        None => None,
    };
    match mapping {
        Some(mapping) if problems.is_empty() => Ok(CheckReport {
            mapping,
            agencies: agency_count,
            gateway,
            absent,
        }),
        _ => Err(problems),
    }
}

/// Parses TOML text, naming the failing key (or the line of a syntax error). Only the
/// parser's message is kept, never the source snippet, which could show a value.
fn parse_toml<T: serde::de::DeserializeOwned>(file: &Path, text: &str) -> Result<T, ConfigProblem> {
    let line_of = |span: Option<std::ops::Range<usize>>| {
        span.map(|s| {
            format!(
                "line {}",
                text.get(..s.start).unwrap_or(text).matches('\n').count() + 1
            )
        })
        .unwrap_or_else(|| "(document)".into())
    };
    let de = toml::Deserializer::parse(text)
        .map_err(|e| problem(file, &line_of(e.span()), e.message().trim()))?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let key = if path.is_empty() || path == "." {
            line_of(inner.span())
        } else {
            path
        };
        problem(file, &key, inner.message().trim())
    })
}

/// Largest config file accepted; anything bigger is a mistake, not a config.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

fn read(file: &Path) -> Result<String, ConfigProblem> {
    let meta = fs::metadata(file).map_err(|e| io_problem(file, &e))?;
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(problem(file, "(file)", "larger than 1 MiB"));
    }
    let bytes = fs::read(file).map_err(|e| io_problem(file, &e))?;
    String::from_utf8(bytes).map_err(|_| problem(file, "(file)", "not valid UTF-8"))
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

fn problem(file: &Path, key: &str, msg: &str) -> ConfigProblem {
    ConfigProblem {
        file: display(file),
        key: key.to_owned(),
        problem: msg.to_owned(),
    }
}

fn io_problem(file: &Path, e: &std::io::Error) -> ConfigProblem {
    let msg = match e.kind() {
        std::io::ErrorKind::NotFound => "not found".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => format!("cannot read: {e}"),
    };
    problem(file, "(file)", &msg)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let keys: Vec<&str> = report.absent.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "pairwise_key",
                "store.encryption_key",
                "keys.files[0]",
                "agency[0].auth.secret",
                "agency[1].auth.secret"
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

    #[test]
    fn config_load_needs_every_secret_and_key_file() {
        let dir = copy_config();
        let d = dir.path();
        let vars: Vec<(String, String)> = [
            ("JISR_PAIRWISE_KEY", format!("base64:{}", "A".repeat(43))),
            (
                "JISR_STORE_ENCRYPTION_KEY",
                format!("hex:{}", "0f".repeat(32)),
            ),
            ("JISR_AGENCY_BH_MOH_SECRET", "b".repeat(32)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let lines = |p: Vec<ConfigProblem>| -> Vec<String> {
            let root = d.display().to_string();
            p.iter().map(|p| p.to_string().replace(&root, "")).collect()
        };
        assert_eq!(
            lines(Config::load(d, &vars).unwrap_err()),
            [
                "/gateway.toml: keys.files[0]: /keys/signing-2025-06.pem not found",
                "/agencies.toml: agency[1].auth.secret: /secrets/om-mol.secret not found",
            ]
        );
        fs::create_dir_all(d.join("keys")).unwrap();
        fs::write(
            d.join("keys/signing-2025-06.pem"),
            "PEM is checked by provider::keys",
        )
        .unwrap();
        fs::create_dir_all(d.join("secrets")).unwrap();
        fs::write(d.join("secrets/om-mol.secret"), "o".repeat(40)).unwrap();
        let cfg = Config::load(&d.join("gateway.toml"), &vars).unwrap_or_else(|p| panic!("{p:#?}"));
        assert_eq!(cfg.agencies.len(), 3);
        assert_eq!(cfg.mapping.profiles.len(), 6);
        assert!(cfg.secrets.store_encryption_key.is_some());
        assert_eq!(cfg.gateway.server.issuer(), "https://jisr.example");
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
                r#"client_auth = { method = "client_secret_basic", secret_env = "JISR_BH_CLIENT_SECRET" }"#,
                r#"client_auth = { method = "client_secret_basic", secret = "in-the-toml" }"#,
                "idp.client_auth",
                "unknown field `secret`",
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
            let p = load_profile(&file).unwrap_err();
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
        assert!(lines[0].ends_with("xx.toml: colour: unknown field `colour`, expected one of `country`, `idp_name`, `source`, `idp`, `identifier`, `given_name`, `family_name`, `birthdate`, `gender`, `nationalities`, `place_of_birth`, `loa`"), "{}", lines[0]);
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
}
