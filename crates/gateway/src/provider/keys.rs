//! The gateway's own signing keys: what signs the ID tokens and access tokens Jisr issues as
//! an OpenID Provider, and the JWKS agencies verify them with.
//!
//! Keys are PKCS#8 PEM files (one key per file); the algorithm follows the key type, and
//! each key's `kid` is its RFC 7638 thumbprint, so a kid can never name two different keys.
//! Every loaded key is published and accepted, only the active one signs: rotation is
//! "add the new file, switch `active`, drop the old file once its tokens have expired".

use std::fmt;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use aws_lc_rs::encoding::{AsBigEndian as _, AsDer as _, EcPublicKeyUncompressedBin};
use aws_lc_rs::error::KeyRejected;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING,
    ECDSA_P521_SHA512_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde_json::{Map, Value, json};

/// Longest token `verify` looks at; anything longer is refused before decoding.
const MAX_TOKEN_LEN: usize = 64 * 1024;

/// The algorithms the gateway signs with; each is tied to one key type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub enum SigningAlg {
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// RSASSA-PSS with SHA-256 (RSA keys of at least 2048 bits).
    PS256,
    /// Ed25519.
    EdDSA,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 3] = [SigningAlg::ES256, SigningAlg::PS256, SigningAlg::EdDSA];

    /// The JOSE `alg` name.
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::ES256 => "ES256",
            SigningAlg::PS256 => "PS256",
            SigningAlg::EdDSA => "EdDSA",
        }
    }

    pub fn jwt(self) -> Algorithm {
        match self {
            SigningAlg::ES256 => Algorithm::ES256,
            SigningAlg::PS256 => Algorithm::PS256,
            SigningAlg::EdDSA => Algorithm::EdDSA,
        }
    }
}

impl fmt::Display for SigningAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SigningAlg {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SigningAlg::ALL
            .into_iter()
            .find(|alg| alg.as_str() == s)
            .ok_or_else(|| KeyError::UnknownAlg(clip(s)))
    }
}

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
}

/// Errors loading, generating and using the gateway's signing keys. Messages name files,
/// kids and algorithms, never key material.
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
    #[error("cannot generate a {alg} key: {reason}")]
    Generate { alg: SigningAlg, reason: String },
    #[error("refusing to overwrite the existing key file {}", path.display())]
    Exists { path: PathBuf },
    #[error("cannot write key file {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("unknown signing algorithm {0:?} (expected ES256, PS256 or EdDSA)")]
    UnknownAlg(String),
    #[error("cannot sign the token: {0}")]
    Sign(#[source] jsonwebtoken::errors::Error),
    #[error("the token is not a compact JWS: {0}")]
    Malformed(&'static str),
    #[error("the token header has a `crit` parameter, which this gateway never sets")]
    CritHeader,
    #[error("the token header has typ {found:?}, expected {expected:?}")]
    WrongTyp {
        expected: String,
        found: Option<String>,
    },
    #[error("the token header names no key of this gateway (kid {kid:?})")]
    UnknownKid { kid: Option<String> },
    #[error("the token header has alg {found:?}, but key {kid} signs with {expected}")]
    WrongAlg {
        kid: String,
        expected: SigningAlg,
        found: String,
    },
    #[error("the token signature does not verify")]
    BadSignature,
    #[error("the token claims do not have the expected shape: {0}")]
    Claims(String),
}

/// The gateway's signing keys: every key is published and verifies, the active one signs.
#[derive(Clone)]
pub struct SigningKeys {
    inner: Arc<Inner>,
}

struct Inner {
    keys: Vec<Key>,
    active: usize,
}

struct Key {
    kid: String,
    alg: SigningAlg,
    encoding: EncodingKey,
    decoding: DecodingKey,
    public: PublicKey,
}

/// The public half of a key, as base64url JWK members.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PublicKey {
    Ec { x: String, y: String },
    Okp { x: String },
    Rsa { n: String, e: String },
}

