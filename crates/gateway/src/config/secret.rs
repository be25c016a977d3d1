//! Secrets and key material: named in the config as `{ env = "VAR" }` or `{ file = "path" }`
//! (never written there), read once at load, and the process environment read once by the
//! binary and passed down as `(name, value)` pairs so tests vary it freely.

use std::fmt;
use std::path::{Path, PathBuf};

use jisr_mapping::ConfigProblem;
use serde::Serialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

/// Largest secret or key file accepted: keys and passwords are small; anything bigger is a
/// mistake.
pub const MAX_SECRET_BYTES: u64 = 64 * 1024;

/// Looks up an environment variable by name (see [`env_lookup`]).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Where a secret lives: `{ env = "VAR" }` or `{ file = "path" }`; never a literal.
///
/// [`SecretSource::read`] returns the bytes as stored: an environment variable's value, or a
/// file's content without one trailing newline. Key material (the pairwise key, the store's
/// encryption key) may be written encoded, with an explicit `base64:` or `hex:` prefix (see
/// [`decode_key_material`]); anything else is used as is. Guessing an encoding would make
/// the same text give different keys in a file and in a variable; a prefix does not.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretSource {
    Env(String),
    File(PathBuf),
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Env(var) => write!(f, "env {var}"),
            SecretSource::File(path) => write!(f, "file {}", path.display()),
        }
    }
}

/// Why a secret or key file could not be read: absent on this machine, or present and
/// unusable. Messages name the variable or file, never the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretError {
    Absent(String),
    Invalid(String),
}

impl SecretError {
    pub fn message(self) -> String {
        match self {
            SecretError::Absent(m) | SecretError::Invalid(m) => m,
        }
    }

    /// The problem at `key` of `file`, tagged absent or invalid.
    pub fn problem(self, file: &Path, key: &str) -> ConfigProblem {
        let file = file.display().to_string();
        match self {
            SecretError::Absent(m) => ConfigProblem::absent(file, key, m),
            SecretError::Invalid(m) => ConfigProblem::invalid(file, key, m),
        }
    }
}

impl SecretSource {
    /// Reads the secret: a relative file under `base_dir`, a variable through `env`.
    /// Errors name the variable or file, never the value.
    pub fn read(&self, base_dir: &Path, env: Env<'_>) -> Result<Vec<u8>, String> {
        self.read_classified(base_dir, env)
            .map_err(SecretError::message)
    }

    /// [`SecretSource::read`], telling an absent secret from an unusable one.
    pub fn read_classified(&self, base_dir: &Path, env: Env<'_>) -> Result<Vec<u8>, SecretError> {
        match self {
            SecretSource::Env(var) => {
                let value = env(var).ok_or_else(|| {
                    SecretError::Absent(format!("environment variable {var} is not set"))
                })?;
                if value.is_empty() {
                    return Err(SecretError::Invalid(format!(
                        "environment variable {var} is empty"
                    )));
                }
                Ok(value.into_bytes())
            }
            SecretSource::File(file) => {
                let path = base_dir.join(file);
                let mut bytes = read_material(&path)?;
                if bytes.last() == Some(&b'\n') {
                    bytes.pop();
                    if bytes.last() == Some(&b'\r') {
                        bytes.pop();
                    }
                }
                if bytes.is_empty() {
                    return Err(SecretError::Invalid(format!("{} is empty", path.display())));
                }
                Ok(bytes)
            }
        }
    }

    /// The same source with a relative file resolved under `base_dir`.
    pub(crate) fn under(self, base_dir: &Path) -> Self {
        match self {
            SecretSource::File(p) => SecretSource::File(base_dir.join(p)),
            env => env,
        }
    }
}

/// Reads a secret or key file of at most [`MAX_SECRET_BYTES`]: absent when it does not exist,
/// invalid when it cannot be read, is not a regular file, is too large or is empty.
pub fn read_material(path: &Path) -> Result<Vec<u8>, SecretError> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => SecretError::Absent(format!("{shown} not found")),
        _ => SecretError::Invalid(format!("cannot read {shown}: {e}")),
    })?;
    if !meta.is_file() || meta.len() > MAX_SECRET_BYTES {
        return Err(SecretError::Invalid(format!(
            "{shown} is not a file of at most 64 KiB"
        )));
    }
    let bytes = std::fs::read(path)
        .map_err(|e| SecretError::Invalid(format!("cannot read {shown}: {e}")))?;
    if bytes.is_empty() {
        return Err(SecretError::Invalid(format!("{shown} is empty")));
    }
    Ok(bytes)
}

impl<'de> de::Deserialize<'de> for SecretSource {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct SourceVisitor;
        impl<'de> Visitor<'de> for SourceVisitor {
            type Value = SecretSource;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"`{ env = "VAR" }` or `{ file = "path" }`"#)
            }
            // The value is never echoed: it may be the secret itself.
            fn visit_str<E: de::Error>(self, _: &str) -> Result<SecretSource, E> {
                Err(E::custom(
                    r#"secrets are never written in the config: use `{ env = "VAR" }` or `{ file = "path" }`"#,
                ))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SecretSource, A::Error> {
                let mut found = None;
                while let Some(key) = map.next_key::<String>()? {
                    let source = match key.as_str() {
                        "env" => SecretSource::Env(map.next_value()?),
                        "file" => SecretSource::File(map.next_value()?),
                        other => return Err(de::Error::unknown_field(other, &["env", "file"])),
                    };
                    if found.replace(source).is_some() {
                        return Err(de::Error::custom("set only one of `env` or `file`"));
                    }
                }
                found.ok_or_else(|| de::Error::custom("set one of `env` or `file`"))
            }
        }
        d.deserialize_any(SourceVisitor)
    }
}

