//! One signing key from PKCS#8 DER: its algorithm (the key type's, or RS256 for an RSA key
//! configured so), its public JWK named by its RFC 7638 thumbprint, and a self-test, so a key
//! that loads is a key that signs what its published half verifies. Fresh keys are made through the same path.

use aws_lc_rs::encoding::{AsBigEndian as _, AsDer as _, EcPublicKeyUncompressedBin};
use aws_lc_rs::error::KeyRejected;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING,
    ECDSA_P521_SHA512_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters,
    EllipticCurveKeyType, Jwk, OctetKeyPairParameters, OctetKeyPairType, PublicKeyUse,
    RSAKeyParameters, RSAKeyType, ThumbprintHash,
};
use jsonwebtoken::{Algorithm, DecodingKey};

use super::error::{KeyError, KeyProblem, clip};
use super::signer::Signer;

/// A usable private key and its published half.
pub(super) struct Key {
    pub kid: String,
    pub alg: Algorithm,
    /// The private key, parsed once.
    pub signer: Signer,
    /// The public JWK with `kid`, `alg` and `use`.
    pub jwk: Jwk,
}

impl Key {
    /// Builds a key from PKCS#8 DER and proves it signs what its public JWK verifies.
    ///
    /// `alg` chooses between the algorithms of the key's type: RSA keys sign PS256 (when
    /// `None`) or RS256, never both (RFC 8725 3.1: one key, one algorithm); EC P-256 and
    /// Ed25519 keys have one algorithm each.
    pub fn from_pkcs8(der: &[u8], alg: Option<Algorithm>) -> Result<Key, KeyProblem> {
        let (natural, public) = parse(der)?;
        let alg = match (natural, alg) {
            (natural, None) => natural,
            (Algorithm::PS256, Some(alg @ (Algorithm::RS256 | Algorithm::PS256))) => alg,
            (natural, Some(alg)) if alg == natural => alg,
            (natural, Some(alg)) => {
                return Err(KeyProblem::AlgMismatch {
                    alg,
                    key: key_type(natural),
                });
            }
        };
        let mut jwk = Jwk {
            common: CommonParameters::default(),
            algorithm: public,
        };
        let kid = thumbprint(&jwk)?;
        jwk.common.key_id = Some(kid.clone());
        jwk.common.key_algorithm = Some(alg.into());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        let decoding = DecodingKey::from_jwk(&jwk).map_err(|_| KeyProblem::SelfTest)?;
        // The self-test signs through the same parsed key every token is signed with.
        let signer = Signer::from_pkcs8(der, alg).ok_or(KeyProblem::NotAKey)?;
        const PROBE: &[u8] = b"jisr signing key self-test";
        let signature =
            URL_SAFE_NO_PAD.encode(signer.sign(PROBE).map_err(|_| KeyProblem::SelfTest)?);
        match jsonwebtoken::crypto::verify(&signature, PROBE, &decoding, alg) {
            Ok(true) => Ok(Key {
                kid,
                alg,
                signer,
                jwk,
            }),
            Ok(false) | Err(_) => Err(KeyProblem::SelfTest),
        }
    }

    /// A fresh key of one of [`crate::alg::SIGNING`] and its PKCS#8 DER.
    pub fn generate(alg: Algorithm) -> Result<(Key, Vec<u8>), KeyError> {
        let failed = |reason: String| KeyError::Generate { alg, reason };
        let pkcs8: Vec<u8> = match alg {
            Algorithm::ES256 => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                .and_then(|pair| pair.to_pkcs8v1())
                .map(|doc| doc.as_ref().to_vec()),
            Algorithm::RS256 | Algorithm::PS256 => RsaKeyPair::generate(KeySize::Rsa2048)
                .and_then(|pair| pair.as_der())
                .map(|doc| doc.as_ref().to_vec()),
            Algorithm::EdDSA => Ed25519KeyPair::generate()
                .and_then(|pair| pair.to_pkcs8v1())
                .map(|doc| doc.as_ref().to_vec()),
            other => return Err(KeyError::UnknownAlg(clip(&crate::alg::name(other)))),
        }
        .map_err(|_| failed("aws-lc key generation failed".into()))?;
        let key =
            Key::from_pkcs8(&pkcs8, Some(alg)).map_err(|problem| failed(problem.to_string()))?;
        Ok((key, pkcs8))
    }
}

/// The key type behind the algorithm [`parse`] gives it, for messages.
fn key_type(natural: Algorithm) -> &'static str {
    match natural {
        Algorithm::ES256 => "an EC P-256 key (ES256)",
        Algorithm::EdDSA => "an Ed25519 key (EdDSA)",
        _ => "an RSA key (RS256 or PS256)",
    }
}

/// RFC 7638 JWK thumbprint (SHA-256, base64url): the kid, so a kid never names two keys.
pub(super) fn thumbprint(jwk: &Jwk) -> Result<String, KeyProblem> {
    jwk.thumbprint(ThumbprintHash::SHA256)
        .map_err(|_| KeyProblem::UnsupportedType)
}

/// The algorithm and public JWK parameters of a PKCS#8 private key.
fn parse(der: &[u8]) -> Result<(Algorithm, AlgorithmParameters), KeyProblem> {
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
            let public = AlgorithmParameters::EllipticCurve(EllipticCurveKeyParameters {
                key_type: EllipticCurveKeyType::EC,
                curve: EllipticCurve::P256,
                x: URL_SAFE_NO_PAD.encode(&point[1..33]),
                y: URL_SAFE_NO_PAD.encode(&point[33..65]),
            });
            return Ok((Algorithm::ES256, public));
        }
        Err(e) if !wrong_alg(&e) => return Err(rejected(e)),
        Err(_) => {}
    }
    match Ed25519KeyPair::from_pkcs8(der) {
        Ok(pair) => {
            let public = AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
                key_type: OctetKeyPairType::OctetKeyPair,
                curve: EllipticCurve::Ed25519,
                x: URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
            });
            return Ok((Algorithm::EdDSA, public));
        }
        Err(e) if !wrong_alg(&e) => return Err(rejected(e)),
        Err(_) => {}
    }
    match RsaKeyPair::from_pkcs8(der) {
        Ok(pair) => {
            let public = pair.public_key();
            let public = AlgorithmParameters::RSA(RSAKeyParameters {
                key_type: RSAKeyType::RSA,
                n: URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
                e: URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
            });
            return Ok((Algorithm::PS256, public));
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