impl fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<(&str, SigningAlg)> = self
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
    /// Loads PKCS#8 PEM private keys (EC P-256 → ES256, RSA ≥ 2048 bits → PS256, Ed25519 →
    /// EdDSA; the alg follows the key type).
    ///
    /// The kid of each key is its RFC 7638 JWK thumbprint (SHA-256, base64url). `active`
    /// selects the signing key by kid; `None` = the first file. Every key is checked by
    /// signing and verifying once, so a key that loads is a key that works.
    pub fn load(files: &[PathBuf], active: Option<&str>) -> Result<Self, KeyError> {
        if files.is_empty() {
            return Err(KeyError::NoKeys);
        }
        let mut keys: Vec<Key> = Vec::with_capacity(files.len());
        for path in files {
            let key = load_file(path)?;
            if let Some(i) = keys.iter().position(|k| k.kid == key.kid) {
                return Err(KeyError::DuplicateKey {
                    kid: key.kid,
                    first: files[i].clone(),
                    second: path.clone(),
                });
            }
            keys.push(key);
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
        })
    }

    /// In-memory keys for `jisr demo` and tests: one fresh key of `alg`.
    pub fn generate(alg: SigningAlg) -> Result<Self, KeyError> {
        let (key, _) = generate_key(alg)?;
        Ok(SigningKeys {
            inner: Arc::new(Inner {
                keys: vec![key],
                active: 0,
            }),
        })
    }

    /// Signs `claims` as a compact JWS with the active key: header {alg, kid, typ}.
    pub fn sign<T: serde::Serialize>(&self, typ: &str, claims: &T) -> Result<String, KeyError> {
        let key = self.active();
        let header = Header {
            typ: Some(typ.to_owned()),
            kid: Some(key.kid.clone()),
            ..Header::new(key.alg.jwt())
        };
        jsonwebtoken::encode(&header, claims, &key.encoding).map_err(KeyError::Sign)
    }

    /// Verifies a JWS this gateway signed (any of its keys, by kid, the header alg must be
    /// the key's) and returns its claims.
    ///
    /// Checks the signature and the `typ` header (so an ID token is never taken for an
    /// access token); `exp`, `iss`, `aud` and the rest are the caller's to check.
    pub fn verify<T: serde::de::DeserializeOwned>(
        &self,
        token: &str,
        typ: &str,
    ) -> Result<T, KeyError> {
        #[derive(serde::Deserialize)]
        struct JoseHeader {
            alg: String,
            kid: Option<String>,
            typ: Option<String>,
            crit: Option<Value>,
        }

        if token.len() > MAX_TOKEN_LEN {
            return Err(KeyError::Malformed("longer than 64 KiB"));
        }
        let mut parts = token.split('.');
        let (Some(header64), Some(payload64), Some(signature64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(KeyError::Malformed("not three dot-separated parts"));
        };
        let header: JoseHeader = URL_SAFE_NO_PAD
            .decode(header64)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or(KeyError::Malformed("the header is not base64url JSON"))?;
        if header.crit.is_some() {
            return Err(KeyError::CritHeader);
        }
        // RFC 7515 4.1.9: media type names compare case-insensitively.
        if !header
            .typ
            .as_deref()
            .is_some_and(|found| found.eq_ignore_ascii_case(typ))
        {
            return Err(KeyError::WrongTyp {
                expected: typ.to_owned(),
                found: header.typ.as_deref().map(clip),
            });
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.inner.keys.iter().find(|k| k.kid == kid))
            .ok_or_else(|| KeyError::UnknownKid {
                kid: header.kid.as_deref().map(clip),
            })?;
        if header.alg != key.alg.as_str() {
            return Err(KeyError::WrongAlg {
                kid: key.kid.clone(),
                expected: key.alg,
                found: clip(&header.alg),
            });
        }
        let message = &token[..header64.len() + 1 + payload64.len()];
        match jsonwebtoken::crypto::verify(
            signature64,
            message.as_bytes(),
            &key.decoding,
            key.alg.jwt(),
        ) {
            Ok(true) => {}
            Ok(false) | Err(_) => return Err(KeyError::BadSignature),
        }
        let payload = URL_SAFE_NO_PAD
            .decode(payload64)
            .map_err(|_| KeyError::Malformed("the payload is not base64url"))?;
        serde_json::from_slice(&payload).map_err(|e| KeyError::Claims(describe_claims_error(&e)))
    }

    /// `{"keys": [...]}`: the public JWKs of every key, the active one first, so tokens of
    /// the previous key keep verifying at agencies while keys rotate.
    pub fn jwks(&self) -> Value {
        let active = self.active();
        let rest = self
            .inner
            .keys
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != self.inner.active)
            .map(|(_, k)| k);
        let keys: Vec<Value> = std::iter::once(active).chain(rest).map(Key::jwk).collect();
        json!({ "keys": keys })
    }

    pub fn active_kid(&self) -> &str {
        &self.active().kid
    }

    pub fn active_alg(&self) -> SigningAlg {
        self.active().alg
    }

    /// The distinct algs of all keys, the active key's first, for discovery's
    /// `id_token_signing_alg_values_supported`.
    pub fn algs(&self) -> Vec<&'static str> {
        let mut algs = vec![self.active_alg().as_str()];
        for key in &self.inner.keys {
            if !algs.contains(&key.alg.as_str()) {
                algs.push(key.alg.as_str());
            }
        }
        algs
    }

    fn active(&self) -> &Key {
        &self.inner.keys[self.inner.active]
    }
}

/// `jisr keys generate`: writes a new PKCS#8 PEM private key into `dir` as `<kid>.pem` with
/// mode 0600 and returns (path, kid). Refuses to overwrite an existing file.
pub fn generate_key_file(alg: SigningAlg, dir: &Path) -> Result<(PathBuf, String), KeyError> {
    let (key, pkcs8) = generate_key(alg)?;
    let path = dir.join(format!("{}.pem", key.kid));
    write_new_file(&path, pem_encode("PRIVATE KEY", &pkcs8).as_bytes())?;
    Ok((path, key.kid))
}

/// OIDC Core 3.1.3.6 hash of an access token or code for `at_hash`/`c_hash` with the key's
/// alg (SHA-256 for ES256/PS256, SHA-512 for EdDSA): base64url of the left half.
pub fn token_hash(alg: SigningAlg, value: &str) -> String {
    let digest_alg = match alg {
        SigningAlg::ES256 | SigningAlg::PS256 => &aws_lc_rs::digest::SHA256,
        SigningAlg::EdDSA => &aws_lc_rs::digest::SHA512,
    };
    let digest = aws_lc_rs::digest::digest(digest_alg, value.as_bytes());
    let bytes = digest.as_ref();
    URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() / 2])
}

