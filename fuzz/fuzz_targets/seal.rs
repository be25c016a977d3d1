//! Sealed values coming back from outside: the flow cookie and access tokens
//! (`TextSealer::open`, base64url text) and sealed store values (`Sealer::open`, bytes).
//! Random text, and values sealed at fuzz time then changed in one or more bits. Oracles:
//! random input never opens; a changed value never opens; an unchanged one opens to what was
//! sealed.
#![no_main]

use arbitrary::Arbitrary;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jisr_fuzz::GATEWAY;
use jisr_gateway::provider::seal::MAX_SEALED;
use jisr_gateway::provider::state::Flow;
use jisr_store::seal::Sealer;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

#[derive(Debug, Arbitrary)]
enum Input {
    /// Any text as a flow cookie or an access token.
    Text(String),
    /// Any bytes as a sealed store value.
    Bytes(Vec<u8>),
    /// A value sealed now, then bits flipped (by index into the sealed bytes).
    Flipped {
        plaintext: Vec<u8>,
        context: Vec<u8>,
        flips: Vec<(u16, u8)>,
        store: bool,
    },
}

fuzz_target!(|input: Input| {
    let seals = &GATEWAY.seals;
    let store = Sealer::new(&[3u8; 32]);
    match input {
        Input::Text(text) => {
            assert!(
                seals.flow.open::<Flow>(&text).is_none(),
                "random text opened"
            );
            assert!(seals.access_token.open::<Value>(&text).is_none());
            assert!(seals.operator_session.open::<Value>(&text).is_none());
        }
        Input::Bytes(bytes) => {
            assert!(
                store.open(b"jisr:code:x", &bytes).is_err(),
                "random bytes opened"
            );
        }
        Input::Flipped {
            plaintext,
            context,
            flips,
            store: as_store,
        } => {
            let mut sealed = if as_store {
                store
                    .seal(&context, &plaintext)
                    .unwrap_or_else(|e| panic!("seal: {e}"))
            } else {
                let text = String::from_utf8_lossy(&plaintext).into_owned();
                URL_SAFE_NO_PAD
                    .decode(seals.flow.seal(&text))
                    .unwrap_or_else(|e| panic!("sealed text is base64url: {e}"))
            };
            let original = sealed.clone();
            for (at, mask) in flips {
                let at = usize::from(at) % sealed.len();
                sealed[at] ^= mask;
            }
            let changed = sealed != original;
            if as_store {
                let opened = store.open(&context, &sealed);
                if changed {
                    assert!(opened.is_err(), "a changed store value opened");
                } else {
                    assert_eq!(opened.as_deref(), Ok(plaintext.as_slice()));
                }
            } else {
                let text = URL_SAFE_NO_PAD.encode(&sealed);
                let opened = seals.flow.open::<String>(&text);
                if changed || text.len() > MAX_SEALED {
                    assert!(opened.is_none(), "a changed flow cookie opened");
                } else {
                    assert_eq!(
                        opened,
                        Some(String::from_utf8_lossy(&plaintext).into_owned())
                    );
                }
            }
        }
    }
});
