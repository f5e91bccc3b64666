//! Reading API Gateway requests (HTTP API payload 2.0 and REST v1, via `lambda_http`) without
//! trusting anything in them.

use http::{HeaderMap, Method, header};
use lambda_http::{Body, Request};
use serde_json::{Map, Value};

use auth_core::credentials::{CookieLookup, find_cookie, parse_bearer};
use auth_core::domain::InvalidField;
use auth_core::token::Rejection;

use super::cookie::REFRESH_COOKIE;
use crate::error::ApiError;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Only POST is served by the auth endpoints.
pub fn require_post(request: &Request) -> Result<(), ApiError> {
    if request.method() == Method::POST {
        Ok(())
    } else {
        Err(ApiError::MethodNotAllowed { allow: "POST" })
    }
}

fn body_bytes(request: &Request) -> &[u8] {
    match request.body() {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

/// The body as a JSON object, or `None` when there is no body. Checks, in order: size (413),
/// content type (415), syntax and shape (400).
pub fn json_object(request: &Request) -> Result<Option<Map<String, Value>>, ApiError> {
    let bytes = body_bytes(request);
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    if !is_json(request.headers()) {
        return Err(ApiError::UnsupportedMediaType);
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(object)) => Ok(Some(object)),
        _ => Err(ApiError::InvalidJson),
    }
}

/// The body as a JSON object, which must be present.
pub fn required_json_object(request: &Request) -> Result<Map<String, Value>, ApiError> {
    if body_bytes(request).is_empty() && !is_json(request.headers()) {
        return Err(ApiError::UnsupportedMediaType);
    }
    json_object(request)?.ok_or(ApiError::InvalidJson)
}

/// A required string field, with an error naming it when missing or of the wrong type.
pub fn string_field(object: &Map<String, Value>, field: &'static str) -> Result<String, ApiError> {
    match object.get(field) {
        None | Some(Value::Null) => {
            Err(InvalidField::new(field, format!("{field} is required")).into())
        }
        Some(Value::String(value)) => Ok(value.clone()),
        Some(_) => Err(InvalidField::new(field, format!("{field} must be a string")).into()),
    }
}

/// An optional string field (absent or null is `None`).
pub fn optional_string_field(
    object: &Map<String, Value>,
    field: &'static str,
) -> Result<Option<String>, ApiError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(value)) => Ok(Some(value.clone())),
        Some(_) => Err(InvalidField::new(field, format!("{field} must be a string")).into()),
    }
}

/// A cookie sent with the request, across every `Cookie` header.
pub fn cookie<'a>(request: &'a Request, name: &str) -> CookieLookup<'a> {
    let values = request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok());
    find_cookie(values, name)
}

/// The token of the `Authorization: Bearer <token>` header, `None` without one. A header that
/// is present but not exactly one bearer token is refused, not ignored.
pub fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return match headers.contains_key(header::AUTHORIZATION) {
            true => Err(ApiError::InvalidAccessToken(Rejection::Malformed)),
            false => Ok(None),
        };
    };
    value
        .to_str()
        .ok()
        .and_then(parse_bearer)
        .map(Some)
        .ok_or(ApiError::InvalidAccessToken(Rejection::Malformed))
}

/// Where a refresh token came from; body clients get the new one back in the body.
pub struct PresentedToken {
    pub raw: String,
    pub from_body: bool,
}

/// The refresh token from the JSON body (`refreshToken`) or else the cookie. Two different
/// `refreshToken` cookies (one tossed in by a sibling subdomain) are refused, not guessed between.
pub fn presented_refresh_token(request: &Request) -> Result<Option<PresentedToken>, ApiError> {
    if let Some(body) = json_object(request)?
        && let Some(raw) = optional_string_field(&body, "refreshToken")?
    {
        return Ok(Some(PresentedToken {
            raw,
            from_body: true,
        }));
    }
    match cookie(request, REFRESH_COOKIE) {
        CookieLookup::Absent => Ok(None),
        CookieLookup::Found(raw) => Ok(Some(PresentedToken {
            raw: raw.to_owned(),
            from_body: false,
        })),
        CookieLookup::Ambiguous => Err(ApiError::InvalidRefreshToken),
    }
}
