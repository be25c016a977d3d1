//! A browser stand-in, and reading what it gets back.

use std::collections::HashMap;

/// A browser: keeps cookies, follows no redirects (each hop is checked).
pub struct Browser {
    pub http: reqwest::Client,
}

impl Default for Browser {
    fn default() -> Self {
        Browser::new()
    }
}

impl Browser {
    pub fn new() -> Self {
        Browser {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    /// A browser behind a load balancer that names it `X-Forwarded-For: address` (the
    /// gateway believes it only from a proxy in `[rate_limits] trusted_proxies`).
    pub fn forwarded_for(address: &str) -> Self {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-forwarded-for", address.parse().unwrap());
        Browser {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .default_headers(headers)
                .build()
                .unwrap(),
        }
    }

    pub async fn get(&self, url: &str) -> reqwest::Response {
        self.http.get(url).send().await.unwrap()
    }

    pub async fn post(&self, url: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.http.post(url).form(form).send().await.unwrap()
    }
}

/// The `Location` of a redirect (panics on anything else).
pub fn location(r: &reqwest::Response) -> String {
    assert!(
        r.status().is_redirection(),
        "expected a redirect, got {}",
        r.status()
    );
    r.headers()["location"].to_str().unwrap().to_owned()
}

/// The query parameters of `url`.
pub fn query(url: &str) -> HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The value of a hidden input in a page.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no hidden `{name}` in page"))
        + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

/// The load balancer: `url` (any gateway URL, e.g. under the public issuer) sent to `replica`.
pub fn via(replica: &str, url: &str) -> String {
    let target = url::Url::parse(replica).unwrap();
    let mut u = url::Url::parse(url).unwrap();
    u.set_host(target.host_str()).unwrap();
    u.set_port(target.port()).unwrap();
    u.into()
}
