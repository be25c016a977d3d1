//! Response shapes more than one step uses: HTML pages with their own CSP, 303 redirects,
//! `no-store` on anything carrying flow state or tokens.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The CSP every page starts from; [`page`] widens only `form-action`.
pub const DEFAULT_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// An HTML body with its content type.
pub fn html(body: String) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        body,
    )
}

/// `Cache-Control: no-store` (and `Pragma: no-cache` for old caches), per RFC 6749 5.1.
pub fn no_store(response: &mut Response) {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// An HTML page with no-store and a CSP whose form-action also allows `redirect_targets`
/// (browsers apply form-action to the redirect that follows a form submission).
pub fn page(body: String, redirect_targets: &[String]) -> Response {
    let mut form_action = String::from("'self'");
    for t in redirect_targets {
        if t.bytes()
            .all(|b| b.is_ascii_graphic() && b != b';' && b != b',')
        {
            form_action.push(' ');
            form_action.push_str(t);
        }
    }
    let csp = DEFAULT_CSP.replace("form-action 'self'", &format!("form-action {form_action}"));
    let mut response = (StatusCode::OK, html(body)).into_response();
    no_store(&mut response);
    if let Ok(v) = HeaderValue::from_str(&csp) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, v);
    }
    response
}

/// 303 See Other to `location` (after a POST the browser must GET).
pub fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => {
            let mut response = StatusCode::SEE_OTHER.into_response();
            response.headers_mut().insert(header::LOCATION, v);
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(_) => (StatusCode::BAD_REQUEST, "invalid redirect").into_response(),
    }
}
