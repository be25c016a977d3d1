//! Jisr development national IdP: a small, real OpenID Provider that plays one GCC
//! country's national identity provider in the demo and the tests, with synthetic citizens
//! and fault switches. It never ships real personal data.
//!
//! - [`config`]: what one IdP is ([`DevIdpConfig`], clients, [`SigningAlg`]) and the
//!   [`Faults`] that make it misbehave on purpose.
//! - [`clock`]: the one owner of the current time ([`Clock`]), manual in expiry tests.
//! - [`citizens`]: the invented people each country's IdP can sign in.
//! - [`operators`]: operator mode, the invented staff accounts (with `groups`) of the
//!   dashboard's development operator IdP.
//! - [`claims`]: each country's claim shapes, acr values and amr, mirroring
//!   `config/countries/<cc>.toml`.
//! - `keys`: key generation with aws-lc-rs, public JWKs, rotation and same-kid replacement.
//! - `jws`: ID tokens assembled and signed by hand so faults can reach every byte.
//! - `state`: the shared state and single-use flow state (codes, access tokens, `jti`s).
//! - `http`: the axum router and endpoints (discovery, JWKS, authorize with its bilingual
//!   chooser page, token with client authentication, userinfo, `/admin/faults`).
//!
//! Start one with [`run`] on a listener you bound, with [`spawn`] in tests, or with
//! [`serve`] from the `jisr devidp` command.
#![forbid(unsafe_code)]

pub mod citizens;
pub mod claims;
pub mod clock;
pub mod config;
mod http;
mod jws;
mod keys;
pub mod logout;
pub mod operators;
mod state;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use jisr_mapping::CountryCode;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use citizens::{Citizen, Sex, citizens};
pub use clock::Clock;
pub use config::{ClientAuth, DevClient, DevIdpConfig, DevLogout, Faults, SigningAlg};
pub use jws::at_hash;
pub use state::{ACCESS_TOKEN_TTL, CODE_TTL};

use state::App;

/// Serves until `shutdown` resolves, on the system clock. The caller binds the socket.
pub async fn run(
    listener: TcpListener,
    config: DevIdpConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    run_with_clock(listener, config, Clock::System, shutdown).await
}

/// [`run`] with a chosen clock, so tests can expire codes without sleeping.
pub async fn run_with_clock(
    listener: TcpListener,
    config: DevIdpConfig,
    clock: Clock,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let app = build(&listener, config, clock)?;
    serve_app(listener, app, shutdown).await
}

fn build(listener: &TcpListener, config: DevIdpConfig, clock: Clock) -> io::Result<Arc<App>> {
    let issuer = match &config.issuer {
        Some(issuer) => issuer.clone(),
        None => format!("http://{}", listener.local_addr()?),
    };
    App::new(config, issuer, clock).map_err(io::Error::other)
}

async fn serve_app(
    listener: TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    if app.operators {
        tracing::info!(alg = %app.alg, issuer = %app.issuer, "devidp listening (operator mode)");
    } else {
        tracing::info!(country = %app.country, alg = %app.alg, issuer = %app.issuer, "devidp listening");
    }
    axum::serve(listener, http::router(app))
        .with_graceful_shutdown(shutdown)
        .await
}

/// A dev IdP running in this process on `127.0.0.1:<random port>`, for tests.
///
/// It stops when [`DevIdp::shutdown`] is awaited or, without waiting, when dropped. Faults
/// can be changed in-process with [`DevIdp::set_faults`] (or over HTTP at `/admin/faults`
/// when `admin` is on).
pub struct DevIdp {
    addr: SocketAddr,
    app: Arc<App>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

/// Binds `127.0.0.1:0` and starts an IdP on the system clock.
pub async fn spawn(config: DevIdpConfig) -> io::Result<DevIdp> {
    spawn_with_clock(config, Clock::System).await
}

/// [`spawn`] with a chosen clock.
pub async fn spawn_with_clock(config: DevIdpConfig, clock: Clock) -> io::Result<DevIdp> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let app = build(&listener, config, clock)?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve_app(listener, app.clone(), async move {
        let _ = stopped.await;
    }));
    Ok(DevIdp {
        addr,
        app,
        stop: Some(stop),
        task: Some(task),
    })
}

