//! private_key_jwt client assertions (RFC 7523) at `POST /token`, through the router. An
//! input is an assertion as sent, or (starting with `sign`, see `jisr_fuzz::signed`) a
//! header and claims signed with the agency's registered key. Oracles: an assertion not
//! signed by the agency, or changed after signing, never authenticates the client; one that
//! does names the client as iss and sub and is within its lifetime.
#![no_main]

use axum::body::Body;
use axum::http::{Method, Request, header};
use jisr_fuzz::{NOW, PKJWT_CLIENT, oauth_error, send, signed};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let (assertion, genuine) = signed(data);
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", "authorization_code");
    form.append_pair("code", "no-such-code");
    form.append_pair("redirect_uri", jisr_fuzz::REDIRECT_URI);
    form.append_pair("code_verifier", &"v".repeat(43));
    form.append_pair(
        "client_assertion_type",
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    );
    form.append_pair("client_assertion", &assertion);
    if data.len() % 3 == 0 {
        form.append_pair("client_id", PKJWT_CLIENT);
    }
    let Ok(request) = Request::builder()
        .method(Method::POST)
        .uri("/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form.finish()))
    else {
        return;
    };
    let (status, body) = send(request);
    assert!(!status.is_server_error() || status.as_u16() == 503);
    // Past client authentication the unknown code is refused with invalid_grant.
    if oauth_error(&body).as_deref() == Some("invalid_grant") {
        assert!(
            genuine,
            "a forged client assertion authenticated: {assertion:?}"
        );
        let claims: Value = data
            .split(|b| *b == b'\n')
            .nth(2)
            .and_then(|l| serde_json::from_slice(l).ok())
            .unwrap_or(Value::Null);
        assert_eq!(
            claims.get("iss").and_then(Value::as_str),
            Some(PKJWT_CLIENT)
        );
        assert_eq!(
            claims.get("sub").and_then(Value::as_str),
            Some(PKJWT_CLIENT)
        );
        let exp = claims
            .get("exp")
            .and_then(Value::as_i64)
            .unwrap_or(i64::MIN);
        assert!(exp + 30 >= NOW, "an expired assertion authenticated");
    }
});
