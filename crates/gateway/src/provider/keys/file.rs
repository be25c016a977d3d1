//! Key files: one unencrypted PKCS#8 `PRIVATE KEY` PEM block per file, read with the `pem`
//! crate, and `jisr keys generate` writing a new one (owner-only, never overwriting).

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use jsonwebtoken::Algorithm;
use pem::{EncodeConfig, LineEnding, Pem, PemError};

use super::error::{KeyError, KeyProblem, clip};
use super::pkcs8::Key;

const LABEL: &str = "PRIVATE KEY";

/// Reads and checks one key file; `alg` as for [`Key::from_pkcs8`].
pub(super) fn load_file(path: &Path, alg: Option<Algorithm>) -> Result<Key, KeyError> {
    let bytes = fs::read(path).map_err(|source| KeyError::Read {
        path: path.to_owned(),
        source,
    })?;
    let invalid = |problem| KeyError::Invalid {
        path: path.to_owned(),
        problem,
    };
    let text = std::str::from_utf8(&bytes).map_err(|_| invalid(KeyProblem::NotPem))?;
    let der = decode_pem(text).map_err(invalid)?;
    Key::from_pkcs8(&der, alg).map_err(invalid)
}

/// `jisr keys generate`: writes a new PKCS#8 PEM private key into `dir` as `<kid>.pem` with
/// mode 0600 and returns (path, kid). Refuses to overwrite an existing file.
pub fn generate_key_file(alg: Algorithm, dir: &Path) -> Result<(PathBuf, String), KeyError> {
    let (key, pkcs8) = Key::generate(alg)?;
    let path = dir.join(format!("{}.pem", key.kid));
    write_new_file(&path, encode_pem(&pkcs8).as_bytes())?;
    Ok((path, key.kid))
}

/// The DER inside the text's one `PRIVATE KEY` PEM block. Text around the block (comments,
/// openssl's "Bag Attributes") is ignored, as openssl does.
pub(super) fn decode_pem(text: &str) -> Result<Vec<u8>, KeyProblem> {
    // Counted first so that a second block is named even when the first one is broken.
    match text.matches("-----BEGIN ").count() {
        0 => return Err(KeyProblem::NotPem),
        1 => {}
        _ => return Err(KeyProblem::SeveralBlocks),
    }
    let block = pem::parse(text).map_err(|e| match e {
        PemError::InvalidData(_) => KeyProblem::BadBase64,
        PemError::MalformedFraming | PemError::MissingEndTag | PemError::MismatchedTags(..) => {
            KeyProblem::NoEndLine
        }
        _ => KeyProblem::NotPem,
    })?;
    if block.tag() != LABEL {
        return Err(KeyProblem::NotPkcs8 {
            label: clip(block.tag()),
        });
    }
    Ok(block.into_contents())
}

/// PKCS#8 DER as a `PRIVATE KEY` PEM block, 64-character lines, `\n` line ends.
pub(super) fn encode_pem(der: &[u8]) -> String {
    pem::encode_config(
        &Pem::new(LABEL, der),
        EncodeConfig::new().set_line_ending(LineEnding::LF),
    )
}

/// Creates `path` (never replacing a file or following a planted symlink) readable only by
/// its owner, and removes it again if writing fails half-way.
pub(super) fn write_new_file(path: &Path, contents: &[u8]) -> Result<(), KeyError> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            KeyError::Exists {
                path: path.to_owned(),
            }
        } else {
            KeyError::Write {
                path: path.to_owned(),
                source,
            }
        }
    })?;
    if let Err(source) = file.write_all(contents).and_then(|()| file.sync_all()) {
        drop(file);
        let _ = fs::remove_file(path);
        return Err(KeyError::Write {
            path: path.to_owned(),
            source,
        });
    }
    Ok(())
}
