//! Step 6, `GET|POST /userinfo`: the assertion (without the ID token's envelope) for a live
//! access token, sent in the `Authorization: Bearer` header (RFC 6750 2.1, scheme in any
//! case) or, on POST, as `access_token` in a form body (RFC 6750 2.2) — never both.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::error::BearerError;
use super::seal::MAX_SEALED;
use super::state::{AccessToken, keys};
use crate::app::Gateway;
use crate::http::authorization::{Authorization, credentials};
use crate::http::params::{self, MAX_FORM};
use crate::http::reject::Reject;
use crate::ops::{Event, EventKind, Trail};

/// The userinfo form body (RFC 6750 2.2); other parameters are ignored.
#[derive(Debug, Deserialize)]
struct UserinfoForm {
    access_token: Option<String>,
}

/// `GET|POST /userinfo` with `Authorization: Bearer`, or POST with `access_token`.
pub async fn userinfo(
    State(gw): State<Arc<Gateway>>,
    method: Method,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let mut trail = Trail::default();
    match claims(&gw, &method, &headers, &body, &mut trail).await {
        Ok(r) => r,
        Err(e) => {
            let reject = Reject::from(e);
            gw.record(&Event::refused(&trail, &reject));
            reject.into_response()
        }
    }
}

/// The access token of the request, from exactly one of the two places it may be.
fn access_token<'a>(
    method: &Method,
    headers: &'a HeaderMap,
    body: &'a [u8],
    form: &'a mut Option<UserinfoForm>,
) -> Result<&'a str, BearerError> {
    let in_header = match credentials(headers, "Bearer") {
        Authorization::Credentials(token) => Some(token),
        // RFC 6750 3.1: another scheme is "no authentication information" for this resource.
        Authorization::Absent | Authorization::OtherScheme => None,
    };
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    if method == Method::POST && is_form {
        let body = std::str::from_utf8(body)
            .map_err(|_| BearerError::Malformed("the form body is not UTF-8".into()))?;
        *form = Some(
            params::parse(body, MAX_FORM)
                .map_err(|e| BearerError::Malformed(format!("the form body is refused: {e}")))?,
        );
    }
    let in_body = form.as_ref().and_then(|f| f.access_token.as_deref());
    let token = match (in_header, in_body) {
        (Some(_), Some(_)) => {
            return Err(BearerError::Malformed(
                "the access token is sent both in the Authorization header and in the body; \
                 use one (RFC 6750 2)"
                    .into(),
            ));
        }
        (Some(token), None) | (None, Some(token)) => token,
        (None, None) => return Err(BearerError::Missing),
    };
    if token.is_empty() {
        return Err(BearerError::Malformed("the access token is empty".into()));
    }
    if token.len() > MAX_SEALED {
        return Err(BearerError::Invalid);
    }
    Ok(token)
}

async fn claims(
    gw: &Gateway,
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
    trail: &mut Trail,
) -> Result<Response, BearerError> {
    let mut form = None;
    let token = access_token(method, headers, body, &mut form)?;
    let grant: AccessToken = gw
        .seals
        .access_token
        .open(token)
        .filter(|t: &AccessToken| t.exp > gw.now())
        .ok_or(BearerError::Invalid)?;
    *trail = grant.trail();
    gw.rate
        .client(crate::http::rate::Route::Userinfo, &grant.client_id)?;
    let live = gw.store.get(&keys::live_grant(&grant.grant)).await?;
    if live.as_deref() != Some(grant.client_id.as_bytes()) {
        return Err(BearerError::Revoked);
    }
    gw.record(&Event::ok(EventKind::Userinfo, trail));
    let mut response = (StatusCode::OK, axum::Json(grant.assertion)).into_response();
    crate::http::response::no_store(&mut response);
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.insert(name, HeaderValue::from_str(value).unwrap());
        }
        h
    }

    fn token(method: Method, h: &HeaderMap, body: &str) -> Result<String, String> {
        let mut form = None;
        access_token(&method, h, body.as_bytes(), &mut form)
            .map(str::to_owned)
            .map_err(|e| format!("{}: {e}", e.reason()))
    }

    const FORM: (header::HeaderName, &str) = (
        header::CONTENT_TYPE,
        "application/x-www-form-urlencoded; charset=UTF-8",
    );

    #[test]
    fn rfc6750_header_in_any_case_or_form_body_never_both() {
        for value in ["Bearer t0k", "bearer t0k", "BEARER  t0k"] {
            let h = headers(&[(header::AUTHORIZATION, value)]);
            assert_eq!(token(Method::GET, &h, ""), Ok("t0k".into()), "{value}");
        }
        let form = headers(&[FORM]);
        assert_eq!(
            token(Method::POST, &form, "access_token=t0k&other=1"),
            Ok("t0k".into())
        );
        // The body counts only on a form POST.
        assert_eq!(
            token(Method::GET, &form, "access_token=t0k"),
            Err("bearer_missing: a Bearer access token is required".into())
        );
        let json = headers(&[(header::CONTENT_TYPE, "application/json")]);
        assert_eq!(
            token(Method::POST, &json, "access_token=t0k"),
            Err("bearer_missing: a Bearer access token is required".into())
        );
        let both = headers(&[FORM, (header::AUTHORIZATION, "Bearer t0k")]);
        assert_eq!(
            token(Method::POST, &both, "access_token=t0k"),
            Err(
                "bearer_malformed: the access token is sent both in the Authorization header \
                 and in the body; use one (RFC 6750 2)"
                    .into()
            )
        );
        assert_eq!(
            token(Method::POST, &form, "access_token=a&access_token=b"),
            Err(
                "bearer_malformed: the form body is refused: parameter `access_token` is \
                 repeated"
                    .into()
            )
        );
        let mut slot = None;
        assert_eq!(
            access_token(&Method::POST, &form, b"access_token=\xff", &mut slot)
                .map_err(|e| e.to_string()),
            Err("the form body is not UTF-8".into())
        );
    }

    #[test]
    fn no_credentials_other_schemes_and_empty_tokens() {
        for h in [
            HeaderMap::new(),
            headers(&[(header::AUTHORIZATION, "Basic dTpw")]),
        ] {
            assert_eq!(
                token(Method::GET, &h, ""),
                Err("bearer_missing: a Bearer access token is required".into())
            );
        }
        let h = headers(&[(header::AUTHORIZATION, "Bearer ")]);
        assert_eq!(
            token(Method::GET, &h, ""),
            Err("bearer_malformed: the access token is empty".into())
        );
        let long = format!("Bearer {}", "a".repeat(MAX_SEALED + 1));
        let h = headers(&[(header::AUTHORIZATION, long.as_str())]);
        assert_eq!(
            token(Method::GET, &h, ""),
            Err("bearer_invalid: the access token is not valid or has expired".into())
        );
    }
}
