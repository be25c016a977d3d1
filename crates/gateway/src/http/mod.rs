//! HTTP: the router and its middleware, and what more than one step needs below them —
//! [`params`] (typed request parameters), [`authorization`] (the `Authorization` header's
//! scheme and credentials), [`cookie`] (the flow cookie), [`response`] (pages, redirects,
//! no-store) and [`reject`], the one place refusals become responses.
//!
//! One login, top to bottom, in `provider/`: authorize → country → callback → consent →
//! token → userinfo.

pub mod authorization;
pub mod cookie;
pub mod params;
pub mod rate;
pub mod reject;
pub mod response;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::app::Gateway;
use crate::ops::health;
use crate::pages;
use crate::provider::session;
use crate::provider::{authorize, callback, consent, country, discovery, token, userinfo};

/// Largest request body accepted anywhere (forms, token requests).
pub const MAX_BODY: usize = 32 * 1024;
/// A request still unanswered after this gets 408 (national IdP calls have shorter limits).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// CORS for public metadata: any origin, GET only, no credentials (tower-http answers the
/// preflight; `Access-Control-Allow-Credentials` is never sent).
fn public_cors() -> tower_http::cors::CorsLayer {
    tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_methods([axum::http::Method::GET])
}

/// The public router. Its middleware (request counter, trace span, timeout, security headers,
/// body limit) is composed into one layer with `ServiceBuilder` and added once: axum boxes
/// each `Router::layer` around every route and clones the boxes per request, so one
/// composed layer costs one clone where a chain of nine cost nine.
pub fn router(gw: Arc<Gateway>) -> Router {
    let https = gw.is_https();
    let measured = crate::ops::metrics::http::Listener {
        name: "public",
        metrics: gw.ops.metrics.http.clone(),
    };
    let routes = Router::new()
        // Browser-based agencies read these two from their own origin (OIDC Discovery is
        // public metadata); no other route answers cross-origin requests.
        .route(
            "/.well-known/openid-configuration",
            get(discovery::metadata).layer(public_cors()),
        )
        .route("/jwks", get(discovery::jwks).layer(public_cors()))
        .route("/authorize", get(authorize::authorize))
        .route("/login/country", post(country::choose))
        .route("/callback/{cc}", get(callback::callback))
        .route("/consent", post(consent::decide))
        .route("/token", post(token::token))
        .route(
            "/userinfo",
            get(userinfo::userinfo).post(userinfo::userinfo),
        )
        .route(pages::CSS_PATH, get(css))
        // Sessions and logout.
        .route(
            "/logout",
            get(session::logout::logout_get).post(session::logout::logout_post),
        )
        .route(
            session::logout::CONFIRM_PATH,
            post(session::logout::confirm),
        )
        .route(
            session::national::RETURN_PATH,
            get(session::national::returned),
        )
        .route("/backchannel-logout/{cc}", post(session::national::receive))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        // The agencies' back channel (token exchange itself is a grant of `/token`).
        .route("/introspect", post(crate::exchange::introspect::introspect))
        .route("/revoke", post(crate::exchange::revoke::revoke))
        .fallback(not_found)
        // Per source address, before the handler; per agency, in the handlers.
        .layer(axum::middleware::from_fn_with_state(
            gw.clone(),
            rate::by_address,
        ))
        .with_state(gw);
    let hsts = https.then(|| {
        SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        )
    });
    let middleware = tower::ServiceBuilder::new()
        // Outermost, so timeouts and refusals by the layers below are counted too; inside
        // routing, so it sees the matched route.
        .layer(crate::ops::metrics::http::TrackLayer::new(measured))
        // Method and path only: query strings carry codes and state.
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            tracing::debug_span!("request", method = %request.method(), path = %request.uri().path())
        }))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        // Pages set their own CSP (form-action widened to their redirect targets).
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(response::DEFAULT_CSP),
        ))
        .option_layer(hsts)
        .layer(DefaultBodyLimit::max(MAX_BODY));
    routes.layer(middleware)
}

/// Serves until `shutdown` resolves. The caller binds the socket.
pub async fn run(
    listener: TcpListener,
    gw: Arc<Gateway>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(gw).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        pages::CSS,
    )
        .into_response()
}

/// 404: JSON for programs; for a browser (its `Accept` names `text/html`) a bilingual page,
/// led in the language its `Accept-Language` prefers.
async fn not_found(headers: axum::http::HeaderMap) -> Response {
    let accepts = |name: header::HeaderName| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .collect::<Vec<_>>()
    };
    if accepts(header::ACCEPT).iter().any(|t| t == "text/html") {
        let languages = accepts(header::ACCEPT_LANGUAGE).join(" ");
        let lang = pages::Lang::from_ui_locales(Some(&languages));
        return reject::Reject::page(
            StatusCode::NOT_FOUND,
            reject::OAuthError::InvalidRequest,
            pages::messages::NOT_FOUND,
            lang,
        )
        .because("not_found")
        .into_response();
    }
    (
        StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({"error": "not_found"})),
    )
        .into_response()
}