impl Key {
    fn jwk(&self) -> Value {
        let mut jwk = Map::new();
        match &self.public {
            PublicKey::Ec { x, y } => {
                jwk.insert("kty".into(), json!("EC"));
                jwk.insert("crv".into(), json!("P-256"));
                jwk.insert("x".into(), json!(x));
                jwk.insert("y".into(), json!(y));
            }
            PublicKey::Okp { x } => {
                jwk.insert("kty".into(), json!("OKP"));
                jwk.insert("crv".into(), json!("Ed25519"));
                jwk.insert("x".into(), json!(x));
            }
            PublicKey::Rsa { n, e } => {
                jwk.insert("kty".into(), json!("RSA"));
                jwk.insert("n".into(), json!(n));
                jwk.insert("e".into(), json!(e));
            }
        }
        jwk.insert("kid".into(), json!(self.kid));
        jwk.insert("alg".into(), json!(self.alg.as_str()));
        jwk.insert("use".into(), json!("sig"));
        Value::Object(jwk)
    }

    /// Builds a key from PKCS#8 DER and proves it signs what its public half verifies.
    fn from_pkcs8(der: &[u8]) -> Result<Key, KeyProblem> {
        let (alg, public, encoding) = parse_pkcs8(der)?;
        let decoding = public.decoding_key().ok_or(KeyProblem::SelfTest)?;
        let key = Key {
            kid: public.thumbprint(),
            alg,
            encoding,
            decoding,
            public,
        };
        const PROBE: &[u8] = b"jisr signing key self-test";
        let signature = jsonwebtoken::crypto::sign(PROBE, &key.encoding, alg.jwt())
            .map_err(|_| KeyProblem::SelfTest)?;
        match jsonwebtoken::crypto::verify(&signature, PROBE, &key.decoding, alg.jwt()) {
            Ok(true) => Ok(key),
            Ok(false) | Err(_) => Err(KeyProblem::SelfTest),
        }
    }
}

impl PublicKey {
    /// RFC 7638: the required members in lexicographic order, no whitespace. The values
    /// are base64url or fixed names, so none needs JSON escaping.
    fn thumbprint(&self) -> String {
        let canonical = match self {
            PublicKey::Ec { x, y } => {
                format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#)
            }
            PublicKey::Okp { x } => format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#),
            PublicKey::Rsa { n, e } => format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#),
        };
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes());
        URL_SAFE_NO_PAD.encode(digest.as_ref())
    }

    fn decoding_key(&self) -> Option<DecodingKey> {
        match self {
            PublicKey::Ec { x, y } => DecodingKey::from_ec_components(x, y).ok(),
            PublicKey::Okp { x } => DecodingKey::from_ed_components(x).ok(),
            PublicKey::Rsa { n, e } => DecodingKey::from_rsa_components(n, e).ok(),
        }
    }
}

fn load_file(path: &Path) -> Result<Key, KeyError> {
    let bytes = fs::read(path).map_err(|source| KeyError::Read {
        path: path.to_owned(),
        source,
    })?;
    let invalid = |problem| KeyError::Invalid {
        path: path.to_owned(),
        problem,
    };
    let text = std::str::from_utf8(&bytes).map_err(|_| invalid(KeyProblem::NotPem))?;
    let der = pem_decode_pkcs8(text).map_err(invalid)?;
    Key::from_pkcs8(&der).map_err(invalid)
}

/// A fresh key and its PKCS#8 DER, built through the same path as a loaded key.
fn generate_key(alg: SigningAlg) -> Result<(Key, Vec<u8>), KeyError> {
    let failed = |reason: String| KeyError::Generate { alg, reason };
    let pkcs8: Vec<u8> = match alg {
        SigningAlg::ES256 => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .and_then(|pair| pair.to_pkcs8v1())
            .map(|doc| doc.as_ref().to_vec()),
        SigningAlg::PS256 => RsaKeyPair::generate(KeySize::Rsa2048)
            .and_then(|pair| pair.as_der())
            .map(|doc| doc.as_ref().to_vec()),
        SigningAlg::EdDSA => Ed25519KeyPair::generate()
            .and_then(|pair| pair.to_pkcs8v1())
            .map(|doc| doc.as_ref().to_vec()),
    }
    .map_err(|_| failed("aws-lc key generation failed".into()))?;
    let key = Key::from_pkcs8(&pkcs8).map_err(|problem| failed(problem.to_string()))?;
    Ok((key, pkcs8))
}

