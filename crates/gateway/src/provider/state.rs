//! Flow state. What must be single use across replicas lives in the store (upstream state,
//! authorization codes, revocations); what only needs to be tamper-proof travels sealed
//! (the flow cookie, access tokens). A complete login costs six store round trips: the
//! upstream state written and taken, the citizen's session written (`super::session`), the
//! code written and taken, the grant's live marker written (plus one at userinfo, which
//! requires that marker).

use jisr_mapping::{CrossBorderAssertion, Loa};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::http::reject::ReturnTo;
use crate::ops::Trail;
use crate::pages::Lang;
use crate::upstream::PendingLogin;
use jisr_store::{Store, StoreError};

/// A login in progress, sealed in the browser's flow cookie: what the agency asked for.
/// (`Default` is for tests and fuzz targets: its `exp` of 0 has long passed, so a default
/// flow is refused as expired wherever one is opened.)
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flow {
    /// Random id; forms carry it, so a form is bound to this cookie.
    pub id: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
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
    /// Set at the callback while consent is pending: the code whose grant is stored.
    pub code: Option<String>,
    /// The citizen's audit reference, once the national login is verified.
    #[serde(default)]
    pub subject: Option<String>,
    /// The citizen's country and level, once the national login is verified.
    #[serde(default)]
    pub origin: Option<jisr_mapping::CountryCode>,
    #[serde(default)]
    pub loa: Option<Loa>,
    /// The agency's `max_age` (OIDC Core 3.1.2.1), forwarded to the national IdP.
    #[serde(default)]
    pub max_age: Option<u64>,
    /// The agency's `prompt=login`, forwarded to the national IdP.
    #[serde(default)]
    pub prompt_login: bool,
    /// The agency's `prompt=none` (OIDC Core 3.1.2.6): the session answers, or an error.
    #[serde(default)]
    pub prompt_none: bool,
    /// Set with `code`: the agency joined the browser's session with this sign-in, so a
    /// declined consent takes it out again.
    #[serde(default)]
    pub joined_session: bool,
}

impl Flow {
    /// What operators may know of this flow so far (origin and LoA are the caller's to add).
    pub fn trail(&self, gw: &crate::app::Gateway) -> Trail {
        Trail {
            flow: Some(self.id.clone()),
            client_id: Some(self.client_id.clone()),
            destination: gw.agencies.get(&self.client_id).map(|a| a.country),
            subject: self.subject.clone(),
            origin: self.origin,
            loa: self.loa,
            operator: None,
        }
    }

    /// The language the citizen's pages lead with.
    pub fn lang(&self) -> Lang {
        Lang::from_ui_locales(Some(&self.lang))
    }

    /// Where refusals go: the agency's validated redirect URI, with its `state`.
    pub fn return_to(&self, issuer: &str) -> ReturnTo {
        ReturnTo {
            redirect_uri: self.redirect_uri.clone(),
            state: self.state.clone(),
            issuer: issuer.to_owned(),
        }
    }
}

/// The upstream half of a login, stored under the upstream `state` until the callback.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UpstreamLogin {
    pub flow: Flow,
    pub pending: PendingLogin,
    /// The pair's policy rule ([`jisr_mapping::Rule::id`]), decided at the country choice;
    /// the callback maps under this rule and no other.
    pub rule: String,
}

/// An authorization code's grant: single use, bound to client, redirect URI, PKCE and nonce.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CodeGrant {
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub nonce: Option<String>,
    /// The citizen must approve first: only a code carrying the consent approval redeems it.
    pub consent: bool,
    pub assertion: CrossBorderAssertion,
    /// The flow's id and the citizen's audit reference, for the events that follow.
    #[serde(default)]
    pub flow: String,
    #[serde(default)]
    pub subject: Option<String>,
    /// The agency's `sid` in the citizen's gateway session (the ID token's `sid`).
    #[serde(default)]
    pub sid: Option<String>,
}

impl CodeGrant {
    /// What operators may know of the flow this grant ends.
    pub fn trail(&self) -> Trail {
        issued_trail(&self.flow, &self.client_id, &self.assertion, &self.subject)
    }
}

/// What an access token carries, sealed: the grant it came from (for revocation) and the
/// claims userinfo returns.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessToken {
    pub grant: String,
    pub client_id: String,
    pub exp: i64,
    pub assertion: CrossBorderAssertion,
    /// The flow's id and the citizen's audit reference, for the userinfo event.
    #[serde(default)]
    pub flow: String,
    #[serde(default)]
    pub subject: Option<String>,
}

impl AccessToken {
    /// What operators may know of the flow this token came from.
    pub fn trail(&self) -> Trail {
        issued_trail(&self.flow, &self.client_id, &self.assertion, &self.subject)
    }
}

/// The trail of a flow whose assertion was issued (a code grant, an access token).
fn issued_trail(
    flow: &str,
    client_id: &str,
    assertion: &CrossBorderAssertion,
    subject: &Option<String>,
) -> Trail {
    Trail {
        flow: Some(flow.to_owned()),
        client_id: Some(client_id.to_owned()),
        origin: Some(assertion.origin_country),
        destination: Some(assertion.destination_country),
        loa: Some(assertion.acr),
        subject: subject.clone(),
        operator: None,
    }
}

/// Key prefixes, one per kind of state.
pub mod keys {
    /// An operator's dashboard session (its server-side half; see
    /// `crate::ops::dashboard::session`).
    pub fn operator_session(sid: &str) -> String {
        format!("opsess:{sid}")
    }
    pub fn upstream(state: &str) -> String {
        format!("up:{state}")
    }
    /// A code's grant, under the hash of the code.
    pub fn code(code_hash: &str) -> String {
        format!("code:{code_hash}")
    }
    /// A redeemed grant whose tokens are live; deleted when its code is presented again.
    pub fn live_grant(code_hash: &str) -> String {
        format!("live:{code_hash}")
    }
    pub fn client_assertion(client_id: &str, jti: &str) -> String {
        format!("jti:{client_id}:{jti}")
    }
    /// A national token exchanged by an agency (the hash of its issuer and `jti`, or of the
    /// token when it has none), kept until the token expires.
    pub fn exchanged(client_id: &str, token_hash: &str) -> String {
        format!("xchg:{client_id}:{token_hash}")
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

pub async fn take<T: DeserializeOwned>(
    store: &dyn Store,
    key: &str,
) -> Result<Option<T>, StoreError> {
    store
        .take(key)
        .await?
        .map(|b| {
            serde_json::from_slice(&b).map_err(|e| StoreError::Corrupt {
                reason: e.to_string(),
            })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flows_sealed_before_max_age_and_prompt_login_still_open() {
        let old = r#"{"id":"f","exp":1,"client_id":"c","redirect_uri":"r","state":null,
            "nonce":null,"code_challenge":"x","min_loa":null,"lang":"en","csrf":"t","code":null}"#;
        let flow: Flow = serde_json::from_str(old).unwrap();
        assert_eq!((flow.max_age, flow.prompt_login), (None, false));
    }
}
