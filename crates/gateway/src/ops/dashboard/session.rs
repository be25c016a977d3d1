//! The operator's session: a sealed cookie (subject, allow-listed groups, expiry, CSRF token,
//! session id) set after a verified sign-in, `HttpOnly`, `SameSite=Lax`, `Secure` when the
//! dashboard is on https, and its server-side half: `opsess:<id>` in the gateway's store,
//! written at sign-in and deleted at sign-out, so a copied cookie dies with the session.
//! [`require`] is the one gate every dashboard route passes: it re-reads the role from
//! `[admin.operators]` on every request (an operator taken off the list gets 403 at once, a
//! downgraded one loses admin), then checks the store entry (one `get`; idle for
//! [`IDLE_SECS`] ends it). Pages without a session go to sign-in, the JSON API answers 401,
//! a role too weak answers 403.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cookie::{Cookie, SameSite};
use serde::{Deserialize, Serialize};

use crate::app::Gateway;
use crate::config::gateway::admin::{AdminSettings, Role};
use crate::http::response;
use crate::provider::seal::TextSealer;
use jisr_store::{Store, StoreError};

/// The session cookie.
pub const SESSION_COOKIE: &str = "jisr_ops";
/// The sign-in-in-progress cookie.
pub const LOGIN_COOKIE: &str = "jisr_ops_login";
/// How long a session lasts at most (one working shift).
pub const SESSION_SECS: i64 = 8 * 3600;
/// A session no request has used for this long ends (the open page polls every 5 s, so
/// this ends sessions whose dashboard is closed).
pub const IDLE_SECS: i64 = 30 * 60;
/// The store entry's last-use time is rewritten at most this often (one `put` a minute, not
/// one per request).
pub const TOUCH_EVERY_SECS: i64 = 60;

/// A signed-in operator, as the sealed cookie carries them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Session {
    /// The operator's subject at the operator IdP (staff, not a citizen).
    pub sub: String,
    /// The operator's groups at sign-in that the allow-list names (the others cannot give
    /// a role; a group added to the list later needs a new sign-in).
    pub groups: Vec<String>,
    /// Not in the cookie: [`check`] sets it from `[admin.operators]` on every request.
    #[serde(skip)]
    pub role: SessionRole,
    pub exp: i64,
    /// Bound to this session; every POST form carries it.
    pub csrf: String,
    /// The server-side session: `opsess:<sid>` in the gateway's store while it lives.
    pub sid: String,
}

/// [`Role`] as the session holds it (the weakest until [`check`] reads the allow-list).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionRole {
    #[default]
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
    pub fn new(sub: String, groups: Vec<String>, role: Role, now: i64) -> Self {
        Session {
            sub,
            groups,
            role: role.into(),
            exp: now.saturating_add(SESSION_SECS),
            csrf: crate::app::random_token(24),
            sid: crate::app::random_token(24),
        }
    }

    /// The store key of the server-side half.
    pub fn store_key(&self) -> String {
        crate::provider::state::keys::operator_session(&self.sid)
    }

    /// Writes the server-side half at sign-in (last use: `now`).
    pub async fn open(&self, store: &dyn Store, now: i64) -> Result<(), StoreError> {
        store
            .put(&self.store_key(), now.to_string().as_bytes(), self.ttl(now))
            .await
    }

    /// Deletes the server-side half (sign-out); whether a live one was removed.
    pub async fn close(&self, store: &dyn Store) -> Result<bool, StoreError> {
        store.delete(&self.store_key()).await
    }

    /// Whether the server-side half lives (one `get`; a `put` at most every
    /// [`TOUCH_EVERY_SECS`] to record the use).
    pub async fn live(&self, store: &dyn Store, now: i64, want: Want) -> Result<(), Denied> {
        let key = self.store_key();
        let stored = store.get(&key).await.map_err(|e| {
            tracing::error!(error = %e, "operator session not readable");
            Denied::Unavailable
        })?;
        match alive(stored.as_deref(), now) {
            (false, _) => Err(Denied::SignIn(want)),
            (true, touch) => {
                if touch
                    && let Err(e) = store
                        .put(&key, now.to_string().as_bytes(), self.ttl(now))
                        .await
                {
                    tracing::warn!(error = %e, "operator session use not recorded");
                }
                Ok(())
            }
        }
    }

    /// The store entry lives until idle or the session's end, whichever is first.
    fn ttl(&self, now: i64) -> Duration {
        let secs = IDLE_SECS.min(self.exp.saturating_sub(now)).max(1);
        Duration::from_secs(u64::try_from(secs).unwrap_or(1))
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
    /// Signed in, but the role is too weak (or the operator is no longer on the list).
    Forbidden,
    /// The store cannot say whether the session lives.
    Unavailable,
}

