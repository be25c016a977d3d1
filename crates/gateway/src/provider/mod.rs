//! Provider: Jisr as an OpenID Provider toward agencies. One login reads top to bottom, each
//! step calling only forward:
//!
//! 1. [`authorize`]: `GET /authorize`: the agency's request checked, the flow opened, the
//!    country picker shown.
//! 2. [`country`]: `POST /login/country`: the pair's policy decided, off to the national IdP.
//! 3. [`callback`]: `GET /callback/{cc}`: the national login verified and mapped, the grant
//!    stored.
//! 4. [`consent`]: the consent page and `POST /consent`; the code back to the agency.
//! 5. [`token`]: `POST /token`: the code redeemed ([`client_auth`] authenticates the
//!    agency; [`id_token`] builds the ID token around the assertion).
//! 6. [`userinfo`]: `GET|POST /userinfo`.
//!
//! Below the steps: [`state`] (flow state: in the store what must be single use, sealed what
//! travels), [`error`] (why a citizen's step stops), [`keys`] (signing keys and JWKS),
//! [`seal`] (AES-GCM sealing), [`discovery`] (metadata), [`session`] (the single sign-on
//! session and logout).

pub mod authorize;
pub mod callback;
pub mod client_auth;
pub mod consent;
pub mod country;
pub mod discovery;
pub mod error;
pub mod id_token;
pub mod keys;
pub mod seal;
pub mod state;
pub mod token;
pub mod userinfo;
// Sessions: single sign-on and logout.
pub mod session;
