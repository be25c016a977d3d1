//! Reading `gateway.toml` and layering `JISR_<SECTION>__<KEY>` overrides over it (figment).

use std::path::Path;

use figment::Figment;
use figment::providers::Serialized;
use figment::value::Value;
use jisr_mapping::ConfigProblem;

use super::GatewayConfig;
use super::validate::{RawGateway, validate};
use crate::config::files;

/// The sections of `gateway.toml`; a `JISR_` variable is an override only under one of them.
const SECTIONS: [&str; 10] = [
    "server",
    "store",
    "keys",
    "pairwise_key",
    "paths",
    "tokens",
    "admin",
    "audit",
    "session",
    "rate_limits",
];

// ---- Loading -------------------------------------------------------------------------------

impl GatewayConfig {
    /// Loads `gateway.toml` with the `JISR_…` overrides among `vars` (`(name, value)` pairs)
    /// and validates it, reporting every problem as `file: key: problem` (the file is
    /// `$JISR_…` for an overridden key).
    pub fn load_with<K, V>(
        file: &Path,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, Vec<ConfigProblem>>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let table: toml::Table = files::read_toml(file).map_err(|p| vec![p])?;
        let overrides = env_overrides(vars);
        let mut figment = Figment::from(Serialized::defaults(table));
        for (key, _, value) in &overrides {
            figment = figment.merge(Serialized::default(key, value));
        }
        let origin = |key: &str| -> String {
            overrides
                .iter()
                .find(|(k, _, _)| key == k || key.starts_with(&format!("{k}.")))
                .map(|(_, var, _)| format!("${var}"))
                .unwrap_or_else(|| file.display().to_string())
        };
        let raw: RawGateway = figment.extract().map_err(|err| {
            err.into_iter()
                .map(|e| {
                    use figment::error::Kind;
                    let mut path = e.path.clone();
                    let one_of = |names: &[&str]| {
                        let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
                        quoted.join(", ")
                    };
                    // serde's wording, as in the other config files.
                    let message = match &e.kind {
                        Kind::UnknownField(f, expected) => {
                            format!("unknown field `{f}`, expected one of {}", one_of(expected))
                        }
                        Kind::UnknownVariant(v, expected) => {
                            format!(
                                "unknown variant `{v}`, expected one of {}",
                                one_of(expected)
                            )
                        }
                        Kind::MissingField(f) => {
                            path.push(f.to_string());
                            format!("missing field `{f}`")
                        }
                        other => other.to_string(),
                    };
                    let key = if path.is_empty() {
                        "(document)".to_owned()
                    } else {
                        path.join(".")
                    };
                    ConfigProblem::invalid(origin(&key), key, message)
                })
                .collect::<Vec<_>>()
        })?;
        let base_dir = files::base_dir(file);
        validate(raw, file, &base_dir).map_err(|problems| {
            problems
                .into_iter()
                .map(|(key, problem)| ConfigProblem::invalid(origin(&key), key, problem))
                .collect()
        })
    }
}

/// `JISR_STORE__URL=v` → (`store.url`, `JISR_STORE__URL`, parsed v), as figment's
/// `Env::prefixed("JISR_").split("__")` would, for variables under a section of the file.
/// Later pairs win.
fn env_overrides<K: AsRef<str>, V: AsRef<str>>(
    vars: impl IntoIterator<Item = (K, V)>,
) -> Vec<(String, String, Value)> {
    let mut out: Vec<(String, String, Value)> = Vec::new();
    for (name, value) in vars {
        let name = name.as_ref().trim();
        let Some(rest) = name
            .get(..5)
            .filter(|p| p.eq_ignore_ascii_case("JISR_"))
            .map(|_| &name[5..])
        else {
            continue;
        };
        let rest = rest.to_ascii_lowercase();
        let segments: Vec<&str> = rest.split("__").collect();
        if segments.len() < 2
            || segments.iter().any(|s| s.is_empty())
            || !SECTIONS.contains(&segments[0])
        {
            continue;
        }
        let key = segments.join(".");
        let value: Value = value.as_ref().parse().unwrap_or_else(|e| match e {});
        out.retain(|(k, _, _)| *k != key);
        out.push((key, name.to_owned(), value));
    }
    out
}
