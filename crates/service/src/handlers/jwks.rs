use http::{HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request, Response};

use super::{Jwks, respond};
use crate::error::ApiError;
use crate::http::response::json;

/// `GET /.well-known/jwks.json`. With HS256 the set is empty: a shared secret is never published.
pub async fn jwks(state: &Jwks, request: Request) -> Response<Body> {
    respond("jwks", handle(state, &request))
}

fn handle(state: &Jwks, request: &Request) -> Result<Response<Body>, ApiError> {
    if request.method() != Method::GET {
        return Err(ApiError::MethodNotAllowed { allow: "GET" });
    }
    let mut response = json(StatusCode::OK, &state.keys);
    // Public keys change only on rotation; let verifiers and CDNs cache them briefly.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response.headers_mut().remove(header::PRAGMA);
    Ok(response)
}
