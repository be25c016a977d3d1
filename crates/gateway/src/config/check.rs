//! `jisr check-config`: the loader `serve` uses, with deployment material that is absent on
//! this machine (CI, a laptop) reported as notes rather than problems.

use std::path::Path;

use jisr_mapping::{ConfigProblem, CountryCode};

use super::load;

/// What `jisr check-config` found in a configuration without invalid problems.
#[derive(Debug)]
pub struct CheckReport {
    /// The countries with a profile, in file order.
    pub countries: Vec<CountryCode>,
    /// Rules in the release policy.
    pub rules: usize,
    /// Number of agencies, when there is an `agencies.toml`.
    pub agencies: Option<usize>,
    /// Whether a `gateway.toml` was checked (a directory may hold the mapping files only).
    pub gateway: bool,
    /// Deployment material absent on this machine: unset secret variables, missing secret,
    /// signing-key, private-key or TLS files. Not a problem for `check-config`; `serve`
    /// refuses to start without it.
    pub absent: Vec<ConfigProblem>,
}

impl CheckReport {
    /// One line: `ok: 6 country profiles (AE, …), policy with 5 rules, 3 agencies, gateway config`.
    pub fn summary(&self) -> String {
        let countries: Vec<&str> = self.countries.iter().map(CountryCode::as_str).collect();
        let mut line = format!(
            "ok: {} country profiles ({}), policy with {} rules",
            countries.len(),
            countries.join(", "),
            self.rules
        );
        if let Some(n) = self.agencies {
            line.push_str(&format!(
                ", {n} {}",
                if n == 1 { "agency" } else { "agencies" }
            ));
        }
        if self.gateway {
            line.push_str(", gateway config");
        }
        line
    }
}

/// Validates a config directory or a `gateway.toml` with [`super::Config::load`]'s loader:
/// the gateway config with `JISR_…` overrides from `vars`, secrets, signing keys and TLS
/// files, country profiles with their `[idp]` tables and secrets, the policy (cross-checked),
/// agencies with their secrets and JWKS files. Returns the invalid problems, or a report with
/// the absent ones. A directory without `gateway.toml` is checked for its `countries/`,
/// `policy.toml` and, when present, `agencies.toml`.
pub fn check(path: &Path, vars: &[(String, String)]) -> Result<CheckReport, Vec<ConfigProblem>> {
    let loaded = load::load(path, vars);
    let (absent, invalid): (Vec<ConfigProblem>, Vec<ConfigProblem>) = loaded
        .problems
        .into_iter()
        .partition(ConfigProblem::is_absent);
    match loaded.mapping {
        Some(mapping) if invalid.is_empty() => Ok(CheckReport {
            countries: mapping.profiles.iter().map(|(_, p)| p.country).collect(),
            rules: mapping.policy.rules().len(),
            agencies: loaded.agency_count,
            gateway: loaded.gateway.is_some(),
            absent,
        }),
        _ => Err(invalid),
    }
}
