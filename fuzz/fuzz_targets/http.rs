//! Whole requests through the gateway's router, as a browser or an agency sends them:
//! `/authorize` query strings, the picker and consent forms, national IdP callbacks, token
//! requests (every client authentication method), userinfo bearer tokens, anything else.
//!
//! An input is a request in HTTP/1.1 text form: `METHOD target`, header lines, a blank line,
//! the body. The pseudo-header `fuzz-flow: <code>` adds the cookie of a flow sealed at fuzz
//! time (id `fuzzflow`, CSRF token `fuzzcsrf`, agency `fuzz-basic`, consent code `<code>`
//! unless empty), so the forms get past the cookie to their own checks. Oracles: no panic;
//! no 5xx but the documented 503; every response under 1 MiB.
#![no_main]

use axum::body::Body;
use axum::http::Request;
use jisr_fuzz::{BASIC_CLIENT, GATEWAY, NOW, REDIRECT_URI, send};
use jisr_gateway::provider::state::Flow;
use libfuzzer_sys::fuzz_target;

fn flow_cookie(code: &str) -> String {
    let flow = Flow {
        id: "fuzzflow".into(),
        exp: NOW + 600,
        client_id: BASIC_CLIENT.into(),
        redirect_uri: REDIRECT_URI.into(),
        state: Some("af0ifjsldkj".into()),
        nonce: Some("n-0S6_WzA2Mj".into()),
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        min_loa: None,
        lang: "en".into(),
        csrf: "fuzzcsrf".into(),
        code: (!code.is_empty()).then(|| code.to_owned()),
        ..Flow::default()
    };
    format!("jisr_flow_fuzzflow={}", GATEWAY.seals.flow.seal(&flow))
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let text: &str = &text;
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let Some((method, target)) = lines.next().and_then(|l| l.split_once(' ')) else {
        return;
    };
    let mut request = Request::builder().method(method).uri(target);
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("fuzz-flow") {
            request = request.header("cookie", flow_cookie(value));
        } else {
            request = request.header(name, value);
        }
    }
    // What hyper refuses before the router (a method, URI or header that does not parse).
    let Ok(request) = request.body(Body::from(body.to_owned())) else {
        return;
    };
    let (status, response) = send(request);
    assert!(
        !status.is_server_error() || status.as_u16() == 503,
        "{status}: {}",
        String::from_utf8_lossy(&response)
    );
});
