//! What happened in a flow, as one value: each login step reports an [`Event`] to
//! [`super::Ops::record`], which counts it ([`super::metrics`]) and writes it to the audit
//! log ([`super::audit`]). An event carries only values from configuration (countries,
//! agency ids), fixed codes and random flow ids — never a name, identifier, birthdate or
//! token. The citizen appears only as `subject`, an HMAC under the audit key.

use jisr_mapping::{CountryCode, Loa};

use crate::http::reject::{OAuthError, Reject};

/// The kinds of events of a cross-border flow, in the order a login meets them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// `/authorize` accepted the agency's request (client, redirect URI, PKCE good).
    AuthorizationAccepted,
    /// The citizen chose their country; the gateway sent them to its national IdP.
    CountryChosen,
    /// The national IdP's ID token passed every check.
    NationalTokenVerified,
    /// The national IdP's ID token (or its token response) was refused; `reason` says why.
    NationalTokenRefused,
    /// The national claims were mapped to the shared assertion.
    Mapped,
    /// The pair's policy allowed the release (`reason` carries nothing; the rule is in the
    /// flow's country-chosen event).
    PolicyDecision,
    ConsentGiven,
    ConsentDeclined,
    /// An authorization code went back to the agency: the login completed.
    CodeIssued,
    /// The agency redeemed the code at `/token`.
    CodeRedeemed,
    /// The agency read the claims at `/userinfo`.
    Userinfo,
    /// The flow (or a back-channel request) was refused; `reason` and `error` say why.
    Refused,
    /// An operator acted (suspended or resumed a country or pair, signed in or out, or was
    /// refused sign-in); `reason` names the action.
    OperatorAction,
    /// An agency exchanged a national ID token for the shared assertion (RFC 8693).
    TokenExchanged,
    /// An agency or its resource server introspected an access token (RFC 7662); `reason`
    /// is `active` or `inactive`.
    Introspected,
    /// An agency revoked an access token (RFC 7009).
    Revoked,
    /// Single sign-on: the citizen's gateway session signed them in to this agency without a
    /// national login.
    SessionReused,
    /// A gateway session ended; `reason` says who ended it (`rp_initiated`, `national`, or `replaced`: another
    /// citizen's login in the same browser).
    LoggedOut,
    /// A back-channel logout token was delivered to an agency or given up on; `reason`
    /// says how it went (`delivered`, `rejected`, `failed`, `timeout`).
    BackchannelLogout,
}

impl EventKind {
    /// Every kind, in declaration order (`kind as usize` is its index here).
    pub const ALL: [EventKind; 19] = [
        EventKind::AuthorizationAccepted,
        EventKind::CountryChosen,
        EventKind::NationalTokenVerified,
        EventKind::NationalTokenRefused,
        EventKind::Mapped,
        EventKind::PolicyDecision,
        EventKind::ConsentGiven,
        EventKind::ConsentDeclined,
        EventKind::CodeIssued,
        EventKind::CodeRedeemed,
        EventKind::Userinfo,
        EventKind::Refused,
        EventKind::OperatorAction,
        EventKind::TokenExchanged,
        EventKind::Introspected,
        EventKind::Revoked,
        EventKind::SessionReused,
        EventKind::LoggedOut,
        EventKind::BackchannelLogout,
    ];

    /// The name in audit records and dashboards.
    pub const fn name(self) -> &'static str {
        match self {
            EventKind::AuthorizationAccepted => "authorization_accepted",
            EventKind::CountryChosen => "country_chosen",
            EventKind::NationalTokenVerified => "national_token_verified",
            EventKind::NationalTokenRefused => "national_token_refused",
            EventKind::Mapped => "mapped",
            EventKind::PolicyDecision => "policy_decision",
            EventKind::ConsentGiven => "consent_given",
            EventKind::ConsentDeclined => "consent_declined",
            EventKind::CodeIssued => "code_issued",
            EventKind::CodeRedeemed => "code_redeemed",
            EventKind::Userinfo => "userinfo",
            EventKind::Refused => "refused",
            EventKind::OperatorAction => "operator_action",
            EventKind::TokenExchanged => "token_exchanged",
            EventKind::Introspected => "introspected",
            EventKind::Revoked => "revoked",
            EventKind::SessionReused => "session_reused",
            EventKind::LoggedOut => "logged_out",
            EventKind::BackchannelLogout => "backchannel_logout",
        }
    }
}

/// Whether the step went through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Ok,
    Refused,
}

impl Outcome {
    pub const fn name(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Refused => "refused",
        }
    }
}

/// What is known about a flow so far. A step fills it in as it learns (the client once it
/// is a registered agency, the origin once chosen), and the same trail describes the
/// step's events and, if it fails, its refusal.
#[derive(Debug, Clone, Default)]
pub struct Trail {
    /// The flow's random id (the flow cookie's `id`), once there is a flow.
    pub flow: Option<String>,
    /// A registered agency's client id — never an unverified one.
    pub client_id: Option<String>,
    pub origin: Option<CountryCode>,
    pub destination: Option<CountryCode>,
    pub loa: Option<Loa>,
    /// The citizen's audit reference (see [`super::audit::Audit::subject_ref`]).
    pub subject: Option<String>,
    /// For operator actions: the operator's subject at the operator IdP (staff, not a
    /// citizen), so the action is accountable.
    pub operator: Option<String>,
}

/// One event of a flow, as [`super::Ops::record`] receives it.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub kind: EventKind,
    pub outcome: Outcome,
    pub trail: &'a Trail,
    /// A fixed code (never free text): why a refusal happened, or which operator action.
    pub reason: Option<&'static str>,
    /// The OAuth error a refusal was answered with.
    pub error: Option<OAuthError>,
}

impl<'a> Event<'a> {
    /// A step that went through.
    pub fn ok(kind: EventKind, trail: &'a Trail) -> Self {
        Event {
            kind,
            outcome: Outcome::Ok,
            trail,
            reason: None,
            error: None,
        }
    }

    /// The refusal `reject` ended the flow (or request) described by `trail`.
    pub fn refused(trail: &'a Trail, reject: &Reject) -> Self {
        Event {
            kind: EventKind::Refused,
            outcome: Outcome::Refused,
            trail,
            reason: Some(reject.reason()),
            error: Some(reject.error()),
        }
    }
}
