//! JWKS documents as a national IdP serves them: `parse_key_set` (what the cache keeps, what
//! it refuses and why), then key choice for every accepted algorithm. Oracles: no symmetric,
//! weak-RSA or encryption key is ever kept.
#![no_main]

use jisr_gateway::upstream::jwks::{Family, parse_key_set};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Ok((keys, refused)) = parse_key_set(&value) else {
        return;
    };
    let raw = value
        .get("keys")
        .and_then(Value::as_array)
        .map(Vec::len)
        .unwrap_or(0);
    assert!(keys.len() + refused.len() <= raw.min(100));
    for key in &keys {
        let kid = key.kid.as_deref();
        let same_kid: Vec<&Value> = value["keys"]
            .as_array()
            .into_iter()
            .flatten()
            .take(100)
            .filter(|k| k.get("kid").and_then(Value::as_str) == kid)
            .collect();
        if let [k] = same_kid[..] {
            assert_ne!(k.get("kty").and_then(Value::as_str), Some("oct"));
            if let Some(u) = k.get("use") {
                assert_eq!(u.as_str(), Some("sig"), "a key not for signatures was kept");
            }
        }
        let fits: Vec<_> = jisr_gateway::alg::ACCEPTED
            .into_iter()
            .filter(|a| key.fits(*a))
            .collect();
        assert!(
            fits.len() <= 6,
            "one key fits more algorithms than its family has"
        );
        if key.family != Family::Rsa {
            assert!(fits.len() <= 1);
        }
    }
});