/// The algorithm, public half and jsonwebtoken signing key of a PKCS#8 private key.
fn parse_pkcs8(der: &[u8]) -> Result<(SigningAlg, PublicKey, EncodingKey), KeyProblem> {
    let wrong_alg = |e: &KeyRejected| e.description_() == "WrongAlgorithm";
    match EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der) {
        Ok(pair) => {
            let point: EcPublicKeyUncompressedBin = pair
                .public_key()
                .as_be_bytes()
                .map_err(|_| KeyProblem::NotAKey)?;
            let point = point.as_ref();
            if point.len() != 65 || point[0] != 4 {
                return Err(KeyProblem::NotAKey);
            }
            let public = PublicKey::Ec {
                x: URL_SAFE_NO_PAD.encode(&point[1..33]),
                y: URL_SAFE_NO_PAD.encode(&point[33..65]),
            };
            return Ok((SigningAlg::ES256, public, EncodingKey::from_ec_der(der)));
        }
        Err(e) if !wrong_alg(&e) => return Err(rejected(e)),
        Err(_) => {}
    }
    match Ed25519KeyPair::from_pkcs8(der) {
        Ok(pair) => {
            let public = PublicKey::Okp {
                x: URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
            };
            return Ok((SigningAlg::EdDSA, public, EncodingKey::from_ed_der(der)));
        }
        Err(e) if !wrong_alg(&e) => return Err(rejected(e)),
        Err(_) => {}
    }
    match RsaKeyPair::from_pkcs8(der) {
        Ok(pair) => {
            let public = pair.public_key();
            let public = PublicKey::Rsa {
                n: URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
                e: URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
            };
            // jsonwebtoken's RSA signer takes PKCS#1; its PEM reader unwraps PKCS#8.
            let encoding = EncodingKey::from_rsa_pem(pem_encode("PRIVATE KEY", der).as_bytes())
                .map_err(|_| KeyProblem::NotAKey)?;
            return Ok((SigningAlg::PS256, public, encoding));
        }
        Err(e) if !wrong_alg(&e) => return Err(rejected(e)),
        Err(_) => {}
    }
    // Name the curve of EC keys we do not sign with, the commonest wrong key.
    if EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, der).is_ok() {
        return Err(KeyProblem::UnsupportedCurve("P-384"));
    }
    if EcdsaKeyPair::from_pkcs8(&ECDSA_P521_SHA512_FIXED_SIGNING, der).is_ok() {
        return Err(KeyProblem::UnsupportedCurve("P-521"));
    }
    Err(KeyProblem::UnsupportedType)
}

fn rejected(e: KeyRejected) -> KeyProblem {
    match e.description_() {
        "InvalidEncoding" => KeyProblem::NotAKey,
        "TooSmall" => KeyProblem::RsaTooSmall,
        "TooLarge" => KeyProblem::RsaTooLarge,
        other => KeyProblem::Rejected(other),
    }
}

/// The DER inside the file's one `PRIVATE KEY` PEM block. Text around the block (comments,
/// openssl's "Bag Attributes") is ignored, as openssl does.
fn pem_decode_pkcs8(text: &str) -> Result<Vec<u8>, KeyProblem> {
    const BEGIN: &str = "-----BEGIN ";
    const DASHES: &str = "-----";
    const END: &str = "-----END PRIVATE KEY-----";
    let Some(start) = text.find(BEGIN) else {
        return Err(KeyProblem::NotPem);
    };
    let rest = &text[start + BEGIN.len()..];
    if rest.contains(BEGIN) {
        return Err(KeyProblem::SeveralBlocks);
    }
    let Some(label_len) = rest.find(DASHES) else {
        return Err(KeyProblem::NotPem);
    };
    let label = &rest[..label_len];
    if label != "PRIVATE KEY" {
        return Err(KeyProblem::NotPkcs8 { label: clip(label) });
    }
    let body = &rest[label_len + DASHES.len()..];
    let Some(body_len) = body.find(END) else {
        return Err(KeyProblem::NoEndLine);
    };
    let base64: String = body[..body_len]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    STANDARD.decode(base64).map_err(|_| KeyProblem::BadBase64)
}

fn pem_encode(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut pem = format!("-----BEGIN {label}-----\n");
    // Base64 output is ASCII, so splitting at any byte offset keeps char boundaries.
    let mut rest = body.as_str();
    while !rest.is_empty() {
        let (line, tail) = rest.split_at(rest.len().min(64));
        pem.push_str(line);
        pem.push('\n');
        rest = tail;
    }
    pem.push_str(&format!("-----END {label}-----\n"));
    pem
}

