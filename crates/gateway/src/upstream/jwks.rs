//! The JWKS cache of one issuer: keys parsed once, refreshed on an unknown kid and once when a
//! signature fails under a cached kid, single-flight and rate-limited, refreshed when its
//! Cache-Control age passes, and still usable (stale-if-error) for a while when the IdP is down.
//!
//! A kid miss within `min_refresh_secs` of the last fetch does not fail: it waits for the next
//! allowed fetch (at most [`MAX_KID_WAIT`]), holding the single-flight lock, so the logins
//! that follow a national key rotation succeed while fetches stay at one per interval however
//! many tokens miss. Keys refused at parse time (too weak, wrong use …) are remembered with
//! their reason, so a token naming one is refused for that reason, not as an unknown kid.
//! Ours rather than a crate's: no maintained JWKS cache offers these three behaviours.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{self, ParsedPublicKey, VerificationAlgorithm};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::config::JwksSettings;
use super::error::VerifyError;
use super::http::HttpClient;
use crate::alg;

/// Smallest RSA modulus accepted.
pub const MIN_RSA_BITS: usize = 2048;

/// Longest a kid miss waits for the next allowed fetch (config keeps `min_refresh_secs` under
/// it; this also bounds a test's hand-made settings).
pub const MAX_KID_WAIT: Duration = Duration::from_secs(15);

/// Why a key of the issuer's JWKS is not used: a fixed reason, logged and given to a token
/// that names the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRefusal {
    /// `kty` RSA with a modulus under [`MIN_RSA_BITS`].
    WeakRsa,
    /// `use` is not `sig`.
    NotForSignatures,
    /// A symmetric (`oct`) key: never accepted from a JWKS.
    Symmetric,
    /// A key type or curve Jisr does not verify with.
    Unsupported,
    /// `alg` is not one Jisr accepts, or does not fit the key type.
    AlgMismatch,
    /// The key's parameters do not decode.
    Malformed,
}

impl KeyRefusal {
    /// The reason in words, for logs and the refusal's description.
    pub const fn describe(self) -> &'static str {
        match self {
            KeyRefusal::WeakRsa => "RSA modulus shorter than 2048 bits",
            KeyRefusal::NotForSignatures => "key is not for signatures (use)",
            KeyRefusal::Symmetric => "symmetric key",
            KeyRefusal::Unsupported => "unsupported key type or curve",
            KeyRefusal::AlgMismatch => "declared alg is not accepted or does not fit the key",
            KeyRefusal::Malformed => "key parameters do not decode",
        }
    }
}

/// A key of the JWKS that is not used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedKey {
    pub kid: Option<String>,
    pub why: KeyRefusal,
}

/// Key families, from `kty` (and `crv`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Rsa,
    P256,
    P384,
    Ed25519,
}

impl Family {
    fn fits(self, alg: Algorithm) -> bool {
        use Algorithm::*;
        matches!(
            (self, alg),
            (Family::Rsa, RS256 | RS384 | RS512 | PS256 | PS384 | PS512)
                | (Family::P256, ES256)
                | (Family::P384, ES384)
                | (Family::Ed25519, EdDSA)
        )
    }
}

/// One usable verification key.
pub struct Key {
    pub kid: Option<String>,
    pub alg: Option<Algorithm>,
    pub family: Family,
    pub decoding: DecodingKey,
    /// The key parsed once by aws-lc-rs for each algorithm it may verify (its declared `alg`,
    /// or every algorithm of its family): a signature check is then the arithmetic alone,
    /// where jsonwebtoken rebuilds the key from the JWK's numbers on every call (for RSA, its
    /// Montgomery context; for EC, the point and its curve check).
    verifiers: Vec<(Algorithm, ParsedPublicKey)>,
    /// The key's public parameters, to tell a replaced key from the same key.
    fingerprint: String,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("family", &self.family)
            .finish()
    }
}

impl Key {
    /// Whether this key may verify a token with `alg`: family, declared alg and use.
    pub fn fits(&self, alg: Algorithm) -> bool {
        self.family.fits(alg) && self.alg.is_none_or(|a| a == alg)
    }