/// The session, if it exists and the allow-list gives its operator a role of at least
/// `min` now; the role is set from the list, never taken from the cookie.
pub fn check(
    session: Option<Session>,
    admin: Option<&AdminSettings>,
    want: Want,
    min: Role,
) -> Result<Session, Denied> {
    let mut session = session.ok_or(Denied::SignIn(want))?;
    let role = admin
        .and_then(|a| a.role_of(&session.sub, &session.groups))
        .ok_or(Denied::Forbidden)?;
    if role < min {
        return Err(Denied::Forbidden);
    }
    session.role = role.into();
    Ok(session)
}

/// Whether the store entry `stored` (the last use) keeps the session alive at `now`, and
/// whether its last use should be rewritten.
pub fn alive(stored: Option<&[u8]>, now: i64) -> (bool, bool) {
    let last = stored
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| v.parse::<i64>().ok());
    match last {
        Some(last) if now.saturating_sub(last) <= IDLE_SECS => {
            (true, now.saturating_sub(last) >= TOUCH_EVERY_SECS)
        }
        _ => (false, false),
    }
}

/// [`check`] on the request's cookie, then [`Session::live`] in the gateway's store.
pub async fn require(
    gw: &Gateway,
    headers: &HeaderMap,
    want: Want,
    min: Role,
) -> Result<Session, Denied> {
    let session = check(current(gw, headers), gw.admin.as_ref(), want, min)?;
    session.live(gw.store.as_ref(), gw.now(), want).await?;
    Ok(session)
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
            Denied::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({"error": "store_unavailable"})),
            )
                .into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::gateway::admin::{OperatorGrant, OperatorMatch};
    use jisr_store::MemoryStore;

    fn sealer() -> TextSealer {
        TextSealer::new("jisr-ops-session-v1", [7u8; 32])
    }

    #[test]
    fn session_cookie_round_trips_sealed_and_refuses_tampering() {
        let s = Session::new("ops-admin".into(), vec!["g".into()], Role::Admin, 1_000);
        assert_eq!(s.exp, 1_000 + SESSION_SECS);
        let sealed = sealer().seal(&s);
        assert!(!sealed.contains("ops-admin"), "the subject is not readable");
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("other=1; {SESSION_COOKIE}={sealed}")).unwrap(),
        );
        // The role is not in the cookie: it opens as the weakest, until `check` reads the list.
        assert_eq!(
            read::<Session>(&headers, SESSION_COOKIE, &sealer()),
            Some(Session {
                role: SessionRole::Viewer,
                ..s.clone()
            })
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
        let s = Session::new("ops-admin".into(), Vec::new(), Role::Admin, 0);
        assert!(s.csrf_ok(Some(&s.csrf.clone())));
        assert!(!s.csrf_ok(None));
        assert!(!s.csrf_ok(Some("")));
        assert!(!s.csrf_ok(Some(&format!("{}x", s.csrf))));
    }

    fn admin(operators: &[(OperatorMatch, Role)]) -> AdminSettings {
        AdminSettings {
            listen: "127.0.0.1:0".parse().unwrap(),
            public_url: "http://127.0.0.1:0".into(),
            login: None,
            operators: operators
                .iter()
                .map(|(who, role)| OperatorGrant {
                    who: who.clone(),
                    role: *role,
                })
                .collect(),
        }
    }

    fn group(name: &str) -> OperatorMatch {
        OperatorMatch::Group(name.into())
    }

    #[test]
    fn roles_gate_pages_api_and_actions() {
        let list = admin(&[
            (group("viewers"), Role::Viewer),
            (group("admins"), Role::Admin),
        ]);
        let list = Some(&list);
        let viewer = Session::new("v".into(), vec!["viewers".into()], Role::Viewer, 0);
        let admin = Session::new("a".into(), vec!["admins".into()], Role::Admin, 0);
        assert_eq!(
            check(None, list, Want::Page, Role::Viewer),
            Err(Denied::SignIn(Want::Page))
        );
        assert_eq!(
            check(None, list, Want::Api, Role::Viewer),
            Err(Denied::SignIn(Want::Api))
        );
        assert_eq!(
            check(Some(viewer.clone()), list, Want::Api, Role::Viewer),
            Ok(viewer.clone())
        );
        assert_eq!(
            check(Some(viewer), list, Want::Page, Role::Admin),
            Err(Denied::Forbidden)
        );
        assert_eq!(
            check(Some(admin.clone()), list, Want::Page, Role::Admin),
            Ok(admin)
        );
        let status = |d: Denied| d.into_response().status();
        assert_eq!(status(Denied::SignIn(Want::Page)), StatusCode::SEE_OTHER);
        assert_eq!(status(Denied::SignIn(Want::Api)), StatusCode::UNAUTHORIZED);
        assert_eq!(status(Denied::Forbidden), StatusCode::FORBIDDEN);
        assert_eq!(status(Denied::Unavailable), StatusCode::SERVICE_UNAVAILABLE);
    }

    #[test]
    fn the_role_is_read_from_the_allow_list_on_every_request() {
        // Signed in as an admin (by group) ...
        let s = Session::new("op-1".into(), vec!["admins".into()], Role::Admin, 0);
        let now = admin(&[(group("admins"), Role::Admin)]);
        assert_eq!(
            check(Some(s.clone()), Some(&now), Want::Api, Role::Admin).map(|s| s.role),
            Ok(SessionRole::Admin)
        );
        // ... the group downgraded to viewer: no more admin, still a viewer.
        let downgraded = admin(&[(group("admins"), Role::Viewer)]);
        assert_eq!(
            check(Some(s.clone()), Some(&downgraded), Want::Api, Role::Admin),
            Err(Denied::Forbidden)
        );
        assert_eq!(
            check(Some(s.clone()), Some(&downgraded), Want::Api, Role::Viewer).map(|s| s.role),
            Ok(SessionRole::Viewer)
        );
        // ... taken off the list: 403 at once, whatever the cookie says.
        let removed = admin(&[(OperatorMatch::Subject("someone-else".into()), Role::Admin)]);
        let mut forged = s.clone();
        forged.role = SessionRole::Admin;
        assert_eq!(
            check(Some(forged), Some(&removed), Want::Page, Role::Viewer),
            Err(Denied::Forbidden)
        );
        assert_eq!(
            check(Some(s), None, Want::Page, Role::Viewer),
            Err(Denied::Forbidden),
            "no [admin]: nobody"
        );
    }

    #[test]
    fn idle_sessions_end_and_use_is_recorded_at_most_every_minute() {
        let at = |t: i64| t.to_string().into_bytes();
        assert_eq!(alive(None, 100), (false, false), "no entry: signed out");
        assert_eq!(alive(Some(b"junk"), 100), (false, false));
        assert_eq!(alive(Some(&at(100)), 100), (true, false));
        assert_eq!(
            alive(Some(&at(100)), 100 + TOUCH_EVERY_SECS - 1),
            (true, false)
        );
        assert_eq!(alive(Some(&at(100)), 100 + TOUCH_EVERY_SECS), (true, true));
        assert_eq!(alive(Some(&at(100)), 100 + IDLE_SECS), (true, true));
        assert_eq!(alive(Some(&at(100)), 100 + IDLE_SECS + 1), (false, false));
        assert_eq!(alive(Some(&at(i64::MIN)), i64::MAX), (false, false));
    }

    #[tokio::test]
    async fn sign_out_kills_every_copy_of_the_cookie() {
        let store = MemoryStore::default();
        let s = Session::new("op-1".into(), Vec::new(), Role::Admin, 1_000);
        assert_eq!(
            s.live(&store, 1_000, Want::Api).await,
            Err(Denied::SignIn(Want::Api)),
            "a cookie without its store entry is no session"
        );
        s.open(&store, 1_000).await.unwrap();
        let copy = s.clone();
        assert_eq!(copy.live(&store, 1_010, Want::Api).await, Ok(()));
        assert_eq!(s.close(&store).await, Ok(true));
        assert_eq!(
            copy.live(&store, 1_020, Want::Api).await,
            Err(Denied::SignIn(Want::Api))
        );
        // Another session of the same operator is not touched.
        let other = Session::new("op-1".into(), Vec::new(), Role::Admin, 1_000);
        other.open(&store, 1_000).await.unwrap();
        assert_eq!(s.close(&store).await, Ok(false));
        assert_eq!(other.live(&store, 1_030, Want::Page).await, Ok(()));
        // Use is recorded: a minute later the entry says so.
        other
            .live(&store, 1_000 + TOUCH_EVERY_SECS, Want::Page)
            .await
            .unwrap();
        assert_eq!(
            store.get(&other.store_key()).await.unwrap(),
            Some((1_000 + TOUCH_EVERY_SECS).to_string().into_bytes())
        );
        assert!(other.store_key().starts_with("opsess:"));
    }
}
