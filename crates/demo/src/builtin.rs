//! What is built into the demo: the shipped country profiles and release policy (so `jisr
//! demo` runs from anywhere), and how the gateway reaches a development national IdP.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jisr_devidp::{DevIdp, SigningAlg};
use jisr_gateway::config::{MappingConfig, parse_country_file};
use jisr_gateway::upstream::config::{ClientAuth, JwksSettings, StaticEndpoints};
use jisr_gateway::upstream::{Mode, UpstreamConfig};
use jisr_mapping::{ConfigProblem, CountryCode, Gcc, Policy};

/// The shipped example profiles and policy, built in so the demo runs from anywhere.
const PROFILES: [(&str, &str); 6] = [
    (
        "config/countries/ae.toml",
        include_str!("../../../config/countries/ae.toml"),
    ),
    (
        "config/countries/bh.toml",
        include_str!("../../../config/countries/bh.toml"),
    ),
    (
        "config/countries/kw.toml",
        include_str!("../../../config/countries/kw.toml"),
    ),
    (
        "config/countries/om.toml",
        include_str!("../../../config/countries/om.toml"),
    ),
    (
        "config/countries/qa.toml",
        include_str!("../../../config/countries/qa.toml"),
    ),
    (
        "config/countries/sa.toml",
        include_str!("../../../config/countries/sa.toml"),
    ),
];
const POLICY_FILE: &str = "config/policy.toml";
const POLICY: &str = include_str!("../../../config/policy.toml");

/// Each country's development IdP signs with the algorithm its real counterpart uses (or is
/// expected to), so the demo exercises every verifier.
pub(crate) fn alg_for(country: CountryCode) -> SigningAlg {
    match country.gcc() {
        Some(Gcc::SaudiArabia) | Some(Gcc::UnitedArabEmirates) => SigningAlg::RS256,
        Some(Gcc::Oman) => SigningAlg::PS256,
        Some(Gcc::Kuwait) => SigningAlg::EdDSA,
        _ => SigningAlg::ES256,
    }
}

/// The upstream settings for a development IdP of `country` that knows this gateway as the
/// client `jisr` with `secret` (UAE PASS style OAuth2 with fixed endpoints for AE).
pub fn devidp_upstream(
    idp: &DevIdp,
    country: CountryCode,
    secret: &str,
    redirect_uri: String,
) -> UpstreamConfig {
    let oauth2 = jisr_devidp::claims::oauth2_only(country);
    UpstreamConfig {
        country,
        issuer: idp.issuer().to_owned(),
        client_id: "jisr".into(),
        client_auth: ClientAuth::SecretBasic(secret.to_owned()),
        algorithms: vec![idp.alg().jwt()],
        scopes: jisr_devidp::claims::scopes_supported(country)
            .into_iter()
            .map(str::to_owned)
            .collect(),
        mode: if oauth2 {
            Mode::Oauth2Userinfo
        } else {
            Mode::Oidc
        },
        userinfo: true,
        leeway: Duration::from_secs(60),
        require_typ: None,
        timeout: Duration::from_secs(5),
        jwks: JwksSettings::default(),
        redirect_uri,
        // UAE PASS publishes no discovery document: its endpoints are configured.
        endpoints: oauth2.then(|| StaticEndpoints {
            authorization: idp.url("/authorize"),
            token: idp.url("/token"),
            userinfo: Some(idp.url("/userinfo")),
            jwks_uri: None,
            iss_parameter_supported: false,
        }),
        tls: None,
    }
}

/// The shipped profiles and policy, parsed. They are checked by this crate's tests, so an
/// error here means the binary was built from a broken `config/`: reported, not a panic.
pub fn builtin_mapping() -> io::Result<MappingConfig> {
    let invalid = |p: ConfigProblem| io::Error::new(io::ErrorKind::InvalidData, p.to_string());
    let profiles = PROFILES
        .iter()
        .map(|(file, text)| {
            parse_country_file(Path::new(file), text).map(|c| (PathBuf::from(file), c.profile))
        })
        .collect::<Result<_, _>>()
        .map_err(invalid)?;
    Ok(MappingConfig {
        profiles,
        policy_file: PathBuf::from(POLICY_FILE),
        policy: Policy::from_toml(POLICY_FILE, POLICY).map_err(invalid)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_profiles_and_policy_load() {
        let mapping = match builtin_mapping() {
            Ok(mapping) => mapping,
            Err(e) => panic!("{e}"),
        };
        let mut countries: Vec<&str> = mapping
            .profiles
            .iter()
            .map(|(_, p)| p.country.as_str())
            .collect();
        countries.sort_unstable();
        assert_eq!(countries, ["AE", "BH", "KW", "OM", "QA", "SA"]);
        assert!(!mapping.policy.rules().is_empty());
    }
}