    /// Whether `signature` (the JWS's raw signature bytes) signs `message` under this key
    /// with `alg`. False for an algorithm the key does not fit.
    pub fn verifies(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> bool {
        self.verifiers
            .iter()
            .find(|(a, _)| *a == alg)
            .is_some_and(|(_, key)| key.verify_sig(message, signature).is_ok())
    }
}

/// aws-lc-rs's verification algorithm for a JWS `alg` (RFC 7518 3.1; ECDSA signatures are
/// the fixed-width `r || s`).
fn verification(alg: Algorithm) -> Option<&'static dyn VerificationAlgorithm> {
    use Algorithm::*;
    Some(match alg {
        RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        PS256 => &signature::RSA_PSS_2048_8192_SHA256,
        PS384 => &signature::RSA_PSS_2048_8192_SHA384,
        PS512 => &signature::RSA_PSS_2048_8192_SHA512,
        ES256 => &signature::ECDSA_P256_SHA256_FIXED,
        ES384 => &signature::ECDSA_P384_SHA384_FIXED,
        EdDSA => &signature::ED25519,
        _ => return None,
    })
}

/// The public key as aws-lc-rs reads it: X.509 SubjectPublicKeyInfo for RSA (from `n` and
/// `e`), the uncompressed point for EC, the 32 bytes for Ed25519.
fn public_key_bytes(jwk: &Jwk) -> Option<Vec<u8>> {
    let decode = |b64: &str| URL_SAFE_NO_PAD.decode(b64.as_bytes()).ok();
    match &jwk.algorithm {
        AlgorithmParameters::RSA(p) => {
            let components = aws_lc_rs::rsa::PublicKeyComponents {
                n: decode(&p.n)?,
                e: decode(&p.e)?,
            };
            Some(components.as_der().ok()?.as_ref().to_vec())
        }
        AlgorithmParameters::EllipticCurve(p) => {
            let (x, y) = (decode(&p.x)?, decode(&p.y)?);
            let width = if p.curve == EllipticCurve::P256 {
                32
            } else {
                48
            };
            if x.len() != width || y.len() != width {
                return None;
            }
            Some([&[4u8][..], &x, &y].concat())
        }
        AlgorithmParameters::OctetKeyPair(p) => decode(&p.x).filter(|x| x.len() == 32),
        _ => None,
    }
}

/// One fetched key set.
pub struct KeySet {
    pub keys: Vec<Key>,
    /// The keys published but not usable, with why.
    pub refused: Vec<RefusedKey>,
    fetched_at: Instant,
    max_age: Duration,
    /// Counts fetches; lets a waiter see that someone else refreshed meanwhile.
    pub generation: u64,
}

impl KeySet {
    /// How long ago this set was fetched (for the operators' dashboard).
    pub fn age(&self) -> Duration {
        self.fetched_at.elapsed()
    }

    fn fresh(&self) -> bool {
        self.fetched_at.elapsed() < self.max_age
    }
}

/// Why a refresh is asked for; each reason is rate-limited the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    Expired,
    UnknownKid,
    BadSignature,
}

/// Readers take the current set without locking (`arc-swap`); only refreshes serialise.
pub struct JwksCache {
    jwks_uri: ArcSwapOption<String>,
    http: HttpClient,
    settings: JwksSettings,
    current: ArcSwapOption<KeySet>,
    /// Held while fetching (single flight); remembers the last attempt (rate limit).
    refresh: Mutex<Option<Instant>>,
    /// Fetch attempts, successful or not: a caller that waited for the lock sees that someone
    /// tried on its behalf meanwhile and does not try (or wait) again.
    attempts: AtomicU64,
    fetches: AtomicU64,
    /// Refreshes that failed (nothing usable fetched), and whether the last one did.
    failures: AtomicU64,
    last_failed: AtomicBool,
}

/// The cache as operators see it (metrics, readiness).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JwksStatus {
    /// Usable keys in the cached set; `None` before the first successful fetch.
    pub keys: Option<usize>,
    /// Time since the cached set was fetched.
    pub age: Option<Duration>,
    /// Whether the cached set is within its max-age.
    pub fresh: bool,
    /// Whether the last refresh attempt failed.
    pub last_refresh_failed: bool,
    /// Failed refreshes since start.
    pub failures: u64,
}

