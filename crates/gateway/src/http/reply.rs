//! The one place where refusals become HTTP: OAuth error redirects to agencies, JSON errors on
//! the back channel, and bilingual error pages with a reference id for citizens.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jisr_store::StoreError;

use crate::pages::{self, ErrorPage, Lang};

/// A refusal, in the form its audience understands.
#[derive(Debug)]
pub enum Reject {
    /// Back to the agency's (validated) redirect URI with `error`, per RFC 6749 4.1.2.1.
    Redirect {
        redirect_uri: String,
        error: &'static str,
        description: String,
        state: Option<String>,
        issuer: String,
    },
    /// A bilingual page for the citizen (client or redirect URI not trustworthy, or a
    /// failure the agency cannot act on).
    Page {
        status: StatusCode,
        error: &'static str,
        message_en: String,
        message_ar: &'static str,
        lang: Lang,
    },
    /// Token, userinfo and other back-channel endpoints: JSON `{error, error_description}`.
    Json {
        status: StatusCode,
        error: &'static str,
        description: String,
        /// `WWW-Authenticate` value for 401s.
        challenge: Option<&'static str>,
    },
}

impl Reject {
    pub fn page(
        status: StatusCode,
        error: &'static str,
        message_en: impl Into<String>,
        message_ar: &'static str,
        lang: Lang,
    ) -> Self {
        Reject::Page {
            status,
            error,
            message_en: message_en.into(),
            message_ar,
            lang,
        }
    }

    pub fn json(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Reject::Json {
            status,
            error,
            description: description.into(),
            challenge: None,
        }
    }

    /// The store could not answer: fail closed with 503 temporarily_unavailable.
    pub fn store_page(e: &StoreError, lang: Lang) -> Self {
        tracing::error!(error = %e, "store failure");
        Reject::page(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "The service is temporarily unavailable. Please try again in a moment.",
            "الخدمة غير متاحة مؤقتاً. يرجى المحاولة بعد قليل.",
            lang,
        )
    }

    pub fn store_json(e: &StoreError) -> Self {
        tracing::error!(error = %e, "store failure");
        Reject::json(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "the state store is unavailable; retry later",
        )
    }
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
                redirect_uri,
                error,
                description,
                state,
                issuer,
            } => {
                tracing::info!(target: "audit", error, description = %description, "authorization refused");
                let mut url = match url::Url::parse(&redirect_uri) {
                    Ok(u) => u,
                    Err(_) => {
                        return (StatusCode::BAD_REQUEST, "invalid redirect_uri").into_response();
                    }
                };
                {
                    let mut q = url.query_pairs_mut();
                    q.append_pair("error", error)
                        .append_pair("error_description", &description);
                    if let Some(state) = &state {
                        q.append_pair("state", state);
                    }
                    q.append_pair("iss", &issuer);
                }
                redirect(url.as_str())
            }
            Reject::Page {
                status,
                error,
                message_en,
                message_ar,
                lang,
            } => {
                let reference = reference();
                tracing::warn!(target: "audit", reference = %reference, error, status = status.as_u16(), reason = %message_en, "citizen shown an error page");
                let html = pages::error(&ErrorPage {
                    lang,
                    error,
                    message_en: &message_en,
                    message_ar,
                    reference: &reference,
                });
                let mut response = (status, html_headers(), html).into_response();
                response
                    .headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                response
            }
            Reject::Json {
                status,
                error,
                description,
                challenge,
            } => {
                let body = serde_json::json!({ "error": error, "error_description": description });
                let mut response = (status, axum::Json(body)).into_response();
                let h = response.headers_mut();
                h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
                if let Some(c) = challenge {
                    h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(c));
                }
                response
            }
        }
    }
}

pub fn html_headers() -> [(header::HeaderName, HeaderValue); 1] {
    [(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    )]
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
