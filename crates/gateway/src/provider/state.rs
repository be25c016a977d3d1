//! Flow state kept in the store between requests, each under its own key prefix and TTL.
//! Values are JSON (the assertion is self-describing JSON); the Redis store encrypts them.

use jisr_mapping::{CountryCode, CrossBorderAssertion, Loa};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::upstream::PendingLogin;
use jisr_store::{Store, StoreError};

/// A login in progress: what the agency asked for, and later what the national IdP gave.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flow {
    pub client_id: String,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: String,
    pub min_loa: Option<Loa>,
    /// `ar` or `en`.
    pub lang: String,
    /// Bound to the forms of this flow (with the flow cookie).
    pub csrf: String,
    /// Set once the national login is verified and mapped, while waiting for consent.
    pub mapped: Option<MappedLogin>,
}

/// A verified and mapped national login waiting for the citizen's consent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MappedLogin {
    pub origin: CountryCode,
    pub assertion: CrossBorderAssertion,
}

/// The upstream half of a login: which flow it belongs to, and the state to check.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UpstreamLogin {
    pub flow: String,
    pub pending: PendingLogin,
}

/// An authorization code's grant: single use, bound to client, redirect URI, PKCE and nonce.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CodeGrant {
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub nonce: Option<String>,
    pub assertion: CrossBorderAssertion,
}

/// What an access token gives access to (userinfo).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessGrant {
    pub client_id: String,
    pub assertion: CrossBorderAssertion,
}

/// Key prefixes, one per kind of state.
pub mod keys {
    pub fn flow(id: &str) -> String {
        format!("flow:{id}")
    }
    pub fn upstream(state: &str) -> String {
        format!("up:{state}")
    }
    pub fn code(code_hash: &str) -> String {
        format!("code:{code_hash}")
    }
    /// Marks a redeemed code; holds the access token key issued from it (for revocation).
    pub fn used_code(code_hash: &str) -> String {
        format!("used:{code_hash}")
    }
    pub fn access_token(token_hash: &str) -> String {
        format!("at:{token_hash}")
    }
    pub fn client_assertion(client_id: &str, jti: &str) -> String {
        format!("jti:{client_id}:{jti}")
    }
}

pub async fn put<T: Serialize>(
    store: &dyn Store,
    key: &str,
    value: &T,
    ttl: std::time::Duration,
) -> Result<(), StoreError> {
    let bytes = serde_json::to_vec(value).map_err(|e| StoreError::Encode {
        reason: e.to_string(),
    })?;
    store.put(key, &bytes, ttl).await
}

pub async fn get<T: DeserializeOwned>(
    store: &dyn Store,
    key: &str,
) -> Result<Option<T>, StoreError> {
    decode(store.get(key).await?)
}

pub async fn take<T: DeserializeOwned>(
    store: &dyn Store,
    key: &str,
) -> Result<Option<T>, StoreError> {
    decode(store.take(key).await?)
}

fn decode<T: DeserializeOwned>(bytes: Option<Vec<u8>>) -> Result<Option<T>, StoreError> {
    bytes
        .map(|b| {
            serde_json::from_slice(&b).map_err(|e| StoreError::Corrupt {
                reason: e.to_string(),
            })
        })
        .transpose()
}
