//! The one refusal vocabulary: [`OAuthError`] codes, and [`Reject`], the one type every step
//! error converts into and the one place a refusal becomes HTTP — a redirect back to the
//! agency (RFC 6749 4.1.2.1, with RFC 9207 `iss`), a JSON error on the back channel
//! (RFC 6749 5.2, RFC 6750 3), or a bilingual page with a reference id for the citizen.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::response::{html, no_store, redirect};
use crate::pages::messages::Text;
use crate::pages::{self, ErrorPage, Lang};

/// The OAuth 2.0 / OpenID Connect error codes the gateway sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthError {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    InvalidScope,
    InvalidToken,
    UnsupportedResponseType,
    UnsupportedGrantType,
    RequestNotSupported,
    RequestUriNotSupported,
    LoginRequired,
    AccessDenied,
    UnmetAuthenticationRequirements,
    TemporarilyUnavailable,
    ServerError,
    /// RFC 8693 2.2.2: the requested audience or resource is not acceptable.
    InvalidTarget,
    /// RFC 6749 5.2: the client may not use this grant (here: for this pair of countries).
    UnauthorizedClient,
    /// OIDC Core 3.1.2.6: the release needs the citizen's consent.
    ConsentRequired,
    /// RFC 7009 2.2.1: the token type cannot be revoked.
    UnsupportedTokenType,
    /// OIDC Core 3.1.2.6: `prompt=none` and the citizen must act (e.g. choose again).
    InteractionRequired,
}

impl OAuthError {
    /// The code as it goes on the wire.
    pub const fn code(self) -> &'static str {
        match self {
            OAuthError::InvalidRequest => "invalid_request",
            OAuthError::InvalidClient => "invalid_client",
            OAuthError::InvalidGrant => "invalid_grant",
            OAuthError::InvalidScope => "invalid_scope",
            OAuthError::InvalidToken => "invalid_token",
            OAuthError::UnsupportedResponseType => "unsupported_response_type",
            OAuthError::UnsupportedGrantType => "unsupported_grant_type",
            OAuthError::RequestNotSupported => "request_not_supported",
            OAuthError::RequestUriNotSupported => "request_uri_not_supported",
            OAuthError::LoginRequired => "login_required",
            OAuthError::AccessDenied => "access_denied",
            OAuthError::UnmetAuthenticationRequirements => "unmet_authentication_requirements",
            OAuthError::TemporarilyUnavailable => "temporarily_unavailable",
            OAuthError::ServerError => "server_error",
            OAuthError::InvalidTarget => "invalid_target",
            OAuthError::UnauthorizedClient => "unauthorized_client",
            OAuthError::ConsentRequired => "consent_required",
            OAuthError::UnsupportedTokenType => "unsupported_token_type",
            OAuthError::InteractionRequired => "interaction_required",
        }
    }
}

impl OAuthError {
    const ALL: [OAuthError; 19] = [
        OAuthError::InvalidRequest,
        OAuthError::InvalidClient,
        OAuthError::InvalidGrant,
        OAuthError::InvalidScope,
        OAuthError::InvalidToken,
        OAuthError::UnsupportedResponseType,
        OAuthError::UnsupportedGrantType,
        OAuthError::RequestNotSupported,
        OAuthError::RequestUriNotSupported,
        OAuthError::LoginRequired,
        OAuthError::AccessDenied,
        OAuthError::UnmetAuthenticationRequirements,
        OAuthError::TemporarilyUnavailable,
        OAuthError::ServerError,
        OAuthError::InvalidTarget,
        OAuthError::UnauthorizedClient,
        OAuthError::ConsentRequired,
        OAuthError::UnsupportedTokenType,
        OAuthError::InteractionRequired,
    ];

    /// The error whose wire code is `code` (as lower crates name it, e.g.
    /// [`jisr_mapping::MappingError::oauth_error`]).
    pub fn parse(code: &str) -> Option<OAuthError> {
        Self::ALL.into_iter().find(|e| e.code() == code)
    }
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::http::StatusCode;
    use axum::response::IntoResponse;

    use super::{Back, BackTo, OAuthError, Reject, ReturnTo};
    use crate::pages::Lang;
    use crate::pages::messages;

