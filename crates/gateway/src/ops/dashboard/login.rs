//! Operator sign-in: `/login` sends the browser to the operator IdP (code flow, PKCE, state,
//! nonce; what to check on return rides in a sealed cookie), `/login/callback` verifies the
//! answer ([`super::oidc`]), looks the operator up in the `[admin]` allow-list and sets the
//! session (and its server-side half in the store), `/logout` ends both.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::oidc::PendingSignIn;
use super::page;
use super::session::{self, LOGIN_COOKIE, SESSION_COOKIE, SESSION_SECS, Session};
use crate::app::Gateway;
use crate::http::response;
use crate::ops::{Event, EventKind, Outcome, Trail};

/// Audit reasons of operator sign-in and sign-out (`operator_action` events).
pub const SIGNED_IN: &str = "operator_signed_in";
pub const SIGN_IN_REFUSED: &str = "operator_sign_in_refused";
pub const SIGNED_OUT: &str = "operator_signed_out";

/// Records an operator's sign-in, refused sign-in or sign-out in the audit log (and the
/// metrics and the dashboard's latest events), naming the operator when known.
fn record(gw: &Gateway, reason: &'static str, outcome: Outcome, operator: Option<&str>) {
    let trail = Trail {
        operator: operator.map(str::to_owned),
        ..Trail::default()
    };
    gw.record(&Event {
        kind: EventKind::OperatorAction,
        outcome,
        trail: &trail,
        reason: Some(reason),
        error: None,
    });
}

#[derive(Debug, Default, Deserialize)]
pub struct StartParams {
    lang: Option<String>,
}

/// `GET /login`.
pub async fn start(State(gw): State<Arc<Gateway>>, Query(q): Query<StartParams>) -> Response {
    let lang = page::lang(q.lang.as_deref());
    let idp = match gw.ops.dashboard.idp(&gw).await {
        None => {
            return page::notice(
                StatusCode::SERVICE_UNAVAILABLE,
                lang,
                page::Notice::NotConfigured,
            );
        }
        Some(Err(e)) => {
            tracing::warn!(error = %e, "operator IdP discovery failed");
            return page::notice(StatusCode::SERVICE_UNAVAILABLE, lang, page::Notice::IdpDown);
        }
        Some(Ok(idp)) => idp,
    };
    match idp.begin(gw.now(), lang.tag()) {
        Ok((url, pending)) => {
            let mut r = response::redirect(&url);
            let sealed = gw.seals.operator_login.seal(&pending);
            r.headers_mut().append(
                header::SET_COOKIE,
                session::cookie_header(&gw, LOGIN_COOKIE, sealed, 600),
            );
            r
        }
        Err(e) => {
            tracing::warn!(error = %e, "operator sign-in could not start");
            page::notice(StatusCode::SERVICE_UNAVAILABLE, lang, page::Notice::IdpDown)
        }
    }
}

/// `r` with the sign-in cookie cleared: a sign-in that ended, well or not, is not resumed.
fn end_sign_in(gw: &Gateway, mut r: Response) -> Response {
    r.headers_mut().append(
        header::SET_COOKIE,
        session::cookie_header(gw, LOGIN_COOKIE, String::new(), 0),
    );
    r
}

#[derive(Debug, Default, Deserialize)]
pub struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
}

