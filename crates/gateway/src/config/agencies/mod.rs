//! `agencies.toml`: the OIDC clients of the gateway's OpenID Provider, one `[[agency]]` table
//! each: client id, bilingual name, country and sector (which fix its pairwise subjects),
//! exact redirect URIs, how it authenticates at the token endpoint, and optionally the
//! algorithm its ID tokens are signed with (`id_token_signed_response_alg`, checked by
//! `config::load` against the signing keys held).
//!
//! Client secrets come from env vars or files ([`crate::config::SecretSource`]);
//! `private_key_jwt` agencies publish public keys in a JWKS file kept beside the config.
//! [`Agencies::check`] validates structure and JWKS files without any secret (a single file
//! given to `jisr check-config`); [`Agencies::load`] also reads the secrets. The file is not
//! layered with environment overrides: a list of clients is not something to patch variable
//! by variable.

pub(crate) mod load;
pub mod logout;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use jisr_mapping::{ConfigProblem, CountryCode};
use jsonwebtoken::jwk::JwkSet;

use super::secret::Env;

/// Shortest client secret accepted: 32 bytes, as for any key the gateway holds.
pub const MIN_SECRET_BYTES: usize = 32;

/// One agency (OIDC client), validated.
#[derive(Debug, Clone)]
pub struct Agency {
    pub client_id: String,
    pub name_en: String,
    pub name_ar: String,
    /// A GCC member state: the destination country of the assertions it receives.
    pub country: CountryCode,
    /// e.g. `health`; with the country it scopes pairwise subjects.
    pub sector: String,
    /// Compared exactly with the `redirect_uri` of a request.
    pub redirect_uris: Vec<String>,
    pub auth: AgencyAuth,
    /// OIDC Dynamic Client Registration's `id_token_signed_response_alg`: the algorithm its
    /// ID tokens are signed with; `None`: the gateway's active key's. A key of that alg
    /// must be held (checked at load).
    pub id_token_signed_response_alg: Option<jsonwebtoken::Algorithm>,
    /// What the consent page tells the citizen about the agency (optional registration).
    pub notice: AgencyNotice,
    /// Token exchange and introspection registration (see [`BackChannel`]); empty by default.
    pub back_channel: BackChannel,
    /// Logout registration: post-logout redirect URIs, back- and front-channel logout.
    pub logout: logout::AgencyLogout,
}

/// The agency's purpose and privacy notice (registration fields `purpose = { en, ar }` and
/// `privacy_url`), shown on the consent page when registered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgencyNotice {
    /// Why the agency asks for the citizen's identity.
    pub purpose: Option<Purpose>,
    /// The agency's privacy notice: absolute https (http only on loopback).
    pub privacy_url: Option<String>,
}

/// A purpose in both languages.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Purpose {
    pub en: String,
    pub ar: String,
}

impl Agency {
    /// The pairwise sector: `<country lowercase>:<sector>`, e.g. `bh:health`. Agencies of one
    /// country and sector see the same subject for a citizen; all others see different ones.
    pub fn pairwise_sector(&self) -> String {
        format!(
            "{}:{}",
            self.country.as_str().to_ascii_lowercase(),
            self.sector
        )
    }
}

/// How an agency authenticates at the token, introspection and exchange endpoints.
#[derive(Debug, Clone)]
pub enum AgencyAuth {
    ClientSecretBasic(Secret),
    ClientSecretPost(Secret),
    /// RFC 7523 client assertions verified with these public keys.
    PrivateKeyJwt(JwkSet),
}

/// A client secret. Debug never shows it; comparison takes the same time wherever a
/// candidate differs, and does not reveal its length.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps secret bytes (no length check; config loading enforces [`MIN_SECRET_BYTES`]).
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Secret(bytes.into())
    }

    /// Whether `candidate` is this secret. Both sides are hashed first so the constant-time
    /// comparison always runs over 32 bytes.
    pub fn matches(&self, candidate: &str) -> bool {
        use aws_lc_rs::digest::{SHA256, digest};
        let a = digest(&SHA256, &self.0);
        let b = digest(&SHA256, candidate.as_bytes());
        aws_lc_rs::constant_time::verify_slices_are_equal(a.as_ref(), b.as_ref()).is_ok()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Every agency, by client id, in file order.
#[derive(Debug, Clone)]
pub struct Agencies {
    list: Vec<Agency>,
    by_id: HashMap<String, usize>,
}

impl Agencies {
    /// Loads and validates `agencies.toml`, reading client secrets (through `env`, or files
    /// relative to the file's directory) and JWKS files. Reports every problem at once.
    pub fn load(file: &Path, env: Env<'_>) -> Result<Self, Vec<ConfigProblem>> {
        load::load(file, env).1
    }

    /// Validates structure and JWKS files without reading any secret; returns how many
    /// agencies there are.
    pub fn check(file: &Path) -> Result<usize, Vec<ConfigProblem>> {
        let outcome = load::build(file, None)?;
        if outcome.problems.is_empty() {
            Ok(outcome.count)
        } else {
            Err(outcome.problems)
        }
    }

    /// Builds the set from agencies made in code (tests, `jisr demo`); refuses a duplicate
    /// client id.
    pub fn from_list(list: Vec<Agency>) -> Result<Self, String> {
        let mut by_id = HashMap::with_capacity(list.len());
        for (i, agency) in list.iter().enumerate() {
            if by_id.insert(agency.client_id.clone(), i).is_some() {
                return Err(format!("duplicate client_id `{}`", agency.client_id));
            }
        }
        Ok(Agencies { list, by_id })
    }

    pub fn get(&self, client_id: &str) -> Option<&Agency> {
        self.by_id.get(client_id).map(|&i| &self.list[i])
    }

    pub fn iter(&self) -> impl Iterator<Item = &Agency> {
        self.list.iter()
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// What an agency registered for the back channel (`[agency.exchange]` and
/// `introspection_for`): which national ID tokens it may exchange, under which legal basis,
/// and whose access tokens it may introspect as a resource server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackChannel {
    /// Per origin country, the national client ids (`aud` of the national ID token) whose
    /// tokens this agency may exchange, e.g. a Saudi mobile app's client id at the Saudi IdP.
    /// A country not listed: its tokens are refused.
    pub exchange_audiences: HashMap<CountryCode, Vec<String>>,
    /// The legal basis under which the agency receives identities without the citizen's
    /// consent on the gateway's pages; a pair whose rule requires consent accepts an exchange
    /// only when the rule names this basis in `exchange_legal_bases`.
    pub legal_basis: Option<String>,
    /// Agencies (client ids) whose access tokens this one may introspect, as their resource
    /// server. An agency may always introspect its own.
    pub introspection_for: Vec<String>,
}

impl BackChannel {
    /// The national client ids registered for exchange of `origin`'s tokens.
    pub fn audiences(&self, origin: CountryCode) -> Vec<&str> {
        self.exchange_audiences
            .get(&origin)
            .map(|list| list.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }
}
