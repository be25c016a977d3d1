//! Form-encoded parameters (a query string or a token request body), a repeated one refused
//! (RFC 6749 3.1 and 3.2). Kept as the raw list: the chooser page carries every parameter on
//! into its links.

pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    /// Parses `form`; the error is the `error_description` to send.
    pub fn parse(form: &str, what: &str) -> Result<Params, String> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(form)
            .map_err(|_| format!("the {what} is not form-encoded"))?;
        for (i, (name, _)) in pairs.iter().enumerate() {
            if pairs[..i].iter().any(|(earlier, _)| earlier == name) {
                return Err(format!("parameter `{name}` is repeated"));
            }
        }
        Ok(Params(pairs))
    }

    /// The value of `name`; an empty value counts as absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    pub fn all(&self) -> &[(String, String)] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_and_empty_parameters() {
        let p = Params::parse("a=1&b=&c=x%20y", "query string").unwrap();
        assert_eq!(
            (p.get("a"), p.get("b"), p.get("c")),
            (Some("1"), None, Some("x y"))
        );
        assert_eq!(
            Params::parse("a=1&a=2", "body").err().as_deref(),
            Some("parameter `a` is repeated")
        );
    }
}
