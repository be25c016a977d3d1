//! Country files and the release policy: `countries/<cc>.toml` split into the mapping profile
//! (for `jisr-mapping`) and the gateway's `[idp]` table ([`IdpSection`]), then cross-checked
//! with `policy.toml`.

use std::fs;
use std::path::{Path, PathBuf};

use jisr_mapping::toml_load::{from_value, parse_document};
use jisr_mapping::{ConfigProblem, CountryCode, CountryProfile, Policy, ProfileFile, check_config};

use super::files::{display, invalid, io_problem, read};
use super::idp::IdpSection;

/// The mapping part of the configuration: every country profile and the release policy.
#[derive(Debug, Clone)]
pub struct MappingConfig {
    pub profiles: Vec<(PathBuf, CountryProfile)>,
    pub policy_file: PathBuf,
    pub policy: Policy,
}

/// One country file as read: its mapping profile and, when present, the gateway's `[idp]`
/// table (checked, secrets not read).
#[derive(Debug, Clone)]
pub struct CountryFile {
    pub file: PathBuf,
    pub profile: CountryProfile,
    pub idp: Option<IdpSection>,
}

/// The gateway's table in a country file.
const IDP_TABLE: &str = "idp";

/// Reads one country file and splits it: the `[idp]` table to [`IdpSection`] (checked), the
/// rest to the mapping crate's profile parser. Problems name keys as written, `idp.issuer` …
pub fn load_country_file(file: &Path) -> Result<CountryFile, ConfigProblem> {
    parse_country_file(file, &read(file)?)
}

/// [`load_country_file`] for a country file's `text` already read (`file` names it in
/// problems): the demo's built-in profiles and tests use it.
pub fn parse_country_file(file: &Path, text: &str) -> Result<CountryFile, ConfigProblem> {
    let name = display(file);
    let mut document = parse_document(&name, text)?;
    let idp = document.get_mut().remove(IDP_TABLE);
    let profile = CountryProfile::from_document(&name, text, document)?;
    let idp = match idp {
        None => None,
        Some(table) => {
            let section: IdpSection = from_value(&name, text, IDP_TABLE, table)?;
            section
                .check()
                .map_err(|(key, msg)| invalid(file, &format!("{IDP_TABLE}.{key}"), msg))?;
            Some(section)
        }
    };
    Ok(CountryFile {
        file: file.to_owned(),
        profile,
        idp,
    })
}

/// Reads and validates the release policy.
pub fn load_policy(file: &Path) -> Result<Policy, ConfigProblem> {
    let text = read(file)?;
    Policy::from_toml(&display(file), &text)
}

impl MappingConfig {
    /// Loads `<dir>/countries/*.toml` and `<dir>/policy.toml`, validates each file and then
    /// checks them against each other. Returns every problem found, or the config.
    pub fn load_dir(dir: &Path) -> Result<Self, Vec<ConfigProblem>> {
        Self::load_paths(&dir.join("countries"), &dir.join("policy.toml"))
    }

    /// [`MappingConfig::load_dir`] with the two locations given (`paths` of `gateway.toml`).
    pub fn load_paths(countries: &Path, policy_file: &Path) -> Result<Self, Vec<ConfigProblem>> {
        load(countries, policy_file).map(|(mapping, _)| mapping)
    }

    /// The profile of one country.
    pub fn profile(&self, country: CountryCode) -> Option<&CountryProfile> {
        self.profiles
            .iter()
            .map(|(_, p)| p)
            .find(|p| p.country == country)
    }
}

/// The mapping config and the `[idp]` table of each country file that has one.
pub(crate) type Loaded = (MappingConfig, Vec<(PathBuf, CountryCode, IdpSection)>);

/// Every country file of `countries` and the policy, cross-checked; every problem at once.
pub(crate) fn load(countries: &Path, policy_file: &Path) -> Result<Loaded, Vec<ConfigProblem>> {
    let mut problems = Vec::new();
    let mut files: Vec<PathBuf> = match fs::read_dir(countries) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect(),
        Err(e) => {
            problems.push(io_problem(countries, &e));
            Vec::new()
        }
    };
    files.sort();
    if files.is_empty() && problems.is_empty() {
        problems.push(invalid(
            countries,
            "(directory)",
            "no country profiles (*.toml) found",
        ));
    }
    let mut profiles = Vec::new();
    let mut idps = Vec::new();
    for file in files {
        match load_country_file(&file) {
            Ok(c) => {
                if let Some(idp) = c.idp {
                    idps.push((c.file.clone(), c.profile.country, idp));
                }
                profiles.push((c.file, c.profile));
            }
            Err(p) => problems.push(p),
        }
    }
    let policy = load_policy(policy_file).map_err(|p| problems.push(p)).ok();
    // Cross-checks need every file: with one missing they would report its absence rather
    // than the real problem, so they wait until each file loads.
    if let Some(policy) = policy.as_ref().filter(|_| problems.is_empty()) {
        problems.extend(cross_check(&profiles, policy_file, policy));
    }
    match policy {
        Some(policy) if problems.is_empty() => Ok((
            MappingConfig {
                profiles,
                policy_file: policy_file.to_owned(),
                policy,
            },
            idps,
        )),
        _ => Err(problems),
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
