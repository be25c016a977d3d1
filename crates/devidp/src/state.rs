//! The running IdP's shared state: config, clock, faults, keys, and the single-use flow
//! state (authorization codes, access tokens, client assertion `jti`s).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use aws_lc_rs::error::Unspecified;
use jisr_mapping::CountryCode;

use crate::citizens::Citizen;
use crate::clock::Clock;
use crate::config::{DevClient, DevIdpConfig, Faults, SigningAlg};
use crate::keys::{KeyError, KeyRing, b64};
use crate::operators::Operator;

/// Authorization codes live this long.
pub const CODE_TTL: i64 = 60;
/// Access tokens live this long (the `expires_in` of the token response).
pub const ACCESS_TOKEN_TTL: i64 = 300;

/// Who signed in: a synthetic citizen, or in operator mode a staff account.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Who {
    Citizen(&'static Citizen),
    Operator(&'static Operator),
}

impl Who {
    pub fn sub(self) -> &'static str {
        match self {
            Who::Citizen(c) => c.sub,
            Who::Operator(o) => o.id,
        }
    }
}

/// One issued, not yet redeemed authorization code.
#[derive(Clone, Debug)]
pub(crate) struct CodeGrant {
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub nonce: Option<String>,
    pub who: Who,
    /// The acr issued (the `userType` for AE).
    pub level: String,
    pub auth_time: i64,
    /// Whether the client asked for `acr` (`acr_values` or the `claims` parameter) and for
    /// `auth_time` (`max_age`, `prompt=login`, the `claims` parameter): like a certified OP,
    /// the ID token carries them only then.
    pub acr_asked: bool,
    pub auth_time_asked: bool,
    pub expires_at: i64,
}

/// What an access token grants at userinfo.
#[derive(Clone, Debug)]
pub(crate) struct TokenGrant {
    pub who: Who,
    pub level: String,
    pub expires_at: i64,
}

#[derive(Default)]
pub(crate) struct Flows {
    codes: HashMap<String, CodeGrant>,
    tokens: HashMap<String, TokenGrant>,
    /// Client assertion `jti`s seen, with their `exp`, so replays are refused until expiry.
    jtis: HashMap<String, i64>,
    /// When expired entries were last dropped: at most once a second, so a busy IdP does not
    /// scan every live code and token on each new one (lookups check expiry themselves).
    pruned_at: i64,
}

impl Flows {
    fn prune(&mut self, now: i64) {
        if now == self.pruned_at {
            return;
        }
        self.pruned_at = now;
        self.codes.retain(|_, g| g.expires_at > now);
        self.tokens.retain(|_, g| g.expires_at > now);
        self.jtis.retain(|_, exp| *exp >= now);
    }

    pub fn issue_code(&mut self, now: i64, grant: CodeGrant) -> Result<String, Unspecified> {
        self.prune(now);
        let code = random_token()?;
        self.codes.insert(code.clone(), grant);
        Ok(code)
    }

    /// Removes and returns the code's grant: a code is redeemable once, even if the
    /// redemption then fails a check.
    pub fn take_code(&mut self, code: &str) -> Option<CodeGrant> {
        self.codes.remove(code)
    }

    pub fn issue_token(&mut self, now: i64, grant: TokenGrant) -> Result<String, Unspecified> {
        self.prune(now);
        let token = random_token()?;
        self.tokens.insert(token.clone(), grant);
        Ok(token)
    }

    pub fn token(&self, token: &str, now: i64) -> Option<TokenGrant> {
        self.tokens
            .get(token)
            .filter(|g| g.expires_at > now)
            .cloned()
    }

    /// Records a client assertion `jti`; false if it was already used (scoped per client).
    pub fn use_jti(&mut self, client_id: &str, jti: &str, exp: i64, now: i64) -> bool {
        self.prune(now);
        let key = format!("{client_id}\u{0}{jti}");
        if self.jtis.contains_key(&key) {
            return false;
        }
        self.jtis.insert(key, exp);
        true
    }
}

/// Everything the handlers share.
pub(crate) struct App {
    pub country: CountryCode,
    pub alg: SigningAlg,
    pub issuer: String,
    pub clients: Vec<DevClient>,
    pub admin: bool,
    /// Whether the `claims` parameter is supported (see [`DevIdpConfig::claims_parameter`]).
    pub claims_parameter: bool,
    /// Operator mode: staff accounts instead of citizens (see [`crate::operators`]).
    pub operators: bool,
    pub clock: Clock,
    pub faults: RwLock<Faults>,
    pub keys: Mutex<KeyRing>,
    pub flows: Mutex<Flows>,
    /// Logout registration, if the IdP does logout (see `crate::logout`).
    pub logout: Option<crate::config::DevLogout>,
    /// The sessions whose ID tokens carried a `sid`: `(sid, sub, client_id)`.
    pub sessions: Mutex<Vec<(String, String, String)>>,
}

impl App {
    /// The IdP's state with its first signing key made (the one step that can fail).
    pub fn new(config: DevIdpConfig, issuer: String, clock: Clock) -> Result<Arc<Self>, KeyError> {
        Ok(Arc::new(App {
            country: config.country,
            alg: config.alg,
            issuer: issuer.trim_end_matches('/').to_owned(),
            clients: config.clients,
            admin: config.admin,
            claims_parameter: config.claims_parameter,
            operators: config.operators,
            clock,
            faults: RwLock::new(config.faults),
            keys: Mutex::new(KeyRing::new(config.alg)?),
            flows: Mutex::new(Flows::default()),
            logout: config.logout,
            sessions: Mutex::new(Vec::new()),
        }))
    }

    pub fn faults(&self) -> Faults {
        self.faults
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn set_faults(&self, faults: Faults) {
        *self.faults.write().unwrap_or_else(|e| e.into_inner()) = faults;
    }

    pub fn keys(&self) -> MutexGuard<'_, KeyRing> {
        self.keys.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn flows(&self) -> MutexGuard<'_, Flows> {
        self.flows.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn client(&self, client_id: &str) -> Option<&DevClient> {
        self.clients.iter().find(|c| c.client_id == client_id)
    }

    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }
}

/// 256 random bits, base64url: codes, access tokens.
pub(crate) fn random_token() -> Result<String, Unspecified> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes)?;
    Ok(b64(&bytes))
}
