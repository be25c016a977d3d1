//! The national ID token front end, as the login callback and token exchange call it
//! (`Upstreams::verify_national_token`): size, structure, header allow-list, key choice,
//! signature, claims; fixed keys and clock.
//!
//! An input is a token as it would arrive, or — when it starts with `sign` — a header and
//! claims (one line each, bytes as written) that the harness signs with the IdP's fixed key,
//! so the checks behind the signature are reached too (see `jisr_fuzz::signed`). Oracles:
//! nothing verifies unless signed by the harness and left intact after signing; a token that
//! verifies has the IdP's issuer, the expected nonce and is unexpired; a refusal never
//! quotes a claim.
#![no_main]

use std::sync::LazyLock;

use jisr_fuzz::{IDP_ISSUER, NONCE, NOW, RUNTIME, signed};
use jisr_gateway::upstream::{Expect, Upstreams};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

static PLAIN: LazyLock<Upstreams> = LazyLock::new(|| jisr_fuzz::upstreams(None));
/// The same IdP configured to require `typ` JWT.
static TYPED: LazyLock<Upstreams> = LazyLock::new(|| jisr_fuzz::upstreams(Some("JWT")));

fuzz_target!(|data: &[u8]| {
    let (token, genuine) = signed(data);
    let upstreams = if data.len() % 2 == 0 {
        &*PLAIN
    } else {
        &*TYPED
    };
    let expect = Expect {
        nonce: Some(NONCE),
        access_token: None,
        now: NOW,
    };
    match RUNTIME.block_on(upstreams.verify_national_token(&token, &expect)) {
        Ok(verified) => {
            assert!(genuine, "a token not signed by the IdP verified: {token:?}");
            let c = &verified.claims;
            assert_eq!(c.get("iss").and_then(Value::as_str), Some(IDP_ISSUER));
            assert_eq!(c.get("nonce").and_then(Value::as_str), Some(NONCE));
            let exp = c.get("exp").and_then(Value::as_f64).unwrap_or(f64::MIN);
            assert!(exp + 60.0 >= NOW as f64, "an expired token verified");
        }
        Err(e) => {
            let text = e.to_string();
            assert!(!text.is_empty());
            assert!(!text.contains("CANARY"), "refusal quotes a claim: {text}");
        }
    }
});
