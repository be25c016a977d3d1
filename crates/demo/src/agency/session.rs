//! Server-side sessions in memory, keyed by a random cookie: the sign-ins in progress
//! (state, nonce, PKCE verifier) and, once signed in, the person. Entries expire; the id is
//! replaced at sign-in so a planted cookie cannot be promoted (session fixation).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tokio::time::Instant;

use super::oidc::Pending;
use super::person::Person;

/// The session cookie's name for the agency registered as `client_id`:
/// `jisr_agency_<client_id>`, any character a cookie name may not hold as `_`.
pub(crate) fn cookie_name(client_id: &str) -> String {
    let safe: String = client_id
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("jisr_agency_{safe}")
}
/// How long a sign-in may take between `/login` and `/callback`.
pub(crate) const PENDING_TTL: Duration = Duration::from_secs(10 * 60);
/// How long a session lives after its last sign-in activity.
pub(crate) const SESSION_TTL: Duration = Duration::from_secs(60 * 60);
/// Sign-ins kept per session (several tabs); the oldest goes first.
const MAX_PENDING: usize = 4;
/// Sessions kept in all; beyond it the one closest to expiry is dropped.
const MAX_SESSIONS: usize = 10_000;

#[derive(Default)]
pub(crate) struct Sessions {
    map: Mutex<HashMap<String, Entry>>,
}

struct Entry {
    expires: Instant,
    pending: Vec<(Instant, Pending)>,
    person: Option<Arc<Person>>,
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The signed-in person of session `sid`, if any.
    pub fn person(&self, sid: &str) -> Option<Arc<Person>> {
        let now = Instant::now();
        let map = self.lock();
        map.get(sid)
            .filter(|e| e.expires > now)
            .and_then(|e| e.person.clone())
    }

    /// Records a sign-in in progress in session `sid` (a new session when `sid` is unknown);
    /// returns the session id to set in the cookie.
    pub fn add_pending(&self, sid: Option<&str>, pending: Pending) -> String {
        let now = Instant::now();
        let mut map = self.lock();
        let sid = match sid.filter(|s| map.get(*s).is_some_and(|e| e.expires > now)) {
            Some(sid) => sid.to_owned(),
            None => {
                prune(&mut map, now);
                let sid = new_id();
                map.insert(
                    sid.clone(),
                    Entry {
                        expires: now + SESSION_TTL,
                        pending: Vec::new(),
                        person: None,
                    },
                );
                sid
            }
        };
        if let Some(entry) = map.get_mut(&sid) {
            entry.pending.retain(|(at, _)| *at + PENDING_TTL > now);
            if entry.pending.len() >= MAX_PENDING {
                entry.pending.remove(0);
            }
            entry.pending.push((now, pending));
            entry.expires = entry.expires.max(now + PENDING_TTL);
        }
        sid
    }

    /// Takes (single use) the sign-in in progress whose state is `state`.
    pub fn take_pending(&self, sid: &str, state: &str) -> Option<Pending> {
        let now = Instant::now();
        let mut map = self.lock();
        let entry = map.get_mut(sid).filter(|e| e.expires > now)?;
        let index = entry
            .pending
            .iter()
            .position(|(at, p)| p.state == state && *at + PENDING_TTL > now)?;
        Some(entry.pending.remove(index).1)
    }

    /// Signs `person` in under a fresh session id, ending session `old`; returns the new id.
    pub fn sign_in(&self, old: Option<&str>, person: Person) -> String {
        let now = Instant::now();
        let mut map = self.lock();
        if let Some(old) = old {
            map.remove(old);
        }
        prune(&mut map, now);
        let sid = new_id();
        map.insert(
            sid.clone(),
            Entry {
                expires: now + SESSION_TTL,
                pending: Vec::new(),
                person: Some(Arc::new(person)),
            },
        );
        sid
    }

    pub fn remove(&self, sid: &str) {
        self.lock().remove(sid);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

/// Drops expired sessions and, when full, the one closest to expiry.
fn prune(map: &mut HashMap<String, Entry>, now: Instant) {
    map.retain(|_, e| e.expires > now);
    while map.len() >= MAX_SESSIONS {
        let Some(victim) = map
            .iter()
            .min_by_key(|(_, e)| e.expires)
            .map(|(k, _)| k.clone())
        else {
            break;
        };
        map.remove(&victim);
    }
}

/// 256 random bits, base64url.
// The system RNG does not fail in practice; if it did, a predictable id would be worse than a
// failed request; the panic ends only this connection's task, not the server.
#[allow(clippy::expect_used)]
fn new_id() -> String {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).expect("system random number generator");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The session id from the request's `Cookie` headers (the cookie `name`).
pub(crate) fn sid_from(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// `Set-Cookie` for session `sid` in the cookie `name`, or clearing it when `None`.
pub(crate) fn cookie(name: &str, sid: Option<&str>, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let value = match sid {
        Some(sid) => format!(
            "{name}={sid}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
            SESSION_TTL.as_secs()
        ),
        None => format!("{name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
    };
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(state: &str) -> Pending {
        Pending {
            state: state.into(),
            nonce: "n".into(),
            verifier: "v".into(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn pending_is_single_use_and_expires() {
        let s = Sessions::default();
        let sid = s.add_pending(None, pending("a"));
        assert_eq!(s.add_pending(Some(&sid), pending("b")), sid);
        assert!(s.take_pending(&sid, "zzz").is_none());
        assert_eq!(
            s.take_pending(&sid, "a").map(|p| p.state).as_deref(),
            Some("a")
        );
        assert!(s.take_pending(&sid, "a").is_none(), "single use");
        tokio::time::advance(PENDING_TTL + Duration::from_secs(1)).await;
        assert!(s.take_pending(&sid, "b").is_none(), "expired");
    }

    #[tokio::test(start_paused = true)]
    async fn sign_in_rotates_the_id_and_sessions_expire() {
        let s = Sessions::default();
        let sid = s.add_pending(None, pending("a"));
        let signed = s.sign_in(Some(&sid), Person::default());
        assert_ne!(signed, sid);
        assert!(s.person(&sid).is_none());
        assert!(s.person(&signed).is_some());
        assert_eq!(s.len(), 1);
        tokio::time::advance(SESSION_TTL + Duration::from_secs(1)).await;
        assert!(s.person(&signed).is_none());
        // An unknown or expired id gets a new session rather than being adopted.
        let fresh = s.add_pending(Some("planted-by-someone"), pending("c"));
        assert_ne!(fresh, "planted-by-someone");
        assert_eq!(s.len(), 1, "the expired session was pruned");
    }

    #[test]
    fn cookie_parsing_and_attributes() {
        let name = cookie_name("demo-agency");
        assert_eq!(name, "jisr_agency_demo-agency");
        assert_eq!(cookie_name("a b;c=d"), "jisr_agency_a_b_c_d");
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; jisr_agency_other=xyz; jisr_agency_demo-agency=abc"),
        );
        assert_eq!(sid_from(&h, &name).as_deref(), Some("abc"));
        assert_eq!(sid_from(&h, "jisr_agency_other").as_deref(), Some("xyz"));
        assert_eq!(sid_from(&h, "jisr_agency_third"), None);
        let set = cookie(&name, Some("abc"), true);
        let set = set.to_str().unwrap();
        assert!(set.starts_with("jisr_agency_demo-agency=abc;"));
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Secure"));
        assert!(
            cookie(&name, None, false)
                .to_str()
                .unwrap()
                .contains("Max-Age=0")
        );
    }
}
