//! What one dev IdP is: its country, signing algorithm, registered clients and fault switches.

use std::fmt;
use std::str::FromStr;

use jisr_mapping::CountryCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The algorithm the IdP signs ID tokens with; its keys are generated at start to match.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SigningAlg {
    RS256,
    PS256,
    ES256,
    EdDSA,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 4] = [
        SigningAlg::RS256,
        SigningAlg::PS256,
        SigningAlg::ES256,
        SigningAlg::EdDSA,
    ];

    /// The JWA name that goes in the JWS header and the discovery document: jsonwebtoken's
    /// spelling of [`SigningAlg::jwt`], so there is no second table of names.
    pub fn name(self) -> String {
        format!("{:?}", self.jwt())
    }

    /// The jsonwebtoken algorithm used to sign and, in tests, to verify.
    pub const fn jwt(self) -> jsonwebtoken::Algorithm {
        match self {
            SigningAlg::RS256 => jsonwebtoken::Algorithm::RS256,
            SigningAlg::PS256 => jsonwebtoken::Algorithm::PS256,
            SigningAlg::ES256 => jsonwebtoken::Algorithm::ES256,
            SigningAlg::EdDSA => jsonwebtoken::Algorithm::EdDSA,
        }
    }
}

impl fmt::Display for SigningAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl FromStr for SigningAlg {
    type Err = String;
    /// Accepts the JWA names, case-insensitively (`rs256`, `EdDSA` …).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SigningAlg::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                let names: Vec<String> = SigningAlg::ALL.iter().map(|a| a.name()).collect();
                format!("unknown signing algorithm `{s}` ({})", names.join(", "))
            })
    }
}

/// One dev IdP: which country it plays and who may use it.
#[derive(Clone, Debug)]
pub struct DevIdpConfig {
    /// Which country's claim shapes, acr values and citizens.
    pub country: CountryCode,
    pub alg: SigningAlg,
    /// `None` => `http://{listener.local_addr()}`.
    pub issuer: Option<String>,
    pub clients: Vec<DevClient>,
    /// The faults in force at start (default: none).
    pub faults: Faults,
    /// Whether `/admin/faults` exists.
    pub admin: bool,
    /// Whether the IdP supports the OIDC Core 5.5 `claims` parameter (advertised in
    /// discovery): `auth_time` and `acr` asked for there go in the ID token. Off by default,
    /// as in panva's oidc-provider.
    pub claims_parameter: bool,
    /// Operator mode: signs in the invented staff of [`crate::operators`] (ID tokens with
    /// `groups`) instead of citizens, for the gateway's dashboard. `country` then only
    /// chooses the acr values advertised.
    pub operators: bool,
    /// Session logout (RP-Initiated and Back-Channel Logout 1.0): `sid` in ID tokens, an
    /// `end_session_endpoint`, logout tokens sent to the RP; `None`: none of it.
    pub logout: Option<DevLogout>,
}

/// What the IdP's clients registered for logout (the same for every client).
#[derive(Clone, Debug, Default)]
pub struct DevLogout {
    /// Where logout tokens are POSTed (the gateway's `/backchannel-logout/<cc>`).
    pub backchannel_logout_uri: Option<String>,
    /// Where `/logout` may send the browser afterwards (exact, or `:*` as the port).
    pub post_logout_redirect_uris: Vec<String>,
}

impl DevLogout {
    /// Whether `candidate` is a registered post-logout redirect URI.
    pub fn allows(&self, candidate: &str) -> bool {
        self.post_logout_redirect_uris
            .iter()
            .any(|r| redirect_matches(r, candidate))
    }
}

impl DevIdpConfig {
    /// A config with no clients, no faults, admin off and the issuer taken from the socket.
    pub fn new(country: CountryCode, alg: SigningAlg) -> Self {
        DevIdpConfig {
            country,
            alg,
            issuer: None,
            clients: Vec::new(),
            faults: Faults::default(),
            admin: false,
            claims_parameter: false,
            operators: false,
            logout: None,
        }
    }

    /// An operator IdP (see [`DevIdpConfig::operators`]) with no clients.
    pub fn operator_idp(alg: SigningAlg) -> Self {
        DevIdpConfig {
            operators: true,
            ..DevIdpConfig::new(jisr_mapping::Gcc::Bahrain.code(), alg)
        }
    }
}

/// A registered OAuth client of the IdP (the gateway, in practice).
#[derive(Clone, Debug)]
pub struct DevClient {
    pub client_id: String,
    pub auth: ClientAuth,
    /// Exact redirect URIs; `:*` as the port (`http://127.0.0.1:*/callback/sa`) matches any
    /// numeric port and nothing else, for the CLI demo whose gateway port varies.
    pub redirect_uris: Vec<String>,
}

