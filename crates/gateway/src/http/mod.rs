//! HTTP: the router, security headers on every response, cookies, and [`reply`], the one
//! place refusals become responses.

pub mod reply;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::net::TcpListener;

use crate::app::Gateway;
use crate::pages;
use crate::provider::state::Flow;
use crate::provider::{authorize, discovery, login, token, userinfo};

/// The cookie that binds a login flow to the browser that started it.
pub const FLOW_COOKIE: &str = "jisr_flow";

/// Largest request body accepted anywhere (forms, token requests).
pub const MAX_BODY: usize = 32 * 1024;

pub fn router(gw: Arc<Gateway>) -> Router {
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(discovery::metadata),
        )
        .route("/jwks", get(discovery::jwks))
        .route("/authorize", get(authorize::authorize))
        .route("/login/country", post(login::choose_country))
        .route("/callback/{cc}", get(login::callback))
        .route("/consent", post(login::consent))
        .route("/token", post(token::token))
        .route(
            "/userinfo",
            get(userinfo::userinfo).post(userinfo::userinfo),
        )
        .route(pages::CSS_PATH, get(css))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(gw.clone(), security_headers))
        .with_state(gw)
}

/// Serves until `shutdown` resolves. The caller binds the socket.
pub async fn run(
    listener: TcpListener,
    gw: Arc<Gateway>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(gw))
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

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({"error": "not_found"})),
    )
        .into_response()
}

/// Ready when the store answers; national IdPs that are down do not make the gateway unready
/// (other countries keep working), but they are listed.
async fn readyz(State(gw): State<Arc<Gateway>>) -> Response {
    let store = gw.store.health().await;
    let mut countries = serde_json::Map::new();
    for c in gw.upstreams.countries() {
        let ready = gw.upstreams.get(c).is_some_and(|u| u.is_ready());
        countries.insert(c.to_string(), serde_json::Value::Bool(ready));
    }
    let body = serde_json::json!({ "store": store.is_ok(), "national_idps": countries });
    let status = if store.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

/// Default security headers; a page that needs a specific CSP sets its own first.
async fn security_headers(
    State(gw): State<Arc<Gateway>>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.entry(header::CONTENT_SECURITY_POLICY).or_insert(HeaderValue::from_static(
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if gw.is_https() {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    response
}

/// An HTML page with no-store and a CSP whose form-action also allows `redirect_targets`
/// (browsers apply form-action to the redirect that follows a form submission).
pub fn page_response(_gw: &Gateway, html: String, redirect_targets: &[String]) -> Response {
    let mut form_action = String::from("'self'");
    for t in redirect_targets {
        if t.bytes()
            .all(|b| b.is_ascii_graphic() && b != b';' && b != b',')
        {
            form_action.push(' ');
            form_action.push_str(t);
        }
    }
    let csp = format!(
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
    );
    let mut response = (StatusCode::OK, reply::html_headers(), html).into_response();
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    response
}

fn cookie(gw: &Gateway, value: &str, max_age: u64) -> HeaderValue {
    let secure = if gw.is_https() { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{FLOW_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("jisr_flow=; Path=/; Max-Age=0"))
}

/// Sets the flow cookie: the flow, sealed (HttpOnly, SameSite=Lax so it survives the
/// top-level return from the national IdP, Secure over https).
pub fn flow_cookie(gw: &Gateway, flow: &Flow) -> HeaderValue {
    cookie(gw, &gw.seals.flow.seal(flow), gw.ttls.login.as_secs())
}

pub fn clear_flow_cookie(gw: &Gateway) -> HeaderValue {
    cookie(gw, "", 0)
}

/// The request's flow, if its cookie is present, ours, intact and unexpired.
pub fn flow_from_cookie(gw: &Gateway, headers: &HeaderMap) -> Option<Flow> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .filter(|(k, _)| *k == FLOW_COOKIE)
        .find_map(|(_, v)| gw.seals.flow.open::<Flow>(v))
        .filter(|f| f.exp > gw.now())
}