/// Creates `path` (never replacing a file or following a planted symlink) readable only by
/// its owner, and removes it again if writing fails half-way.
fn write_new_file(path: &Path, contents: &[u8]) -> Result<(), KeyError> {
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

/// A serde_json error about claims, without the claim values it may quote.
fn describe_claims_error(e: &serde_json::Error) -> String {
    let message = e.to_string();
    let names_only = ["missing field", "unknown field", "duplicate field"];
    if e.is_data() && names_only.iter().any(|p| message.starts_with(p)) {
        // "missing field `exp` at line 1 column 20" → "missing field `exp`"
        match message.find(" at line ") {
            Some(at) => message[..at].to_owned(),
            None => message,
        }
    } else if e.is_data() {
        "a claim has the wrong type or value".to_owned()
    } else {
        "the payload is not JSON".to_owned()
    }
}

/// Bounds text copied from a file or token into an error message.
fn clip(s: &str) -> String {
    s.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::jwk::JwkSet;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Claims {
        sub: String,
        n: u32,
    }

    fn claims() -> Claims {
        Claims {
            sub: "BH/SA/123".into(),
            n: 7,
        }
    }

    fn b64json(value: &Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    fn header_of(token: &str) -> Value {
        let header64 = token.split('.').next().unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header64).unwrap()).unwrap()
    }

    /// Verifies with nothing but the published JWKS, as an agency would.
    fn verify_with_jwks(jwks: &Value, token: &str) -> Claims {
        let set: JwkSet = serde_json::from_value(jwks.clone()).unwrap();
        let header = jsonwebtoken::decode_header(token).unwrap();
        let jwk = set
            .find(header.kid.as_deref().unwrap())
            .expect("kid published");
        let key = DecodingKey::from_jwk(jwk).unwrap();
        let mut validation = jsonwebtoken::Validation::new(header.alg);
        validation.validate_exp = false;
        validation.set_required_spec_claims::<&str>(&[]);
        jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .unwrap()
            .claims
    }

    fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
        let path = dir.join(name);
        fs::write(&path, contents).unwrap();
        path
    }

    fn load_err(path: &Path) -> KeyProblem {
        match SigningKeys::load(&[path.to_owned()], None) {
            Err(err @ KeyError::Invalid { .. }) => {
                assert!(
                    err.to_string().contains(&path.display().to_string()),
                    "{err}"
                );
                let KeyError::Invalid { path: p, problem } = err else {
                    unreachable!()
                };
                assert_eq!(p, path);
                problem
            }
            other => panic!("expected Invalid for {}, got {other:?}", path.display()),
        }
    }

    #[test]
    fn every_alg_signs_and_verifies_itself_and_through_its_jwks() {
        for alg in SigningAlg::ALL {
            let keys = SigningKeys::generate(alg).unwrap();
            assert_eq!(keys.active_alg(), alg);
            assert_eq!(keys.algs(), vec![alg.as_str()]);
            let token = keys.sign("at+jwt", &claims()).unwrap();
            assert_eq!(
                header_of(&token),
                json!({"alg": alg.as_str(), "kid": keys.active_kid(), "typ": "at+jwt"})
            );
            assert_eq!(keys.verify::<Claims>(&token, "at+jwt").unwrap(), claims());
            assert_eq!(verify_with_jwks(&keys.jwks(), &token), claims(), "{alg}");
        }
    }

    #[test]
    fn published_jwks_are_public_thumbprint_named_and_marked_for_signing() {
        for alg in SigningAlg::ALL {
            let keys = SigningKeys::generate(alg).unwrap();
            let jwks = keys.jwks();
            let jwk = &jwks["keys"][0];
            assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
            assert_eq!(jwk["kid"], json!(keys.active_kid()));
            assert_eq!(jwk["alg"], json!(alg.as_str()));
            assert_eq!(jwk["use"], json!("sig"));
            for private in ["d", "p", "q", "dp", "dq", "qi"] {
                assert!(jwk.get(private).is_none(), "{alg} publishes {private}");
            }
            // Recompute RFC 7638 from the published members.
            let s = |m: &str| jwk[m].as_str().unwrap().to_owned();
            let canonical = match alg {
                SigningAlg::ES256 => format!(
                    r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
                    s("crv"),
                    s("x"),
                    s("y")
                ),
                SigningAlg::PS256 => {
                    format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, s("e"), s("n"))
                }
                SigningAlg::EdDSA => {
                    format!(r#"{{"crv":"{}","kty":"OKP","x":"{}"}}"#, s("crv"), s("x"))
                }
            };
            let digest =
                aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes());
            assert_eq!(keys.active_kid(), URL_SAFE_NO_PAD.encode(digest.as_ref()));
        }
    }

    #[test]
    fn thumbprint_matches_rfc7638_and_rfc8037_examples() {
        let rsa = PublicKey::Rsa {
            n: "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw".into(),
            e: "AQAB".into(),
        };
        assert_eq!(
            rsa.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        // RFC 8037 appendix A.3.
        let okp = PublicKey::Okp {
            x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo".into(),
        };
        assert_eq!(
            okp.thumbprint(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn two_files_publish_both_keys_and_active_selects_the_signer() {
        let dir = tempfile::tempdir().unwrap();
        let (es, es_kid) = generate_key_file(SigningAlg::ES256, dir.path()).unwrap();
        let (ed, ed_kid) = generate_key_file(SigningAlg::EdDSA, dir.path()).unwrap();
        let files = [es, ed];

        let first = SigningKeys::load(&files, None).unwrap();
        assert_eq!(first.active_kid(), es_kid);
        assert_eq!(first.algs(), vec!["ES256", "EdDSA"]);
        let jwks = first.jwks();
        let kids: Vec<&str> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap())
            .collect();
        assert_eq!(kids, vec![es_kid.as_str(), ed_kid.as_str()]);

        let second = SigningKeys::load(&files, Some(&ed_kid)).unwrap();
        assert_eq!(second.active_kid(), ed_kid);
        assert_eq!(second.active_alg(), SigningAlg::EdDSA);
        assert_eq!(second.algs(), vec!["EdDSA", "ES256"]);
        assert_eq!(second.jwks()["keys"][0]["kid"], json!(ed_kid));
        assert_eq!(second.jwks()["keys"].as_array().unwrap().len(), 2);
        let token = second.sign("JWT", &claims()).unwrap();
        assert_eq!(header_of(&token)["kid"], json!(ed_kid));

        match SigningKeys::load(&files, Some("no-such-kid")) {
            Err(KeyError::UnknownActiveKid { kid, available }) => {
                assert_eq!(kid, "no-such-kid");
                assert_eq!(available, vec![es_kid, ed_kid]);
            }
            other => panic!("expected UnknownActiveKid, got {other:?}"),
        }
    }

    #[test]
    fn rotation_keeps_tokens_of_the_previous_key_valid_until_its_file_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let (old, old_kid) = generate_key_file(SigningAlg::PS256, dir.path()).unwrap();
        let (new, new_kid) = generate_key_file(SigningAlg::ES256, dir.path()).unwrap();

        let before = SigningKeys::load(std::slice::from_ref(&old), None).unwrap();
        let old_token = before.sign("at+jwt", &claims()).unwrap();

        let during = SigningKeys::load(&[old.clone(), new.clone()], Some(&new_kid)).unwrap();
        let new_token = during.sign("at+jwt", &claims()).unwrap();
        assert_eq!(header_of(&new_token)["kid"], json!(new_kid));
        assert_eq!(
            during.verify::<Claims>(&old_token, "at+jwt").unwrap(),
            claims()
        );
        assert_eq!(
            during.verify::<Claims>(&new_token, "at+jwt").unwrap(),
            claims()
        );
        assert_eq!(verify_with_jwks(&during.jwks(), &old_token), claims());

        let after = SigningKeys::load(&[new], None).unwrap();
        assert_eq!(
            after.verify::<Claims>(&new_token, "at+jwt").unwrap(),
            claims()
        );
        match after.verify::<Claims>(&old_token, "at+jwt") {
            Err(KeyError::UnknownKid { kid }) => assert_eq!(kid, Some(old_kid)),
            other => panic!("expected UnknownKid, got {other:?}"),
        }
    }

    #[test]
    fn generated_key_files_are_owner_only_loadable_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        for alg in SigningAlg::ALL {
            let (path, kid) = generate_key_file(alg, dir.path()).unwrap();
            assert_eq!(path, dir.path().join(format!("{kid}.pem")));
            let text = fs::read_to_string(&path).unwrap();
            assert!(text.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{alg}");
            assert!(text.ends_with("-----END PRIVATE KEY-----\n"), "{alg}");
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                let mode = fs::metadata(&path).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600, "{alg}");
            }
            let loaded = SigningKeys::load(std::slice::from_ref(&path), None).unwrap();
            assert_eq!(loaded.active_kid(), kid);
            assert_eq!(loaded.active_alg(), alg);

            match write_new_file(&path, b"replacement") {
                Err(KeyError::Exists { path: p }) => assert_eq!(p, path),
                other => panic!("expected Exists, got {other:?}"),
            }
            assert_eq!(fs::read_to_string(&path).unwrap(), text, "file untouched");
        }
        let missing = dir.path().join("no-such-dir");
        match generate_key_file(SigningAlg::ES256, &missing) {
            Err(err @ KeyError::Write { .. }) => {
                assert!(err.to_string().contains("no-such-dir"), "{err}");
            }
            other => panic!("expected Write, got {other:?}"),
        }
    }

    /// A throwaway 1024-bit RSA key (PKCS#8), made for this test only.
    const RSA_1024: &str = "-----BEGIN PRIVATE KEY-----
