//! The HTTP layer: the router, the `down`/`slow_ms` fault middleware, and the one place
//! where protocol errors become OAuth error responses.

mod authorize;
mod endpoints;
mod page;
pub(crate) mod params;
mod token;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::state::App;

/// All endpoints; `/admin/faults` only when enabled, and outside the fault middleware so a
/// test can always switch `down` off again.
pub(crate) fn router(app: Arc<App>) -> Router {
    let mut router = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(endpoints::discovery),
        )
        .route("/jwks", get(endpoints::jwks))
        .route("/authorize", get(authorize::authorize))
        .route("/token", axum::routing::post(token::token))
        .route("/logout", get(crate::logout::end_session))
        .route(
            "/userinfo",
            get(endpoints::userinfo).post(endpoints::userinfo),
        )
        .layer(middleware::from_fn_with_state(app.clone(), faults_layer));
    if app.admin {
        router = router.route(
            "/admin/faults",
            get(endpoints::get_faults).post(endpoints::set_faults),
        );
    }
    router.with_state(app)
}

async fn faults_layer(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let faults = app.faults();
    if faults.slow_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.slow_ms)).await;
    }
    if faults.down {
        let mut response = (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({
                "error": "temporarily_unavailable",
                "error_description": "the identity provider is down (fault switch)",
            })),
        )
            .into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return response;
    }
    next.run(request).await
}

/// A refusal at the token or userinfo endpoint (RFC 6749 5.2, RFC 6750 3.1).
#[derive(Debug, thiserror::Error)]
pub(crate) enum OAuthError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    InvalidClient(String),
    #[error("{0}")]
    InvalidGrant(String),
    #[error("only authorization_code is supported")]
    UnsupportedGrantType,
    #[error("{0}")]
    InvalidToken(String),
    #[error("{0}")]
    Server(String),
}

impl OAuthError {
    fn code(&self) -> &'static str {
        match self {
            OAuthError::InvalidRequest(_) => "invalid_request",
            OAuthError::InvalidClient(_) => "invalid_client",
            OAuthError::InvalidGrant(_) => "invalid_grant",
            OAuthError::UnsupportedGrantType => "unsupported_grant_type",
            OAuthError::InvalidToken(_) => "invalid_token",
            OAuthError::Server(_) => "server_error",
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let status = match &self {
            OAuthError::InvalidClient(_) | OAuthError::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            OAuthError::Server(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        tracing::debug!(error = self.code(), description = %self, "devidp refusal");
        let body = json!({ "error": self.code(), "error_description": self.to_string() });
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        match &self {
            OAuthError::InvalidClient(_) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"devidp\""),
                );
            }
            OAuthError::InvalidToken(_) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer error=\"invalid_token\""),
                );
            }
            _ => {}
        }
        response
    }
}
