//! The signing keys as their users see them: files that load or are refused, tokens that
//! verify with nothing but the published JWKS, rotation.

use std::fs;
use std::path::{Path, PathBuf};

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::signature::Ed25519KeyPair;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{DecodingKey, Validation};
use serde::{Deserialize, Serialize};

use super::file::{encode_pem, write_new_file};
use super::pkcs8::thumbprint;
use super::*;
use crate::alg::{SIGNING, name};

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
    let typ = jsonwebtoken::decode_header(token).unwrap().typ.unwrap();
    verify_as_agency(jwks, token, &typ).unwrap()
}

/// Why an agency holding the JWKS refuses a token.
#[derive(Debug)]
enum Refused {
    /// The header does not parse (malformed token, `alg: none`).
    Header,
    WrongTyp(Option<String>),
    UnknownKid(Option<String>),
    Jwt(ErrorKind),
}

/// An agency's verification: header, `typ` (case-insensitive, RFC 7515 4.1.9), the key by
/// kid from the JWKS, and only the alg that key declares.
fn verify_as_agency(jwks: &Value, token: &str, typ: &str) -> Result<Claims, Refused> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| Refused::Header)?;
    if !header
        .typ
        .as_deref()
        .is_some_and(|found| found.eq_ignore_ascii_case(typ))
    {
        return Err(Refused::WrongTyp(header.typ));
    }
    let set: JwkSet = serde_json::from_value(jwks.clone()).unwrap();
    let jwk: &Jwk = header
        .kid
        .as_deref()
        .and_then(|kid| set.find(kid))
        .ok_or_else(|| Refused::UnknownKid(header.kid.clone()))?;
    let alg = Algorithm::try_from(jwk.common.key_algorithm.unwrap()).unwrap();
    let key = DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = Validation::new(alg);
    validation.validate_exp = false;
    validation.set_required_spec_claims::<&str>(&[]);
    jsonwebtoken::decode::<Claims>(token, &key, &validation)
        .map(|data| data.claims)
        .map_err(|e| Refused::Jwt(e.into_kind()))
}

fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, contents).unwrap();
    path
}

fn load_err(path: &Path) -> KeyProblem {
    match SigningKeys::load(&[path.to_owned()], None, &[]) {
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
    for alg in SIGNING {
        let keys = SigningKeys::generate(alg).unwrap();
        assert_eq!(keys.active_alg(), alg);
        assert_eq!(keys.algs(), vec![alg]);
        let token = keys.sign("at+jwt", &claims()).unwrap();
        assert_eq!(
            header_of(&token),
            json!({"alg": name(alg), "kid": keys.active_kid(), "typ": "at+jwt"})
        );
        assert_eq!(
            verify_as_agency(&keys.jwks(), &token, "at+jwt").unwrap(),
            claims()
        );
        assert_eq!(verify_with_jwks(&keys.jwks(), &token), claims(), "{alg:?}");
    }
}

#[test]
fn published_jwks_are_public_thumbprint_named_and_marked_for_signing() {
    for alg in SIGNING {
        let keys = SigningKeys::generate(alg).unwrap();
        let jwks = keys.jwks();
        let jwk = &jwks["keys"][0];
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
        assert_eq!(jwk["kid"], json!(keys.active_kid()));
        assert_eq!(jwk["alg"], json!(name(alg)));
        assert_eq!(jwk["use"], json!("sig"));
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(jwk.get(private).is_none(), "{alg:?} publishes {private}");
        }
        // Recompute RFC 7638 from the published members.
        let s = |m: &str| jwk[m].as_str().unwrap().to_owned();
        let canonical = match alg {
            Algorithm::ES256 => format!(
                r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
                s("crv"),
                s("x"),
                s("y")
            ),
            Algorithm::PS256 | Algorithm::RS256 => {
                format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, s("e"), s("n"))
            }
            Algorithm::EdDSA => {
                format!(r#"{{"crv":"{}","kty":"OKP","x":"{}"}}"#, s("crv"), s("x"))
            }
            other => unreachable!("{other:?} is not a signing alg"),
        };
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes());
        assert_eq!(keys.active_kid(), URL_SAFE_NO_PAD.encode(digest.as_ref()));
    }
}

