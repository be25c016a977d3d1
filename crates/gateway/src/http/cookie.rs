//! The flow cookies: bind a login in progress to the browser that started it. Each flow has
//! its own cookie, named after the flow's id (`jisr_flow_<id>`), so a second sign-in in
//! another tab does not overwrite the first; a browser keeps at most [`MAX_FLOWS`] of them
//! and the oldest is dropped when a new flow starts. The flow rides in its cookie sealed
//! (see `app::Seals`), so nothing is stored until the citizen picks a country.
//! `Path=/` (the steps are `/login/country`, `/callback/{cc}` and `/consent`: no narrower
//! common path), `HttpOnly`, `SameSite=Lax` so it survives the top-level return from the
//! national IdP, `Secure` over https. Cookie syntax (building and parsing) is the `cookie`
//! crate's.
//!
//! One more cookie, [`AGENCY_COOKIE`], remembers the agency of the last flow started here,
//! so a page reached after the flow is gone ("expired", after pressing Back) can offer to
//! start again at that agency. It carries the client id only, sealed.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use cookie::{Cookie, SameSite};
use serde::{Deserialize, Serialize};

use crate::app::Gateway;
use crate::pages::Lang;
use crate::provider::state::Flow;

/// Every flow cookie's name starts with this, followed by the flow id.
pub const FLOW_COOKIE_PREFIX: &str = "jisr_flow_";
/// The most flow cookies one browser keeps; starting one more drops the oldest.
pub const MAX_FLOWS: usize = 4;
/// The cookie naming the agency of the last flow started in this browser.
pub const AGENCY_COOKIE: &str = "jisr_agency";
/// How long [`AGENCY_COOKIE`] lasts: long enough for Back after a finished sign-in.
const AGENCY_COOKIE_SECS: u64 = 12 * 3600;

/// The name of flow `id`'s cookie.
pub fn flow_cookie_name(id: &str) -> String {
    format!("{FLOW_COOKIE_PREFIX}{id}")
}

fn header_value(gw: &Gateway, name: &str, value: String, max_age: u64) -> Option<HeaderValue> {
    let cookie = Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(gw.is_https())
        .max_age(cookie::time::Duration::seconds(max_age as i64))
        .build();
    HeaderValue::from_str(&cookie.to_string()).ok()
}

fn append(response: &mut Response, value: Option<HeaderValue>) {
    if let Some(v) = value {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// The request's cookies named with `prefix`, as `(name, value)`.
fn cookies<'h>(
    headers: &'h HeaderMap,
    wanted: impl Fn(&str) -> bool + 'h,
) -> impl Iterator<Item = (String, String)> + 'h {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .filter(move |c| wanted(c.name()))
        .map(|c| (c.name().to_owned(), c.value().to_owned()))
}

/// Sets flow `flow`'s cookie on `response` for the login's lifetime. When the browser
/// (`request`) already holds [`MAX_FLOWS`] other flow cookies, the oldest (or any that no
/// longer opens) are ended, so the number a browser carries stays bounded.
pub fn set_flow(gw: &Gateway, request: &HeaderMap, response: &mut Response, flow: &Flow) {
    let own = flow_cookie_name(&flow.id);
    let others: Vec<(String, String)> =
        cookies(request, |n| n.starts_with(FLOW_COOKIE_PREFIX) && n != own).collect();
    let excess = (others.len() + 1).saturating_sub(MAX_FLOWS);
    if excess > 0 {
        // Only over the bound are the others opened, to end those expiring first.
        let mut by_expiry: Vec<(i64, &str)> = others
            .iter()
            .map(|(name, value)| {
                let exp = gw
                    .seals
                    .flow
                    .open::<Flow>(value)
                    .filter(|f| flow_cookie_name(&f.id) == *name)
                    .map_or(i64::MIN, |f| f.exp);
                (exp, name.as_str())
            })
            .collect();
        by_expiry.sort();
        for (_, name) in by_expiry.iter().take(excess) {
            append(response, header_value(gw, name, String::new(), 0));
        }
    }
    let value = header_value(gw, &own, gw.seals.flow.seal(flow), gw.ttls.login.as_secs());
    append(response, value);
    remember_agency(gw, response, flow);
}

/// Ends flow `id`'s cookie on `response`.
pub fn clear_flow(gw: &Gateway, response: &mut Response, id: &str) {
    append(
        response,
        header_value(gw, &flow_cookie_name(id), String::new(), 0),
    );
}

/// Flow `id`, if the request carries its cookie, ours, intact, unexpired and naming that id.
pub fn read_flow(gw: &Gateway, headers: &HeaderMap, id: &str) -> Option<Flow> {
    let name = flow_cookie_name(id);
    cookies(headers, |n| n == name)
        .find_map(|(_, value)| gw.seals.flow.open::<Flow>(&value))
        .filter(|f| f.id == id && f.exp > gw.now())
}

/// What [`AGENCY_COOKIE`] carries.
#[derive(Debug, Serialize, Deserialize)]
struct LastAgency {
    client_id: String,
    /// The language the citizen's pages led with.
    lang: String,
    exp: i64,
}

fn remember_agency(gw: &Gateway, response: &mut Response, flow: &Flow) {
    let last = LastAgency {
        client_id: flow.client_id.clone(),
        lang: flow.lang.clone(),
        exp: gw.now() + AGENCY_COOKIE_SECS as i64,
    };
    let value = header_value(
        gw,
        AGENCY_COOKIE,
        gw.seals.flow.seal(&last),
        AGENCY_COOKIE_SECS,
    );
    append(response, value);
}

/// The client id of the agency of the last flow started in this browser, and the language
/// its pages led with, if still known.
pub fn last_agency(gw: &Gateway, headers: &HeaderMap) -> Option<(String, Lang)> {
    cookies(headers, |n| n == AGENCY_COOKIE)
        .find_map(|(_, value)| gw.seals.flow.open::<LastAgency>(&value))
        .filter(|l| l.exp > gw.now())
        .map(|l| (l.client_id, Lang::from_ui_locales(Some(&l.lang))))
}
