//! What can go wrong with the gateway's signing keys. Messages name files, kids and
//! algorithms, never key material.

use std::path::PathBuf;

use jsonwebtoken::Algorithm;

/// What is wrong with the content of a key file (the file is named by [`KeyError::Invalid`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyProblem {
    #[error("it is not a PEM file")]
    NotPem,
    #[error("it holds more than one PEM block; put one private key per file")]
    SeveralBlocks,
    #[error("its PEM block has no `-----END PRIVATE KEY-----` line")]
    NoEndLine,
    #[error(
        "it holds a {label:?} PEM block, not an unencrypted PKCS#8 \"PRIVATE KEY\" \
         (convert it with `openssl pkcs8 -topk8 -nocrypt`, or make one with `jisr keys generate`)"
    )]
    NotPkcs8 { label: String },
    #[error("its PEM body is not valid base64")]
    BadBase64,
    #[error("its PEM body is not a PKCS#8 private key")]
    NotAKey,
    #[error("EC {0} keys are not supported; use P-256 (ES256)")]
    UnsupportedCurve(&'static str),
    #[error("the key is neither EC P-256, RSA nor Ed25519")]
    UnsupportedType,
    #[error("the RSA key is smaller than 2048 bits")]
    RsaTooSmall,
    #[error("the RSA key is larger than 8192 bits")]
    RsaTooLarge,
    #[error("the key is rejected ({0})")]
    Rejected(&'static str),
    #[error("a signature made with the key does not verify with its public key")]
    SelfTest,
    #[error("it is configured for {alg:?} but holds {key}")]
    AlgMismatch { alg: Algorithm, key: &'static str },
}

/// Errors loading, generating and using the gateway's signing keys.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("no signing key files are configured")]
    NoKeys,
    #[error("cannot read signing key file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("signing key file {}: {problem}", path.display())]
    Invalid { path: PathBuf, problem: KeyProblem },
    #[error(
        "signing key files {} and {} hold the same key (kid {kid})",
        first.display(),
        second.display()
    )]
    DuplicateKey {
        kid: String,
        first: PathBuf,
        second: PathBuf,
    },
    #[error(
        "the active signing key {kid:?} is not among the loaded keys ({})",
        available.join(", ")
    )]
    UnknownActiveKid { kid: String, available: Vec<String> },
    #[error(
        "an expiry is set for {kid:?}, which is not among the loaded keys ({})",
        available.join(", ")
    )]
    UnknownExpiryKid { kid: String, available: Vec<String> },
    #[error(
        "an algorithm is set for {kid:?}, which is not among the loaded keys ({})",
        available.join(", ")
    )]
    UnknownAlgKid { kid: String, available: Vec<String> },
    #[error(
        "no signing key signs {alg:?} (keys held: {})",
        crate::alg::names(held)
    )]
    NoKeyForAlg {
        alg: Algorithm,
        held: Vec<Algorithm>,
    },
    #[error("cannot generate a {alg:?} key: {reason}")]
    Generate { alg: Algorithm, reason: String },
    #[error("refusing to overwrite the existing key file {}", path.display())]
    Exists { path: PathBuf },
    #[error("cannot write key file {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "unknown signing algorithm {0:?} (expected {expected})",
        expected = crate::alg::names(&crate::alg::SIGNING)
    )]
    UnknownAlg(String),
    #[error("cannot sign the token: {0}")]
    Sign(#[source] jsonwebtoken::errors::Error),
}

/// Bounds text copied from a file or argument into an error message.
pub(super) fn clip(s: &str) -> String {
    s.chars().take(64).collect()
}