impl DevIdp {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The signing algorithm of its ID tokens.
    pub fn alg(&self) -> SigningAlg {
        self.app.alg
    }

    /// The issuer, without a trailing slash (`http://127.0.0.1:<port>` unless configured).
    pub fn issuer(&self) -> &str {
        &self.app.issuer
    }

    /// `issuer` + `path`, e.g. `idp.url("/.well-known/openid-configuration")`.
    pub fn url(&self, path: &str) -> String {
        self.app.endpoint(path)
    }

    pub fn faults(&self) -> Faults {
        self.app.faults()
    }

    /// Replaces all faults at once; takes effect on the next request.
    pub fn set_faults(&self, faults: Faults) {
        self.app.set_faults(faults);
    }

    /// Back-Channel Logout: ends every session of citizen `sub` and POSTs a logout token
    /// for each to the registered back-channel URI; the HTTP statuses answered.
    pub async fn logout_citizen(&self, sub: &str) -> Vec<u16> {
        logout::backchannel(&self.app, sub).await
    }

    /// A logout token for `claims` signed with the IdP's key (typ `logout+jwt`), `faults`
    /// applied (tests forge bad ones this way).
    pub fn sign_logout_token(
        &self,
        claims: &serde_json::Map<String, serde_json::Value>,
        faults: &Faults,
    ) -> String {
        logout::sign(&self.app, claims, faults)
    }

    /// The `sid`s of `sub`'s open sessions at this IdP.
    pub fn sessions_of(&self, sub: &str) -> Vec<String> {
        logout::sessions_of(&self.app, sub)
    }

    /// Stops accepting, lets in-flight requests finish, and returns the server's result.
    pub async fn shutdown(mut self) -> io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.map_err(io::Error::other)?,
            None => Ok(()),
        }
    }
}

impl Drop for DevIdp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The client `jisr devidp` registers: `jisr` with `client_secret_basic`, redirecting to
/// `http://127.0.0.1:<any port>/callback/<cc>` or `http://localhost:<any port>/callback/<cc>`.
pub fn default_client(country: CountryCode, secret: &str) -> DevClient {
    let cc = country.as_str().to_ascii_lowercase();
    DevClient {
        client_id: "jisr".to_owned(),
        auth: ClientAuth::SecretBasic(secret.to_owned()),
        redirect_uris: vec![
            format!("http://127.0.0.1:*/callback/{cc}"),
            format!("http://localhost:*/callback/{cc}"),
        ],
    }
}

/// The `jisr devidp` command: serves on `127.0.0.1:port` with admin on and the
/// [`default_client`], whose secret is `JISR_DEVIDP_SECRET` or `dev-secret-<cc>`, until
/// Ctrl-C.
pub async fn serve(country: CountryCode, port: u16, alg: SigningAlg) -> io::Result<()> {
    let cc = country.as_str().to_ascii_lowercase();
    let secret = std::env::var("JISR_DEVIDP_SECRET")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| format!("dev-secret-{cc}"));
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let config = DevIdpConfig {
        admin: true,
        clients: vec![default_client(country, &secret)],
        ..DevIdpConfig::new(country, alg)
    };
    let issuer = format!("http://{}", listener.local_addr()?);
    println!("Development IdP for {country} ({alg}) at {issuer}");
    println!("  discovery: {issuer}/.well-known/openid-configuration");
    println!("  client_id: jisr  client_secret (secret_basic): {secret}");
    println!("  redirect URIs: http://127.0.0.1:*/callback/{cc}, http://localhost:*/callback/{cc}");
    println!("  faults: GET/POST {issuer}/admin/faults");
    let hints: Vec<&str> = citizens(country).iter().map(|c| c.id).collect();
    println!("  synthetic citizens (login_hint): {}", hints.join(", "));
    run(listener, config, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