impl DevClient {
    /// A `client_secret_basic` client.
    pub fn secret_basic(client_id: &str, secret: &str, redirect_uris: &[&str]) -> Self {
        DevClient {
            client_id: client_id.to_owned(),
            auth: ClientAuth::SecretBasic(secret.to_owned()),
            redirect_uris: redirect_uris.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// Whether `candidate` is one of this client's redirect URIs (exact, or `:*` port).
    pub fn allows_redirect(&self, candidate: &str) -> bool {
        self.redirect_uris
            .iter()
            .any(|registered| redirect_matches(registered, candidate))
    }
}

/// How a client authenticates at the token endpoint.
#[derive(Clone, Debug)]
pub enum ClientAuth {
    /// `client_secret_basic` with this secret.
    SecretBasic(String),
    /// `private_key_jwt` (RFC 7523) verified with these public keys.
    PrivateKeyJwt(jsonwebtoken::jwk::JwkSet),
}

fn redirect_matches(registered: &str, candidate: &str) -> bool {
    match registered.split_once(":*/") {
        None => registered == candidate,
        Some((prefix, suffix)) => {
            let Some(rest) = candidate
                .strip_prefix(prefix)
                .and_then(|r| r.strip_prefix(':'))
            else {
                return false;
            };
            let Some((port, path)) = rest.split_once('/') else {
                return false;
            };
            (1..=5).contains(&port.len())
                && port.bytes().all(|b| b.is_ascii_digit())
                && path == suffix
        }
    }
}

/// Fault switches: each makes the IdP misbehave in one precise way, for the gateway's tests.
///
/// All default to off. Set them in [`DevIdpConfig::faults`] or at run time with
/// `POST /admin/faults` (the whole struct as JSON; unknown fields are refused).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Every byte of the ID token signature flipped.
    pub wrong_signature: bool,
    /// Header `alg: "none"` and an empty signature.
    pub alg_none: bool,
    /// `iss` in the ID token is not this IdP's issuer (the `iss` redirect parameter stays right).
    pub wrong_iss: bool,
    /// `aud` is another client.
    pub wrong_aud: bool,
    /// `exp` in the past.
    pub expired: bool,
    /// `iat` (and `exp` with it) one hour ahead.
    pub iat_future: bool,
    /// `nonce` differs from the one sent to /authorize.
    pub nonce_mismatch: bool,
    /// No `kid` in the JWS header.
    pub omit_kid: bool,
    /// Publish this many extra, unrelated keys of the same type in the JWKS.
    pub extra_keys: u8,
    /// Which signing key is active: increase it to rotate to a new key with a new kid.
    pub key_generation: u32,
    /// After a rotation, keep publishing the keys of earlier generations in the JWKS.
    pub publish_old_keys: bool,
    /// Sign with new key material published under the active key's kid.
    pub replace_key_same_kid: bool,
    /// Userinfo answers with a different `sub` from the ID token's.
    pub userinfo_other_sub: bool,
    /// Top-level claim names removed from the ID token and userinfo.
    pub missing_claims: Vec<String>,
    /// Delay every response (except /admin/faults) by this many milliseconds.
    pub slow_ms: u64,
    /// Every endpoint except /admin/faults answers 503.
    pub down: bool,
    /// Merged into the JWS header last (may override `alg`, `kid`, `typ` …).
    pub header: Option<Map<String, Value>>,
    /// Merged into the ID token payload last.
    pub claims: Option<Map<String, Value>>,
    /// Header `alg: "HS256"`, HMAC keyed with the active public key's PEM text (SPKI).
    pub hs256_with_public_key: bool,
    /// Header `alg: "ES256"` and a signature of 64 zero bytes (r = s = 0).
    pub ecdsa_zero_signature: bool,
    /// Adds a `padding` claim of this many bytes to the ID token.
    pub pad_id_token_bytes: usize,
    /// The citizen already has a single sign-on session at the IdP, authenticated this many
    /// seconds ago: a login reuses it (`auth_time` that old) unless `prompt=login` or a
    /// shorter `max_age` makes the IdP authenticate again. 0: no session, every login is new.
    pub sso_session_age_secs: u64,
    /// The IdP ignores `prompt=login` and `max_age` and reuses the session anyway (a
    /// non-conforming IdP; the gateway must notice from `auth_time`).
    pub ignore_reauthentication: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_port_matches_digits_only() {
        let c = DevClient::secret_basic("jisr", "s", &["http://127.0.0.1:*/callback/sa"]);
        assert!(c.allows_redirect("http://127.0.0.1:8080/callback/sa"));
        assert!(!c.allows_redirect("http://127.0.0.1:8080/callback/sa/x"));
        assert!(!c.allows_redirect("http://127.0.0.1:80a/callback/sa"));
        assert!(!c.allows_redirect("http://127.0.0.1/callback/sa"));
        assert!(!c.allows_redirect("http://127.0.0.1.evil:80/callback/sa"));
        let exact = DevClient::secret_basic("jisr", "s", &["http://127.0.0.1:9/cb"]);
        assert!(exact.allows_redirect("http://127.0.0.1:9/cb"));
        assert!(!exact.allows_redirect("http://127.0.0.1:9/cb?x=1"));
    }

    #[test]
    fn alg_names_parse() {
        assert_eq!("eddsa".parse::<SigningAlg>().unwrap(), SigningAlg::EdDSA);
        assert!("HS256".parse::<SigningAlg>().is_err());
        for alg in SigningAlg::ALL {
            assert_eq!(alg.name().parse::<SigningAlg>().unwrap(), alg);
            assert_eq!(serde_json::to_value(alg).unwrap(), alg.name());
            assert_eq!(
                alg.name().parse::<jsonwebtoken::Algorithm>().unwrap(),
                alg.jwt()
            );
        }
        assert_eq!(SigningAlg::EdDSA.to_string(), "EdDSA");
        assert_eq!(
            "HS256".parse::<SigningAlg>().unwrap_err(),
            "unknown signing algorithm `HS256` (RS256, PS256, ES256, EdDSA)"
        );
    }

    #[test]
    fn faults_refuse_unknown_fields() {
        let f: Faults = serde_json::from_str(r#"{"alg_none": true}"#).unwrap();
        assert!(f.alg_none);
        assert!(serde_json::from_str::<Faults>(r#"{"alg_nope": true}"#).is_err());
    }
}