impl JwksCache {
    pub fn new(http: HttpClient, settings: JwksSettings) -> Self {
        JwksCache {
            jwks_uri: ArcSwapOption::empty(),
            http,
            settings,
            current: ArcSwapOption::empty(),
            refresh: Mutex::new(None),
            attempts: AtomicU64::new(0),
            fetches: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            last_failed: AtomicBool::new(false),
        }
    }

    /// Key count, age, freshness and refresh failures, read without locking.
    pub fn status(&self) -> JwksStatus {
        let current = self.snapshot();
        JwksStatus {
            keys: current.as_ref().map(|s| s.keys.len()),
            age: current.as_ref().map(|s| s.fetched_at.elapsed()),
            fresh: current.as_ref().is_some_and(|s| s.fresh()),
            last_refresh_failed: self.last_failed.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
        }
    }

    /// Sets the JWKS URL from discovery.
    pub fn set_uri(&self, uri: String) {
        self.jwks_uri.store(Some(Arc::new(uri)));
    }

    /// How many times the JWKS was fetched (for tests and metrics).
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// The set in hand, without fetching (for the operators' dashboard).
    pub fn cached(&self) -> Option<Arc<KeySet>> {
        self.snapshot()
    }

    fn snapshot(&self) -> Option<Arc<KeySet>> {
        self.current.load_full()
    }

    /// The keys to verify with now: the cached set while fresh; otherwise a refresh, falling
    /// back to the stale set while within stale-if-error.
    pub async fn keys(&self) -> Result<Arc<KeySet>, VerifyError> {
        match self.snapshot() {
            Some(set) if set.fresh() => Ok(set),
            seen => {
                self.refresh(Refresh::Expired, seen.map(|s| s.generation))
                    .await
            }
        }
    }

    /// Fetches a new key set unless another caller did since `seen_generation` (or tried
    /// while this one waited for the lock); then the current set is returned as it is.
    ///
    /// Within `min_refresh_secs` of the last attempt, an unknown kid waits for the next
    /// allowed fetch (the lock held: callers behind it get that fetch's result); the other
    /// reasons answer with the set in hand at once.
    pub async fn refresh(
        &self,
        reason: Refresh,
        seen_generation: Option<u64>,
    ) -> Result<Arc<KeySet>, VerifyError> {
        let attempts_seen = self.attempts.load(Ordering::Acquire);
        let mut last_attempt = self.refresh.lock().await;
        let current = self.snapshot();
        let someone_else_tried = self.attempts.load(Ordering::Acquire) != attempts_seen;
        let min_gap = Duration::from_secs(self.settings.min_refresh_secs);
        let wait = last_attempt
            .map(|t| (t + min_gap).saturating_duration_since(Instant::now()))
            .unwrap_or_default();
        match &current {
            Some(set) => {
                let someone_else_refreshed = seen_generation.is_some_and(|g| set.generation > g);
                let needed = reason != Refresh::Expired || !set.fresh();
                if someone_else_refreshed || someone_else_tried || !needed {
                    return Ok(set.clone());
                }
                if !wait.is_zero() {
                    if reason != Refresh::UnknownKid {
                        return Ok(set.clone());
                    }
                    tokio::time::sleep(wait.min(MAX_KID_WAIT)).await;
                }
            }
            // Nothing cached and the last fetch failed moments ago (or just now, for a caller
            // that waited): answer at once.
            None if someone_else_tried || !wait.is_zero() => {
                return Err(VerifyError::JwksUnavailable);
            }
            None => {}
        }
        *last_attempt = Some(Instant::now());
        self.attempts.fetch_add(1, Ordering::AcqRel);
        match self
            .fetch(current.as_ref().map_or(0, |s| s.generation) + 1)
            .await
        {
            Ok(set) => {
                let set = Arc::new(set);
                self.current.store(Some(set.clone()));
                self.last_failed.store(false, Ordering::Relaxed);
                Ok(set)
            }
            Err(e) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                self.last_failed.store(true, Ordering::Relaxed);
                tracing::warn!(reason = ?reason, error = %e, "JWKS refresh failed");
                match current {
                    Some(set)
                        if set.fetched_at.elapsed()
                            < Duration::from_secs(self.settings.stale_if_error_secs) =>
                    {
                        Ok(set)
                    }
                    _ => Err(VerifyError::JwksUnavailable),
                }
            }
        }
    }

    async fn fetch(&self, generation: u64) -> Result<KeySet, String> {
        let uri = self
            .jwks_uri
            .load_full()
            .ok_or("no jwks_uri yet (discovery pending)")?;
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let fetched = self
            .http
            .get_ok(uri.as_str(), "jwks")
            .await
            .map_err(|e| e.to_string())?;
        let value: Value =
            serde_json::from_slice(&fetched.body).map_err(|_| "JWKS is not JSON".to_owned())?;
        let (keys, refused) = parse_key_set(&value)?;
        for r in &refused {
            tracing::warn!(
                kid = r.kid.as_deref().unwrap_or("-"),
                why = r.why.describe(),
                "JWKS key refused"
            );
        }
        let max_age = fetched
            .max_age()
            .unwrap_or(Duration::from_secs(self.settings.default_max_age_secs))
            .min(Duration::from_secs(self.settings.max_age_cap_secs));
        Ok(KeySet {
            keys,
            refused,
            fetched_at: Instant::now(),
            max_age,
            generation,
        })
    }

    /// Whether the key under `kid` changed between two sets (a key replaced under its kid).
    pub fn replaced(old: &KeySet, new: &KeySet, kid: Option<&str>) -> bool {
        let fp = |s: &KeySet| {
            s.keys
                .iter()
                .filter(|k| kid.is_none() || k.kid.as_deref() == kid)
                .map(|k| k.fingerprint.clone())
                .collect::<Vec<_>>()
        };
        new.generation != old.generation && fp(old) != fp(new)
    }
}

