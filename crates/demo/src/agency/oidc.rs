//! The Relying Party side, with openidconnect over reqwest: discovery (lazy, retried, cached
//! until a signature failure suggests the keys rotated), the authorization request, the code
//! exchange and the verification of what comes back.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreClaimName, CoreClaimType, CoreClientAuthMethod,
    CoreErrorResponseType, CoreGenderClaim, CoreGrantType, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm,
    CoreResponseMode, CoreResponseType, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreSubjectIdentifierType, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AccessTokenHash, AdditionalClaims, AdditionalProviderMetadata, AsyncHttpClient,
    AuthenticationContextClass, AuthenticationFlow, AuthorizationCode, Client, ClientId,
    ClientSecret, CsrfToken, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    HttpRequest, HttpResponse, IdTokenClaims, IdTokenFields, IssuerUrl, LanguageTag, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, ProviderMetadata, RedirectUrl,
    StandardErrorResponse, StandardTokenResponse, TokenResponse, UserInfoClaims,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Mutex;

use super::error::{AgencyError, describe_id_token, describe_token, describe_userinfo};
use super::person::Person;

/// The claims of the shared assertion beyond OIDC's standard ones, in the ID token and at
/// userinfo. Kept loose (strings and JSON) so an unexpected shape is shown, not refused.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub(crate) struct AgencyClaims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_claims: Option<Value>,
}
impl AdditionalClaims for AgencyClaims {}

/// RFC 9207: whether the provider promises `iss` on every authorization response.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
struct IssParameter {
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
}
impl AdditionalProviderMetadata for IssParameter {}

type Metadata = ProviderMetadata<
    IssParameter,
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

type TokenFields = IdTokenFields<
    AgencyClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

/// `CoreClient` with [`AgencyClaims`] in the ID token, as discovery leaves it.
type AgencyClient = Client<
    AgencyClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    StandardTokenResponse<TokenFields, CoreTokenType>,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

pub(crate) type IdClaims = IdTokenClaims<AgencyClaims, CoreGenderClaim>;
pub(crate) type InfoClaims = UserInfoClaims<AgencyClaims, CoreGenderClaim>;

/// The ID token algorithms accepted: the gateway's (ES256 by default, PS256, EdDSA) and RS256;
/// never `none` or an HMAC.
const ALLOWED_ALGS: [CoreJwsSigningAlgorithm; 4] = [
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::EdDsa,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
];

/// Pauses between discovery attempts within one sign-in.
const DISCOVERY_BACKOFF: [Duration; 2] = [Duration::from_millis(200), Duration::from_millis(600)];
/// A hard limit on one discovery (all attempts), so a hanging gateway cannot hang a page.
const DISCOVERY_BUDGET: Duration = Duration::from_secs(8);
/// Largest response body read from the gateway.
const MAX_BODY: usize = 1 << 20;

/// What a sign-in keeps between `/login` and `/callback`. Secrets: never logged.
pub(crate) struct Pending {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
}

struct Provider {
    client: AgencyClient,
    iss_parameter_supported: bool,
}

pub(crate) struct RelyingParty {
    issuer: IssuerUrl,
    client_id: ClientId,
    client_secret: ClientSecret,
    redirect: RedirectUrl,
    http: Http,
    provider: Mutex<Option<Arc<Provider>>>,
}

impl RelyingParty {
    pub fn new(
        issuer: &str,
        client_id: &str,
        client_secret: &str,
        redirect_uri: &str,
    ) -> Result<Self, String> {
        let issuer = IssuerUrl::new(issuer.to_owned()).map_err(|e| format!("issuer: {e}"))?;
        let redirect =
            RedirectUrl::new(redirect_uri.to_owned()).map_err(|e| format!("redirect URI: {e}"))?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(RelyingParty {
            issuer,
            client_id: ClientId::new(client_id.to_owned()),
            client_secret: ClientSecret::new(client_secret.to_owned()),
            redirect,
            http: Http(http),
            provider: Mutex::new(None),
        })
    }

    /// The discovered provider, discovering it now (with retries) if needed. One discovery
    /// at a time: concurrent sign-ins wait for it instead of stampeding the gateway.
    async fn provider(&self) -> Result<Arc<Provider>, AgencyError> {
        let mut cached = self.provider.lock().await;
        if let Some(provider) = cached.as_ref() {
            return Ok(provider.clone());
        }
        let provider = tokio::time::timeout(DISCOVERY_BUDGET, self.discover_with_retry())
            .await
            .map_err(|_| AgencyError::Unavailable("discovery: no answer in time".into()))??;
        let provider = Arc::new(provider);
        *cached = Some(provider.clone());
        Ok(provider)
    }

    async fn discover_with_retry(&self) -> Result<Provider, AgencyError> {
        let mut attempt = 0;
        loop {
            match self.discover().await {
                Ok(provider) => return Ok(provider),
                Err(e) => match DISCOVERY_BACKOFF.get(attempt) {
                    Some(pause) => {
                        tracing::debug!(attempt, "gateway discovery failed, retrying");
                        tokio::time::sleep(*pause).await;
                        attempt += 1;
                    }
                    None => {
                        tracing::warn!(error = %e, "gateway discovery failed");
                        return Err(e);
                    }
                },
            }
        }
    }

