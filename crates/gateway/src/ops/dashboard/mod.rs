//! The operators' dashboard on the admin listener, never the public one.
//!
//! - [`oidc`]: the gateway as a Relying Party of the operators' IdP (`[admin.login]`).
//! - [`session`]: the sealed session cookie, roles, CSRF, and the one access gate.
//! - [`login`]: `/login`, `/login/callback`, `/logout`.
//! - [`overview`]: what the dashboard shows, as one value: `GET /api/overview` (JSON).
//! - [`page`]: the page itself (askama, Arabic right-to-left or English), `GET /`.
//! - [`texts`]: every sentence of the dashboard in Arabic and English.
//! - [`actions`]: suspend and resume a country or a pair (admins, CSRF-protected forms).
//!
//! Nothing shown carries personal data: countries, agency ids, fixed reason codes, key ids
//! and operator subjects (staff) only.

pub mod actions;
pub mod login;
pub mod oidc;
pub mod overview;
pub mod page;
pub mod session;
pub mod texts;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use tokio::sync::OnceCell;

use crate::app::Gateway;

/// The dashboard's own state: the operator IdP client, discovered on the first sign-in (a
/// failed discovery is retried on the next).
#[derive(Default)]
pub struct Dashboard {
    idp: OnceCell<oidc::OperatorIdp>,
}

impl Dashboard {
    /// The operator IdP client, discovering it if needed; `None` without `[admin.login]`.
    pub async fn idp(&self, gw: &Gateway) -> Option<Result<&oidc::OperatorIdp, oidc::LoginError>> {
        let admin = gw.admin.as_ref()?;
        let login = admin.login.as_ref()?;
        Some(
            self.idp
                .get_or_try_init(|| oidc::OperatorIdp::discover(login, &admin.public_url))
                .await,
        )
    }
}

/// The dashboard's routes, merged into the admin router.
pub fn routes() -> Router<Arc<Gateway>> {
    Router::new()
        .route("/", get(page::dashboard))
        .route("/api/overview", get(overview::api))
        .route("/login", get(login::start))
        .route("/login/callback", get(login::callback))
        .route("/logout", post(login::logout))
        .route("/actions/suspend", post(actions::suspend))
        .route("/actions/resume", post(actions::resume))
        .route(page::CSS_PATH, get(page::css))
        .route(page::JS_PATH, get(page::js))
}
