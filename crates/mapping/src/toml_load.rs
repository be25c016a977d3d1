//! Parsing TOML text into config types with the failing key named in the error.

use serde::de::DeserializeOwned;

use crate::error::ConfigProblem;

pub(crate) fn problem(file: &str, key: impl Into<String>, msg: impl Into<String>) -> ConfigProblem {
    ConfigProblem {
        file: file.to_owned(),
        key: key.into(),
        problem: msg.into(),
    }
}

/// Deserialises `text`, reporting the dotted key path of the first problem (or the line of a
/// syntax error).
pub(crate) fn parse_toml<T: DeserializeOwned>(file: &str, text: &str) -> Result<T, ConfigProblem> {
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
        .map_err(|e| problem(file, line_of(e.span()), e.message().trim()))?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let key = if path.is_empty() || path == "." {
            line_of(inner.span())
        } else {
            path
        };
        problem(file, key, inner.message().trim())
    })
}
