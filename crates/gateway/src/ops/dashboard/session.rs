//! The operator's session: a sealed cookie (subject, role, expiry, CSRF token) set after a
//! verified sign-in, `HttpOnly`, `SameSite=Lax`, `Secure` when the dashboard is on https.
//! [`require`] is the one gate every dashboard route passes: pages without a session go to
//! sign-in, the JSON API answers 401, a role too weak answers 403.

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cookie::{Cookie, SameSite};
use serde::{Deserialize, Serialize};

use crate::app::Gateway;
use crate::config::gateway::admin::Role;
use crate::http::response;
use crate::provider::seal::TextSealer;

/// The session cookie.
pub const SESSION_COOKIE: &str = "jisr_ops";
/// The sign-in-in-progress cookie.
pub const LOGIN_COOKIE: &str = "jisr_ops_login";
/// How long a session lasts (one working shift).
pub const SESSION_SECS: i64 = 8 * 3600;

/// A signed-in operator, as the sealed cookie carries them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Session {
    /// The operator's subject at the operator IdP (staff, not a citizen).
    pub sub: String,
    pub role: SessionRole,
    pub exp: i64,
    /// Bound to this session; every POST form carries it.
    pub csrf: String,
}

/// [`Role`] as the cookie spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionRole {
    Viewer,
    Admin,
}

impl From<Role> for SessionRole {
    fn from(r: Role) -> Self {
        match r {
            Role::Viewer => SessionRole::Viewer,
            Role::Admin => SessionRole::Admin,
        }
    }
}

impl SessionRole {
    pub fn role(self) -> Role {
        match self {
            SessionRole::Viewer => Role::Viewer,
            SessionRole::Admin => Role::Admin,
        }
    }
}

impl Session {
    pub fn new(sub: String, role: Role, now: i64) -> Self {
        Session {
            sub,
            role: role.into(),
            exp: now + SESSION_SECS,
            csrf: crate::app::random_token(24),
        }
    }

    /// Whether `presented` is this session's CSRF token (constant time).
    pub fn csrf_ok(&self, presented: Option<&str>) -> bool {
        presented.is_some_and(|p| {
            aws_lc_rs::constant_time::verify_slices_are_equal(p.as_bytes(), self.csrf.as_bytes())
                .is_ok()
        })
    }
}

fn secure(gw: &Gateway) -> bool {
    gw.admin
        .as_ref()
        .is_some_and(|a| a.public_url.starts_with("https://"))
}

/// A `Set-Cookie` value for `name` (empty value and `max_age` 0 ends it).
pub fn cookie_header(gw: &Gateway, name: &'static str, value: String, max_age: i64) -> HeaderValue {
    let cookie = Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure(gw))
        .max_age(cookie::time::Duration::seconds(max_age))
        .build();
    HeaderValue::from_str(&cookie.to_string())
        .unwrap_or_else(|_| HeaderValue::from_static("jisr_ops=; Path=/; Max-Age=0"))
}

/// The value of cookie `name` that `sealer` opens, if any.
pub fn read<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    name: &str,
    sealer: &TextSealer,
) -> Option<T> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .filter(|c| c.name() == name)
        .find_map(|c| sealer.open::<T>(c.value()))
}

/// The request's live session, if any.
pub fn current(gw: &Gateway, headers: &HeaderMap) -> Option<Session> {
    read::<Session>(headers, SESSION_COOKIE, &gw.seals.operator_session)
        .filter(|s| s.exp > gw.now())
}

/// What kind of route asks: a page (redirect to sign-in) or the API (401).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    Page,
    Api,
}

/// Why [`require`] said no.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// No (live) session.
    SignIn(Want),
    /// Signed in, but the role is too weak.
    Forbidden,
}

/// The session, if it exists and its role is at least `min`.
pub fn check(session: Option<Session>, want: Want, min: Role) -> Result<Session, Denied> {
    let session = session.ok_or(Denied::SignIn(want))?;
    if session.role.role() < min {
        return Err(Denied::Forbidden);
    }
    Ok(session)
}

