//! Request parameters (query strings and form bodies) into typed serde structs. A parameter
//! given twice is refused (RFC 6749 3.1), by serde's duplicate-field check; parameters the
//! struct does not name are ignored, as OAuth extensions require.

use serde::de::DeserializeOwned;

/// Longest value accepted for any parameter.
pub const MAX_PARAM: usize = 2048;
/// Longest query string accepted.
pub const MAX_QUERY: usize = 8192;
/// Longest form body accepted.
pub const MAX_FORM: usize = 16 * 1024;

/// Why parameters were refused; the text names the parameter, never its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    #[error("request is larger than {0} bytes")]
    TooLarge(usize),
    #[error("parameter `{0}` is longer than {MAX_PARAM} characters")]
    TooLong(String),
    #[error("parameter `{0}` is repeated")]
    Repeated(String),
    #[error("parameters are malformed: {0}")]
    Malformed(String),
}

/// Parses `raw` (`application/x-www-form-urlencoded`, as query strings are) into `T`.
pub fn parse<T: DeserializeOwned>(raw: &str, max_total: usize) -> Result<T, ParamError> {
    parse_with_long(raw, max_total, &[])
}

/// [`parse`], where the parameters named in `long` (tokens: a national ID token may be
/// several kilobytes) are bounded only by `max_total`.
pub fn parse_with_long<T: DeserializeOwned>(
    raw: &str,
    max_total: usize,
    long: &[&str],
) -> Result<T, ParamError> {
    if raw.len() > max_total {
        return Err(ParamError::TooLarge(max_total));
    }
    if let Some((name, _)) = url::form_urlencoded::parse(raw.as_bytes())
        .find(|(n, v)| v.len() > MAX_PARAM && !long.contains(&n.as_ref()))
    {
        return Err(ParamError::TooLong(short(&name)));
    }
    serde_urlencoded::from_str(raw).map_err(|e| {
        let message = e.to_string();
        match message
            .strip_prefix("duplicate field `")
            .and_then(|rest| rest.split('`').next())
        {
            Some(name) => ParamError::Repeated(short(name)),
            None => ParamError::Malformed(short(&message)),
        }
    })
}

/// Whether every value of parameter `name` in `raw` is valid UTF-8 once percent-decoded.
/// [`parse`] decodes lossily (invalid bytes become U+FFFD), which is harmless for values the
/// gateway reads but not for one it must return unaltered, such as `state`.
pub fn decodes_to_utf8(raw: &str, name: &str) -> bool {
    use percent_encoding::percent_decode_str;
    // `+` (a space) is ASCII: it changes neither a parameter name nor UTF-8 validity.
    raw.split('&')
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .filter(|(key, _)| percent_decode_str(key).eq(name.bytes()))
        .all(|(_, value)| percent_decode_str(value).decode_utf8().is_ok())
}

/// A parameter name (or message), trimmed to printable ASCII for messages and logs.
pub fn short(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(80)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct P {
        a: Option<String>,
        b: Option<String>,
    }

    #[test]
    fn repeated_parameter_is_refused_by_name() {
        assert_eq!(
            parse::<P>("a=1&b=2&a=3", MAX_QUERY).unwrap_err(),
            ParamError::Repeated("a".into())
        );
    }

    #[test]
    fn unknown_parameters_are_ignored_even_repeated() {
        let p: P = parse("a=1&x=1&x=2", MAX_QUERY).unwrap();
        assert_eq!((p.a.as_deref(), p.b), (Some("1"), None));
    }

    #[test]
    fn oversized_values_and_requests_are_refused() {
        let long = format!("b={}", "x".repeat(MAX_PARAM + 1));
        assert_eq!(
            parse::<P>(&long, MAX_QUERY).unwrap_err(),
            ParamError::TooLong("b".into())
        );
        assert_eq!(
            parse::<P>(&long, 100).unwrap_err(),
            ParamError::TooLarge(100)
        );
    }

    #[test]
    fn percent_encoding_is_decoded() {
        let p: P = parse("a=x%20y%2Bz&b=%D8%B9", MAX_QUERY).unwrap();
        assert_eq!((p.a.as_deref(), p.b.as_deref()), (Some("x y+z"), Some("ع")));
    }

    #[test]
    fn state_that_is_not_utf8_once_decoded_is_told_apart() {
        for ok in [
            "state=abc&client_id=x",
            "state=%D8%AC%D8%B3%D8%B1",
            "state=%EF%BF%BD",
            "state=a+b%20c",
            "client_id=%FF",
            "",
            "state",
            "state=100%",
        ] {
            assert!(decodes_to_utf8(ok, "state"), "{ok}");
        }
        for bad in [
            "state=%FF",
            "client_id=x&state=ok&state=%C3%28",
            "st%61te=%80",
            "state=%D8",
        ] {
            assert!(!decodes_to_utf8(bad, "state"), "{bad}");
        }
        assert!(!decodes_to_utf8("client_id=%FF", "client_id"));
    }
}
