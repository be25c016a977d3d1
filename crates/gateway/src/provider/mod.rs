//! Provider: Jisr as an OpenID Provider toward agencies.
//!
//! - [`keys`]: the gateway's signing keys and their JWKS.
//! - [`state`]: flow state: in the store what must be single use, sealed what travels.
//! - [`seal`]: AES-GCM sealing of the flow cookie and access tokens.
//! - [`authorize`]: the authorization endpoint and the country picker.
//! - [`login`]: the country choice, the national IdP's callback, consent, code issuance.
//! - [`token`]: the token endpoint (authorization_code) with client authentication.
//! - [`userinfo`]: the userinfo endpoint.
//! - [`discovery`]: OpenID Provider metadata.

pub mod authorize;
pub mod discovery;
pub mod keys;
pub mod login;
pub mod seal;
pub mod state;
pub mod token;
pub mod userinfo;