    #[derive(Clone, Default)]
    struct Log(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Log {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The technical reason goes to the log under the page's reference and the agency's
    /// client id; the page shows neither the reason nor anything but plain language, and its
    /// button carries the error, `state` and `iss` to the agency.
    #[tokio::test]
    async fn a_page_logs_its_reason_under_its_reference_and_shows_only_plain_language() {
        let log = Log::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let reject = Reject::page(
            StatusCode::BAD_GATEWAY,
            OAuthError::InvalidRequest,
            messages::NATIONAL_UNVERIFIED,
            Lang::En,
        )
        .with_log("SA: signature does not verify with the issuer's key")
        .because("id_token_bad_signature")
        .back(
            Back {
                client_id: "bh-moh".into(),
                agency_en: "Ministry of Health".into(),
                agency_ar: "وزارة الصحة".into(),
                to: BackTo::Refuse(ReturnTo {
                    redirect_uri: "https://moh.example/cb".into(),
                    state: Some("s1".into()),
                    issuer: "https://jisr.example".into(),
                }),
            },
            OAuthError::AccessDenied,
        );
        assert!(reject.ends_flow());
        let response = tracing::subscriber::with_default(subscriber, || reject.into_response());
        assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let html = String::from_utf8(body.to_vec()).unwrap();
        let marker = "class=\"reference\">";
        let at = html.find(marker).unwrap() + marker.len();
        let reference = &html[at..at + 11];
        assert!(
            !html.contains("signature") && !html.contains("id_token"),
            "{html}"
        );
        assert!(
            html.contains("<code dir=\"ltr\">access_denied</code>"),
            "{html}"
        );
        let description = format!("reference+{reference}");
        assert!(
            html.contains(&format!(
                "href=\"https://moh.example/cb?error=access_denied&#38;error_description=the+sign-in+could+not+be+completed+%28{description}%29&#38;state=s1&#38;iss=https%3A%2F%2Fjisr.example\""
            )),
            "{html}"
        );
        let log = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
        let line = log
            .lines()
            .find(|l| l.contains("citizen shown an error page"))
            .unwrap_or_else(|| panic!("{log}"));
        for part in [
            reference,
            "bh-moh",
            "id_token_bad_signature",
            "signature does not verify with the issuer's key",
            "access_denied",
        ] {
            assert!(line.contains(part), "`{part}` not in {line}");
        }
    }

    #[test]
    fn every_code_parses_back() {
        for e in OAuthError::ALL {
            assert_eq!(OAuthError::parse(e.code()), Some(e));
        }
        assert_eq!(OAuthError::parse("invalid"), None);
    }
}

/// Where a refusal goes once the agency's client and redirect URI are known to be good.
#[derive(Debug, Clone)]
pub struct ReturnTo {
    pub redirect_uri: String,
    pub state: Option<String>,
    /// This gateway's issuer (RFC 9207 `iss`).
    pub issuer: String,
}

impl ReturnTo {
    /// Refuses back to the agency with `error` and a non-sensitive `description`.
    pub fn refuse(&self, error: OAuthError, description: impl Into<String>) -> Reject {
        Reject::Redirect {
            to: self.clone(),
            error,
            description: description.into(),
            reason: None,
        }
    }
}

/// A way back to the agency offered on a citizen's error page, once the agency's client and
/// redirect URI are known to be good.
#[derive(Debug, Clone)]
pub struct Back {
    pub client_id: String,
    pub agency_en: String,
    pub agency_ar: String,
    pub to: BackTo,
}

/// Where the button of a [`Back`] goes.
#[derive(Debug, Clone)]
pub enum BackTo {
    /// The flow failed: the agency's redirect URI with `error`, `state` and `iss` (RFC 6749
    /// 4.1.2.1, RFC 9207), so the agency hears what happened.
    Refuse(ReturnTo),
    /// The flow is gone (expired, already finished): the agency's site, to start again.
    Restart(String),
}

/// A refusal, in the form its audience understands.
#[derive(Debug)]
pub enum Reject {
    /// Back to the agency's validated redirect URI with `error`.
    Redirect {
        to: ReturnTo,
        error: OAuthError,
        description: String,
        /// A fixed code finer than `error` for operators (metrics, audit); see [`Reject::reason`].
        reason: Option<&'static str>,
    },
    /// A bilingual page for the citizen (client or redirect URI not trustworthy, or a
    /// failure in the citizen's hands). `detail` is an English precision shown after the
    /// text (a malformed request's parameter); `log` is the technical reason, written to the
    /// log under the page's reference and never shown. Neither carries personal data. With
    /// `back`, the page offers a button to the agency; `error` is then what the agency hears.
    Page {
        status: StatusCode,
        error: OAuthError,
        text: Text,
        detail: Option<String>,
        log: Option<String>,
        back: Option<Box<Back>>,
        lang: Lang,
        reason: Option<&'static str>,
    },
    /// Token, userinfo and other back-channel endpoints: JSON `{error, error_description}`.
    Json {
        status: StatusCode,
        error: OAuthError,
        description: String,
        /// `WWW-Authenticate` value for 401s.
        challenge: Option<&'static str>,
        reason: Option<&'static str>,
    },
    /// RFC 6750 3.1: a protected resource asked for with no credentials at all (or with a
    /// scheme it does not take): 401 and the challenge, no error code and no body — the
    /// client may not have known a token was needed. Counted as `invalid_request`.
    Challenge {
        challenge: &'static str,
        reason: Option<&'static str>,
    },
    /// Over a rate limit: 429 with `Retry-After` (see [`super::rate`]); counted under
    /// `rate_limited`.
    Limited {
        limited: super::rate::Limited,
        lang: Lang,
    },
}

impl From<super::rate::Limited> for Reject {
    fn from(limited: super::rate::Limited) -> Reject {
        Reject::Limited {
            limited,
            lang: Lang::default(),
        }
    }
}

impl Reject {
    /// A JSON refusal with no `WWW-Authenticate` challenge.
    pub fn json(status: StatusCode, error: OAuthError, description: impl Into<String>) -> Self {
        Reject::Json {
            status,
            error,
            description: description.into(),
            challenge: None,
            reason: None,
        }
    }

    /// A citizen page leading in `lang`.
    pub fn page(status: StatusCode, error: OAuthError, text: Text, lang: Lang) -> Self {
        Reject::Page {
            status,
            error,
            text,
            detail: None,
            log: None,
            back: None,
            lang,
            reason: None,
        }
    }

    /// The same page with `why`, the technical reason, for the log only.
    pub fn with_log(mut self, why: impl Into<String>) -> Self {
        if let Reject::Page { log, .. } = &mut self {
            *log = Some(why.into());
        }
        self
    }

    /// The same page with a button back to the agency. With [`BackTo::Refuse`], the agency
    /// hears `error` (the page shows the same code).
    pub fn back(mut self, to: Back, error_for_agency: OAuthError) -> Self {
        if let Reject::Page { back, error, .. } = &mut self {
            if matches!(to.to, BackTo::Refuse(_)) {
                *error = error_for_agency;
            }
            *back = Some(Box::new(to));
        }
        self
    }

    /// Whether this refusal ends the flow at the agency (a redirect, or a page whose button
    /// carries the error back): the flow's cookie can go.
    pub fn ends_flow(&self) -> bool {
        match self {
            Reject::Redirect { .. } => true,
            Reject::Page { back, .. } => back
                .as_ref()
                .is_some_and(|b| matches!(b.to, BackTo::Refuse(_))),
            Reject::Json { .. } | Reject::Challenge { .. } | Reject::Limited { .. } => false,
        }
    }

    /// The same page with an English precision after the text.
    pub fn with_detail(mut self, more: impl Into<String>) -> Self {
        if let Reject::Page { detail, .. } = &mut self {
            *detail = Some(more.into());
        }
        self
    }

    /// The same refusal, counted and audited under the fixed code `why` (e.g.
    /// `id_token_bad_signature`) rather than its bare OAuth error.
    pub fn because(mut self, why: &'static str) -> Self {
        match &mut self {
            Reject::Redirect { reason, .. }
            | Reject::Page { reason, .. }
            | Reject::Json { reason, .. }
            | Reject::Challenge { reason, .. } => *reason = Some(why),
            Reject::Limited { .. } => {}
        }
        self
    }

    /// The OAuth error this refusal answers with.
    pub fn error(&self) -> OAuthError {
        match self {
            Reject::Redirect { error, .. }
            | Reject::Page { error, .. }
            | Reject::Json { error, .. } => *error,
            Reject::Challenge { .. } => OAuthError::InvalidRequest,
            Reject::Limited { .. } => OAuthError::TemporarilyUnavailable,
        }
    }

    /// The fixed code operators see: the finer reason if one was given, else the OAuth
    /// error code. Always from the code, never from the request, so metric labels stay
    /// bounded.
    pub fn reason(&self) -> &'static str {
        match self {
            Reject::Redirect { reason, .. }
            | Reject::Page { reason, .. }
            | Reject::Json { reason, .. }
            | Reject::Challenge { reason, .. } => reason.unwrap_or_else(|| self.error().code()),
            Reject::Limited { .. } => super::rate::REASON,
        }
    }

    /// The same refusal with its page (if it is one) leading in `lang`.
    pub fn lang(mut self, lang: Lang) -> Self {
        if let Reject::Page { lang: l, .. } | Reject::Limited { lang: l, .. } = &mut self {
            *l = lang;
        }
        self
    }
}

/// The agency's redirect URI carrying `error` (RFC 6749 4.1.2.1) with its `state` and this
/// gateway's `iss` (RFC 9207); `None` if the registered URI does not parse.
fn error_url(to: &ReturnTo, error: OAuthError, description: &str) -> Option<String> {
    let mut url = url::Url::parse(&to.redirect_uri).ok()?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("error", error.code())
            .append_pair("error_description", description);
        if let Some(state) = &to.state {
            q.append_pair("state", state);
        }
        q.append_pair("iss", &to.issuer);
    }
    Some(url.into())
}

