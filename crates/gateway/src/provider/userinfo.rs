//! The userinfo endpoint: the same identity claims as the ID token, for a live access token.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::state::{AccessToken, keys};
use crate::app::Gateway;
use crate::http::reply::Reject;

fn invalid_token(description: &str) -> Reject {
    Reject::Json {
        status: StatusCode::UNAUTHORIZED,
        error: "invalid_token",
        description: description.to_owned(),
        challenge: Some("Bearer realm=\"jisr\", error=\"invalid_token\""),
    }
}

/// `GET|POST /userinfo` with `Authorization: Bearer`.
pub async fn userinfo(State(gw): State<Arc<Gateway>>, headers: HeaderMap) -> Response {
    let result = async {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= super::seal::MAX_SEALED)
            .ok_or_else(|| Reject::Json {
                status: StatusCode::UNAUTHORIZED,
                error: "invalid_request",
                description: "a Bearer access token is required".into(),
                challenge: Some("Bearer realm=\"jisr\""),
            })?;
        let grant: AccessToken = gw
            .seals
            .access_token
            .open(token)
            .filter(|t: &AccessToken| t.exp > gw.now())
            .ok_or_else(|| invalid_token("the access token is not valid or has expired"))?;
        let live = gw
            .store
            .get(&keys::live_grant(&grant.grant))
            .await
            .map_err(|e| Reject::store_json(&e))?;
        if live.as_deref() != Some(grant.client_id.as_bytes()) {
            return Err(invalid_token("the access token was revoked"));
        }
        let mut claims = serde_json::to_value(&grant.assertion).map_err(|_| {
            Reject::json(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "could not encode claims",
            )
        })?;
        if let Value::Object(map) = &mut claims {
            // Token envelope claims belong to the ID token, not to userinfo.
            for k in ["iss", "aud", "exp", "iat", "nonce", "sid"] {
                map.remove(k);
            }
        }
        let mut response = (StatusCode::OK, axum::Json(claims)).into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        Ok::<_, Reject>(response)
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}
