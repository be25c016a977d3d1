//! Telling agencies that a session ended.
//!
//! Back-Channel Logout 1.0: each agency of the session that registered a
//! `backchannel_logout_uri` gets a logout token (a JWT signed like its ID tokens, `typ`
//! `logout+jwt`: `iss`, `aud`, `iat`, `exp`, `jti`, `sid`, `events` with the back-channel
//! logout event, never a `nonce`) POSTed as `logout_token`. Delivery runs in tokio tasks off
//! the request path: at most [`Sender::CONCURRENCY`] at once across the gateway, each POST
//! limited by a timeout, retried with backoff on a transport failure or a 5xx, never on a
//! 4xx (the agency refused the token). A slow or dead agency delays neither the citizen nor
//! the other agencies. Each outcome is an event (metric `jisr_backchannel_logout_total`,
//! audit record `backchannel_logout`).
//!
//! `sid` is always sent, so `backchannel_logout_session_required` is always met, and `sub`
//! too: the subject the agency's ID tokens carry, kept sealed in the session for this.
//!
//! Front-Channel Logout 1.0: [`frontchannel_uris`] lists the agencies' registered
//! `frontchannel_logout_uri`s with `iss` and `sid`, for the signed-out page's iframes.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::json;
use tokio::sync::Semaphore;

use super::Session;
use crate::app::{Gateway, random_token};
use crate::ops::{Event, EventKind, Outcome, Trail};

/// The event a logout token carries.
pub const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// The gateway's back-channel logout sender: one HTTP client, one concurrency bound.
#[derive(Debug, Clone)]
pub struct Sender {
    client: reqwest::Client,
    permits: Arc<Semaphore>,
    /// Each POST's limit.
    pub timeout: Duration,
    /// Attempts per agency (the first and the retries).
    pub attempts: u32,
    /// Wait before the first retry; doubled each time.
    pub backoff: Duration,
}

impl Sender {
    /// Deliveries in flight at once, across all sessions.
    pub const CONCURRENCY: usize = 16;

    /// A sender with `timeout` per POST, three attempts, 250 ms first backoff.
    pub fn new(timeout: Duration) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(timeout.min(Duration::from_secs(2)))
            .timeout(timeout)
            .user_agent(concat!("jisr/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Sender {
            client,
            permits: Arc::new(Semaphore::new(Self::CONCURRENCY)),
            timeout,
            attempts: 3,
            backoff: Duration::from_millis(250),
        }
    }
}

impl Default for Sender {
    fn default() -> Self {
        Sender::new(Duration::from_secs(5))
    }
}

/// The logout token's claims (Back-Channel Logout 1.0 section 2.4).
#[derive(Debug, Serialize)]
struct LogoutToken<'a> {
    iss: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
    jti: String,
    sid: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<&'a str>,
    events: serde_json::Value,
}

/// How one delivery ended (the `outcome` label; fixed codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivery {
    Delivered,
    /// The agency answered 4xx: it refused the token; not retried.
    Rejected,
    /// Transport failures or 5xx on every attempt.
    Failed,
    /// The last attempt timed out.
    Timeout,
}

impl Delivery {
    fn name(self) -> &'static str {
        match self {
            Delivery::Delivered => "delivered",
            Delivery::Rejected => "rejected",
            Delivery::Failed => "failed",
            Delivery::Timeout => "timeout",
        }
    }
}

/// Sends a logout token to every agency of `session` that registered a back-channel
/// logout URI, in the background; returns at once.
pub fn notify(gw: &Arc<Gateway>, session: &Session) {
    let now = gw.now();
    for signed_in in &session.agencies {
        let Some(agency) = gw.agencies.get(&signed_in.client_id) else {
            continue;
        };
        let Some(uri) = agency.logout.backchannel_logout_uri.clone() else {
            continue;
        };
        let claims = LogoutToken {
            iss: &gw.issuer,
            aud: &agency.client_id,
            iat: now,
            exp: now + 120,
            jti: random_token(18),
            sid: &signed_in.sid,
            sub: signed_in.sub.as_deref(),
            events: json!({ BACKCHANNEL_EVENT: {} }),
        };
        let trail = Trail {
            client_id: Some(agency.client_id.clone()),
            destination: Some(agency.country),
            origin: Some(session.origin),
            subject: session.subject.clone(),
            ..Trail::default()
        };
        let Ok(token) = gw
            .keys
            .sign_as(agency.id_token_signed_response_alg, "logout+jwt", &claims)
        else {
            record(gw, &trail, Delivery::Failed);
            continue;
        };
        let gw = gw.clone();
        tokio::spawn(async move {
            let sender = gw.logout.clone();
            let Ok(_permit) = sender.permits.acquire().await else {
                return;
            };
            let outcome = deliver(&sender, &uri, &token).await;
            record(&gw, &trail, outcome);
        });
    }
}

fn record(gw: &Gateway, trail: &Trail, outcome: Delivery) {
    gw.record(&Event {
        kind: EventKind::BackchannelLogout,
        outcome: if outcome == Delivery::Delivered {
            Outcome::Ok
        } else {
            Outcome::Refused
        },
        trail,
        reason: Some(outcome.name()),
        error: None,
    });
}

async fn deliver(sender: &Sender, uri: &str, token: &str) -> Delivery {
    let mut wait = sender.backoff;
    let mut last = Delivery::Failed;
    for attempt in 0..sender.attempts.max(1) {
        if attempt > 0 {
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
        let sent = sender
            .client
            .post(uri)
            .header(reqwest::header::CACHE_CONTROL, "no-store")
            .form(&[("logout_token", token)])
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => return Delivery::Delivered,
            Ok(r) if r.status().is_client_error() => return Delivery::Rejected,
            Ok(_) => last = Delivery::Failed,
            Err(e) if e.is_timeout() => last = Delivery::Timeout,
            Err(_) => last = Delivery::Failed,
        }
    }
    last
}

/// The front-channel logout URIs of the agencies of `session` that registered one, with
/// `iss` and `sid` (Front-Channel Logout 1.0 section 2).
pub fn frontchannel_uris(gw: &Gateway, session: &Session) -> Vec<String> {
    session
        .agencies
        .iter()
        .filter_map(|s| {
            let agency = gw.agencies.get(&s.client_id)?;
            let mut url =
                url::Url::parse(agency.logout.frontchannel_logout_uri.as_deref()?).ok()?;
            url.query_pairs_mut()
                .append_pair("iss", &gw.issuer)
                .append_pair("sid", &s.sid);
            Some(url.into())
        })
        .collect()
}
