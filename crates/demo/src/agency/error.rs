//! Why a sign-in failed, and the one place where that becomes a bilingual page. Details are
//! protocol facts (error codes, which check failed), never claim values, and only the kind
//! is logged.

use axum::http::StatusCode;
use axum::response::Response;
use openidconnect::core::CoreErrorResponseType;
use openidconnect::{ClaimsVerificationError, RequestTokenError, StandardErrorResponse};

use super::AgencyView;
use super::oidc::HttpError;
use super::pages::{self, ErrorText};

#[derive(Debug, thiserror::Error)]
pub(crate) enum AgencyError {
    /// The gateway cannot be reached or discovered (yet).
    #[error("{0}")]
    Unavailable(String),
    /// The callback's `state` names no sign-in started in this browser session.
    #[error("state does not match a sign-in started in this browser")]
    StateMismatch,
    /// RFC 9207 `iss` names another issuer.
    #[error("iss does not name the gateway")]
    IssuerMismatch,
    /// The gateway promises `iss` (RFC 9207) but the response has none.
    #[error("iss is missing from the authorization response")]
    MissingIss,
    /// A malformed callback (no code, repeated parameters …).
    #[error("{0}")]
    BadCallback(String),
    /// The gateway answered with an OAuth error (authorization response or token endpoint).
    #[error("the gateway answered `{code}`")]
    Provider {
        code: String,
        description: Option<String>,
    },
    #[error("token exchange failed: {0}")]
    Token(String),
    #[error("the ID token was rejected: {0}")]
    IdToken(String),
    #[error("userinfo failed: {0}")]
    UserInfo(String),
}

impl AgencyError {
    fn kind(&self) -> &'static str {
        match self {
            AgencyError::Unavailable(_) => "unavailable",
            AgencyError::StateMismatch => "state_mismatch",
            AgencyError::IssuerMismatch => "iss_mismatch",
            AgencyError::MissingIss => "iss_missing",
            AgencyError::BadCallback(_) => "bad_callback",
            AgencyError::Provider { .. } => "provider_error",
            AgencyError::Token(_) => "token",
            AgencyError::IdToken(_) => "id_token",
            AgencyError::UserInfo(_) => "userinfo",
        }
    }

    /// The bilingual page for this failure.
    pub fn page(&self, agency: &AgencyView) -> Response {
        match self {
            AgencyError::Provider { code, .. } => {
                tracing::info!(kind = self.kind(), error = %code, "sign-in ended with an error")
            }
            _ => tracing::warn!(kind = self.kind(), "sign-in failed"),
        }
        let (status, text) = self.text();
        pages::error(agency, status, &text)
    }

    fn text(&self) -> (StatusCode, ErrorText<'_>) {
        let failed = ErrorText {
            title_en: "Sign-in could not be completed",
            title_ar: "تعذّر إكمال تسجيل الدخول",
            text_en: "The answer from the sign-in service failed our checks, so you were not \
                      signed in. Please try again.",
            text_ar: "لم تجتز استجابة خدمة تسجيل الدخول عمليات التحقق، لذلك لم يتم تسجيل دخولك. \
                      يُرجى المحاولة مرة أخرى.",
            code: None,
            detail: None,
        };
        let unavailable = ErrorText {
            title_en: "Sign-in service unavailable",
            title_ar: "خدمة تسجيل الدخول غير متاحة",
            text_en: "The sign-in service could not be reached. Please try again in a moment.",
            text_ar: "تعذّر الوصول إلى خدمة تسجيل الدخول. يُرجى المحاولة مرة أخرى بعد قليل.",
            code: Some("temporarily_unavailable"),
            detail: None,
        };
        let mismatch = ErrorText {
            title_en: "This sign-in could not be matched",
            title_ar: "تعذّرت مطابقة عملية تسجيل الدخول",
            text_en: "The response does not belong to a sign-in started in this browser, or it \
                      has expired. Please start again.",
            text_ar: "هذه الاستجابة لا تخص عملية تسجيل دخول بدأت في هذا المتصفح، أو أن صلاحيتها \
                      انتهت. يُرجى البدء من جديد.",
            code: Some("invalid_request"),
            detail: Some(self.to_string()),
        };
        match self {
            AgencyError::Unavailable(detail) => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorText {
                    detail: Some(detail.clone()),
                    ..unavailable
                },
            ),
            AgencyError::StateMismatch
            | AgencyError::IssuerMismatch
            | AgencyError::MissingIss
            | AgencyError::BadCallback(_) => (StatusCode::BAD_REQUEST, mismatch),
            AgencyError::Provider { code, description } => {
                let detail = description.clone();
                let code = Some(code.as_str());
                match code {
                    Some("access_denied") => (
                        StatusCode::FORBIDDEN,
                        ErrorText {
                            title_en: "Sign-in cancelled",
                            title_ar: "تم إلغاء تسجيل الدخول",
                            text_en: "You cancelled the sign-in or did not agree to share your \
                                      details. Nothing was shared with the ministry.",
                            text_ar: "ألغيت تسجيل الدخول أو لم توافق على مشاركة بياناتك. لم تتم \
                                      مشاركة أي بيانات مع الوزارة.",
                            code,
                            detail,
                        },
                    ),
                    Some("unmet_authentication_requirements") => (
                        StatusCode::FORBIDDEN,
                        ErrorText {
                            title_en: "Higher level of assurance needed",
                            title_ar: "مطلوب مستوى ضمان أعلى",
                            text_en: "Your sign-in does not reach the level of assurance this \
                                      service requires.",
                            text_ar: "لا يحقق تسجيل دخولك مستوى الضمان الذي تتطلبه هذه الخدمة.",
                            code,
                            detail,
                        },
                    ),
                    Some("temporarily_unavailable" | "server_error") => (
                        StatusCode::SERVICE_UNAVAILABLE,
                        ErrorText {
                            code,
                            detail,
                            ..unavailable
                        },
                    ),
                    _ => (
                        StatusCode::BAD_REQUEST,
                        ErrorText {
                            title_en: "The sign-in service refused the request",
                            title_ar: "رفضت خدمة تسجيل الدخول الطلب",
                            text_en: "You were not signed in. Please try again.",
                            text_ar: "لم يتم تسجيل دخولك. يُرجى المحاولة مرة أخرى.",
                            code,
                            detail,
                        },
                    ),
                }
            }
            AgencyError::Token(_) | AgencyError::IdToken(_) | AgencyError::UserInfo(_) => (
                StatusCode::BAD_GATEWAY,
                ErrorText {
                    detail: Some(self.to_string()),
                    ..failed
                },
            ),
        }
    }
}

