//! OpenID Provider discovery with openidconnect, retried with backoff in the background so a
//! country whose IdP is down neither stops the gateway nor delays other countries.

use std::time::Duration;

use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClientAuthMethod, CoreGrantType,
    CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{AdditionalProviderMetadata, IssuerUrl, ProviderMetadata};
use serde::{Deserialize, Serialize};

use super::error::UpstreamError;
use super::http::HttpClient;

/// Discovery fields beyond OIDC Discovery 1.0 that we use.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ExtraMetadata {
    /// RFC 9207: the IdP puts `iss` in its authorization responses.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    /// RFC 8414 / RFC 7636: PKCE methods; absent means the IdP does not say.
    #[serde(default)]
    pub code_challenge_methods_supported: Option<Vec<String>>,
    /// OIDC RP-Initiated Logout 1.0: where the IdP ends its own session.
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
}
impl AdditionalProviderMetadata for ExtraMetadata {}

type Metadata = ProviderMetadata<
    ExtraMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// The endpoints of one IdP, from its discovery document.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub authorization: String,
    pub token: String,
    pub userinfo: Option<String>,
    pub jwks_uri: String,
    pub iss_parameter_supported: bool,
    pub code_challenge_s256: bool,
    /// OIDC Discovery `claims_parameter_supported`: the gateway then asks for `auth_time` (and
    /// `acr`) as essential claims.
    pub claims_parameter_supported: bool,
    /// RP-Initiated Logout 1.0 `end_session_endpoint`, if the IdP has one.
    pub end_session: Option<String>,
}

/// Fetches and checks the discovery document once (openidconnect verifies that its `issuer`
/// equals the configured issuer exactly).
pub async fn discover(http: &HttpClient, issuer: &str) -> Result<Endpoints, UpstreamError> {
    let issuer_url = IssuerUrl::new(issuer.to_owned())
        .map_err(|e| UpstreamError::Config(format!("issuer: {e}")))?;
    let client = http.clone();
    let call = move |req: openidconnect::HttpRequest| {
        let client = client.clone();
        async move {
            client.oidc_call(req).await.map_err(|e| match e {
                UpstreamError::Http(msg) => std::io::Error::other(msg),
                other => std::io::Error::other(other.to_string()),
            })
        }
    };
    let metadata = Metadata::discover_async(issuer_url, &call)
        .await
        .map_err(|e| UpstreamError::Http(describe(&e)))?;
    let code_challenge_s256 = metadata
        .additional_metadata()
        .code_challenge_methods_supported
        .as_ref()
        .is_none_or(|methods| methods.iter().any(|m| m == "S256"));
    let endpoints = Endpoints {
        authorization: metadata.authorization_endpoint().to_string(),
        token: metadata
            .token_endpoint()
            .ok_or_else(|| UpstreamError::Http("discovery: no token_endpoint".into()))?
            .to_string(),
        userinfo: metadata.userinfo_endpoint().map(|u| u.to_string()),
        jwks_uri: metadata.jwks_uri().to_string(),
        iss_parameter_supported: metadata
            .additional_metadata()
            .authorization_response_iss_parameter_supported,
        code_challenge_s256,
        claims_parameter_supported: metadata.claims_parameter_supported().unwrap_or(false),
        end_session: metadata
            .additional_metadata()
            .end_session_endpoint
            .clone()
            .filter(|u| u.starts_with("https://") || u.starts_with("http://")),
    };
    endpoints.check()?;
    Ok(endpoints)
}

impl Endpoints {
    /// Every endpoint is https, or http toward loopback (the development IdPs), as the issuer
    /// must be: a discovery document cannot send the gateway's client credentials, the code
    /// or the citizen to a plain-http endpoint.
    pub fn check(&self) -> Result<(), UpstreamError> {
        let endpoints = [
            ("authorization_endpoint", Some(&self.authorization)),
            ("token_endpoint", Some(&self.token)),
            ("userinfo_endpoint", self.userinfo.as_ref()),
            ("jwks_uri", Some(&self.jwks_uri)),
            ("end_session_endpoint", self.end_session.as_ref()),
        ];
        for (name, url) in endpoints {
            let Some(url) = url else { continue };
            let parsed = url::Url::parse(url)
                .map_err(|_| UpstreamError::Http(format!("discovery: {name} is not a URL")))?;
            let loopback = matches!(parsed.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
            let secure = parsed.scheme() == "https" || (parsed.scheme() == "http" && loopback);
            if !secure {
                return Err(UpstreamError::Http(format!(
                    "discovery: {name} must be https (http only toward loopback development IdPs)"
                )));
            }
        }
        Ok(())
    }
}

fn describe<E: std::error::Error>(e: &openidconnect::DiscoveryError<E>) -> String {
    use openidconnect::DiscoveryError::*;
    let what = match e {
        // Already says "discovery: …" (from the HTTP client).
        Request(inner) => return inner.to_string(),
        UrlParse(_) => "bad URL".into(),
        Response(status, _, _) => format!("HTTP {status}"),
        Parse(_) => "document is not valid provider metadata".into(),
        Validation(msg) => format!("invalid metadata: {msg}"),
        Other(msg) => msg.clone(),
        _ => "unknown error".into(),
    };
    format!("discovery: {what}")
}

/// Backoff between discovery attempts: 0.5 s doubling to 60 s.
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(500u64.saturating_mul(1 << attempt.min(7))).min(Duration::from_secs(60))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoints(base: &str) -> Endpoints {
        Endpoints {
            authorization: format!("{base}/authorize"),
            token: format!("{base}/token"),
            userinfo: Some(format!("{base}/userinfo")),
            jwks_uri: format!("{base}/jwks"),
            iss_parameter_supported: true,
            code_challenge_s256: true,
            claims_parameter_supported: false,
            end_session: Some(format!("{base}/logout")),
        }
    }

    #[test]
    fn discovered_endpoints_must_be_https_or_loopback() {
        assert!(endpoints("https://sso.sa.example").check().is_ok());
        assert!(endpoints("http://127.0.0.1:8443").check().is_ok());
        assert!(endpoints("http://localhost:8443").check().is_ok());
        let plain = |edit: fn(&mut Endpoints)| {
            let mut e = endpoints("https://sso.sa.example");
            edit(&mut e);
            e.check().unwrap_err().to_string()
        };
        assert!(
            plain(|e| e.token = "http://sso.sa.example/token".into())
                .contains("token_endpoint must be https")
        );
        assert!(
            plain(|e| e.jwks_uri = "http://evil.example/jwks".into())
                .contains("jwks_uri must be https")
        );
        assert!(plain(|e| e.userinfo = Some("ftp://x/u".into())).contains("userinfo_endpoint"));
        assert!(
            plain(|e| e.end_session = Some("http://10.0.0.1/logout".into()))
                .contains("end_session_endpoint")
        );
        assert!(
            plain(|e| e.authorization = "not a url".into())
                .contains("authorization_endpoint is not a URL")
        );
    }
}
