//! Parsing TOML text into config types with the failing key named in the error
//! (`file: key: problem`). Only the parser's message is kept, never the source snippet, which
//! could show a value.
//!
//! The gateway reads its own files with these too, and splits a country file with
//! [`parse_document`]: it takes its `[idp]` table out and hands the rest to
//! [`CountryProfile::from_document`](crate::CountryProfile::from_document).

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::error::ConfigProblem;

/// A parsed TOML document that remembers where each key was written.
pub type Document<'i> = Spanned<DeTable<'i>>;

/// Deserialises `text`, reporting the dotted key path of the first problem (or the line of a
/// syntax error).
pub fn parse_toml<T: DeserializeOwned>(file: &str, text: &str) -> Result<T, ConfigProblem> {
    from_document(file, text, parse_document(file, text)?)
}

/// Parses `text` into a document without giving it a type yet (syntax errors only).
pub fn parse_document<'i>(file: &str, text: &'i str) -> Result<Document<'i>, ConfigProblem> {
    DeTable::parse(text)
        .map_err(|e| ConfigProblem::invalid(file, line_of(text, e.span()), e.message().trim()))
}

/// Deserialises a document parsed from `text` by [`parse_document`].
pub fn from_document<T: DeserializeOwned>(
    file: &str,
    text: &str,
    document: Document<'_>,
) -> Result<T, ConfigProblem> {
    deserialize(file, text, "", toml::de::Deserializer::from(document))
}

/// Deserialises one value of a document parsed from `text` (a table taken out of it); keys in
/// problems are prefixed with `key`.
pub fn from_value<T: DeserializeOwned>(
    file: &str,
    text: &str,
    key: &str,
    value: Spanned<DeValue<'_>>,
) -> Result<T, ConfigProblem> {
    deserialize(file, text, key, toml::de::ValueDeserializer::from(value))
}

fn deserialize<'de, T, D>(file: &str, text: &str, prefix: &str, de: D) -> Result<T, ConfigProblem>
where
    T: DeserializeOwned,
    D: serde::Deserializer<'de, Error = toml::de::Error>,
{
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let path = if path == "." { String::new() } else { path };
        let key = match (prefix.is_empty(), path.is_empty()) {
            (true, true) => line_of(text, inner.span()),
            (true, false) => path,
            (false, true) => prefix.to_owned(),
            (false, false) => format!("{prefix}.{path}"),
        };
        ConfigProblem::invalid(file, key, inner.message().trim())
    })
}

/// `line N` for the start of `span`, `(document)` without one.
fn line_of(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    span.map(|s| {
        format!(
            "line {}",
            text.get(..s.start).unwrap_or(text).matches('\n').count() + 1
        )
    })
    .unwrap_or_else(|| "(document)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Two {
        a: u8,
        b: Option<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        c: u8,
    }

    #[test]
    fn problems_name_the_key_or_the_line() {
        let err = parse_toml::<Two>("f.toml", "a = 1\n[b]\nc = 300\n").unwrap_err();
        assert_eq!(
            err.to_string().split(": ").take(2).collect::<Vec<_>>(),
            ["f.toml", "b.c"]
        );
        let err = parse_toml::<Two>("f.toml", "a = 1\n[b\n").unwrap_err();
        assert_eq!(err.key, "line 2");
        let err = parse_toml::<Two>("f.toml", "\nb = { c = 1 }\n").unwrap_err();
        assert_eq!(err.key, "line 1");
        assert_eq!(err.problem, "missing field `a`");
    }

    #[test]
    fn a_table_taken_out_keeps_its_key_prefix() {
        let text = "a = 1\n[b]\nc = 1\nd = 2\n";
        let mut doc = parse_document("f.toml", text).unwrap();
        let b = doc.get_mut().remove("b").unwrap();
        let err = from_value::<Inner>("f.toml", text, "b", b).unwrap_err();
        assert_eq!(err.key, "b.d");
        assert!(err.problem.starts_with("unknown field `d`"), "{err}");
        let two: Two = from_document("f.toml", text, doc).unwrap();
        assert!(two.b.is_none());
    }
}