/// Parses a JWKS document: the keys usable for signature verification, and those skipped
/// (encryption, symmetric, weak RSA, unknown key types) with why.
pub fn parse_key_set(value: &Value) -> Result<(Vec<Key>, Vec<RefusedKey>), String> {
    let list = value
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("JWKS has no `keys` array")?;
    let mut keys = Vec::new();
    let mut refused = Vec::new();
    for raw in list.iter().take(100) {
        let kid = raw
            .get("kid")
            .and_then(Value::as_str)
            .filter(|k| !k.is_empty() && k.len() <= 256)
            .map(str::to_owned);
        let outcome = match serde_json::from_value::<Jwk>(raw.clone()) {
            Ok(jwk) => usable(&jwk),
            // jsonwebtoken's Jwk has no variant for unknown key types.
            Err(_) => match raw.get("kty").and_then(Value::as_str) {
                Some("oct") => Err(KeyRefusal::Symmetric),
                Some("RSA" | "EC" | "OKP") => Err(KeyRefusal::Malformed),
                _ => Err(KeyRefusal::Unsupported),
            },
        };
        match outcome {
            Ok(key) => keys.push(key),
            Err(why) if raw.is_object() => refused.push(RefusedKey { kid, why }),
            Err(_) => {}
        }
    }
    Ok((keys, refused))
}

