//! `[admin]`: the operators' listener (metrics, dashboard, health), never the public one,
//! and how operators sign in to the dashboard: OpenID Connect at an operator IdP, an
//! allow-list of subjects or groups, each with a role.
//!
//! ```toml
//! [admin]
//! listen = "127.0.0.1:9090"
//! public_url = "http://127.0.0.1:9090"      # the dashboard's origin, no path (operator login returns here)
//! [admin.login]
//! issuer = "https://login.ops.example"
//! client_id = "jisr-dashboard"
//! client_secret = { env = "JISR_OPERATOR_CLIENT_SECRET" }
//! groups_claim = "groups"                    # default
//! [[admin.operators]]
//! group = "jisr-admins"
//! role = "admin"
//! [[admin.operators]]
//! subject = "op-1234"
//! role = "viewer"
//! ```

use std::net::SocketAddr;
use std::path::Path;

use serde::Deserialize;
use url::Url;

use super::validate::Problems;
use crate::config::secret::{Env, SecretSource};
use jisr_mapping::ConfigProblem;

/// `[admin]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAdmin {
    listen: String,
    public_url: Option<String>,
    login: Option<RawLogin>,
    #[serde(default)]
    operators: Vec<RawOperator>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLogin {
    issuer: String,
    client_id: String,
    client_secret: SecretSource,
    #[serde(default = "default_groups_claim")]
    groups_claim: String,
}

fn default_groups_claim() -> String {
    "groups".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOperator {
    subject: Option<String>,
    group: Option<String>,
    role: Role,
}

/// What an operator may do on the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Sees everything the dashboard shows.
    Viewer,
    /// Also suspends and resumes countries and pairs.
    Admin,
}

impl Role {
    pub const fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Admin => "admin",
        }
    }
}

/// Who is an operator: one subject of the operator IdP, or everyone in one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperatorMatch {
    Subject(String),
    Group(String),
}

/// One allow-list entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorGrant {
    pub who: OperatorMatch,
    pub role: Role,
}

/// The validated `[admin]` section (the client secret still a source).
#[derive(Debug, Clone)]
pub struct AdminConfig {
    pub listen: SocketAddr,
    /// The dashboard's base URL, without a trailing slash (`http://<listen>` by default).
    pub public_url: String,
    pub login: Option<LoginConfig>,
    pub operators: Vec<OperatorGrant>,
}

/// Operator sign-in at an OpenID Provider.
#[derive(Debug, Clone)]
pub struct LoginConfig {
    pub issuer: Url,
    pub client_id: String,
    pub client_secret: SecretSource,
    pub groups_claim: String,
}

/// `[admin]` with its secret read: what the gateway runs on.
#[derive(Clone)]
pub struct AdminSettings {
    pub listen: SocketAddr,
    pub public_url: String,
    pub login: Option<OperatorLogin>,
    pub operators: Vec<OperatorGrant>,
}

/// Operator sign-in with the client secret read.
#[derive(Clone)]
pub struct OperatorLogin {
    pub issuer: Url,
    pub client_id: String,
    pub client_secret: String,
    pub groups_claim: String,
}

impl std::fmt::Debug for AdminSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminSettings")
            .field("listen", &self.listen)
            .field("public_url", &self.public_url)
            .field("login", &self.login.as_ref().map(|l| l.issuer.as_str()))
            .field("operators", &self.operators)
            .finish()
    }
}

impl AdminSettings {
    /// The role of an operator with `subject` and `groups`, if the allow-list names them
    /// (the strongest role any matching entry gives).
    pub fn role_of(&self, subject: &str, groups: &[String]) -> Option<Role> {
        self.operators
            .iter()
            .filter(|g| match &g.who {
                OperatorMatch::Subject(s) => s == subject,
                OperatorMatch::Group(name) => groups.iter().any(|g| g == name),
            })
            .map(|g| g.role)
            .max()
    }

