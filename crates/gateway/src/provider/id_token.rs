//! The ID token: the shared assertion wrapped in the token envelope (OIDC Core 2). The
//! mapping builds the identity; only the gateway knows the envelope.

use jisr_mapping::CrossBorderAssertion;
use serde::Serialize;

use super::error::TokenError;
use super::keys::token_hash;
use super::state::CodeGrant;
use crate::app::Gateway;
use crate::config::agencies::Agency;

/// The ID token's claims: the envelope beside the assertion's claims.
#[derive(Debug, Serialize)]
pub struct IdTokenClaims<'a> {
    pub iss: &'a str,
    pub aud: &'a str,
    pub azp: &'a str,
    pub iat: i64,
    pub exp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<&'a str>,
    /// OIDC Core 3.1.3.6: half the hash of the access token issued with it.
    pub at_hash: String,
    /// The agency's session id (OIDC Front-/Back-Channel Logout).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<&'a str>,
    #[serde(flatten)]
    pub assertion: &'a CrossBorderAssertion,
}

/// Signs the ID token for `grant`, issued to `agency` with `access_token` at `now`.
pub fn issue(
    gw: &Gateway,
    agency: &Agency,
    grant: &CodeGrant,
    access_token: &str,
    now: i64,
) -> Result<String, TokenError> {
    // The agency's registered alg (checked against the keys at load), else the active key's.
    let alg = agency.id_token_signed_response_alg;
    let signed_with = gw
        .keys
        .signing_alg(alg)
        .map_err(|_| TokenError::Server("no signing key for the agency's algorithm"))?;
    let claims = IdTokenClaims {
        iss: &gw.issuer,
        aud: &agency.client_id,
        azp: &agency.client_id,
        iat: now,
        exp: now + gw.ttls.id_token.as_secs() as i64,
        nonce: grant.nonce.as_deref(),
        at_hash: token_hash(signed_with, access_token),
        sid: grant.sid.as_deref(),
        assertion: &grant.assertion,
    };
    gw.keys
        .sign_as(alg, "JWT", &claims)
        .map_err(|_| TokenError::Server("could not sign the ID token"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn assertion() -> CrossBorderAssertion {
        serde_json::from_value(json!({
            "sub": "OM/BH/synthetic-pseudonym",
            "auth_time": 1_764_400_000,
            "acr": "urn:jisr:loa:substantial",
            "amr": ["pwd"],
            "origin_country": "OM",
            "destination_country": "BH",
            "verified_claims": {
                "verification": {
                    "trust_framework": "jisr_gcc",
                    "assurance_level": "substantial",
                    "time": "2025-11-29T07:06:40Z",
                    "evidence": [{
                        "type": "electronic_record",
                        "record": {
                            "type": "national_digital_identity",
                            "source": {"name": "Oman eID (example)", "issuer": "https://idp.om.example", "country_code": "OM"}
                        }
                    }]
                },
                "claims": {
                    "person_identifier": "OM/BH/synthetic-pseudonym",
                    "given_name": "Test", "family_name": "Person",
                    "birthdate": "1990-01-01"
                }
            }
        }))
        .unwrap()
    }

    #[test]
    fn envelope_serialises_beside_the_identity_claims() {
        let a = assertion();
        let claims = IdTokenClaims {
            iss: "https://jisr.example",
            aud: "agency",
            azp: "agency",
            iat: 1_764_400_010,
            exp: 1_764_400_310,
            nonce: Some("n-0S6_WzA2Mj"),
            at_hash: "hash".into(),
            sid: None,
            assertion: &a,
        };
        let v = serde_json::to_value(&claims).unwrap();
        assert_eq!(v["iss"], "https://jisr.example");
        assert_eq!(v["nonce"], "n-0S6_WzA2Mj");
        assert_eq!(v["aud"], "agency");
        assert_eq!(v["sub"], "OM/BH/synthetic-pseudonym");
        assert_eq!(v["acr"], "urn:jisr:loa:substantial");
        assert_eq!(v["verified_claims"]["claims"]["birthdate"], "1990-01-01");
        // The assertion alone (userinfo) carries no envelope.
        let u = serde_json::to_value(&a).unwrap();
        for k in ["iss", "aud", "exp", "iat", "nonce", "azp", "at_hash"] {
            assert!(u.get(k).is_none(), "userinfo must not carry {k}");
        }
    }

    #[test]
    fn absent_nonce_is_omitted() {
        let a = assertion();
        let claims = IdTokenClaims {
            iss: "https://jisr.example",
            aud: "agency",
            azp: "agency",
            iat: 0,
            exp: 300,
            nonce: None,
            at_hash: String::new(),
            sid: None,
            assertion: &a,
        };
        assert!(
            serde_json::to_value(&claims)
                .unwrap()
                .get("nonce")
                .is_none()
        );
    }

    /// OIDC Core 2: `amr` is optional; an IdP that sent none gives no `amr`, not `[]`, in
    /// the ID token and userinfo, and the sealed grant reads back without it.
    #[test]
    fn amr_is_omitted_when_the_national_idp_sent_none() {
        let mut a = assertion();
        a.amr.clear();
        let claims = IdTokenClaims {
            iss: "https://jisr.example",
            aud: "agency",
            azp: "agency",
            iat: 0,
            exp: 300,
            nonce: None,
            at_hash: String::new(),
            sid: None,
            assertion: &a,
        };
        assert!(serde_json::to_value(&claims).unwrap().get("amr").is_none());
        let userinfo = serde_json::to_value(&a).unwrap();
        assert!(userinfo.get("amr").is_none());
        let back: CrossBorderAssertion = serde_json::from_value(userinfo).unwrap();
        assert_eq!(back, a);
        // With methods, they are there.
        let v = serde_json::to_value(assertion()).unwrap();
        assert_eq!(v["amr"], json!(["pwd"]));
    }
}
