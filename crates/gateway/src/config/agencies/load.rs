//! Reading `agencies.toml`: the file as written, its checks (client ids, names, countries,
//! sectors, redirect URIs), JWKS files and client secrets.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use jisr_mapping::{ConfigProblem, CountryCode};
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use serde::Deserialize;
use url::Url;

use super::{
    Agencies, Agency, AgencyAuth, AgencyNotice, BackChannel, MIN_SECRET_BYTES, Purpose, Secret,
};
use crate::config::files::{self, base_dir, invalid};
use crate::config::gateway::is_loopback;
use crate::config::secret::{Env, SecretError, SecretSource};
use crate::provider::keys::{SigningKeys, signing_alg};
use jsonwebtoken::Algorithm;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    agency: Vec<RawAgency>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAgency {
    client_id: String,
    name_en: String,
    name_ar: String,
    country: CountryCode,
    sector: String,
    redirect_uris: Vec<String>,
    auth: RawAuth,
    #[serde(default)]
    id_token_signed_response_alg: Option<String>,
    /// Shown on the consent page, both optional.
    #[serde(default)]
    purpose: Option<Purpose>,
    #[serde(default)]
    privacy_url: Option<String>,
    /// Token exchange (RFC 8693) registration.
    #[serde(default)]
    exchange: Option<RawExchange>,
    /// Agencies whose access tokens this one may introspect (RFC 7662).
    #[serde(default)]
    introspection_for: Vec<String>,
    // Logout registration (see `super::logout`).
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    backchannel_logout_uri: Option<String>,
    #[serde(default)]
    backchannel_logout_session_required: bool,
    #[serde(default)]
    frontchannel_logout_uri: Option<String>,
    #[serde(default)]
    frontchannel_logout_session_required: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExchange {
    /// `{ SA = ["sa-mobile-app"], … }`: national client ids per origin country.
    #[serde(default)]
    audiences: HashMap<CountryCode, Vec<String>>,
    #[serde(default)]
    legal_basis: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
enum RawAuth {
    ClientSecretBasic { secret: SecretSource },
    ClientSecretPost { secret: SecretSource },
    PrivateKeyJwt { jwks_file: PathBuf },
}

pub(crate) struct Outcome {
    pub count: usize,
    /// Each `id_token_signed_response_alg` that parsed, by agency index, whether or not the
    /// agency's secret could be read: `check-config` checks them against the keys held.
    pub id_token_algs: Vec<(usize, Algorithm)>,
    /// Complete only when `problems` is empty and secrets were read.
    pub agencies: Vec<Agency>,
    /// Every problem, tagged absent (a secret not on this machine) or invalid.
    pub problems: Vec<ConfigProblem>,
}

/// Reads `agencies.toml` with its secrets: how many agencies it lists (`None` when the file
/// does not parse) and the agencies, or every problem.
pub(crate) fn load(
    file: &Path,
    env: Env<'_>,
) -> (Option<usize>, Result<Agencies, Vec<ConfigProblem>>) {
    let read = read(file, env);
    (read.count, read.agencies)
}

/// What [`read`] found in `agencies.toml`.
pub(crate) struct Read {
    /// How many agencies it lists; `None` when the file does not parse.
    pub count: Option<usize>,
    /// See [`Outcome::id_token_algs`].
    pub id_token_algs: Vec<(usize, Algorithm)>,
    pub agencies: Result<Agencies, Vec<ConfigProblem>>,
}

/// [`load`], plus each agency's `id_token_signed_response_alg` by index.
pub(crate) fn read(file: &Path, env: Env<'_>) -> Read {
    match build(file, Some(env)) {
        Err(problems) => Read {
            count: None,
            id_token_algs: Vec::new(),
            agencies: Err(problems),
        },
        Ok(outcome) if !outcome.problems.is_empty() => Read {
            count: Some(outcome.count),
            id_token_algs: outcome.id_token_algs,
            agencies: Err(outcome.problems),
        },
        Ok(outcome) => Read {
            count: Some(outcome.count),
            id_token_algs: outcome.id_token_algs,
            agencies: Agencies::from_list(outcome.agencies)
                .map_err(|e| vec![invalid(file, "agency", e)]),
        },
    }
}

/// A problem for each `(agency index, alg)` that no signing key in `keys` signs.
pub(crate) fn check_signing_algs(
    file: &Path,
    algs: &[(usize, Algorithm)],
    keys: &SigningKeys,
) -> Vec<ConfigProblem> {
    algs.iter()
        .filter(|(_, alg)| !keys.signs(*alg))
        .map(|(i, alg)| {
            let alg = crate::alg::name(*alg);
            invalid(
                file,
                &format!("agency[{i}].id_token_signed_response_alg"),
                format!(
                    "no signing key signs {alg} (keys.files hold {}); add one made with \
                     `jisr keys generate --alg {alg}`",
                    crate::alg::names(&keys.algs()),
                ),
            )
        })
        .collect()
}

/// Parses and validates; with `env`, also reads secrets. A syntax or type error stops early
/// (nothing after it can be trusted); validation problems are all collected.
pub(crate) fn build(file: &Path, env: Option<Env<'_>>) -> Result<Outcome, Vec<ConfigProblem>> {
    let raw: RawFile = files::read_toml(file).map_err(|p| vec![p])?;
    let base_dir = base_dir(file);
    let mut out = Outcome {
        count: raw.agency.len(),
        id_token_algs: Vec::new(),
        agencies: Vec::new(),
        problems: Vec::new(),
    };
    if raw.agency.is_empty() {
        out.problems
            .push(invalid(file, "agency", "list at least one [[agency]]"));
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, a) in raw.agency.iter().enumerate() {
        let mut bad = |key: &str, msg: String| {
            out.problems
                .push(invalid(file, &format!("agency[{i}].{key}"), msg))
        };
        let id = a.client_id.as_str();
        if id.is_empty() {
            bad("client_id", "must not be empty".into());
        } else if id.len() > 255 || id.chars().any(|c| !c.is_ascii_graphic()) {
            bad(
                "client_id",
                "use at most 255 printable ASCII characters without spaces".into(),
            );
        } else if let Some(first) = seen.get(id) {
            bad(
                "client_id",
                format!("duplicate client_id `{id}` (also agency[{first}])"),
            );
        } else {
            seen.insert(id, i);
        }
        for (key, name) in [("name_en", &a.name_en), ("name_ar", &a.name_ar)] {
            if name.trim().is_empty() {
                bad(key, "must not be empty".into());
            }
        }
        if a.country.gcc().is_none() {
            bad(
                "country",
                format!("{} is not a GCC member state", a.country),
            );
        }
        if a.sector.is_empty() {
            bad("sector", "must not be empty".into());
        } else if !a
            .sector
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            bad(
                "sector",
                "use only a-z, 0-9, `-` and `_` (it is part of the pairwise sector)".into(),
            );
        }
        if a.redirect_uris.is_empty() {
            bad("redirect_uris", "list at least one redirect URI".into());
        }
        for (j, uri) in a.redirect_uris.iter().enumerate() {
            if let Err(e) = check_redirect_uri(uri) {
                bad(&format!("redirect_uris[{j}]"), e);
            }
        }
        // Checked against the signing keys held by `config::load`, once both are read.
        let id_token_alg = match a.id_token_signed_response_alg.as_deref().map(signing_alg) {
            None => None,
            Some(Ok(alg)) => {
                out.id_token_algs.push((i, alg));
                Some(alg)
            }
            Some(Err(e)) => {
                bad("id_token_signed_response_alg", e.to_string());
                None
            }
        };
        if let Some(p) = &a.purpose {
            for (key, text) in [("purpose.en", &p.en), ("purpose.ar", &p.ar)] {
                if text.trim().is_empty() || text.chars().count() > 300 {
                    bad(key, "write 1 to 300 characters".into());
                }
            }
        }
        if let Some(uri) = &a.privacy_url
            && let Err(e) = check_privacy_url(uri)
        {
            bad("privacy_url", e);
        }
        let back_channel = back_channel(a, &mut bad);
        let (logout, logout_problems) = super::logout::RawLogout {
            post_logout_redirect_uris: a.post_logout_redirect_uris.clone(),
            backchannel_logout_uri: a.backchannel_logout_uri.clone(),
            backchannel_logout_session_required: a.backchannel_logout_session_required,
            frontchannel_logout_uri: a.frontchannel_logout_uri.clone(),
            frontchannel_logout_session_required: a.frontchannel_logout_session_required,
        }
        .validate(check_redirect_uri);
        for (key, problem) in logout_problems {
            bad(&key, problem);
        }
        let auth = match &a.auth {
            RawAuth::PrivateKeyJwt { jwks_file } => match load_jwks(&base_dir.join(jwks_file)) {
                Ok(set) => Some(AgencyAuth::PrivateKeyJwt(set)),
                Err(e) => {
                    bad("auth.jwks_file", e);
                    None
                }
            },
            RawAuth::ClientSecretBasic { secret } | RawAuth::ClientSecretPost { secret } => {
                let Some(env) = env else { continue };
                let read = secret.read_classified(&base_dir, env).and_then(|b| {
                    if b.len() < MIN_SECRET_BYTES {
                        Err(SecretError::Invalid(format!(
                            "client secret must be at least {MIN_SECRET_BYTES} bytes, got {}",
                            b.len()
                        )))
                    } else {
                        Ok(Secret(b))
                    }
                });
                match read {
                    Ok(s) if matches!(a.auth, RawAuth::ClientSecretBasic { .. }) => {
                        Some(AgencyAuth::ClientSecretBasic(s))
                    }
                    Ok(s) => Some(AgencyAuth::ClientSecretPost(s)),
                    Err(e) => {
                        out.problems
                            .push(e.problem(file, &format!("agency[{i}].auth.secret")));
                        None
                    }
                }
            }
        };
        if let Some(auth) = auth {
            out.agencies.push(Agency {
                client_id: a.client_id.clone(),
                name_en: a.name_en.trim().to_owned(),
                name_ar: a.name_ar.trim().to_owned(),
                country: a.country,
                sector: a.sector.clone(),
                redirect_uris: a.redirect_uris.clone(),
                auth,
                id_token_signed_response_alg: id_token_alg,
                notice: AgencyNotice {
                    purpose: a.purpose.clone(),
                    privacy_url: a.privacy_url.clone(),
                },
                back_channel,
                logout,
            });
        }
    }
    check_introspection_for(file, &raw.agency, &mut out.problems);
    Ok(out)
}

/// Checks an agency's `[agency.exchange]` table into its [`BackChannel`], reporting each
/// problem as `agency[i].exchange.…`.
fn back_channel(a: &RawAgency, mut bad: impl FnMut(&str, String)) -> BackChannel {
    let mut channel = BackChannel {
        introspection_for: a.introspection_for.clone(),
        ..BackChannel::default()
    };
    let Some(exchange) = &a.exchange else {
        return channel;
    };
    for (country, clients) in &exchange.audiences {
        let key = format!("exchange.audiences.{country}");
        if country.gcc().is_none() {
            bad(&key, format!("{country} is not a GCC member state"));
        }
        if clients.is_empty() {
            bad(&key, "list at least one national client id".into());
        }
        for (j, id) in clients.iter().enumerate() {
            if id.is_empty() || id.len() > 255 || id.chars().any(|c| !c.is_ascii_graphic()) {
                bad(
                    &format!("{key}[{j}]"),
                    "use 1 to 255 printable ASCII characters without spaces".into(),
                );
            }
        }
    }
    if let Some(basis) = &exchange.legal_basis
        && (basis.trim().is_empty()
            || basis.len() > 128
            || basis.chars().any(|c| !c.is_ascii_graphic()))
    {
        bad(
            "exchange.legal_basis",
            "use 1 to 128 printable ASCII characters without spaces, as the policy names it".into(),
        );
    }
    channel.exchange_audiences = exchange.audiences.clone();
    channel.legal_basis = exchange.legal_basis.clone();
    channel
}

/// `introspection_for` must name other registered agencies.
fn check_introspection_for(file: &Path, agencies: &[RawAgency], problems: &mut Vec<ConfigProblem>) {
    for (i, a) in agencies.iter().enumerate() {
        for (j, id) in a.introspection_for.iter().enumerate() {
            let key = format!("agency[{i}].introspection_for[{j}]");
            if *id == a.client_id {
                problems.push(invalid(
                    file,
                    &key,
                    "an agency always introspects its own tokens; list other agencies only",
                ));
            } else if !agencies.iter().any(|other| other.client_id == *id) {
                problems.push(invalid(
                    file,
                    &key,
                    format!("`{id}` is not a registered client_id"),
                ));
            }
        }
    }
}

/// A privacy notice link: absolute https (http only on loopback), no credentials.
fn check_privacy_url(uri: &str) -> Result<(), String> {
    let url = Url::parse(uri).map_err(|e| format!("`{uri}` is not an absolute URL: {e}"))?;
    let loopback = is_loopback(&url);
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err(format!("`{uri}` must be https")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("`{uri}` must not carry credentials"));
    }
    Ok(())
}

