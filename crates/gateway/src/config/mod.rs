//! Configuration files: read once at start, parsed into typed values, cross-checked.
//!
//! Layout (DESIGN.md): `countries/<cc>.toml` (one mapping profile per national IdP) and
//! `policy.toml`. Every problem is reported as `file: key: problem`, all of them at once.

use std::fs;
use std::path::{Path, PathBuf};

use crate::upstream::config::IdpSection;
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
        let mut problems = Vec::new();
        let countries = dir.join("countries");
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
        let policy_file = dir.join("policy.toml");
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