    /// Whether an allow-list entry names `group`.
    pub fn names_group(&self, group: &str) -> bool {
        self.operators
            .iter()
            .any(|g| matches!(&g.who, OperatorMatch::Group(name) if name == group))
    }
}

pub(super) fn validate(
    raw: RawAdmin,
    base_dir: &Path,
    problems: &mut Problems,
) -> Option<AdminConfig> {
    let before = problems.len();
    let mut bad = |key: &str, msg: String| problems.push((format!("admin.{key}"), msg));
    let listen = raw
        .listen
        .parse::<SocketAddr>()
        .map_err(|_| {
            bad(
                "listen",
                "not a socket address such as `127.0.0.1:9090`".into(),
            )
        })
        .ok();
    let public_url = match (&raw.public_url, listen) {
        (Some(u), _) => match Url::parse(u) {
            // The dashboard's redirects and forms use root paths (`/login`, `/actions/…`):
            // it cannot live under a path prefix.
            Ok(url)
                if matches!(url.scheme(), "http" | "https")
                    && url.query().is_none()
                    && url.fragment().is_none()
                    && url.path() == "/" =>
            {
                Some(url.as_str().trim_end_matches('/').to_owned())
            }
            _ => {
                bad(
                    "public_url",
                    "must be an http(s) origin such as `https://ops.example`, without a path, query or fragment".into(),
                );
                None
            }
        },
        (None, Some(l)) => Some(format!("http://{l}")),
        (None, None) => None,
    };
    let login = raw.login.and_then(|l| {
        let issuer = Url::parse(&l.issuer)
            .ok()
            .filter(|u| u.scheme() == "https" || (u.scheme() == "http" && super::is_loopback(u)))
            .or_else(|| {
                bad(
                    "login.issuer",
                    "must be an https URL (http only on loopback for development)".into(),
                );
                None
            })?;
        if l.client_id.trim().is_empty() {
            bad("login.client_id", "must not be empty".into());
            return None;
        }
        Some(LoginConfig {
            issuer,
            client_id: l.client_id,
            client_secret: l.client_secret.under(base_dir),
            groups_claim: l.groups_claim,
        })
    });
    let mut operators = Vec::new();
    for (i, op) in raw.operators.into_iter().enumerate() {
        let who = match (op.subject, op.group) {
            (Some(s), None) if !s.trim().is_empty() => OperatorMatch::Subject(s),
            (None, Some(g)) if !g.trim().is_empty() => OperatorMatch::Group(g),
            _ => {
                bad(
                    &format!("operators[{i}]"),
                    "name exactly one non-empty `subject` or `group`".into(),
                );
                continue;
            }
        };
        operators.push(OperatorGrant { who, role: op.role });
    }
    let ok = problems.len() == before;
    match (listen, public_url) {
        (Some(listen), Some(public_url)) if ok => Some(AdminConfig {
            listen,
            public_url,
            login,
            operators,
        }),
        _ => None,
    }
}

impl AdminConfig {
    /// Reads the operator client secret.
    pub fn resolve(
        &self,
        file: &Path,
        base_dir: &Path,
        env: Env<'_>,
    ) -> Result<AdminSettings, ConfigProblem> {
        let login = match &self.login {
            None => None,
            Some(l) => {
                let secret = l
                    .client_secret
                    .read_classified(base_dir, env)
                    .map_err(|e| e.problem(file, "admin.login.client_secret"))?;
                let secret = String::from_utf8(secret).map_err(|_| {
                    ConfigProblem::invalid(
                        file.display().to_string(),
                        "admin.login.client_secret",
                        "must be UTF-8 text",
                    )
                })?;
                Some(OperatorLogin {
                    issuer: l.issuer.clone(),
                    client_id: l.client_id.clone(),
                    client_secret: secret.trim().to_owned(),
                    groups_claim: l.groups_claim.clone(),
                })
            }
        };
        Ok(AdminSettings {
            listen: self.listen,
            public_url: self.public_url.clone(),
            login,
            operators: self.operators.clone(),
        })
    }
}
