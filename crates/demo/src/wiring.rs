//! `jisr demo`: the gateway, a development national IdP for each of the six GCC states and a
//! demo agency, in one process, with the in-memory store and generated keys. Also what the
//! end-to-end tests and the login benchmark start on port 0.

use std::net::SocketAddr;
use std::sync::Arc;

use jisr_devidp::{DevClient, DevIdp, DevIdpConfig};
use jisr_gateway::app::{Clock, Gateway, random_token, system_clock};
use jisr_gateway::config::agencies::{Agencies, Agency, AgencyAuth, AgencyNotice, Purpose, Secret};
use jisr_gateway::config::gateway::admin::{
    AdminSettings, OperatorGrant, OperatorLogin, OperatorMatch, Role,
};
use jisr_gateway::config::{Config, ServerConfig, StoreSettings, TokenConfig};
use jisr_gateway::provider::keys::{SigningAlg as GatewayAlg, SigningKeys};
use jisr_mapping::{CountryCode, Gcc, PairwiseKey, Policy};
use jisr_store::{MemoryStore, Store};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::agency::{self, AgencyConfig};
use crate::builtin::{alg_for, builtin_mapping, devidp_upstream};

/// The demo agency's client id.
pub const AGENCY_CLIENT_ID: &str = "demo-agency";

/// The second demo agency's client id (same country, another sector: single sign-on
/// between the two where the pair's policy allows it).
pub const SECOND_AGENCY_CLIENT_ID: &str = "demo-agency-labour";

/// The client id registered for the developer's own OIDC client (see
/// [`DemoOptions::own_client_redirect_uris`]).
pub const OWN_CLIENT_ID: &str = "my-oidc-client";

/// Where to listen (port 0 picks a free port, as tests do).
#[derive(Clone)]
pub struct DemoOptions {
    pub gateway_port: u16,
    pub agency_port: u16,
    /// A second demo agency ("Ministry of Labour (demo)", same country) on this port, for
    /// single sign-on between agencies; `None` runs none. `jisr demo` runs it.
    pub second_agency_port: Option<u16>,
    /// The gateway's admin listener (metrics, dashboard).
    pub admin_port: u16,
    /// The demo agency's country (destination of the assertions).
    pub agency_country: CountryCode,
    pub gateway_alg: GatewayAlg,
    pub clock: Option<Clock>,
    /// More agencies registered at the gateway (tests).
    pub extra_agencies: Vec<Agency>,
    /// The flow-state store; `None` is a fresh in-memory store.
    pub store: Option<Arc<dyn Store>>,
    /// The gateway's `[store]` as configured, which the dashboard's fleet aggregates and
    /// suspensions follow; `None` is memory (this replica). Redis makes them fleet-wide.
    pub store_settings: Option<StoreSettings>,
    /// The release policy; `None` is the shipped `config/policy.toml`.
    pub policy: Option<Policy>,
    /// Runs the gateway's server on this runtime instead of the current one, so a benchmark
    /// can measure the gateway's CPU apart from the IdPs and the load driver.
    pub gateway_runtime: Option<tokio::runtime::Handle>,
    /// Write the audit log here (keys generated on first use); `None`: no audit log.
    pub audit_dir: Option<std::path::PathBuf>,
    /// Redirect URIs of a second client, [`OWN_CLIENT_ID`], registered so a developer can
    /// plug their own OIDC client into the demo gateway; empty registers none.
    pub own_client_redirect_uris: Vec<String>,
    /// The development national IdPs take part in logout: `sid` in their ID tokens, an
    /// `end_session_endpoint` returning to the gateway's `/logout/return`, and logout
    /// tokens sent to the gateway's `/backchannel-logout/<cc>`. `jisr demo` turns it on.
    pub national_logout: bool,
    /// The gateway's `[session]` lifetimes (the soak shortens them).
    pub session: jisr_gateway::config::gateway::session::SessionConfig,
    /// The gateway's `[rate_limits]` (the load benchmarks turn them off).
    pub rate_limits: jisr_gateway::config::gateway::rate::RateLimitConfig,
}