/// A short random reference operators can find in the logs (and later the audit log).
pub fn reference() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    let mut out = String::with_capacity(11);
    for i in 0..10 {
        if i == 5 {
            out.push('-');
        }
        out.push(ALPHABET[rng.random_range(0..ALPHABET.len())] as char);
    }
    out
}

impl IntoResponse for Reject {
    fn into_response(self) -> Response {
        match self {
            Reject::Redirect {
                to,
                error,
                description,
                ..
            } => {
                tracing::info!(target: "audit", error = error.code(), description = %description, "authorization refused");
                match error_url(&to, error, &description) {
                    Some(url) => redirect(&url),
                    None => (StatusCode::BAD_REQUEST, "invalid redirect_uri").into_response(),
                }
            }
            Reject::Page {
                status,
                error,
                text,
                detail,
                log,
                back,
                lang,
                reason,
            } => {
                let reference = reference();
                let message_en = match &detail {
                    Some(d) => format!("{} ({d})", text.en),
                    None => text.en.to_owned(),
                };
                let client_id = back.as_ref().map(|b| b.client_id.as_str());
                tracing::warn!(
                    target: "audit",
                    reference = %reference,
                    client_id,
                    error = error.code(),
                    reason = reason.unwrap_or_else(|| error.code()),
                    status = status.as_u16(),
                    message = %message_en,
                    detail = log.as_deref(),
                    "citizen shown an error page"
                );
                let href = back.as_ref().and_then(|b| match &b.to {
                    BackTo::Refuse(to) => error_url(
                        to,
                        error,
                        &format!("the sign-in could not be completed (reference {reference})"),
                    ),
                    BackTo::Restart(url) => Some(url.clone()),
                });
                let back_link =
                    back.as_ref()
                        .zip(href.as_deref())
                        .map(|(b, href)| pages::BackLink {
                            href,
                            agency_en: &b.agency_en,
                            agency_ar: &b.agency_ar,
                            restart: matches!(b.to, BackTo::Restart(_)),
                        });
                let body = pages::error(&ErrorPage {
                    lang,
                    error: error.code(),
                    message_en: &message_en,
                    message_ar: text.ar,
                    reference: &reference,
                    back: back_link,
                });
                let mut response = (status, html(body)).into_response();
                no_store(&mut response);
                response
            }
            Reject::Json {
                status,
                error,
                description,
                challenge,
                ..
            } => {
                let body =
                    serde_json::json!({ "error": error.code(), "error_description": description });
                let mut response = (status, axum::Json(body)).into_response();
                no_store(&mut response);
                if let Some(c) = challenge {
                    response
                        .headers_mut()
                        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(c));
                }
                response
            }
            Reject::Limited { limited, lang } => limited.response(lang),
            Reject::Challenge { challenge, .. } => {
                let mut response = StatusCode::UNAUTHORIZED.into_response();
                no_store(&mut response);
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(challenge),
                );
                response
            }
        }
    }
}
