//! A national IdP's back-channel logout token, as `POST /backchannel-logout/{cc}` hands it to
//! `Upstream::verify_logout_token`: size, structure, header allow-list and `typ`, key choice,
//! signature, then `iss`, `aud`, `iat`, `exp`, `jti`, the event, `sid`/`sub` and no `nonce`;
//! fixed keys and clock.
//!
//! Inputs as for the `id_token` target: a token as it would arrive, or — starting with
//! `sign` — a header and claims the harness signs with the IdP's fixed key (see
//! `jisr_fuzz::signed`). Oracles: nothing verifies unless signed by the harness and left
//! intact; a verified token has a `jti`, a `sid` or `sub`, and an `iat` no older than the
//! limit; a refusal never quotes a claim and has a fixed reason code.
#![no_main]

use std::sync::LazyLock;

use jisr_fuzz::{NOW, RUNTIME, sa, signed};
use jisr_gateway::upstream::Upstreams;
use jisr_gateway::upstream::logout_token::MAX_AGE_SECS;
use libfuzzer_sys::fuzz_target;

static UPSTREAMS: LazyLock<Upstreams> = LazyLock::new(|| jisr_fuzz::upstreams(None));

fuzz_target!(|data: &[u8]| {
    let (token, genuine) = signed(data);
    let Some(idp) = UPSTREAMS.get(sa()) else {
        unreachable!("the fixture IdP is configured")
    };
    match RUNTIME.block_on(idp.verify_logout_token(&token, NOW)) {
        Ok(verified) => {
            assert!(genuine, "a logout token not signed by the IdP verified: {token:?}");
            assert!(!verified.jti.is_empty());
            assert!(verified.sid.is_some() || verified.sub.is_some());
            assert!(NOW - verified.iat <= MAX_AGE_SECS + 60, "a stale token verified");
        }
        Err(e) => {
            let text = e.to_string();
            assert!(!text.is_empty());
            assert!(!text.contains("CANARY"), "refusal quotes a claim: {text}");
            assert!(e.reason().starts_with("logout_token_") || e.reason() == "idp_unavailable");
        }
    }
});