/// Rate limits for load benchmarks: on, as in production, so every request is counted, but
/// at 10 million per minute per address and per agency, far above one load driver's rate.
pub fn bench_rate_limits() -> jisr_gateway::config::gateway::rate::RateLimitConfig {
    use jisr_gateway::config::gateway::rate::{RateLimitConfig, RouteLimits};
    let high = RouteLimits {
        per_address: 10_000_000,
        per_client: 10_000_000,
    };
    RateLimitConfig {
        authorize: high,
        token: high,
        introspect: high,
        userinfo: high,
        pages: RouteLimits {
            per_client: 0,
            ..high
        },
        ..RateLimitConfig::default()
    }
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            gateway_port: 8080,
            agency_port: 8081,
            second_agency_port: None,
            admin_port: 8090,
            agency_country: Gcc::Bahrain.code(),
            gateway_alg: GatewayAlg::ES256,
            clock: None,
            extra_agencies: Vec::new(),
            store: None,
            store_settings: None,
            policy: None,
            gateway_runtime: None,
            audit_dir: None,
            own_client_redirect_uris: Vec::new(),
            national_logout: false,
            session: Default::default(),
            rate_limits: Default::default(),
        }
    }
}

/// A running demo. Dropping it stops everything.
pub struct Demo {
    pub gateway_url: String,
    pub agency_url: String,
    /// The second demo agency, when [`DemoOptions::second_agency_port`] asked for one.
    pub second_agency_url: Option<String>,
    /// The gateway's admin listener: `/metrics`, `/readyz`, the dashboard.
    pub admin_url: String,
    pub gateway: Arc<Gateway>,
    pub idps: Vec<(CountryCode, DevIdp)>,
    /// The operators' development IdP (dashboard sign-in; accounts in
    /// `jisr_devidp::operators`).
    pub operator_idp: DevIdp,
    /// The demo agency's client secret (also registered at the gateway).
    pub agency_secret: String,
    /// [`OWN_CLIENT_ID`]'s secret and redirect URIs, when registered.
    pub own_client: Option<(String, Vec<String>)>,
    /// What the gateway was built from; replicas are built from the same.
    config: Config,
    clock: Clock,
    stop: watch::Sender<bool>,
    stopped: watch::Receiver<bool>,
}

