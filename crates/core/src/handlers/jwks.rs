use http::{HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request, Response};

use super::respond;
use crate::config::{ConfigError, ProcessEnv};
use crate::error::ApiError;
use crate::http::response::json;
use crate::token::KeySet;

/// The public keys, for services that verify our tokens themselves.
#[derive(Debug)]
pub struct Jwks {
    keys: KeySet,
}

impl Jwks {
    pub fn new(keys: KeySet) -> Self {
        Self { keys }
    }

    pub async fn from_env() -> Result<Self, ConfigError> {
        Ok(Self::new(KeySet::from_env(&ProcessEnv)?))
    }
}

/// `GET /.well-known/jwks.json`. With HS256 the set is empty: a shared secret is never published.
pub async fn jwks(jwks: &Jwks, request: Request) -> Response<Body> {
    respond("jwks", handle(jwks, &request))
}

fn handle(jwks: &Jwks, request: &Request) -> Result<Response<Body>, ApiError> {
    if request.method() != Method::GET {
        return Err(ApiError::MethodNotAllowed { allow: "GET" });
    }
    let mut response = json(StatusCode::OK, &jwks.keys.jwks());
    // Public keys change only on rotation; let verifiers and CDNs cache them briefly.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response.headers_mut().remove(header::PRAGMA);
    Ok(response)
}