type TokenError = RequestTokenError<HttpError, StandardErrorResponse<CoreErrorResponseType>>;

pub(crate) fn describe_token(e: &TokenError) -> AgencyError {
    match e {
        RequestTokenError::ServerResponse(response) => AgencyError::Provider {
            code: response.error().to_string(),
            description: response.error_description().cloned(),
        },
        RequestTokenError::Request(e) => AgencyError::Unavailable(format!("token endpoint: {e}")),
        // The path only: serde messages may quote claim values.
        RequestTokenError::Parse(e, _) => AgencyError::Token(format!(
            "the token response could not be read (at `{}`)",
            e.path()
        )),
        RequestTokenError::Other(msg) => AgencyError::Token(msg.clone()),
    }
}

pub(crate) fn describe_id_token(e: &ClaimsVerificationError) -> AgencyError {
    AgencyError::IdToken(match e {
        ClaimsVerificationError::SignatureVerification(inner) => format!("{e}: {inner}"),
        _ => e.to_string(),
    })
}

pub(crate) fn describe_userinfo(e: &openidconnect::UserInfoError<HttpError>) -> AgencyError {
    use openidconnect::UserInfoError;
    match e {
        UserInfoError::ClaimsVerification(ClaimsVerificationError::InvalidSubject(_)) => {
            AgencyError::UserInfo("userinfo describes another subject than the ID token".into())
        }
        UserInfoError::ClaimsVerification(inner) => AgencyError::UserInfo(inner.to_string()),
        UserInfoError::Parse(inner) => AgencyError::UserInfo(format!(
            "the response could not be read (at `{}`)",
            inner.path()
        )),
        UserInfoError::Request(inner) => AgencyError::Unavailable(format!("userinfo: {inner}")),
        UserInfoError::Response(status, _, _) => {
            AgencyError::UserInfo(format!("userinfo answered HTTP {}", status.as_u16()))
        }
        UserInfoError::Other(msg) => AgencyError::UserInfo(msg.clone()),
        _ => AgencyError::UserInfo("unexpected error".into()),
    }
}