/// `GET /login/callback`.
pub async fn callback(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    Query(q): Query<CallbackParams>,
) -> Response {
    let pending: Option<PendingSignIn> =
        session::read(&headers, LOGIN_COOKIE, &gw.seals.operator_login);
    let lang = page::lang(pending.as_ref().map(|p| p.lang.as_str()));
    let Some(pending) = pending else {
        return page::notice(StatusCode::BAD_REQUEST, lang, page::Notice::SignInExpired);
    };
    let Some(Ok(idp)) = gw.ops.dashboard.idp(&gw).await else {
        let r = page::notice(StatusCode::SERVICE_UNAVAILABLE, lang, page::Notice::IdpDown);
        return end_sign_in(&gw, r);
    };
    let verified = idp
        .complete(
            &pending,
            q.code.as_deref(),
            q.state.as_deref(),
            q.iss.as_deref(),
            q.error.as_deref(),
            gw.now(),
        )
        .await;
    let operator = match verified {
        Ok(op) => op,
        Err(e) => {
            tracing::warn!(target: "audit", error = %e, "operator sign-in refused");
            record(&gw, SIGN_IN_REFUSED, Outcome::Refused, None);
            let r = page::notice(StatusCode::FORBIDDEN, lang, page::Notice::SignInFailed);
            return end_sign_in(&gw, r);
        }
    };
    let Some(admin) = gw.admin.as_ref() else {
        return page::notice(
            StatusCode::SERVICE_UNAVAILABLE,
            lang,
            page::Notice::NotConfigured,
        );
    };
    let role = admin.role_of(&operator.subject, &operator.groups);
    let Some(role) = role else {
        tracing::warn!(target: "audit", operator = %operator.subject, "signed-in subject is not on the operators' allow-list");
        record(
            &gw,
            SIGN_IN_REFUSED,
            Outcome::Refused,
            Some(&operator.subject),
        );
        let r = page::notice(StatusCode::FORBIDDEN, lang, page::Notice::NotAnOperator);
        return end_sign_in(&gw, r);
    };
    // Only the groups the allow-list names can give a role: the others stay out of the cookie.
    let groups = operator
        .groups
        .into_iter()
        .filter(|g| admin.names_group(g))
        .collect();
    let s = Session::new(operator.subject, groups, role, gw.now());
    if let Err(e) = s.open(gw.store.as_ref(), gw.now()).await {
        tracing::error!(error = %e, "operator session not stored");
        let r = page::notice(StatusCode::SERVICE_UNAVAILABLE, lang, page::Notice::IdpDown);
        return end_sign_in(&gw, r);
    }
    tracing::info!(target: "audit", operator = %s.sub, role = role.name(), "operator signed in");
    record(&gw, SIGNED_IN, Outcome::Ok, Some(&s.sub));
    let mut r = response::redirect(&format!("/?lang={}", lang.tag()));
    r.headers_mut().append(
        header::SET_COOKIE,
        session::cookie_header(
            &gw,
            SESSION_COOKIE,
            gw.seals.operator_session.seal(&s),
            SESSION_SECS,
        ),
    );
    end_sign_in(&gw, r)
}

#[derive(Debug, Default, Deserialize)]
pub struct LogoutForm {
    csrf: Option<String>,
}

/// `POST /logout` (with the session's CSRF token).
pub async fn logout(State(gw): State<Arc<Gateway>>, headers: HeaderMap, body: String) -> Response {
    let form: LogoutForm = serde_urlencoded::from_str(&body).unwrap_or_default();
    if let Some(s) = session::current(&gw, &headers) {
        if !s.csrf_ok(form.csrf.as_deref()) {
            return (StatusCode::FORBIDDEN, "CSRF token missing or wrong").into_response();
        }
        // The server-side half goes: every copy of the cookie is dead from now on.
        match s.close(gw.store.as_ref()).await {
            Ok(false) => {} // already ended (idle, or signed out in another tab)
            Ok(true) => {
                tracing::info!(target: "audit", operator = %s.sub, "operator signed out");
                record(&gw, SIGNED_OUT, Outcome::Ok, Some(&s.sub));
            }
            Err(e) => {
                tracing::error!(error = %e, "operator session not deleted; it ends when idle");
                record(&gw, SIGNED_OUT, Outcome::Ok, Some(&s.sub));
            }
        }
    }
    let mut r = response::redirect("/login");
    r.headers_mut().append(
        header::SET_COOKIE,
        session::cookie_header(&gw, SESSION_COOKIE, String::new(), 0),
    );
    r
}