#[test]
fn thumbprint_matches_rfc7638_and_rfc8037_examples() {
    let jwk = |value: Value| -> Jwk { serde_json::from_value(value).unwrap() };
    let rsa = jwk(json!({
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
    }));
    assert_eq!(
        thumbprint(&rsa).unwrap(),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
    // RFC 8037 appendix A.3.
    let okp = jwk(json!({
        "kty": "OKP",
        "crv": "Ed25519",
        "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
    }));
    assert_eq!(
        thumbprint(&okp).unwrap(),
        "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    );
}

#[test]
fn two_files_publish_both_keys_and_active_selects_the_signer() {
    let dir = tempfile::tempdir().unwrap();
    let (es, es_kid) = generate_key_file(Algorithm::ES256, dir.path()).unwrap();
    let (ed, ed_kid) = generate_key_file(Algorithm::EdDSA, dir.path()).unwrap();
    let files = [es, ed];

    let first = SigningKeys::load(&files, None, &[]).unwrap();
    assert_eq!(first.active_kid(), es_kid);
    assert_eq!(first.algs(), vec![Algorithm::ES256, Algorithm::EdDSA]);
    let jwks = first.jwks();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, vec![es_kid.as_str(), ed_kid.as_str()]);

    let second = SigningKeys::load(&files, Some(&ed_kid), &[]).unwrap();
    assert_eq!(second.active_kid(), ed_kid);
    assert_eq!(second.active_alg(), Algorithm::EdDSA);
    assert_eq!(second.algs(), vec![Algorithm::EdDSA, Algorithm::ES256]);
    assert_eq!(second.jwks()["keys"][0]["kid"], json!(ed_kid));
    assert_eq!(second.jwks()["keys"].as_array().unwrap().len(), 2);
    let token = second.sign("JWT", &claims()).unwrap();
    assert_eq!(header_of(&token)["kid"], json!(ed_kid));

    match SigningKeys::load(&files, Some("no-such-kid"), &[]) {
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
    let (old, old_kid) = generate_key_file(Algorithm::PS256, dir.path()).unwrap();
    let (new, new_kid) = generate_key_file(Algorithm::ES256, dir.path()).unwrap();

    let before = SigningKeys::load(std::slice::from_ref(&old), None, &[]).unwrap();
    let old_token = before.sign("at+jwt", &claims()).unwrap();

    let during = SigningKeys::load(&[old.clone(), new.clone()], Some(&new_kid), &[]).unwrap();
    let new_token = during.sign("at+jwt", &claims()).unwrap();
    assert_eq!(header_of(&new_token)["kid"], json!(new_kid));
    assert_eq!(
        verify_as_agency(&during.jwks(), &old_token, "at+jwt").unwrap(),
        claims()
    );
    assert_eq!(
        verify_as_agency(&during.jwks(), &new_token, "at+jwt").unwrap(),
        claims()
    );
    assert_eq!(verify_with_jwks(&during.jwks(), &old_token), claims());

    let after = SigningKeys::load(&[new], None, &[]).unwrap();
    assert_eq!(
        verify_as_agency(&after.jwks(), &new_token, "at+jwt").unwrap(),
        claims()
    );
    match verify_as_agency(&after.jwks(), &old_token, "at+jwt") {
        Err(Refused::UnknownKid(kid)) => assert_eq!(kid, Some(old_kid)),
        other => panic!("expected UnknownKid, got {other:?}"),
    }
}

#[test]
fn generated_key_files_are_owner_only_loadable_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    for alg in SIGNING {
        let (path, kid) = generate_key_file(alg, dir.path()).unwrap();
        assert_eq!(path, dir.path().join(format!("{kid}.pem")));
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{alg:?}");
        assert!(text.ends_with("-----END PRIVATE KEY-----\n"), "{alg:?}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{alg:?}");
        }
        // An RSA file signs PS256 unless `[keys] algs` names it with RS256.
        let algs = [(kid.clone(), alg)];
        let loaded = SigningKeys::load(std::slice::from_ref(&path), None, &algs).unwrap();
        assert_eq!(loaded.active_kid(), kid);
        assert_eq!(loaded.active_alg(), alg);
        let default = SigningKeys::load(std::slice::from_ref(&path), None, &[]).unwrap();
        let natural = if alg == Algorithm::RS256 {
            Algorithm::PS256
        } else {
            alg
        };
        assert_eq!(default.active_alg(), natural);

        match write_new_file(&path, b"replacement") {
            Err(KeyError::Exists { path: p }) => assert_eq!(p, path),
            other => panic!("expected Exists, got {other:?}"),
        }
        assert_eq!(fs::read_to_string(&path).unwrap(), text, "file untouched");
    }
    let missing = dir.path().join("no-such-dir");
    match generate_key_file(Algorithm::ES256, &missing) {
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
    match SigningKeys::load(std::slice::from_ref(&missing), None, &[]) {
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
            "-----BEGIN PRIVATE KEY-----\n!!not base64!!\n-----END PRIVATE KEY-----\n".to_owned(),
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
    let message = SigningKeys::load(&[path], None, &[])
        .unwrap_err()
        .to_string();
    assert!(!message.contains("MIIC"), "{message}");
    assert!(message.contains("smaller than 2048 bits"), "{message}");
}

#[test]
fn key_lists_are_refused_when_empty_or_holding_a_key_twice() {
    assert!(matches!(
        SigningKeys::load(&[], None, &[]),
        Err(KeyError::NoKeys)
    ));
    let dir = tempfile::tempdir().unwrap();
    let (path, kid) = generate_key_file(Algorithm::ES256, dir.path()).unwrap();
    let copy = dir.path().join("copy.pem");
    fs::copy(&path, &copy).unwrap();
    match SigningKeys::load(&[path.clone(), copy.clone()], None, &[]) {
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
    let text = format!("Bag Attributes: none\n{}", encode_pem(v2.as_ref()));
    let path = write(dir.path(), "v2.pem", &text);
    let keys = SigningKeys::load(&[path], None, &[]).unwrap();
    assert_eq!(keys.active_alg(), Algorithm::EdDSA);
    let token = keys.sign("JWT", &claims()).unwrap();
    assert_eq!(verify_with_jwks(&keys.jwks(), &token), claims());
}

fn forge(header: Value, payload: &str, signature: &str) -> String {
    format!("{}.{payload}.{signature}", b64json(&header))
}

#[test]
fn agencies_with_the_jwks_refuse_what_the_gateway_did_not_sign_as_asked() {
    let keys = SigningKeys::generate(Algorithm::ES256).unwrap();
    let jwks = keys.jwks();
    let kid = keys.active_kid().to_owned();
    let token = keys.sign("at+jwt", &claims()).unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let (payload, signature) = (parts[1], parts[2]);

    // An ID token is not an access token (typ case-insensitive per RFC 7515).
    assert_eq!(verify_as_agency(&jwks, &token, "AT+JWT").unwrap(), claims());
    match verify_as_agency(&jwks, &token, "JWT") {
        Err(Refused::WrongTyp(found)) => assert_eq!(found.as_deref(), Some("at+jwt")),
        other => panic!("expected WrongTyp, got {other:?}"),
    }
    let untyped = forge(json!({"alg": "ES256", "kid": kid}), payload, signature);
    assert!(matches!(
        verify_as_agency(&jwks, &untyped, "at+jwt"),
        Err(Refused::WrongTyp(None))
    ));

    // Another gateway's key, and no kid at all.
    let other = SigningKeys::generate(Algorithm::ES256).unwrap();
    let foreign = other.sign("at+jwt", &claims()).unwrap();
    match verify_as_agency(&jwks, &foreign, "at+jwt") {
        Err(Refused::UnknownKid(k)) => assert_eq!(k.as_deref(), Some(other.active_kid())),
        other => panic!("expected UnknownKid, got {other:?}"),
    }
    let kidless = forge(json!({"alg": "ES256", "typ": "at+jwt"}), payload, signature);
    assert!(matches!(
        verify_as_agency(&jwks, &kidless, "at+jwt"),
        Err(Refused::UnknownKid(None))
    ));

    // A changed claim under the original signature, and a cut signature.
    let tampered_payload = URL_SAFE_NO_PAD.encode(json!({"sub": "BH/SA/999", "n": 7}).to_string());
    let tampered = format!("{}.{tampered_payload}.{signature}", parts[0]);
    assert!(matches!(
        verify_as_agency(&jwks, &tampered, "at+jwt"),
        Err(Refused::Jwt(ErrorKind::InvalidSignature))
    ));
    // 86 base64url characters less one leave 85: a length no base64 can have, so
    // the refusal is the decoding one whatever the signature's bytes (a cut of 4
    // decoded whenever the new last character had zero low bits, 1 in 16).
    assert_eq!(signature.len(), 86);
    let cut = format!(
        "{}.{payload}.{}",
        parts[0],
        &signature[..signature.len() - 1]
    );
    assert!(matches!(
        verify_as_agency(&jwks, &cut, "at+jwt"),
        Err(Refused::Jwt(ErrorKind::Base64(_)))
    ));
    let first = if signature.starts_with('A') { "B" } else { "A" };
    let flipped = format!("{}.{payload}.{first}{}", parts[0], &signature[1..]);
    assert!(matches!(
        verify_as_agency(&jwks, &flipped, "at+jwt"),
        Err(Refused::Jwt(ErrorKind::InvalidSignature))
    ));

    // An HMAC alg and another EC alg under the real kid: the key declares ES256 only.
    for alg in ["HS256", "ES384"] {
        let header = json!({"alg": alg, "kid": kid, "typ": "at+jwt"});
        match verify_as_agency(&jwks, &forge(header, payload, signature), "at+jwt") {
            Err(Refused::Jwt(ErrorKind::InvalidAlgorithm)) => {}
            other => panic!("expected InvalidAlgorithm for {alg}, got {other:?}"),
        }
    }
    // `alg: none` does not even parse as a header; an unknown critical extension is refused.
    let none = json!({"alg": "none", "kid": kid, "typ": "at+jwt"});
    assert!(matches!(
        verify_as_agency(&jwks, &forge(none, payload, ""), "at+jwt"),
        Err(Refused::Header)
    ));
    let crit = json!({"alg": "ES256", "kid": kid, "typ": "at+jwt", "crit": ["exp"]});
    assert!(matches!(
        verify_as_agency(&jwks, &forge(crit, payload, signature), "at+jwt"),
        Err(Refused::Jwt(ErrorKind::InvalidToken))
    ));

    for bad in [
        "",
        "a.b",
        "a.b.c.d",
        "!!!.e30.sig",
        &"x".repeat(64 * 1024 + 1),
    ] {
        assert!(
            matches!(verify_as_agency(&jwks, bad, "at+jwt"), Err(Refused::Header)),
            "{bad:.20}"
        );
    }
}

#[test]
fn signing_algs_parse_exactly_and_others_are_refused() {
    for alg in SIGNING {
        assert_eq!(signing_alg(&name(alg)).unwrap(), alg);
        assert_eq!(serde_json::to_value(alg).unwrap(), json!(name(alg)));
    }
    for refused in ["rs256", "RS384", "HS256", "none", "es256", "ES384"] {
        match signing_alg(refused) {
            Err(KeyError::UnknownAlg(name)) => assert_eq!(name, refused),
            other => panic!("expected UnknownAlg for {refused}, got {other:?}"),
        }
    }
    assert_eq!(
        signing_alg("RS384").unwrap_err().to_string(),
        "unknown signing algorithm \"RS384\" (expected ES256, RS256, PS256, EdDSA)"
    );
    // Keys of an alg the gateway does not sign with are never made.
    for alg in [Algorithm::RS384, Algorithm::HS256, Algorithm::ES384] {
        assert!(matches!(
            SigningKeys::generate(alg),
            Err(KeyError::UnknownAlg(_))
        ));
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            generate_key_file(alg, dir.path()),
            Err(KeyError::UnknownAlg(_))
        ));
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}

#[test]
fn debug_shows_kids_only_and_keys_are_shareable() {
    fn shareable<T: Send + Sync + Clone + 'static>() {}
    shareable::<SigningKeys>();
    let keys = SigningKeys::generate(Algorithm::PS256).unwrap();
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

#[test]
fn expiry_is_kept_per_kid_and_unknown_kids_are_refused() {
    let keys = SigningKeys::generate(SigningAlg::ES256).unwrap();
    let kid = keys.active_kid().to_owned();
    let err = keys
        .clone()
        .with_expiry(&[("not-a-kid".to_owned(), 1)])
        .unwrap_err();
    assert!(matches!(err, KeyError::UnknownExpiryKid { ref kid, .. } if kid == "not-a-kid"));
    let keys = keys.with_expiry(&[(kid.clone(), 1_814_313_600)]).unwrap();
    let inventory = keys.inventory();
    assert_eq!(inventory.len(), 1);
    assert_eq!(inventory[0].kid, kid);
    assert!(inventory[0].active);
    assert_eq!(inventory[0].expires_at, Some(1_814_313_600));
}

/// OIDC Discovery 1.0 §3: RS256 beside the other algs, one key each, all in one JWKS; a
/// token asked for with an alg is signed by the key of that alg and verifies with nothing
/// but the published JWKS (jsonwebtoken, key by kid, alg from the JWK).
#[test]
fn op_rs256_beside_es256_each_alg_signs_with_its_own_key() {
    let keys = SigningKeys::generate_set(&[Algorithm::ES256, Algorithm::RS256]).unwrap();
    assert_eq!(keys.algs(), vec![Algorithm::ES256, Algorithm::RS256]);
    assert!(keys.signs(Algorithm::RS256) && !keys.signs(Algorithm::PS256));
    let jwks = keys.jwks();
    let published: Vec<(&str, &str)> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["kty"].as_str().unwrap(), k["alg"].as_str().unwrap()))
        .collect();
    assert_eq!(published, vec![("EC", "ES256"), ("RSA", "RS256")]);

    let default = keys.sign_as(None, "JWT", &claims()).unwrap();
    assert_eq!(header_of(&default)["alg"], "ES256");
    let rs = keys
        .sign_as(Some(Algorithm::RS256), "JWT", &claims())
        .unwrap();
    assert_eq!(header_of(&rs)["alg"], "RS256");
    assert_eq!(header_of(&rs)["kid"], jwks["keys"][1]["kid"]);
    assert_ne!(header_of(&rs)["kid"], header_of(&default)["kid"]);
    for token in [&default, &rs] {
        assert_eq!(verify_with_jwks(&jwks, token), claims());
    }
    // An RS256 token does not pass as PS256, nor with the EC key.
    let set: JwkSet = serde_json::from_value(jwks.clone()).unwrap();
    let rsa = DecodingKey::from_jwk(&set.keys[1]).unwrap();
    let mut as_pss = Validation::new(Algorithm::PS256);
    as_pss.set_required_spec_claims::<&str>(&[]);
    assert_eq!(
        jsonwebtoken::decode::<Claims>(&rs, &rsa, &as_pss)
            .unwrap_err()
            .into_kind(),
        ErrorKind::InvalidAlgorithm
    );

    assert_eq!(keys.signing_alg(None).unwrap(), Algorithm::ES256);
    assert_eq!(
        keys.signing_alg(Some(Algorithm::RS256)).unwrap(),
        Algorithm::RS256
    );
    match keys.sign_as(Some(Algorithm::EdDSA), "JWT", &claims()) {
        Err(err @ KeyError::NoKeyForAlg { .. }) => assert_eq!(
            err.to_string(),
            "no signing key signs EdDSA (keys held: ES256, RS256)"
        ),
        other => panic!("expected NoKeyForAlg, got {other:?}"),
    }
    // Both keys sign new tokens of their alg.
    assert!(keys.inventory().iter().all(|k| k.active));
}

/// `[keys] algs` turns an RSA file into an RS256 key; a second RSA key of the same alg is
/// published but does not sign (the first listed does), the active key wins for its own alg,
/// and an alg the key type cannot sign or an unknown kid is refused.
#[test]
fn rsa_key_files_sign_rs256_when_configured_and_nothing_else_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let (es, es_kid) = generate_key_file(Algorithm::ES256, dir.path()).unwrap();
    let (rs1, rs1_kid) = generate_key_file(Algorithm::RS256, dir.path()).unwrap();
    let (rs2, rs2_kid) = generate_key_file(Algorithm::RS256, dir.path()).unwrap();
    let algs = [
        (rs1_kid.clone(), Algorithm::RS256),
        (rs2_kid.clone(), Algorithm::RS256),
    ];
    let files = [es.clone(), rs1.clone(), rs2.clone()];
    let keys = SigningKeys::load(&files, None, &algs).unwrap();
    assert_eq!(keys.algs(), vec![Algorithm::ES256, Algorithm::RS256]);
    let rs = keys
        .sign_as(Some(Algorithm::RS256), "JWT", &claims())
        .unwrap();
    assert_eq!(header_of(&rs)["kid"], json!(rs1_kid));
    assert_eq!(verify_with_jwks(&keys.jwks(), &rs), claims());
    let active: Vec<bool> = keys.inventory().iter().map(|k| k.active).collect();
    assert_eq!(active, vec![true, true, false]);

    // Rotating RS256 while ES256 stays the default: `active` names the new RS256 key.
    let rotated = SigningKeys::load(&files, Some(&rs2_kid), &algs).unwrap();
    assert_eq!(rotated.active_alg(), Algorithm::RS256);
    let rs = rotated
        .sign_as(Some(Algorithm::RS256), "JWT", &claims())
        .unwrap();
    assert_eq!(header_of(&rs)["kid"], json!(rs2_kid));
    let es_token = rotated
        .sign_as(Some(Algorithm::ES256), "JWT", &claims())
        .unwrap();
    assert_eq!(header_of(&es_token)["kid"], json!(es_kid));

    match SigningKeys::load(&files, None, &[(es_kid.clone(), Algorithm::RS256)]) {
        Err(err @ KeyError::Invalid { .. }) => {
            let text = err.to_string();
            assert!(
                text.contains(&es.display().to_string())
                    && text
                        .ends_with("it is configured for RS256 but holds an EC P-256 key (ES256)"),
                "{text}"
            );
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    match SigningKeys::load(&files, None, &[(rs1_kid.clone(), Algorithm::EdDSA)]) {
        Err(KeyError::Invalid { problem, .. }) => assert_eq!(
            problem,
            KeyProblem::AlgMismatch {
                alg: Algorithm::EdDSA,
                key: "an RSA key (RS256 or PS256)"
            }
        ),
        other => panic!("expected Invalid, got {other:?}"),
    }
    match SigningKeys::load(&files, None, &[("nobody".into(), Algorithm::RS256)]) {
        Err(KeyError::UnknownAlgKid { kid, available }) => {
            assert_eq!(kid, "nobody");
            assert_eq!(available, vec![es_kid, rs1_kid, rs2_kid]);
        }
        other => panic!("expected UnknownAlgKid, got {other:?}"),
    }
}
