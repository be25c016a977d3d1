//! The gateway's own signing keys: what signs the ID tokens Jisr issues as an OpenID
//! Provider, and the JWKS agencies verify them with.
//!
//! Keys are PKCS#8 PEM files (one key per file); the algorithm follows the key type (EC
//! P-256: ES256, Ed25519: EdDSA, RSA: PS256, or RS256 where `[keys] algs` says so; one key
//! never signs two algorithms), and each key's `kid` is its RFC 7638 thumbprint, so a kid can
//! never name two different keys. Every loaded key is published. The active key signs for
//! agencies that registered no `id_token_signed_response_alg`; for an agency that did, the
//! active key if it has that alg, else the first listed key of that alg. Rotation is "add
//! the new file, switch `active` (or, for another alg, move the new file before the old one
//! once agencies have fetched the JWKS), drop the old file once its tokens have expired".
//!
//! - `error`: [`KeyError`] and [`KeyProblem`].
//! - `pkcs8`: one key from PKCS#8 DER, its public JWK and kid, the self-test, generation.
//! - `file`: reading key files (`pem` crate) and writing new ones ([`generate_key_file`]).

mod error;
mod file;
mod pkcs8;
mod signer;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Header};
use serde_json::{Value, json};

pub use crate::alg::token_hash;
pub use error::{KeyError, KeyProblem};
pub use file::generate_key_file;
/// The algorithm type of signing keys: jsonwebtoken's, limited to [`crate::alg::SIGNING`].
pub use jsonwebtoken::Algorithm as SigningAlg;

use error::clip;
use pkcs8::Key;

/// The gateway's signing keys: every key is published, the active one signs.
#[derive(Clone)]
pub struct SigningKeys {
    inner: Arc<Inner>,
    /// When each key (by kid) is to be retired, seconds since the epoch, if configured.
    expires: Arc<[(String, i64)]>,
}

struct Inner {
    keys: Vec<Key>,
    active: usize,
}

/// One signing key as operators see it: no key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub kid: String,
    pub alg: Algorithm,
    pub active: bool,
    /// When the key is to be retired (`[keys] expires`), seconds since the epoch.
    pub expires_at: Option<i64>,
}

impl fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<(&str, Algorithm)> = self
            .inner
            .keys
            .iter()
            .map(|k| (k.kid.as_str(), k.alg))
            .collect();
        f.debug_struct("SigningKeys")
            .field("active", &self.active_kid())
            .field("keys", &keys)
            .finish()
    }
}

impl SigningKeys {
    /// Loads PKCS#8 PEM private keys (EC P-256 → ES256, RSA ≥ 2048 bits → PS256, or RS256
    /// when `algs` names its kid with RS256, Ed25519 → EdDSA).
    ///
    /// The kid of each key is its RFC 7638 JWK thumbprint (SHA-256, base64url). `active`
    /// selects the default signing key by kid; `None` = the first file. `algs` sets the
    /// algorithm of keys by kid; a kid naming no loaded key, or an alg the key's type cannot
    /// sign, is refused. Every key is checked by signing and verifying once, so a key that
    /// loads is a key that works.
    pub fn load(
        files: &[PathBuf],
        active: Option<&str>,
        algs: &[(String, Algorithm)],
    ) -> Result<Self, KeyError> {
        crate::alg::install_crypto_provider();
        if files.is_empty() {
            return Err(KeyError::NoKeys);
        }
        let mut keys: Vec<Key> = Vec::with_capacity(files.len());
        for path in files {
            let mut key = file::load_file(path, None)?;
            if let Some((_, alg)) = algs.iter().find(|(kid, _)| *kid == key.kid)
                && *alg != key.alg
            {
                key = file::load_file(path, Some(*alg))?;
            }
            if let Some(i) = keys.iter().position(|k| k.kid == key.kid) {
                return Err(KeyError::DuplicateKey {
                    kid: key.kid,
                    first: files[i].clone(),
                    second: path.clone(),
                });
            }
            keys.push(key);
        }
        if let Some((kid, _)) = algs
            .iter()
            .find(|(kid, _)| !keys.iter().any(|k| &k.kid == kid))
        {
            return Err(KeyError::UnknownAlgKid {
                kid: clip(kid),
                available: keys.iter().map(|k| k.kid.clone()).collect(),
            });
        }
        let active = match active {
            None => 0,
            Some(kid) => keys.iter().position(|k| k.kid == kid).ok_or_else(|| {
                KeyError::UnknownActiveKid {
                    kid: clip(kid),
                    available: keys.iter().map(|k| k.kid.clone()).collect(),
                }
            })?,
        };
        Ok(SigningKeys {
            inner: Arc::new(Inner { keys, active }),
            expires: Arc::new([]),
        })
    }

    /// In-memory keys for `jisr demo` and tests: one fresh key of `alg`, which must be one
    /// of [`crate::alg::SIGNING`].
    pub fn generate(alg: Algorithm) -> Result<Self, KeyError> {
        crate::alg::install_crypto_provider();
        let (key, _) = Key::generate(alg)?;
        Ok(SigningKeys {
            inner: Arc::new(Inner {
                keys: vec![key],
                active: 0,
            }),
            expires: Arc::new([]),
        })
    }

    /// In-memory keys for `jisr demo` and tests: one fresh key per alg, the first active.
    pub fn generate_set(algs: &[Algorithm]) -> Result<Self, KeyError> {
        crate::alg::install_crypto_provider();
        let keys = algs
            .iter()
            .map(|alg| Key::generate(*alg).map(|(key, _)| key))
            .collect::<Result<Vec<Key>, KeyError>>()?;
        if keys.is_empty() {
            return Err(KeyError::NoKeys);
        }
        Ok(SigningKeys {
            inner: Arc::new(Inner { keys, active: 0 }),
            expires: Arc::new([]),
        })
    }