/// Decodes key material written as `base64:<standard or url-safe, padding optional>` or
/// `hex:<digits>`; other values are the key bytes themselves.
pub fn decode_key_material(bytes: Vec<u8>) -> Result<Vec<u8>, String> {
    use base64::Engine as _;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    let config =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    if let Some(text) = bytes.strip_prefix(b"base64:") {
        let text = text.trim_ascii();
        GeneralPurpose::new(&base64::alphabet::STANDARD, config)
            .decode(text)
            .or_else(|_| GeneralPurpose::new(&base64::alphabet::URL_SAFE, config).decode(text))
            .map_err(|_| "value after `base64:` is not valid base64".to_owned())
    } else if let Some(text) = bytes.strip_prefix(b"hex:") {
        hex::decode(text.trim_ascii()).map_err(|e| match e {
            hex::FromHexError::OddLength => "value after `hex:` has an odd number of digits".into(),
            _ => "value after `hex:` is not hexadecimal".into(),
        })
    } else {
        Ok(bytes)
    }
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

/// A lookup over `(name, value)` pairs, for secrets named by `{ env = "VAR" }`; the last pair
/// of a name wins.
pub fn env_lookup(vars: &[(String, String)]) -> impl Fn(&str) -> Option<String> + '_ {
    move |name| {
        vars.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_come_from_env_or_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pk"), b"file-secret\n").unwrap();
        std::fs::write(dir.path().join("empty"), b"\n").unwrap();
        let env = |k: &str| (k == "PK").then(|| "env-secret".to_owned());
        let read = |s: SecretSource| s.read(dir.path(), &env);
        assert_eq!(read(SecretSource::Env("PK".into())).unwrap(), b"env-secret");
        assert_eq!(
            read(SecretSource::File("pk".into())).unwrap(),
            b"file-secret"
        );
        assert_eq!(
            read(SecretSource::Env("NOPE".into())).unwrap_err(),
            "environment variable NOPE is not set"
        );
        assert_eq!(
            read(SecretSource::File("empty".into())).unwrap_err(),
            format!("{} is empty", dir.path().join("empty").display())
        );
        assert_eq!(
            read(SecretSource::File("missing".into())).unwrap_err(),
            format!("{} not found", dir.path().join("missing").display())
        );
    }

    #[test]
    fn absent_and_unusable_secrets_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("a-directory")).unwrap();
        let env = |k: &str| (k == "EMPTY").then(String::new);
        let read = |s: SecretSource| s.read_classified(dir.path(), &env).unwrap_err();
        assert!(matches!(
            read(SecretSource::Env("UNSET".into())),
            SecretError::Absent(_)
        ));
        assert!(matches!(
            read(SecretSource::File("missing".into())),
            SecretError::Absent(_)
        ));
        assert_eq!(
            read(SecretSource::Env("EMPTY".into())),
            SecretError::Invalid("environment variable EMPTY is empty".into())
        );
        assert_eq!(
            read(SecretSource::File("a-directory".into())),
            SecretError::Invalid(format!(
                "{} is not a file of at most 64 KiB",
                dir.path().join("a-directory").display()
            ))
        );
        let p = SecretError::Absent("gone".into()).problem(Path::new("g.toml"), "k");
        assert_eq!(p.to_string(), "g.toml: k: absent: gone");
    }

    #[test]
    fn key_material_takes_an_explicit_encoding() {
        let decode = |s: &str| decode_key_material(s.as_bytes().to_vec());
        assert_eq!(decode("hex:00ff10").unwrap(), [0, 255, 16]);
        assert_eq!(decode("hex:00FF10\n").unwrap(), [0, 255, 16]);
        assert_eq!(decode("base64:AP8Q").unwrap(), [0, 255, 16]);
        assert_eq!(decode("base64:-_8").unwrap(), [251, 255]);
        assert_eq!(decode("base64:+/8=").unwrap(), [251, 255]);
        // Without a prefix the text is the key, even when it looks encoded.
        assert_eq!(decode("00ff10").unwrap(), b"00ff10");
        assert_eq!(
            decode("hex:0g").unwrap_err(),
            "value after `hex:` is not hexadecimal"
        );
        assert_eq!(
            decode("hex:0").unwrap_err(),
            "value after `hex:` has an odd number of digits"
        );
        assert_eq!(
            decode("base64:***").unwrap_err(),
            "value after `base64:` is not valid base64"
        );
    }

    #[test]
    fn env_lookup_takes_the_last_value() {
        let vars = vec![
            ("A".to_owned(), "1".to_owned()),
            ("A".to_owned(), "2".to_owned()),
        ];
        let env = env_lookup(&vars);
        assert_eq!(env("A").as_deref(), Some("2"));
        assert_eq!(env("B"), None);
    }
}
