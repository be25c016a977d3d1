//! The flow cookie: binds a login in progress to the browser that started it. The flow rides
//! in it sealed (see `app::Seals`), so nothing is stored until the citizen picks a country.
//! `HttpOnly`; `SameSite=Lax` so it survives the top-level return from the national IdP;
//! `Secure` over https. Cookie syntax (building and parsing) is the `cookie` crate's.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use cookie::{Cookie, SameSite};

use crate::app::Gateway;
use crate::provider::state::Flow;

/// The cookie's name.
pub const FLOW_COOKIE: &str = "jisr_flow";

fn header_value(gw: &Gateway, value: String, max_age: u64) -> HeaderValue {
    let cookie = Cookie::build((FLOW_COOKIE, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(gw.is_https())
        .max_age(cookie::time::Duration::seconds(max_age as i64))
        .build();
    HeaderValue::from_str(&cookie.to_string())
        .unwrap_or_else(|_| HeaderValue::from_static("jisr_flow=; Path=/; Max-Age=0"))
}

/// Sets the flow cookie on `response`: the flow, sealed, for the login's lifetime.
pub fn set_flow(gw: &Gateway, response: &mut Response, flow: &Flow) {
    let value = header_value(gw, gw.seals.flow.seal(flow), gw.ttls.login.as_secs());
    response.headers_mut().append(header::SET_COOKIE, value);
}

/// Ends the flow cookie on `response`.
pub fn clear_flow(gw: &Gateway, response: &mut Response) {
    let value = header_value(gw, String::new(), 0);
    response.headers_mut().append(header::SET_COOKIE, value);
}

/// The request's flow, if its cookie is present, ours, intact and unexpired.
pub fn read_flow(gw: &Gateway, headers: &HeaderMap) -> Option<Flow> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .filter(|c| c.name() == FLOW_COOKIE)
        .find_map(|c| gw.seals.flow.open::<Flow>(c.value()))
        .filter(|f| f.exp > gw.now())
}