fn usable(jwk: &Jwk) -> Result<Key, KeyRefusal> {
    if matches!(&jwk.common.public_key_use, Some(u) if *u != PublicKeyUse::Signature) {
        return Err(KeyRefusal::NotForSignatures);
    }
    let alg = match jwk.common.key_algorithm {
        None => None,
        Some(a) => Some(
            Algorithm::try_from(a)
                .ok()
                .filter(|a| alg::accepts(*a))
                .ok_or(KeyRefusal::AlgMismatch)?,
        ),
    };
    let (family, fingerprint) = match &jwk.algorithm {
        AlgorithmParameters::RSA(p) => {
            let n = URL_SAFE_NO_PAD
                .decode(p.n.as_bytes())
                .map_err(|_| KeyRefusal::Malformed)?;
            let bits = n.iter().skip_while(|b| **b == 0).count() * 8;
            if bits < MIN_RSA_BITS {
                return Err(KeyRefusal::WeakRsa);
            }
            (Family::Rsa, format!("{}.{}", p.n, p.e))
        }
        AlgorithmParameters::EllipticCurve(p) => {
            let family = match p.curve {
                EllipticCurve::P256 => Family::P256,
                EllipticCurve::P384 => Family::P384,
                _ => return Err(KeyRefusal::Unsupported),
            };
            (family, format!("{}.{}", p.x, p.y))
        }
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
            (Family::Ed25519, p.x.clone())
        }
        AlgorithmParameters::OctetKey(_) => return Err(KeyRefusal::Symmetric),
        _ => return Err(KeyRefusal::Unsupported),
    };
    if alg.is_some_and(|a| !family.fits(a)) {
        return Err(KeyRefusal::AlgMismatch);
    }
    let decoding = DecodingKey::from_jwk(jwk).map_err(|_| KeyRefusal::Malformed)?;
    let bytes = public_key_bytes(jwk).ok_or(KeyRefusal::Malformed)?;
    let verifiers = alg::ACCEPTED
        .into_iter()
        .filter(|a| family.fits(*a) && alg.is_none_or(|declared| declared == *a))
        .map(|a| {
            let algorithm = verification(a).ok_or(KeyRefusal::Unsupported)?;
            ParsedPublicKey::new(algorithm, &bytes)
                .map(|key| (a, key))
                .map_err(|_| KeyRefusal::Malformed)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Key {
        kid: jwk.common.key_id.clone(),
        alg,
        family,
        decoding,
        verifiers,
        fingerprint,
    })
}

#[cfg(feature = "fuzzing")]
impl JwksCache {
    /// Holds the key set `jwks` as if just fetched (for a year): fuzz targets verify tokens
    /// against fixed keys with no IdP to fetch from. Returns how many keys are usable.
    pub fn seed(&self, jwks: &Value) -> Result<usize, String> {
        let (keys, refused) = parse_key_set(jwks)?;
        let usable = keys.len();
        self.current.store(Some(Arc::new(KeySet {
            keys,
            refused,
            fetched_at: Instant::now(),
            max_age: Duration::from_secs(365 * 86_400),
            generation: 1,
        })));
        Ok(usable)
    }
}

