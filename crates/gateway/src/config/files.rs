//! Reading config files: size and encoding limits, `file: key: problem` errors, and the
//! directory against which a file's relative paths resolve.

use std::fs;
use std::path::{Path, PathBuf};

use jisr_mapping::ConfigProblem;

/// Largest config file accepted; anything bigger is a mistake, not a config.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// Reads a config file as UTF-8 text. A missing config file is invalid, not absent: the
/// configuration itself is incomplete. Only regular files, and never more than the limit
/// whatever the metadata says (a file named by mistake may be a device or a pipe that never
/// ends, such as `/dev/zero`).
pub(crate) fn read(file: &Path) -> Result<String, ConfigProblem> {
    use std::io::Read;
    let meta = fs::metadata(file).map_err(|e| io_problem(file, &e))?;
    if !meta.is_file() {
        return Err(invalid(file, "(file)", "not a regular file"));
    }
    let too_large = || invalid(file, "(file)", "larger than 1 MiB");
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    fs::File::open(file)
        .and_then(|f| f.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| io_problem(file, &e))?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(too_large());
    }
    String::from_utf8(bytes).map_err(|_| invalid(file, "(file)", "not valid UTF-8"))
}

/// Reads and deserialises a TOML config file.
pub(crate) fn read_toml<T: serde::de::DeserializeOwned>(file: &Path) -> Result<T, ConfigProblem> {
    let text = read(file)?;
    jisr_mapping::toml_load::parse_toml(&display(file), &text)
}

/// The directory a file's relative paths are resolved against: the file's own.
pub(crate) fn base_dir(file: &Path) -> PathBuf {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

pub(crate) fn display(path: &Path) -> String {
    path.display().to_string()
}

pub(crate) fn invalid(file: &Path, key: &str, msg: impl Into<String>) -> ConfigProblem {
    ConfigProblem::invalid(display(file), key, msg)
}

pub(crate) fn io_problem(file: &Path, e: &std::io::Error) -> ConfigProblem {
    let msg = match e.kind() {
        std::io::ErrorKind::NotFound => "not found".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => format!("cannot read: {e}"),
    };
    invalid(file, "(file)", msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_or_directory_named_as_a_config_file_is_refused_not_read_forever() {
        for path in ["/dev/zero", "/tmp"] {
            let problem = read(Path::new(path)).unwrap_err();
            assert_eq!(problem.problem, "not a regular file", "{path}");
        }
    }
}