impl Demo {
    /// What a developer needs to sign in through this demo: the demo agency's client
    /// credentials and, when [`OWN_CLIENT_ID`] is registered, ready settings for their own
    /// OIDC client (environment variables and an Apache mod_auth_openidc snippet).
    pub fn client_notes(&self) -> String {
        use std::fmt::Write;
        let issuer = &self.gateway.issuer;
        let mut out = String::new();
        let _ = writeln!(out, "  Demo agency (an OIDC client of the gateway):");
        let _ = writeln!(out, "    client_id      {AGENCY_CLIENT_ID}");
        let _ = writeln!(
            out,
            "    client_secret  {}   (client_secret_basic)",
            self.agency_secret
        );
        let _ = writeln!(out, "    redirect_uri   {}/callback", self.agency_url);
        let Some((secret, redirect_uris)) = &self.own_client else {
            return out;
        };
        let first = redirect_uris
            .first()
            .map(String::as_str)
            .unwrap_or_default();
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "  Your own OIDC client (authorization code, PKCE S256, scope openid):"
        );
        let _ = writeln!(out, "    issuer         {issuer}");
        let _ = writeln!(
            out,
            "    discovery      {issuer}/.well-known/openid-configuration"
        );
        let _ = writeln!(out, "    client_id      {OWN_CLIENT_ID}");
        let _ = writeln!(out, "    client_secret  {secret}   (client_secret_basic)");
        let _ = writeln!(
            out,
            "    redirect_uris  {}   (others: jisr demo --redirect-uri URL)",
            redirect_uris.join(" ")
        );
        let _ = writeln!(out, "    as environment variables:");
        let _ = writeln!(
            out,
            "      export OIDC_ISSUER={issuer} OIDC_CLIENT_ID={OWN_CLIENT_ID} OIDC_CLIENT_SECRET={secret} OIDC_REDIRECT_URI={first}"
        );
        let _ = writeln!(out, "    Apache mod_auth_openidc:");
        for line in [
            format!("OIDCProviderMetadataURL {issuer}/.well-known/openid-configuration"),
            format!("OIDCClientID {OWN_CLIENT_ID}"),
            format!("OIDCClientSecret {secret}"),
            format!("OIDCRedirectURI {first}"),
            "OIDCScope \"openid\"".to_owned(),
            "OIDCPKCEMethod S256".to_owned(),
            "OIDCCryptoPassphrase <a random string of your own>".to_owned(),
        ] {
            let _ = writeln!(out, "      {line}");
        }
        out
    }

    /// The development IdP of one country.
    pub fn idp(&self, country: CountryCode) -> Option<&DevIdp> {
        self.idps
            .iter()
            .find(|(c, _)| *c == country)
            .map(|(_, i)| i)
    }

    /// Starts another replica of the gateway on a free port: the same issuer, keys,
    /// configuration and national IdPs, with `store` as its flow-state store (share one
    /// Redis between replicas). Returns the replica's base URL.
    pub async fn start_replica(&self, store: Arc<dyn Store>) -> std::io::Result<String> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let mut config = self.config.clone();
        crate::audit::for_replica(&mut config.audit, listener.local_addr()?.port());
        let replica = Arc::new(build(config, store, self.clock.clone()).await?);
        let s = self.stopped.clone();
        replica.ops.audit.spawn_checkpoints(self.clock.clone(), s);
        let mut s = self.stopped.clone();
        tokio::spawn(jisr_gateway::http::run(listener, replica, async move {
            let _ = s.wait_for(|v| *v).await;
        }));
        Ok(url)
    }

    pub fn shutdown(&self) {
        let _ = self.stop.send(true);
    }

    /// The configuration the demo's gateway runs on (tests build variants of it).
    pub fn config(&self) -> &Config {
        &self.config
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Starts the whole demo and returns once every server is listening.
pub async fn start(options: DemoOptions) -> std::io::Result<Demo> {
    let gateway_listener = TcpListener::bind(("127.0.0.1", options.gateway_port)).await?;
    let agency_listener = TcpListener::bind(("127.0.0.1", options.agency_port)).await?;
    let admin_listener = TcpListener::bind(("127.0.0.1", options.admin_port)).await?;
    let admin_addr = admin_listener.local_addr()?;
    let admin_url = format!("http://{admin_addr}");
    let gateway_url = format!("http://{}", gateway_listener.local_addr()?);
    let agency_addr: SocketAddr = agency_listener.local_addr()?;
    let agency_url = format!("http://{agency_addr}");
    let second_listener = match options.second_agency_port {
        Some(port) => Some(TcpListener::bind(("127.0.0.1", port)).await?),
        None => None,
    };
    let second_agency_url = second_listener
        .as_ref()
        .map(|l| l.local_addr().map(|a| format!("http://{a}")))
        .transpose()?;
    let (stop, stopped) = watch::channel(false);

    let mut mapping = builtin_mapping()?;
    if let Some(policy) = options.policy {
        mapping.policy = policy;
    }
    // One development IdP per GCC state, each knowing the gateway as client `jisr`.
    let idp_secret = random_token(24);
    let mut idps = Vec::new();
    let mut upstream_configs = Vec::new();
    for gcc in Gcc::ALL {
        let country = gcc.code();
        let cc = country.as_str().to_ascii_lowercase();
        let redirect_uri = format!("{gateway_url}/callback/{cc}");
        let alg = alg_for(country);
        let idp = jisr_devidp::spawn(DevIdpConfig {
            clients: vec![DevClient::secret_basic(
                "jisr",
                &idp_secret,
                &[&redirect_uri],
            )],
            admin: true,
            logout: options.national_logout.then(|| jisr_devidp::DevLogout {
                backchannel_logout_uri: Some(format!("{gateway_url}/backchannel-logout/{cc}")),
                post_logout_redirect_uris: vec![format!("{gateway_url}/logout/return")],
            }),
            ..DevIdpConfig::new(country, alg)
        })
        .await?;
        let mut upstream = devidp_upstream(&idp, country, &idp_secret, redirect_uri);
        upstream.userinfo = jisr_gateway::upstream::needs_userinfo(&upstream, &mapping, country);
        upstream_configs.push(upstream);
        idps.push((country, idp));
    }
    let (operator_idp, admin) = operator_sign_in(&admin_url, admin_addr).await?;
    let agency_secret = random_token(24);
    let agency_country = options.agency_country;
    let sector_names = ("Ministry of Health (demo)", "وزارة الصحة (تجريبي)");
    let mut agency_list = vec![Agency {
        client_id: AGENCY_CLIENT_ID.into(),
        name_en: sector_names.0.into(),
        name_ar: sector_names.1.into(),
        country: agency_country,
        sector: "health".into(),
        redirect_uris: vec![format!("{agency_url}/callback")],
        auth: AgencyAuth::ClientSecretBasic(Secret::new(agency_secret.clone())),
        id_token_signed_response_alg: None,
        notice: AgencyNotice {
            purpose: Some(Purpose {
                en: "To open your health record and book appointments (demo).".into(),
                ar: "لفتح سجلك الصحي وحجز المواعيد (تجريبي).".into(),
            }),
            privacy_url: Some(format!("{agency_url}/privacy")),
        },
        back_channel: Default::default(),
        // "Sign out" ends the gateway's session too, and the gateway's logouts reach it.
        logout: jisr_gateway::config::agencies::logout::AgencyLogout {
            post_logout_redirect_uris: vec![format!("{agency_url}/")],
            backchannel_logout_uri: Some(format!("{agency_url}/backchannel-logout")),
            backchannel_logout_session_required: true,
            ..Default::default()
        },
    }];
    let second_secret = random_token(24);
    let second_names = ("Ministry of Labour (demo)", "وزارة العمل (تجريبي)");
    if let Some(url) = &second_agency_url {
        agency_list.push(Agency {
            client_id: SECOND_AGENCY_CLIENT_ID.into(),
            name_en: second_names.0.into(),
            name_ar: second_names.1.into(),
            country: agency_country,
            sector: "labour".into(),
            redirect_uris: vec![format!("{url}/callback")],
            auth: AgencyAuth::ClientSecretBasic(Secret::new(second_secret.clone())),
            id_token_signed_response_alg: None,
            notice: AgencyNotice {
                purpose: Some(Purpose {
                    en: "To check your work permit and register a contract (demo).".into(),
                    ar: "للتحقق من تصريح العمل وتسجيل عقد (تجريبي).".into(),
                }),
                privacy_url: Some(format!("{url}/privacy")),
            },
            back_channel: Default::default(),
            logout: jisr_gateway::config::agencies::logout::AgencyLogout {
                post_logout_redirect_uris: vec![format!("{url}/")],
                backchannel_logout_uri: Some(format!("{url}/backchannel-logout")),
                backchannel_logout_session_required: true,
                ..Default::default()
            },
        });
    }
    let own_client = (!options.own_client_redirect_uris.is_empty())
        .then(|| (random_token(24), options.own_client_redirect_uris.clone()));
    if let Some((secret, redirect_uris)) = &own_client {
        agency_list.push(Agency {
            client_id: OWN_CLIENT_ID.into(),
            name_en: "Your OIDC client (demo)".into(),
            name_ar: "عميلك (تجريبي)".into(),
            country: agency_country,
            sector: "own-client".into(),
            redirect_uris: redirect_uris.clone(),
            auth: AgencyAuth::ClientSecretBasic(Secret::new(secret.clone())),
            id_token_signed_response_alg: None,
            notice: AgencyNotice::default(),
            back_channel: Default::default(),
            logout: Default::default(),
        });
    }
    agency_list.extend(options.extra_agencies);
    let agencies = Agencies::from_list(agency_list).map_err(std::io::Error::other)?;

    let mut pairwise = [0u8; 32];
    aws_lc_rs::rand::fill(&mut pairwise)
        .map_err(|_| std::io::Error::other("no randomness for the pairwise key"))?;
    let pairwise = PairwiseKey::new(pairwise.to_vec()).map_err(std::io::Error::other)?;
    let clock = options.clock.unwrap_or_else(system_clock);
    // A demo key "retires" 90 days out, so the expiry metric and its alert have a value.
    // RS256 beside the chosen alg: OIDC Discovery 1.0 §3 requires every OP to offer it.
    let keys = if options.gateway_alg == GatewayAlg::RS256 {
        SigningKeys::generate(options.gateway_alg)
    } else {
        SigningKeys::generate_set(&[options.gateway_alg, GatewayAlg::RS256])
    }
    .map_err(std::io::Error::other)?;
    let kid = keys.active_kid().to_owned();
    let keys = keys
        .with_expiry(&[(kid, clock() + 90 * 86_400)])
        .map_err(std::io::Error::other)?;
    let config = Config {
        server: ServerConfig {
            listen: gateway_listener.local_addr()?,
            public_url: gateway_url.parse().map_err(std::io::Error::other)?,
            tls: None,
            drain: std::time::Duration::ZERO,
            shutdown_timeout: std::time::Duration::from_secs(5),
        },
        tls: None,
        store: options.store_settings.unwrap_or(StoreSettings::Memory {
            max_entries: jisr_store::DEFAULT_MAX_ENTRIES,
        }),
        keys,
        pairwise_key: pairwise,
        tokens: TokenConfig::default(),
        mapping,
        agencies,
        upstreams: upstream_configs,
        admin: Some(admin),
        audit: options
            .audit_dir
            .as_deref()
            .map(crate::audit::settings)
            .transpose()?,
        session: options.session,
        rate_limits: options.rate_limits.clone(),
    };
    let store: Arc<dyn Store> = options
        .store
        .unwrap_or_else(|| Arc::new(MemoryStore::default()));
    let gateway = Arc::new(build(config.clone(), store, clock.clone()).await?);
    {
        // The audit log's timers belong to the gateway: on its runtime when it has its own
        // (the benchmark counts the gateway's CPU by runtime thread).
        let _on = options.gateway_runtime.as_ref().map(|rt| rt.enter());
        (gateway.ops.audit).spawn_checkpoints(clock.clone(), stopped.clone());
    }

    let mut s = stopped.clone();
    let server = jisr_gateway::http::run(gateway_listener, gateway.clone(), async move {
        let _ = s.wait_for(|v| *v).await;
    });
    match &options.gateway_runtime {
        Some(runtime) => runtime.spawn(server),
        None => tokio::spawn(server),
    };
    let mut s = stopped.clone();
    tokio::spawn(jisr_gateway::ops::admin::run(
        admin_listener,
        gateway.clone(),
        async move {
            let _ = s.wait_for(|v| *v).await;
        },
    ));
    let first = agency::Sibling {
        name_en: sector_names.0.into(),
        name_ar: sector_names.1.into(),
        url: agency_url.clone(),
    };
    let second = second_agency_url.as_ref().map(|url| agency::Sibling {
        name_en: second_names.0.into(),
        name_ar: second_names.1.into(),
        url: url.clone(),
    });
    let demo_agency =
        |listener, sibling: &agency::Sibling, client_id: &str, secret: &str, siblings| {
            let mut s = stopped.clone();
            tokio::spawn(agency::run(
                listener,
                AgencyConfig {
                    name_en: sibling.name_en.clone(),
                    name_ar: sibling.name_ar.clone(),
                    country: agency_country,
                    issuer: gateway_url.clone(),
                    client_id: client_id.to_owned(),
                    client_secret: secret.to_owned(),
                    base_url: Some(sibling.url.clone()),
                    acr_values: Some("urn:jisr:loa:substantial".into()),
                    siblings,
                },
                async move {
                    let _ = s.wait_for(|v| *v).await;
                },
            ));
        };
    demo_agency(
        agency_listener,
        &first,
        AGENCY_CLIENT_ID,
        &agency_secret,
        second.iter().cloned().collect(),
    );
    if let (Some(listener), Some(second)) = (second_listener, &second) {
        demo_agency(
            listener,
            second,
            SECOND_AGENCY_CLIENT_ID,
            &second_secret,
            vec![first.clone()],
        );
    }
    Ok(Demo {
        gateway_url,
        agency_url,
        second_agency_url,
        admin_url,
        gateway,
        idps,
        operator_idp,
        agency_secret,
        own_client,
        config,
        clock,
        stop,
        stopped,
    })
}

/// `jisr demo`: starts everything, prints where to go, runs until Ctrl-C.
pub async fn run(options: DemoOptions) -> std::io::Result<()> {
    let audit_dir = options.audit_dir.clone();
    let demo = start(DemoOptions {
        national_logout: true,
        ..options
    })
    .await?;
    println!("Jisr demo is running.");
    println!();
    println!("  Open the demo agency:   {}/", demo.agency_url);
    println!(
        "    (Arabic first; English first: {}/?lang=en)",
        demo.agency_url
    );
    if let Some(url) = &demo.second_agency_url {
        println!("  A second demo agency:   {url}/");
        println!(
            "    (single sign-on from the first where the policy allows it: Saudi citizens at Bahraini agencies)"
        );
    }
    println!(
        "  Gateway (OpenID Provider): {}/.well-known/openid-configuration",
        demo.gateway_url
    );
    println!("  Operators' dashboard:    {}/", demo.admin_url);
    println!("  Operators (metrics):     {}/metrics", demo.admin_url);
    println!(
        "  Operator IdP (development): {}  accounts:",
        demo.operator_idp.issuer()
    );
    for o in jisr_devidp::operators::operators() {
        println!("    {:<13} {}", o.id, o.note);
    }
    for (country, idp) in &demo.idps {
        let hints: Vec<&str> = jisr_devidp::citizens(*country)
            .iter()
            .map(|c| c.id)
            .collect();
        println!(
            "  {country} national IdP (development): {}  citizens: {}",
            idp.issuer(),
            hints.join(", ")
        );
    }
    if let Some(dir) = &audit_dir {
        println!("  Audit log:               {}/", dir.display());
        println!(
            "    verify it: jisr audit verify --allow-unsigned-tail --public-key {} {}/*.jsonl  (without the flag once the demo has stopped)",
            crate::audit::public_key_path(dir).display(),
            dir.display()
        );
    }
    println!();
    print!("{}", demo.client_notes());
    println!();
    println!("All identities are synthetic. Press Ctrl-C to stop.");
    tokio::signal::ctrl_c().await?;
    demo.shutdown();
    Ok(())
}

/// The operators' development IdP (operator mode of the dev IdP) and the `[admin]` settings
/// that sign in with it: group `jisr-admins` administers, `jisr-viewers` views.
async fn operator_sign_in(
    admin_url: &str,
    admin_addr: SocketAddr,
) -> std::io::Result<(DevIdp, AdminSettings)> {
    let secret = random_token(24);
    let callback = format!("{admin_url}/login/callback");
    let idp = jisr_devidp::spawn(DevIdpConfig {
        clients: vec![DevClient::secret_basic(
            "jisr-dashboard",
            &secret,
            &[&callback],
        )],
        ..DevIdpConfig::operator_idp(jisr_devidp::SigningAlg::ES256)
    })
    .await?;
    let admin = AdminSettings {
        listen: admin_addr,
        public_url: admin_url.to_owned(),
        login: Some(OperatorLogin {
            issuer: idp.issuer().parse().map_err(std::io::Error::other)?,
            client_id: "jisr-dashboard".into(),
            client_secret: secret,
            groups_claim: "groups".into(),
        }),
        operators: vec![
            OperatorGrant {
                who: OperatorMatch::Group(jisr_devidp::operators::ADMIN_GROUP.into()),
                role: Role::Admin,
            },
            OperatorGrant {
                who: OperatorMatch::Group(jisr_devidp::operators::VIEWER_GROUP.into()),
                role: Role::Viewer,
            },
        ],
    };
    Ok((idp, admin))
}

/// The gateway from `config` (the one builder, [`Gateway::from_config`]), with every national
/// IdP's discovery done, so the demo answers at once.
async fn build(config: Config, store: Arc<dyn Store>, clock: Clock) -> std::io::Result<Gateway> {
    let gateway = Gateway::from_config(config, store, clock).map_err(std::io::Error::other)?;
    for country in gateway.upstreams.countries().collect::<Vec<_>>() {
        if let Some(u) = gateway.upstreams.get(country) {
            u.discover().await.map_err(std::io::Error::other)?;
        }
    }
    Ok(gateway)
}