MIICdwIBADANBgkqhkiG9w0BAQEFAASCAmEwggJdAgEAAoGBAJ9MfIhH0ibja9od
28mUrZv659Y02wZOrox3smxKXxfxKBJcCmppIRaHL61tBeraQU96nQKR6ws5G/O5
Vasppas3V/VGM/SCEGL8lxsRclRIXdvg44T/F1S8hrL3dGcCYeCLBkZeHzIfw89p
8wejHeEkGI3/bYH6QExaLyKtpQTZAgMBAAECgYBMkYomQ0dbE+NKYyG64fEU0WRQ
TPWeMYGq2Pn1HUZaDrtxH7aN8VxLJM2g8Y9vlFriJhCEJLkyms+5tbLc49bSFFDl
++DaYREVVHX2qvipSKNSeW+84l9C0BDpSVUN3kubs7XHYiu/SVS3VxfuEuaU0ih6
Gk6/e/RzBrfnFq9iJQJBAMx9JFJNn5fxQX1vWXlL6XnDaYFJfDf5Rom0bKUww3M4
sSS+46nKKopjD8PAjnL9qhML1VyirS4hJybimQi5Mv8CQQDHbS0WVYDS6oHPa6uU
XlO3cgHcYscvpGWZSyQADS4ZzpzhVG+zEDVzOrnyH3rY42OJxRDWRr26XYShlEgv
0cAnAkBMlRFlQWzjmpbMQ0dfBe8KiwSYRs0eqVyhddC6jOil3jV5bYQVsoD8Et10
kkjHB/kJ6QSfDM2O2RuwlGx7t+BBAkEAtl4dXA4mtzniKWchyZUU422rS/k8g1HH
4w32xuFGpizuA5TubIZHCq/KeSLWeV4/mS4P/pNETxfUANqTxL8AAwJBAJyuP6fe
uube5uMA3tLhuenYvfhoTIywvfFK04vsPeUiyvUoke8gwniw3ZF5PZb9NT9d+mUL
uxKR/66kmx+8IBU=
-----END PRIVATE KEY-----
";

    /// A throwaway EC P-384 key (PKCS#8), made for this test only.
    const P384: &str = "-----BEGIN PRIVATE KEY-----
MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDCQ742cGQQxTZSlJ9nr
9tfsbRC/YJ7ibD9KhLilUexNMt+KjeL/+XROTVTaOJKNS0WhZANiAARbcnE2w0KX
UoBi1vbEeuFHUFacWDJlVJZDghoiWg54Q8+ntxH3GJ1nsL6gscx0h8RuIRwmQznk
top4KgD3mTsOmAc8a/B9ko2doC5aer5ikfSr1WFmbct5CEFP6MGWzLY=
-----END PRIVATE KEY-----
";

    #[test]
    fn unusable_key_files_are_refused_with_the_file_named() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();

        let missing = d.join("absent.pem");
        match SigningKeys::load(std::slice::from_ref(&missing), None) {
            Err(err @ KeyError::Read { .. }) => {
                assert!(err.to_string().contains("absent.pem"), "{err}");
                let KeyError::Read { path, source } = err else {
                    unreachable!()
                };
                assert_eq!(path, missing);
                assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
            }
            other => panic!("expected Read, got {other:?}"),
        }

        let cases = [
            (
                "text.pem",
                "just some text\n".to_owned(),
                KeyProblem::NotPem,
            ),
            (
                "garbage.pem",
                "-----BEGIN PRIVATE KEY-----\n!!not base64!!\n-----END PRIVATE KEY-----\n"
                    .to_owned(),
                KeyProblem::BadBase64,
            ),
            (
                "zeros.pem",
                "-----BEGIN PRIVATE KEY-----\nAAAAAAAA\n-----END PRIVATE KEY-----\n".to_owned(),
                KeyProblem::NotAKey,
            ),
            (
                "truncated.pem",
                "-----BEGIN PRIVATE KEY-----\nAAAAAAAA\n".to_owned(),
                KeyProblem::NoEndLine,
            ),
            (
                "sec1.pem",
                "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n".to_owned(),
                KeyProblem::NotPkcs8 {
                    label: "EC PRIVATE KEY".into(),
                },
            ),
            (
                "two.pem",
                format!("{P384}{RSA_1024}"),
                KeyProblem::SeveralBlocks,
            ),
            ("rsa1024.pem", RSA_1024.to_owned(), KeyProblem::RsaTooSmall),
            (
                "p384.pem",
                P384.to_owned(),
                KeyProblem::UnsupportedCurve("P-384"),
            ),
        ];
        for (name, contents, expected) in cases {
            let path = write(d, name, &contents);
            assert_eq!(load_err(&path), expected, "{name}");
        }

        let binary = d.join("binary.der");
        fs::write(&binary, [0x30, 0x82, 0xff, 0xfe]).unwrap();
        assert_eq!(load_err(&binary), KeyProblem::NotPem);

        // No key material in messages.
        let path = d.join("rsa1024.pem");
        let message = SigningKeys::load(&[path], None).unwrap_err().to_string();
        assert!(!message.contains("MIIC"), "{message}");
        assert!(message.contains("smaller than 2048 bits"), "{message}");
    }

    #[test]
    fn key_lists_are_refused_when_empty_or_holding_a_key_twice() {
        assert!(matches!(
            SigningKeys::load(&[], None),
            Err(KeyError::NoKeys)
        ));
        let dir = tempfile::tempdir().unwrap();
        let (path, kid) = generate_key_file(SigningAlg::ES256, dir.path()).unwrap();
        let copy = dir.path().join("copy.pem");
        fs::copy(&path, &copy).unwrap();
        match SigningKeys::load(&[path.clone(), copy.clone()], None) {
            Err(KeyError::DuplicateKey {
                kid: k,
                first,
                second,
            }) => assert_eq!((k, first, second), (kid, path, copy)),
            other => panic!("expected DuplicateKey, got {other:?}"),
        }
    }

    #[test]
    fn keys_from_other_tools_load() {
        // PKCS#8 v2 Ed25519 (with the public key) and an openssl-style file with text around
        // the block.
        let pair = Ed25519KeyPair::generate().unwrap();
        let v2: aws_lc_rs::encoding::Pkcs8V2Der = pair.as_der().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "Bag Attributes: none\n{}",
            pem_encode("PRIVATE KEY", v2.as_ref())
        );
        let path = write(dir.path(), "v2.pem", &text);
        let keys = SigningKeys::load(&[path], None).unwrap();
        assert_eq!(keys.active_alg(), SigningAlg::EdDSA);
        let token = keys.sign("JWT", &claims()).unwrap();
        assert_eq!(verify_with_jwks(&keys.jwks(), &token), claims());
    }

    fn forge(header: Value, payload: &str, signature: &str) -> String {
        format!("{}.{payload}.{signature}", b64json(&header))
    }

    #[test]
    fn verify_refuses_what_the_gateway_did_not_sign_as_asked() {
        let keys = SigningKeys::generate(SigningAlg::ES256).unwrap();
        let kid = keys.active_kid().to_owned();
        let token = keys.sign("at+jwt", &claims()).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let (payload, signature) = (parts[1], parts[2]);

        // An ID token is not an access token (typ case-insensitive per RFC 7515).
        assert_eq!(keys.verify::<Claims>(&token, "AT+JWT").unwrap(), claims());
        match keys.verify::<Claims>(&token, "JWT") {
            Err(KeyError::WrongTyp { expected, found }) => {
                assert_eq!(
                    (expected.as_str(), found.as_deref()),
                    ("JWT", Some("at+jwt"))
                );
            }
            other => panic!("expected WrongTyp, got {other:?}"),
        }
        let untyped = forge(json!({"alg": "ES256", "kid": kid}), payload, signature);
        assert!(matches!(
            keys.verify::<Claims>(&untyped, "at+jwt"),
            Err(KeyError::WrongTyp { found: None, .. })
        ));

        // Another gateway's key, and no kid at all.
        let other = SigningKeys::generate(SigningAlg::ES256).unwrap();
        let foreign = other.sign("at+jwt", &claims()).unwrap();
        match keys.verify::<Claims>(&foreign, "at+jwt") {
            Err(KeyError::UnknownKid { kid: k }) => {
                assert_eq!(k.as_deref(), Some(other.active_kid()))
            }
            other => panic!("expected UnknownKid, got {other:?}"),
        }
        let kidless = forge(json!({"alg": "ES256", "typ": "at+jwt"}), payload, signature);
        assert!(matches!(
            keys.verify::<Claims>(&kidless, "at+jwt"),
            Err(KeyError::UnknownKid { kid: None })
        ));

        // A changed claim under the original signature.
        let tampered_payload =
            URL_SAFE_NO_PAD.encode(json!({"sub": "BH/SA/999", "n": 7}).to_string());
        let tampered = format!("{}.{tampered_payload}.{signature}", parts[0]);
        assert!(matches!(
            keys.verify::<Claims>(&tampered, "at+jwt"),
            Err(KeyError::BadSignature)
        ));
        let resigned = format!("{}.{payload}.{}", parts[0], &parts[2][..parts[2].len() - 4]);
        assert!(matches!(
            keys.verify::<Claims>(&resigned, "at+jwt"),
            Err(KeyError::BadSignature)
        ));

        // alg none and an HMAC alg under the real kid.
        for alg in ["none", "HS256", "ES384"] {
            let header = json!({"alg": alg, "kid": kid, "typ": "at+jwt"});
            let sig = if alg == "none" { "" } else { signature };
            match keys.verify::<Claims>(&forge(header, payload, sig), "at+jwt") {
                Err(KeyError::WrongAlg {
                    kid: k,
                    expected,
                    found,
                }) => assert_eq!(
                    (k, expected, found.as_str()),
                    (kid.clone(), SigningAlg::ES256, alg)
                ),
                other => panic!("expected WrongAlg for {alg}, got {other:?}"),
            }
        }

        let crit = json!({"alg": "ES256", "kid": kid, "typ": "at+jwt", "crit": ["exp"]});
        assert!(matches!(
            keys.verify::<Claims>(&forge(crit, payload, signature), "at+jwt"),
            Err(KeyError::CritHeader)
        ));

        for bad in [
            "",
            "a.b",
            "a.b.c.d",
            "!!!.e30.sig",
            &"x".repeat(MAX_TOKEN_LEN + 1),
        ] {
            assert!(
                matches!(
                    keys.verify::<Claims>(bad, "at+jwt"),
                    Err(KeyError::Malformed(_))
                ),
                "{bad:.20}"
            );
        }
    }

    #[test]
    fn verify_reports_claims_of_the_wrong_shape_without_their_values() {
        let keys = SigningKeys::generate(SigningAlg::EdDSA).unwrap();
        let token = keys
            .sign("JWT", &json!({"sub": "secret-person-id"}))
            .unwrap();
        match keys.verify::<Claims>(&token, "JWT") {
            Err(KeyError::Claims(reason)) => assert_eq!(reason, "missing field `n`"),
            other => panic!("expected Claims, got {other:?}"),
        }
        let token = keys
            .sign("JWT", &json!({"sub": "secret-person-id", "n": "seven"}))
            .unwrap();
        match keys.verify::<Claims>(&token, "JWT") {
            Err(KeyError::Claims(reason)) => {
                assert_eq!(reason, "a claim has the wrong type or value");
            }
            other => panic!("expected Claims, got {other:?}"),
        }
    }

    #[test]
    fn token_hash_is_the_left_half_of_the_alg_digest() {
        // OIDC Core appendix A.4: c_hash of the example code (SHA-256).
        let code = "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk";
        assert_eq!(
            token_hash(SigningAlg::ES256, code),
            "LDktKdoQak3Pk0cnXxCltA"
        );
        assert_eq!(
            token_hash(SigningAlg::PS256, code),
            "LDktKdoQak3Pk0cnXxCltA"
        );
        // SHA-512 for Ed25519, as computed by Python's hashlib.
        let at = "jHkWEdUXMU1BwAsC4vtUsZwnNnsMM3VTvNZOOGPJ5KBcfMODs3p5vLA4JQIrO5QnM8TmsaU9Xh98JaGr6vzOxeLtyhHC6Q";
        assert_eq!(
            token_hash(SigningAlg::EdDSA, at),
            "H0oufdR2L7KCRsFgoJsHwZtvOMRBUFwwIZ4B_KMs3c4"
        );
        assert_eq!(token_hash(SigningAlg::ES256, at), "1S-bDhTJWyEw2MWAPbkiDg");
    }

    #[test]
    fn alg_names_parse_display_and_serialize_alike() {
        for alg in SigningAlg::ALL {
            assert_eq!(alg.to_string().parse::<SigningAlg>().unwrap(), alg);
            assert_eq!(serde_json::to_value(alg).unwrap(), json!(alg.as_str()));
            assert_eq!(alg.jwt(), alg.as_str().parse::<Algorithm>().unwrap());
        }
        match "RS256".parse::<SigningAlg>() {
            Err(KeyError::UnknownAlg(name)) => assert_eq!(name, "RS256"),
            other => panic!("expected UnknownAlg, got {other:?}"),
        }
        assert!(matches!(
            "es256".parse::<SigningAlg>(),
            Err(KeyError::UnknownAlg(_))
        ));
    }

    #[test]
    fn debug_shows_kids_only_and_keys_are_shareable() {
        fn shareable<T: Send + Sync + Clone + 'static>() {}
        shareable::<SigningKeys>();
        let keys = SigningKeys::generate(SigningAlg::PS256).unwrap();
        let debug = format!("{keys:?}");
        assert_eq!(
            debug,
            format!(
                "SigningKeys {{ active: {:?}, keys: [({:?}, PS256)] }}",
                keys.active_kid(),
                keys.active_kid()
            )
        );
    }
}
