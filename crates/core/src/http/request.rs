//! Reading API Gateway requests (HTTP API payload 2.0 and REST v1, via `lambda_http`) without
//! trusting anything in them.

use http::{HeaderMap, Method, header};
use lambda_http::{Body, Request};
use serde_json::{Map, Value};

use crate::domain::InvalidField;
use crate::error::ApiError;
use crate::header_values::{find_cookie, parse_bearer};

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

/// A cookie sent with the request.
pub fn cookie<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    let values = request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok());
    find_cookie(values, name)
}

/// The token of an `Authorization: Bearer <token>` header: scheme case-insensitive, spaces tolerated.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    parse_bearer(value)
}