#[cfg(test)]
impl KeySet {
    /// A set as if fetched now, for tests of key selection.
    pub(crate) fn for_tests(keys: Vec<Key>, refused: Vec<RefusedKey>) -> Self {
        KeySet {
            keys,
            refused,
            fetched_at: Instant::now(),
            max_age: Duration::from_secs(300),
            generation: 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn weak_symmetric_encryption_and_unknown_keys_are_skipped() {
        // 1024-bit modulus (128 bytes) is refused; a 2048-bit one is kept.
        let n1024 = URL_SAFE_NO_PAD.encode([0xC5u8; 128]);
        let n2048 = URL_SAFE_NO_PAD.encode([0xC5u8; 256]);
        let jwks = json!({"keys": [
            {"kty": "RSA", "kid": "weak", "n": n1024, "e": "AQAB"},
            {"kty": "RSA", "kid": "ok", "n": n2048, "e": "AQAB", "use": "sig", "alg": "RS256"},
            {"kty": "RSA", "kid": "enc", "n": n2048, "e": "AQAB", "use": "enc"},
            {"kty": "RSA", "kid": "mismatch", "n": n2048, "e": "AQAB", "alg": "ES256"},
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {"kty": "XYZ", "kid": "future"},
            "not an object"
        ]});
        let (keys, refused) = parse_key_set(&jwks).unwrap();
        let kids: Vec<_> = keys.iter().map(|k| k.kid.as_deref().unwrap()).collect();
        assert_eq!(kids, ["ok"]);
        // Each skipped key keeps its kid and its own reason (the string is not an object).
        let why: Vec<_> = refused
            .iter()
            .map(|r| (r.kid.as_deref().unwrap(), r.why))
            .collect();
        assert_eq!(
            why,
            [
                ("weak", KeyRefusal::WeakRsa),
                ("enc", KeyRefusal::NotForSignatures),
                ("mismatch", KeyRefusal::AlgMismatch),
                ("hmac", KeyRefusal::Symmetric),
                ("future", KeyRefusal::Unsupported),
            ]
        );
        assert_eq!(
            KeyRefusal::WeakRsa.describe(),
            "RSA modulus shorter than 2048 bits"
        );
        assert!(keys[0].fits(Algorithm::RS256));
        assert!(!keys[0].fits(Algorithm::PS256)); // declared alg RS256
        assert!(!keys[0].fits(Algorithm::ES256));
        assert_eq!(
            parse_key_set(&json!({"nokeys": []}))
                .map(|(k, _)| k)
                .unwrap_err(),
            "JWKS has no `keys` array"
        );
    }

    /// Each key is parsed once per algorithm it may verify, and verifies exactly those: an
    /// RSA key without `alg` both PKCS#1 v1.5 and PSS, one declaring RS256 only that; EC and
    /// Ed25519 keys their one algorithm. A changed message or signature is refused.
    #[test]
    fn parsed_keys_verify_their_algorithms_and_nothing_else() {
        use aws_lc_rs::rand::SystemRandom;
        use aws_lc_rs::rsa::{KeySize, PublicKeyComponents};
        use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
        let rng = SystemRandom::new();
        let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
        let message = b"header.claims";

        let rsa = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        let parts = PublicKeyComponents::<Vec<u8>>::from(rsa.public_key());
        let rsa_sig = |padding: &'static dyn aws_lc_rs::signature::RsaEncoding| {
            let mut sig = vec![0u8; rsa.public_modulus_len()];
            rsa.sign(padding, &rng, message, &mut sig).unwrap();
            sig
        };
        let (pkcs1, pss) = (
            rsa_sig(&signature::RSA_PKCS1_SHA256),
            rsa_sig(&signature::RSA_PSS_SHA256),
        );
        let ec = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let point = ec.public_key().as_ref();
        let ec_sig = ec.sign(&rng, message).unwrap().as_ref().to_vec();
        let ed = Ed25519KeyPair::generate().unwrap();
        let ed_sig = ed.sign(message).as_ref().to_vec();

        let jwks = json!({"keys": [
            {"kty": "RSA", "kid": "rsa", "n": b64(&parts.n), "e": b64(&parts.e)},
            {"kty": "RSA", "kid": "rs256", "n": b64(&parts.n), "e": b64(&parts.e), "alg": "RS256"},
            {"kty": "EC", "kid": "ec", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..])},
            {"kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": b64(ed.public_key().as_ref())},
        ]});
        let (keys, refused) = parse_key_set(&jwks).unwrap();
        assert!(refused.is_empty(), "{refused:?}");
        let key = |kid: &str| keys.iter().find(|k| k.kid.as_deref() == Some(kid)).unwrap();
        use Algorithm::*;
        assert!(key("rsa").verifies(RS256, message, &pkcs1));
        assert!(key("rsa").verifies(PS256, message, &pss));
        assert!(!key("rsa").verifies(PS256, message, &pkcs1));
        assert!(!key("rsa").verifies(RS384, message, &pkcs1));
        assert!(key("rs256").verifies(RS256, message, &pkcs1));
        assert!(!key("rs256").verifies(PS256, message, &pss)); // declared RS256 only
        assert!(key("ec").verifies(ES256, message, &ec_sig));
        assert!(!key("ec").verifies(ES384, message, &ec_sig));
        assert!(key("ed").verifies(EdDSA, message, &ed_sig));
        assert!(!key("ed").verifies(ES256, message, &ec_sig));
        let mut flipped = ec_sig.clone();
        flipped[10] ^= 1;
        assert!(!key("ec").verifies(ES256, message, &flipped));
        assert!(!key("rsa").verifies(RS256, b"header.claimz", &pkcs1));
        assert!(!key("ed").verifies(EdDSA, b"header.claimz", &ed_sig));
        // A point off the curve is refused when the set is read, not at verification.
        let off = json!({"keys": [{"kty": "EC", "kid": "off", "crv": "P-256",
            "x": b64(&[1u8; 32]), "y": b64(&[2u8; 32])}]});
        let (keys, refused) = parse_key_set(&off).unwrap();
        assert!(keys.is_empty());
        assert_eq!(refused[0].why, KeyRefusal::Malformed);
    }
}
