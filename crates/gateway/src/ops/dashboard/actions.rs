//! Suspend and resume (administrators only; viewers get 403): a country as origin, or one
//! pair. The change goes to the fleet backend (every replica picks it up within
//! [`crate::ops::fleet::REFRESH_EVERY`]) and to this replica's copy at once, and is recorded
//! as an `operator_action` event naming the operator. The forms carry the session's CSRF
//! token.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jisr_mapping::CountryCode;
use jisr_store::fleet::Suspension;
use serde::Deserialize;

use super::session::{self, Want};
use crate::app::Gateway;
use crate::config::gateway::admin::Role;
use crate::http::response;
use crate::ops::{Event, EventKind, Trail};

#[derive(Debug, Default, Deserialize)]
pub struct ActionForm {
    csrf: Option<String>,
    lang: Option<String>,
    origin: Option<String>,
    /// Empty or absent: the whole country (every destination).
    destination: Option<String>,
}

/// `POST /actions/suspend`.
pub async fn suspend(State(gw): State<Arc<Gateway>>, headers: HeaderMap, body: String) -> Response {
    act(&gw, &headers, &body, true).await
}

/// `POST /actions/resume`.
pub async fn resume(State(gw): State<Arc<Gateway>>, headers: HeaderMap, body: String) -> Response {
    act(&gw, &headers, &body, false).await
}

fn gcc(code: Option<&str>) -> Option<CountryCode> {
    code.filter(|c| !c.is_empty())
        .and_then(|c| c.parse::<CountryCode>().ok())
        .filter(|c| c.gcc().is_some())
}

fn bad(status: StatusCode, error: &'static str) -> Response {
    (status, axum::Json(serde_json::json!({ "error": error }))).into_response()
}

async fn act(gw: &Gateway, headers: &HeaderMap, body: &str, on: bool) -> Response {
    let s = match session::require(gw, headers, Want::Api, Role::Admin).await {
        Ok(s) => s,
        Err(denied) => return denied.into_response(),
    };
    let Ok(form) = serde_urlencoded::from_str::<ActionForm>(body) else {
        return bad(StatusCode::BAD_REQUEST, "invalid_form");
    };
    if !s.csrf_ok(form.csrf.as_deref()) {
        return bad(StatusCode::FORBIDDEN, "csrf");
    }
    let Some(origin) = gcc(form.origin.as_deref()) else {
        return bad(StatusCode::BAD_REQUEST, "origin_not_gcc");
    };
    let destination = match form.destination.as_deref().filter(|d| !d.is_empty()) {
        None => None,
        Some(d) => match gcc(Some(d)) {
            Some(d) if d != origin => Some(d),
            _ => return bad(StatusCode::BAD_REQUEST, "destination_not_gcc"),
        },
    };
    let (what, reason) = match (destination, on) {
        (None, true) => (
            Suspension::Country {
                origin: origin.to_string(),
            },
            "suspend_country",
        ),
        (None, false) => (
            Suspension::Country {
                origin: origin.to_string(),
            },
            "resume_country",
        ),
        (Some(d), on) => (
            Suspension::Pair {
                origin: origin.to_string(),
                destination: d.to_string(),
            },
            if on { "suspend_pair" } else { "resume_pair" },
        ),
    };
    let fleet = gw.ops.fleet.backend();
    if let Err(e) = fleet.set_suspended(&what, on).await {
        tracing::error!(error = %e, "suspension not stored");
        return bad(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable");
    }
    gw.ops.fleet.suspensions.reload(fleet.as_ref()).await;
    let trail = Trail {
        origin: Some(origin),
        destination,
        operator: Some(s.sub.clone()),
        ..Trail::default()
    };
    gw.record(&Event {
        reason: Some(reason),
        ..Event::ok(EventKind::OperatorAction, &trail)
    });
    tracing::info!(target: "audit", operator = %s.sub, action = reason, %origin, destination = ?destination, "operator action");
    let lang = super::page::lang(form.lang.as_deref());
    response::redirect(&format!("/?lang={}", lang.tag()))
}
