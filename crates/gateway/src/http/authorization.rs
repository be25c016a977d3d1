//! The `Authorization` request header (RFC 9110 11.6.2): `<scheme> <credentials>`, the
//! scheme compared case-insensitively (RFC 9110 11.1), so `bearer`, `Bearer` and `BEARER`
//! are one scheme. Used for `Bearer` at userinfo and `Basic` at the token endpoint.

use axum::http::{HeaderMap, header};

/// What an `Authorization` header says about one scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authorization<'a> {
    /// No `Authorization` header.
    Absent,
    /// A header of another scheme (or one that is not visible ASCII).
    OtherScheme,
    /// The credentials after the scheme, surrounding spaces removed; may be empty.
    Credentials(&'a str),
}

/// The credentials `headers` carry for `scheme` (e.g. `Bearer`).
pub fn credentials<'a>(headers: &'a HeaderMap, scheme: &str) -> Authorization<'a> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Authorization::Absent;
    };
    match value.to_str().ok().and_then(|v| parse(v, scheme)) {
        Some(credentials) => Authorization::Credentials(credentials),
        None => Authorization::OtherScheme,
    }
}

/// The credentials of `value` if its scheme is `scheme`: `credentials = auth-scheme
/// [ 1*SP ( token68 / #auth-param ) ]`.
fn parse<'a>(value: &'a str, scheme: &str) -> Option<&'a str> {
    let value = value.trim_matches(' ');
    let (name, rest) = value.split_once(' ').unwrap_or((value, ""));
    name.eq_ignore_ascii_case(scheme)
        .then(|| rest.trim_matches(' '))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn the_scheme_is_matched_case_insensitively() {
        for value in [
            "Bearer abc.def",
            "bearer abc.def",
            "BEARER abc.def",
            "Bearer   abc.def ",
        ] {
            assert_eq!(
                credentials(&with(value), "Bearer"),
                Authorization::Credentials("abc.def"),
                "{value}"
            );
        }
        assert_eq!(
            credentials(&with("basic dXNlcjpwdw=="), "Basic"),
            Authorization::Credentials("dXNlcjpwdw==")
        );
    }

    #[test]
    fn other_schemes_absent_headers_and_empty_credentials_are_told_apart() {
        assert_eq!(
            credentials(&HeaderMap::new(), "Bearer"),
            Authorization::Absent
        );
        for value in ["Basic abc", "Bearerabc", "DPoP abc", "Bear abc"] {
            assert_eq!(
                credentials(&with(value), "Bearer"),
                Authorization::OtherScheme,
                "{value}"
            );
        }
        for value in ["Bearer", "Bearer ", "bearer    "] {
            assert_eq!(
                credentials(&with(value), "Bearer"),
                Authorization::Credentials(""),
                "{value:?}"
            );
        }
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_bytes(b"Bearer \xff").unwrap(),
        );
        assert_eq!(credentials(&h, "Bearer"), Authorization::OtherScheme);
    }
}