    /// Signs `claims` as a compact JWS with the active key: header {alg, kid, typ}.
    pub fn sign<T: serde::Serialize>(&self, typ: &str, claims: &T) -> Result<String, KeyError> {
        self.sign_as(None, typ, claims)
    }

    /// Signs `claims` with the key that signs `alg` ([`Self::signer`]), or the active key
    /// when `alg` is `None`.
    pub fn sign_as<T: serde::Serialize>(
        &self,
        alg: Option<Algorithm>,
        typ: &str,
        claims: &T,
    ) -> Result<String, KeyError> {
        let key = self.signer(alg)?;
        let header = Header {
            typ: Some(typ.to_owned()),
            kid: Some(key.kid.clone()),
            ..Header::new(key.alg)
        };
        // As `jsonwebtoken::encode` builds it, with the key parsed once instead of per token.
        let part = |json: Result<Vec<u8>, serde_json::Error>| {
            json.map(|bytes| URL_SAFE_NO_PAD.encode(bytes))
                .map_err(|e| KeyError::Sign(e.into()))
        };
        let mut token = part(serde_json::to_vec(&header))?;
        token.push('.');
        token.push_str(&part(serde_json::to_vec(claims))?);
        let signature = key.signer.sign(token.as_bytes()).map_err(KeyError::Sign)?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut token);
        Ok(token)
    }

    /// `{"keys": [...]}`: the public JWKs of every key, the active one first, so tokens of
    /// the previous key keep verifying at agencies while keys rotate.
    pub fn jwks(&self) -> Value {
        let rest = self
            .inner
            .keys
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != self.inner.active)
            .map(|(_, k)| k);
        let keys: Vec<&jsonwebtoken::jwk::Jwk> = std::iter::once(self.active())
            .chain(rest)
            .map(|k| &k.jwk)
            .collect();
        json!({ "keys": keys })
    }

    pub fn active_kid(&self) -> &str {
        &self.active().kid
    }

    pub fn active_alg(&self) -> Algorithm {
        self.active().alg
    }

    /// The algorithm a token requested with `alg` (`None`: the default) is signed with, or
    /// why no key can sign it.
    pub fn signing_alg(&self, alg: Option<Algorithm>) -> Result<Algorithm, KeyError> {
        self.signer(alg).map(|k| k.alg)
    }

    /// Whether some key signs `alg`.
    pub fn signs(&self, alg: Algorithm) -> bool {
        self.inner.keys.iter().any(|k| k.alg == alg)
    }

    /// The distinct algs of all keys, the active key's first, for discovery's
    /// `id_token_signing_alg_values_supported`.
    pub fn algs(&self) -> Vec<Algorithm> {
        let mut algs = vec![self.active_alg()];
        for key in &self.inner.keys {
            if !algs.contains(&key.alg) {
                algs.push(key.alg);
            }
        }
        algs
    }

    /// The same keys with retirement times (seconds since the epoch) by kid. A kid that
    /// names no loaded key is refused, so a typo cannot silence an expiry alert.
    pub fn with_expiry(self, expires: &[(String, i64)]) -> Result<Self, KeyError> {
        for (kid, _) in expires {
            if !self.inner.keys.iter().any(|k| &k.kid == kid) {
                return Err(KeyError::UnknownExpiryKid {
                    kid: clip(kid),
                    available: self.inner.keys.iter().map(|k| k.kid.clone()).collect(),
                });
            }
        }
        Ok(SigningKeys {
            inner: self.inner,
            expires: expires.into(),
        })
    }

    /// Every key's kid, alg, whether it signs new tokens of its alg, and its retirement time
    /// if configured.
    pub fn inventory(&self) -> Vec<KeyInfo> {
        self.inner
            .keys
            .iter()
            .enumerate()
            .map(|(i, k)| KeyInfo {
                kid: k.kid.clone(),
                alg: k.alg,
                active: self.signer_index(k.alg) == Some(i),
                expires_at: self
                    .expires
                    .iter()
                    .find(|(kid, _)| *kid == k.kid)
                    .map(|(_, t)| *t),
            })
            .collect()
    }

    fn active(&self) -> &Key {
        // `load` and `generate` never build an empty list, and `active` indexes into it.
        &self.inner.keys[self.inner.active]
    }

    /// The key that signs `alg`: the active key when it has that alg (or `alg` is `None`),
    /// else the first listed key of that alg.
    fn signer(&self, alg: Option<Algorithm>) -> Result<&Key, KeyError> {
        let alg = alg.unwrap_or(self.active().alg);
        self.signer_index(alg)
            .map(|i| &self.inner.keys[i])
            .ok_or_else(|| KeyError::NoKeyForAlg {
                alg,
                held: self.algs(),
            })
    }

    fn signer_index(&self, alg: Algorithm) -> Option<usize> {
        if self.active().alg == alg {
            return Some(self.inner.active);
        }
        self.inner.keys.iter().position(|k| k.alg == alg)
    }
}

/// The algorithm `jisr keys generate --alg <name>` asks for: one of [`crate::alg::SIGNING`],
/// spelled exactly.
pub fn signing_alg(name: &str) -> Result<Algorithm, KeyError> {
    crate::alg::parse(name)
        .ok()
        .filter(|alg| crate::alg::SIGNING.contains(alg))
        .ok_or_else(|| KeyError::UnknownAlg(clip(name)))
}