/// [`check`] on the request's cookie.
pub fn require(
    gw: &Gateway,
    headers: &HeaderMap,
    want: Want,
    min: Role,
) -> Result<Session, Denied> {
    check(current(gw, headers), want, min)
}

impl IntoResponse for Denied {
    fn into_response(self) -> Response {
        match self {
            Denied::SignIn(Want::Page) => response::redirect("/login"),
            Denied::SignIn(Want::Api) => {
                let mut r = (
                    StatusCode::UNAUTHORIZED,
                    Json(serde_json::json!({"error": "unauthorized", "sign_in": "/login"})),
                )
                    .into_response();
                r.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Cookie realm=\"jisr-dashboard\""),
                );
                r
            }
            Denied::Forbidden => (
                StatusCode::FORBIDDEN,
                Json(serde_json::json!({"error": "forbidden", "needs": "admin"})),
            )
                .into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer() -> TextSealer {
        TextSealer::new("jisr-ops-session-v1", [7u8; 32])
    }

    #[test]
    fn session_cookie_round_trips_sealed_and_refuses_tampering() {
        let s = Session::new("ops-admin".into(), Role::Admin, 1_000);
        assert_eq!(s.exp, 1_000 + SESSION_SECS);
        let sealed = sealer().seal(&s);
        assert!(!sealed.contains("ops-admin"), "the subject is not readable");
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("other=1; {SESSION_COOKIE}={sealed}")).unwrap(),
        );
        assert_eq!(
            read::<Session>(&headers, SESSION_COOKIE, &sealer()),
            Some(s.clone())
        );
        // Another purpose's key (the sign-in cookie's) does not open it.
        let other = TextSealer::new("jisr-ops-login-v1", [7u8; 32]);
        assert_eq!(read::<Session>(&headers, SESSION_COOKIE, &other), None);
        // One flipped character and it is gone.
        let mut bytes = sealed.into_bytes();
        let i = bytes.len() / 2;
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("{SESSION_COOKIE}={tampered}")).unwrap(),
        );
        assert_eq!(read::<Session>(&headers, SESSION_COOKIE, &sealer()), None);
    }

    #[test]
    fn csrf_must_match_exactly() {
        let s = Session::new("ops-admin".into(), Role::Admin, 0);
        assert!(s.csrf_ok(Some(&s.csrf.clone())));
        assert!(!s.csrf_ok(None));
        assert!(!s.csrf_ok(Some("")));
        assert!(!s.csrf_ok(Some(&format!("{}x", s.csrf))));
    }

    #[test]
    fn roles_gate_pages_api_and_actions() {
        let viewer = Session::new("v".into(), Role::Viewer, 0);
        let admin = Session::new("a".into(), Role::Admin, 0);
        assert_eq!(
            check(None, Want::Page, Role::Viewer),
            Err(Denied::SignIn(Want::Page))
        );
        assert_eq!(
            check(None, Want::Api, Role::Viewer),
            Err(Denied::SignIn(Want::Api))
        );
        assert_eq!(
            check(Some(viewer.clone()), Want::Api, Role::Viewer),
            Ok(viewer.clone())
        );
        assert_eq!(
            check(Some(viewer), Want::Page, Role::Admin),
            Err(Denied::Forbidden)
        );
        assert_eq!(
            check(Some(admin.clone()), Want::Page, Role::Admin),
            Ok(admin)
        );
        let status = |d: Denied| d.into_response().status();
        assert_eq!(status(Denied::SignIn(Want::Page)), StatusCode::SEE_OTHER);
        assert_eq!(status(Denied::SignIn(Want::Api)), StatusCode::UNAUTHORIZED);
        assert_eq!(status(Denied::Forbidden), StatusCode::FORBIDDEN);
    }
}
