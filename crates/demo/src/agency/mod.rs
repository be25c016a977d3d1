//! A demo agency web app: "Ministry of … (demo)" of one GCC country. It signs citizens in
//! through the Jisr gateway as an ordinary OpenID Connect Relying Party (any OpenID Provider
//! works, which is how the tests drive it against the dev IdP) and shows the cross-border
//! assertion it received. `jisr demo` runs it next to the gateway and the national dev IdPs.
//!
//! - `oidc`: the RP side with openidconnect over reqwest: lazy discovery with retry, the
//!   authorization request (state, nonce, PKCE S256), code exchange with
//!   `client_secret_basic`, ID token verification, `at_hash`, userinfo.
//! - `session`: the in-memory, expiring session store behind a random HttpOnly cookie.
//! - `person`: what the pages show, read from the ID token and userinfo claims, coping with
//!   any of them missing.
//! - `pages`: the bilingual HTML (no scripts, no inline styles) and its stylesheet.
//! - `routes`: the router and handlers: `/`, `/login`, `/callback`, `/logout`,
//!   `/backchannel-logout`, `/static/agency.css`.
//! - `logout`: signing out at the gateway too (RP-initiated logout) and receiving its
//!   back-channel logout tokens.
//! - `error`: the one place where a failed sign-in becomes a bilingual error page.

mod error;
mod logout;
mod oidc;
mod pages;
mod person;
mod routes;
mod session;

use std::future::Future;
use std::io;
use std::sync::Arc;

use jisr_mapping::CountryCode;
use tokio::net::TcpListener;

/// One demo agency: who it is, and how it is registered at the gateway.
#[derive(Clone, Debug)]
pub struct AgencyConfig {
    /// e.g. "Ministry of Health (demo)".
    pub name_en: String,
    /// e.g. "وزارة الصحة (تجريبي)".
    pub name_ar: String,
    /// The agency's country: the destination of the cross-border assertion.
    pub country: CountryCode,
    /// The gateway's issuer; discovery is at `<issuer>/.well-known/openid-configuration`.
    pub issuer: String,
    /// The agency's client at the gateway, which authenticates with `client_secret_basic`.
    pub client_id: String,
    pub client_secret: String,
    /// This app's public URL (the redirect URI is `<base_url>/callback`);
    /// `None` => `http://<listener addr>`.
    pub base_url: Option<String>,
    /// Space-separated `acr_values` to ask for, e.g. `urn:jisr:loa:substantial`.
    pub acr_values: Option<String>,
    /// The other demo agencies, linked from every page (single sign-on is one click away).
    pub siblings: Vec<Sibling>,
}

/// Another demo agency, as the pages link to it.
#[derive(Clone, Debug)]
pub struct Sibling {
    pub name_en: String,
    pub name_ar: String,
    /// Its home page's URL, without a trailing slash.
    pub url: String,
}

/// What every page shows about the agency itself.
pub(crate) struct AgencyView {
    pub name_en: String,
    pub name_ar: String,
    pub country: CountryCode,
    pub siblings: Vec<Sibling>,
}

/// The shared state of the handlers.
pub(crate) struct Agency {
    pub view: AgencyView,
    pub rp: oidc::RelyingParty,
    pub sessions: session::Sessions,
    /// Whether the session cookie carries `Secure` (the base URL is https).
    pub secure_cookie: bool,
    /// The session cookie's name, one per client id: agencies on one host (the demo's
    /// run on 127.0.0.1, ports apart, and cookies ignore ports) keep their own sessions.
    pub cookie_name: String,
    pub acr_values: Vec<String>,
    /// Logout: the ID token (and gateway `sid`) of each signed-in session.
    pub logouts: logout::Logouts,
    /// This app's public URL, the gateway's issuer and our client id (logout).
    pub base_url: String,
    pub issuer: String,
    pub client_id: String,
}

/// Serves the agency until `shutdown` resolves. The caller binds the socket.
///
/// The gateway is discovered lazily, at the first sign-in, and again after a failure, so
/// the agency may start before the gateway does.
pub async fn run(
    listener: TcpListener,
    config: AgencyConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let base_url = match &config.base_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!("http://{}", listener.local_addr()?),
    };
    let redirect_uri = format!("{base_url}/callback");
    let issuer = config.issuer.trim_end_matches('/').to_owned();
    let rp = oidc::RelyingParty::new(
        &config.issuer,
        &config.client_id,
        &config.client_secret,
        &redirect_uri,
    )
    .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let agency = Arc::new(Agency {
        view: AgencyView {
            name_en: config.name_en,
            name_ar: config.name_ar,
            country: config.country,
            siblings: config.siblings,
        },
        rp,
        sessions: session::Sessions::default(),
        secure_cookie: base_url.starts_with("https://"),
        cookie_name: session::cookie_name(&config.client_id),
        acr_values: config
            .acr_values
            .as_deref()
            .unwrap_or("")
            .split_ascii_whitespace()
            .map(str::to_owned)
            .collect(),
        logouts: logout::Logouts::default(),
        base_url: base_url.clone(),
        issuer,
        client_id: config.client_id.clone(),
    });
    tracing::info!(
        country = %agency.view.country,
        issuer = %config.issuer,
        base_url = %base_url,
        "demo agency listening"
    );
    axum::serve(listener, routes::router(agency))
        .with_graceful_shutdown(shutdown)
        .await
}