    /// Discovery and JWKS (openidconnect checks that the document's `issuer` is ours).
    async fn discover(&self) -> Result<Provider, AgencyError> {
        let metadata = Metadata::discover_async(self.issuer.clone(), &self.http)
            .await
            .map_err(|e| AgencyError::Unavailable(format!("discovery: {e}")))?;
        let iss_parameter_supported = metadata
            .additional_metadata()
            .authorization_response_iss_parameter_supported;
        let client = AgencyClient::from_provider_metadata(
            metadata,
            self.client_id.clone(),
            Some(self.client_secret.clone()),
        )
        .set_redirect_uri(self.redirect.clone());
        Ok(Provider {
            client,
            iss_parameter_supported,
        })
    }

    /// Drops the cached discovery, so the next sign-in fetches fresh keys.
    async fn forget_provider(&self) {
        *self.provider.lock().await = None;
    }

    /// The authorization request: scope `openid`, fresh state, nonce and PKCE S256.
    pub async fn start(
        &self,
        acr_values: &[String],
        ui_locales: &[&str],
    ) -> Result<(url::Url, Pending), AgencyError> {
        let provider = self.provider().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = provider
            .client
            .authorize_url(
                AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for acr in acr_values {
            request = request.add_auth_context_value(AuthenticationContextClass::new(acr.clone()));
        }
        for locale in ui_locales {
            request = request.add_ui_locale(LanguageTag::new((*locale).to_owned()));
        }
        let (url, state, nonce) = request.url();
        let pending = Pending {
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            verifier: verifier.secret().clone(),
        };
        Ok((url, pending))
    }

    /// RFC 9207: an `iss` on the authorization response must be the gateway's; when the
    /// gateway promises one, it must be there (mix-up defence).
    pub async fn check_iss(&self, iss: Option<&str>) -> Result<(), AgencyError> {
        match iss {
            Some(iss) if iss == self.issuer.as_str() => Ok(()),
            Some(_) => Err(AgencyError::IssuerMismatch),
            None if self.provider().await?.iss_parameter_supported => Err(AgencyError::MissingIss),
            None => Ok(()),
        }
    }

    /// Redeems `code`, verifies the ID token and reads userinfo; the person and the ID token
    /// (kept for logout).
    pub async fn finish(
        &self,
        code: &str,
        pending: Pending,
    ) -> Result<(Person, Option<String>), AgencyError> {
        let provider = self.provider().await?;
        let client = &provider.client;
        let token = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|_| AgencyError::Token("the gateway advertises no token endpoint".into()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier))
            .request_async(&self.http)
            .await
            .map_err(|e| describe_token(&e))?;
        let id_token = token
            .id_token()
            .ok_or_else(|| AgencyError::IdToken("the token response carries no ID token".into()))?;
        let verifier = client.id_token_verifier().set_allowed_algs(ALLOWED_ALGS);
        let claims: IdClaims = match id_token.claims(&verifier, &Nonce::new(pending.nonce)) {
            Ok(claims) => claims.clone(),
            Err(e) => {
                if matches!(
                    e,
                    openidconnect::ClaimsVerificationError::SignatureVerification(_)
                ) {
                    self.forget_provider().await;
                }
                return Err(describe_id_token(&e));
            }
        };
        if let Some(expected) = claims.access_token_hash() {
            let actual = id_token
                .signing_alg()
                .ok()
                .zip(id_token.signing_key(&verifier).ok())
                .and_then(|(alg, key)| {
                    AccessTokenHash::from_token(token.access_token(), alg, key).ok()
                });
            if actual.as_ref() != Some(expected) {
                return Err(AgencyError::IdToken(
                    "at_hash does not match the access token".into(),
                ));
            }
        }
        let userinfo: Option<InfoClaims> =
            match client.user_info(token.access_token().clone(), Some(claims.subject().clone())) {
                Ok(request) => Some(
                    request
                        .request_async(&self.http)
                        .await
                        .map_err(|e| describe_userinfo(&e))?,
                ),
                Err(_) => None,
            };
        let raw = serde_json::to_value(id_token)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned));
        Ok((Person::from_claims(&claims, userinfo.as_ref()), raw))
    }
}

/// reqwest as openidconnect's HTTP client: no redirects, timeouts, bounded bodies.
struct Http(reqwest::Client);

#[derive(Debug, thiserror::Error)]
pub(crate) enum HttpError {
    #[error("{0}")]
    Transport(&'static str),
    #[error("the response body is larger than {MAX_BODY} bytes")]
    TooLarge,
    #[error("the response could not be assembled")]
    Build,
}

impl<'c> AsyncHttpClient<'c> for Http {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let request = reqwest::Request::try_from(request)
                .map_err(|_| HttpError::Transport("the request could not be built"))?;
            let mut response = self.0.execute(request).await.map_err(|e| transport(&e))?;
            let mut builder = openidconnect::http::Response::builder().status(response.status());
            if let Some(headers) = builder.headers_mut() {
                *headers = std::mem::take(response.headers_mut());
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| transport(&e))? {
                if body.len() + chunk.len() > MAX_BODY {
                    return Err(HttpError::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            builder.body(body).map_err(|_| HttpError::Build)
        })
    }
}

fn transport(e: &reqwest::Error) -> HttpError {
    HttpError::Transport(if e.is_timeout() {
        "the gateway did not answer in time"
    } else if e.is_connect() {
        "the gateway could not be reached"
    } else {
        "the request to the gateway failed"
    })
}
