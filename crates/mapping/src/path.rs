//! Claim paths (`address.country`, `given_name#ar`) and the national claims they read from.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::error::MappingError;

/// Which verified token of the national IdP a claim is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    IdToken,
    Userinfo,
}

impl Source {
    pub const fn name(self) -> &'static str {
        match self {
            Source::IdToken => "id_token",
            Source::Userinfo => "userinfo",
        }
    }
}

/// A dotted path into a JSON object. Each segment is one object key, taken literally, so
/// language-tagged keys such as `given_name#ar` are plain segments.
///
/// ```
/// use jisr_mapping::path::ClaimPath;
/// let p: ClaimPath = "address.country".parse().unwrap();
/// let v = serde_json::json!({"address": {"country": "BHR"}});
/// assert_eq!(p.lookup(v.as_object().unwrap()).unwrap(), "BHR");
/// assert!("a..b".parse::<ClaimPath>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimPath {
    text: String,
    segments: Vec<String>,
}

impl ClaimPath {
    /// The value at this path, if every segment exists.
    pub fn lookup<'a>(&self, root: &'a Map<String, Value>) -> Option<&'a Value> {
        let (first, rest) = self.segments.split_first()?;
        let mut cur = root.get(first)?;
        for seg in rest {
            cur = cur.as_object()?.get(seg)?;
        }
        Some(cur)
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for ClaimPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for ClaimPath {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let segments: Vec<String> = s.split('.').map(str::to_owned).collect();
        if segments
            .iter()
            .any(|seg| seg.is_empty() || seg.chars().any(char::is_whitespace))
        {
            return Err(format!(
                "`{s}` is not a claim path (dot-separated names, no spaces)"
            ));
        }
        Ok(ClaimPath {
            text: s.to_owned(),
            segments,
        })
    }
}

impl<'de> Deserialize<'de> for ClaimPath {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The verified claims of one national authentication: the ID token's claims and the
/// userinfo response, each optional (OAuth2-style IdPs send no ID token).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NationalClaims {
    pub id_token: Option<Map<String, Value>>,
    pub userinfo: Option<Map<String, Value>>,
}

impl NationalClaims {
    /// Reads `{"id_token": {…}, "userinfo": {…}}`; at least one of the two must be an object
    /// and no other keys are allowed.
    pub fn from_value(value: Value) -> Result<Self, MappingError> {
        let Value::Object(mut map) = value else {
            return Err(MappingError::ClaimsShape);
        };
        let mut take = |key: &str| match map.remove(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(o)) => Ok(Some(o)),
            Some(_) => Err(MappingError::ClaimsShape),
        };
        let claims = NationalClaims {
            id_token: take("id_token")?,
            userinfo: take("userinfo")?,
        };
        if !map.is_empty() || (claims.id_token.is_none() && claims.userinfo.is_none()) {
            return Err(MappingError::ClaimsShape);
        }
        Ok(claims)
    }

    /// The claim set of one source.
    pub fn get(&self, source: Source) -> Option<&Map<String, Value>> {
        match source {
            Source::IdToken => self.id_token.as_ref(),
            Source::Userinfo => self.userinfo.as_ref(),
        }
    }

    /// The value at `path` in `source`, if present and not null.
    pub fn lookup(&self, source: Source, path: &ClaimPath) -> Option<&Value> {
        self.get(source)
            .and_then(|m| path.lookup(m))
            .filter(|v| !v.is_null())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_and_language_tagged_paths() {
        let v = json!({"name": {"given_name#ar": "سارة", "x": 1}, "given_name#en": "Sara"});
        let m = v.as_object().unwrap();
        let p: ClaimPath = "name.given_name#ar".parse().unwrap();
        assert_eq!(p.lookup(m).unwrap(), "سارة");
        let p: ClaimPath = "given_name#en".parse().unwrap();
        assert_eq!(p.lookup(m).unwrap(), "Sara");
        let p: ClaimPath = "name.x.y".parse().unwrap();
        assert!(p.lookup(m).is_none());
    }

    #[test]
    fn bad_paths_are_refused() {
        for bad in ["", ".", "a.", ".a", "a b", "a..b"] {
            assert!(bad.parse::<ClaimPath>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn national_claims_shape() {
        assert!(NationalClaims::from_value(json!({"userinfo": {"sub": "x"}})).is_ok());
        assert!(NationalClaims::from_value(json!({"id_token": {}, "userinfo": null})).is_ok());
        for bad in [
            json!([]),
            json!({}),
            json!({"id_token": "x"}),
            json!({"sub": "x"}),
            json!({"id_token": {}, "extra": 1}),
        ] {
            assert_eq!(
                NationalClaims::from_value(bad.clone()),
                Err(MappingError::ClaimsShape),
                "{bad}"
            );
        }
    }
}
