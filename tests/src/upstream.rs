//! Development national IdPs and the gateway's upstream client wired to each other, for the
//! Relying Party tests: each IdP knows the client `jisr` with [`SECRET`] and a redirect URI
//! on port 9 that nothing listens on (the test reads the redirect instead of following it).

use std::sync::Arc;
use std::time::Duration;

use jisr_devidp::{DevClient, DevIdp, DevIdpConfig, Faults, SigningAlg};
use jisr_gateway::upstream::config::JwksSettings;
use jisr_gateway::upstream::{
    AuthorizationResponse, Upstream, UpstreamConfig, UpstreamError, VerifiedLogin,
};
use jisr_mapping::CountryCode;

use crate::browser::Browser;
use crate::{cc, now};

pub const SECRET: &str = "test-client-secret";

pub fn redirect_uri(country: CountryCode) -> String {
    format!(
        "http://127.0.0.1:9/callback/{}",
        country.as_str().to_ascii_lowercase()
    )
}

/// A development IdP for `country` with the `jisr` client registered.
pub async fn idp(country: &str, alg: SigningAlg, faults: Faults) -> DevIdp {
    let country = cc(country);
    let config = DevIdpConfig {
        faults,
        clients: vec![DevClient::secret_basic(
            "jisr",
            SECRET,
            &[&redirect_uri(country)],
        )],
        ..DevIdpConfig::new(country, alg)
    };
    jisr_devidp::spawn(config).await.unwrap()
}

/// The upstream settings for a development IdP, accepting `algorithms`, refreshing its JWKS
/// without a rate limit (tests rotate keys at once).
pub fn config_for(
    idp: &DevIdp,
    country: &str,
    algorithms: &[jsonwebtoken::Algorithm],
) -> UpstreamConfig {
    let country = cc(country);
    let mut config = jisr_demo::devidp_upstream(idp, country, SECRET, redirect_uri(country));
    config.algorithms = algorithms.to_vec();
    config.timeout = Duration::from_secs(3);
    config.jwks = JwksSettings {
        min_refresh_secs: 0,
        ..JwksSettings::default()
    };
    config
}

/// An upstream client for `idp`, discovered.
pub async fn upstream(
    idp: &DevIdp,
    country: &str,
    algorithms: &[jsonwebtoken::Algorithm],
) -> Arc<Upstream> {
    let up = Upstream::new(config_for(idp, country, algorithms)).unwrap();
    up.discover().await.unwrap();
    Arc::new(up)
}

/// Follows the authorization request to the IdP with `login_hint` and returns the callback
/// parameters the IdP redirected to.
pub async fn authorize(
    up: &Upstream,
    login_hint: &str,
    acr: Option<&str>,
) -> (jisr_gateway::upstream::PendingLogin, AuthorizationResponse) {
    let (url, pending) = up.begin(acr, Some("ar")).unwrap();
    let mut url = url::Url::parse(&url).unwrap();
    url.query_pairs_mut().append_pair("login_hint", login_hint);
    let response = Browser::new().get(url.as_str()).await;
    assert_eq!(
        response.status(),
        302,
        "{}",
        response.text().await.unwrap_or_default()
    );
    let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    assert!(
        location.as_str().starts_with(&up.config.redirect_uri),
        "{location}"
    );
    let mut callback = AuthorizationResponse::default();
    for (k, v) in location.query_pairs() {
        let v = Some(v.into_owned());
        match k.as_ref() {
            "code" => callback.code = v,
            "state" => callback.state = v,
            "iss" => callback.iss = v,
            "error" => callback.error = v,
            "error_description" => callback.error_description = v,
            _ => {}
        }
    }
    (pending, callback)
}

/// A whole login of the citizen `login_hint` through `up`, asking for every acr value the
/// IdP supports, strongest first, as the gateway does (certified IdPs, and the development
/// one, put `acr` in the ID token only when asked).
pub async fn login(up: &Upstream, login_hint: &str) -> Result<VerifiedLogin, UpstreamError> {
    let mut acr: Vec<&str> = jisr_devidp::claims::acr_values(up.config.country).to_vec();
    acr.reverse();
    let acr = acr.join(" ");
    let (pending, callback) = authorize(up, login_hint, Some(&acr)).await;
    up.complete(&pending, &callback, now()).await
}

/// The first synthetic citizen of a country.
pub fn citizen(country: &str) -> &'static str {
    jisr_devidp::citizens(cc(country))[0].id
}