/// A redirect URI an agency may register: absolute https (http only on loopback, for
/// development), no fragment (RFC 6749 §3.1.2), no credentials.
fn check_redirect_uri(uri: &str) -> Result<(), String> {
    let url = Url::parse(uri).map_err(|e| format!("not an absolute URL: {e}"))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(
                "http is allowed only on loopback (127.0.0.1, localhost, [::1]); use https".into(),
            );
        }
        other => return Err(format!("scheme `{other}` is not allowed; use https")),
    }
    if url.fragment().is_some() || uri.contains('#') {
        return Err("must not contain a fragment".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain credentials".into());
    }
    Ok(())
}

/// Reads an agency's JWKS: public signature keys only, at least one.
fn load_jwks(path: &Path) -> Result<JwkSet, String> {
    let shown = path.display();
    let text = files::read(path).map_err(|p| format!("{shown}: {}", p.problem))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{shown} is not JSON: {e}"))?;
    let private = ["d", "p", "q", "dp", "dq", "qi", "k"];
    if let Some(keys) = value.get("keys").and_then(|k| k.as_array()) {
        for (i, key) in keys.iter().enumerate() {
            if let Some(p) = private.iter().find(|p| key.get(**p).is_some()) {
                return Err(format!(
                    "{shown}: keys[{i}] has private or symmetric key material (`{p}`); publish public keys only"
                ));
            }
        }
    }
    let set: JwkSet =
        serde_json::from_value(value).map_err(|e| format!("{shown} is not a JWK Set: {e}"))?;
    if set.keys.is_empty() {
        return Err(format!("{shown}: list at least one key"));
    }
    for (i, jwk) in set.keys.iter().enumerate() {
        // jsonwebtoken takes members it cannot read as a key of another type.
        if matches!(jwk.algorithm, AlgorithmParameters::Other(_)) {
            return Err(format!(
                "{shown} is not a JWK Set: keys[{i}] is not a complete key of a known type"
            ));
        }
        if matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_)) {
            return Err(format!("{shown}: keys[{i}] is a symmetric key"));
        }
        jsonwebtoken::DecodingKey::from_jwk(jwk)
            .map_err(|e| format!("{shown}: keys[{i}] is not a usable public key: {e}"))?;
    }
    Ok(set)
}

/// Each `exchange.audiences` country must have a national IdP that issues ID tokens: one
/// configured, and not in OAuth 2.0 + userinfo mode.
pub(crate) fn check_exchange_countries(
    file: &Path,
    agencies: &Agencies,
    upstreams: &[crate::upstream::UpstreamConfig],
) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    for (i, agency) in agencies.iter().enumerate() {
        let mut countries: Vec<_> = agency.back_channel.exchange_audiences.keys().collect();
        countries.sort_by_key(|c| c.as_str());
        for country in countries {
            let key = format!("agency[{i}].exchange.audiences.{country}");
            match upstreams.iter().find(|u| u.country == *country) {
                None => problems.push(invalid(
                    file,
                    &key,
                    format!("no national IdP is configured for {country}"),
                )),
                Some(u) if u.mode == crate::upstream::Mode::Oauth2Userinfo => {
                    problems.push(invalid(
                        file,
                        &key,
                        format!(
                            "the national IdP of {country} issues no ID tokens (mode \
                             oauth2_userinfo); its tokens cannot be exchanged"
                        ),
                    ))
                }
                Some(_) => {}
            }
        }
    }
    problems
}
