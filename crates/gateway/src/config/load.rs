//! The one loader behind [`super::Config::load`] and [`super::check`]: every file, secret and
//! key in one pass, every problem collected (a broken `gateway.toml` does not hide the files
//! beside it).

use std::path::{Path, PathBuf};

use jisr_mapping::ConfigProblem;

use super::Config;
use super::agencies::{self, Agencies};
use super::files::{base_dir, invalid};
use super::gateway::{GatewayConfig, GatewaySecrets, TlsPem};
use super::mapping::{self, MappingConfig};
use super::secret::env_lookup;
use crate::provider::keys::SigningKeys;
use crate::upstream::{UpstreamConfig, needs_userinfo};

/// What one pass over a configuration found: each part that loaded, and every problem.
#[derive(Default)]
pub(super) struct Loaded {
    /// The `gateway.toml` this was (or would have been) read from.
    pub file: PathBuf,
    pub gateway: Option<GatewayConfig>,
    /// A directory without `gateway.toml`: `check-config` checks the files beside it,
    /// `serve` cannot start.
    pub gateway_missing: bool,
    pub secrets: Option<GatewaySecrets>,
    pub keys: Option<SigningKeys>,
    pub tls: Option<Option<TlsPem>>,
    pub mapping: Option<MappingConfig>,
    pub upstreams: Option<Vec<UpstreamConfig>>,
    /// How many agencies `agencies.toml` lists, when it parses.
    pub agency_count: Option<usize>,
    pub agencies: Option<Agencies>,
    pub problems: Vec<ConfigProblem>,
    pub admin: Option<Option<crate::config::gateway::admin::AdminSettings>>,
    pub audit: Option<Option<crate::config::gateway::audit::AuditSettings>>,
}

/// Reads `path` (a directory or its `gateway.toml`) with the environment `vars`.
pub(super) fn load(path: &Path, vars: &[(String, String)]) -> Loaded {
    let env = env_lookup(vars);
    let mut l = Loaded {
        file: if path.is_dir() {
            path.join("gateway.toml")
        } else {
            path.to_owned()
        },
        ..Loaded::default()
    };
    if path.is_dir() && !l.file.exists() {
        l.gateway_missing = true;
    } else {
        match GatewayConfig::load_with(&l.file, vars.iter().map(|(k, v)| (k, v))) {
            Ok(g) => l.gateway = Some(g),
            Err(p) => l.problems.extend(p),
        }
    }
    let (countries, policy, agencies_file) = match &l.gateway {
        Some(g) => (
            g.paths.countries.clone(),
            g.paths.policy.clone(),
            Some(g.paths.agencies.clone()),
        ),
        None => {
            // No usable gateway.toml: the default layout beside it.
            let dir = if path.is_dir() {
                path.to_owned()
            } else {
                base_dir(path)
            };
            let default_layout =
                dir.join("countries").is_dir() && dir.join("policy.toml").is_file();
            if !l.problems.is_empty() && !default_layout {
                return l;
            }
            let agencies = dir.join("agencies.toml");
            (
                dir.join("countries"),
                dir.join("policy.toml"),
                agencies.exists().then_some(agencies),
            )
        }
    };
    if let Some(g) = &l.gateway {
        let mut problems = Vec::new();
        l.secrets = g.resolve_secrets(&env).map_err(|p| problems.extend(p)).ok();
        l.keys = g.load_signing_keys().map_err(|p| problems.extend(p)).ok();
        l.tls = g.load_tls().map_err(|p| problems.extend(p)).ok();
        let base = g.base_dir();
        l.admin = match &g.admin {
            None => Some(None),
            Some(a) => a
                .resolve(&l.file, base, &env)
                .map(Some)
                .map_err(|p| problems.push(p))
                .ok(),
        };
        l.audit = match &g.audit {
            None => Some(None),
            Some(a) => a
                .resolve(&l.file, base, &env)
                .map(Some)
                .map_err(|p| problems.push(p))
                .ok(),
        };
        l.problems.extend(problems);
    }
    match mapping::load(&countries, &policy) {
        Ok((mapping, idps)) => {
            let issuer = l.gateway.as_ref().map_or("", |g| g.server.issuer());
            let mut upstreams = Vec::with_capacity(idps.len());
            let mut problems = Vec::new();
            for (file, country, idp) in &idps {
                let cc = country.as_str().to_ascii_lowercase();
                let redirect_uri = format!("{issuer}/callback/{cc}");
                match idp.resolve(file, *country, redirect_uri, &env) {
                    Ok(mut upstream) => {
                        upstream.userinfo =
                            upstream.userinfo && needs_userinfo(&upstream, &mapping, *country);
                        upstreams.push(upstream);
                    }
                    Err(p) => problems.push(p),
                }
            }
            l.upstreams = problems.is_empty().then_some(upstreams);
            l.problems.extend(problems);
            l.mapping = Some(mapping);
        }
        Err(p) => l.problems.extend(p),
    }
    if let Some(file) = agencies_file {
        let read = agencies::load::read(&file, &env);
        l.agency_count = read.count;
        l.agencies = read.agencies.map_err(|p| l.problems.extend(p)).ok();
        // Token exchange needs the origin's national IdP to issue ID tokens.
        if let (Some(agencies), Some(upstreams)) = (&l.agencies, &l.upstreams) {
            l.problems.extend(agencies::load::check_exchange_countries(
                &file, agencies, upstreams,
            ));
        }
        // Only against keys that loaded: absent key files are reported on their own.
        if let Some(keys) = &l.keys {
            l.problems.extend(agencies::load::check_signing_algs(
                &file,
                &read.id_token_algs,
                keys,
            ));
        }
    }
    l
}

impl Loaded {
    /// The configuration `serve` runs on, when nothing is absent or invalid.
    pub(super) fn into_config(mut self) -> Result<Config, Vec<ConfigProblem>> {
        if self.gateway_missing {
            self.problems
                .insert(0, invalid(&self.file, "(file)", "not found"));
        }
        let parts = (
            self.gateway,
            self.secrets,
            self.keys,
            self.tls,
            self.mapping,
            self.upstreams,
            self.agencies,
            self.admin,
            self.audit,
        );
        match parts {
            (
                Some(gateway),
                Some(secrets),
                Some(keys),
                Some(tls),
                Some(mapping),
                Some(upstreams),
                Some(agencies),
                Some(admin),
                Some(audit),
            ) if self.problems.is_empty() => Ok(Config {
                server: gateway.server,
                tls,
                store: secrets.store,
                keys,
                pairwise_key: secrets.pairwise_key,
                tokens: gateway.tokens,
                mapping,
                agencies,
                upstreams,
                admin,
                audit,
                session: gateway.session,
                rate_limits: gateway.rate_limits.clone(),
            }),
            // Every part that did not load reported why; this guards the invariant.
            _ if self.problems.is_empty() => Err(vec![invalid(
                &self.file,
                "(file)",
                "the configuration is incomplete",
            )]),
            _ => Err(self.problems),
        }
    }
}
