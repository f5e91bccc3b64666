use auth_core::config::JwksSettings;
use http::{HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request, Response};

use super::{Jwks, respond};
use crate::error::ApiError;
use crate::http::response::json;

/// How long verifiers and CDNs may keep the key set: a next key is published at least this long
/// before it signs (README, "Key rollover").
const JWKS_MAX_AGE: &str = "public, max-age=300";
/// As long as the key set: the document lists the published keys' algorithms, which a rollover
/// to another algorithm changes, and verifiers may take that list as their allow-list.
const DISCOVERY_MAX_AGE: &str = "public, max-age=300";

/// `GET /.well-known/jwks.json` (the current, next and previous public keys; empty for HS256,
/// whose secret is never published) and `GET /.well-known/openid-configuration`.
pub async fn jwks(state: &Jwks, request: Request) -> Response<Body> {
    respond("jwks", handle(state, &request))
}

/// The minimal discovery document that verifiers starting from the issuer read: the issuer, the
/// key set's URL and the algorithms of the published keys. This service is not an OpenID
/// provider (no authorization endpoint, no ID tokens), so it claims nothing more.
pub fn discovery_document(settings: &JwksSettings) -> serde_json::Value {
    serde_json::json!({
        "issuer": settings.issuer.as_str(),
        "jwks_uri": settings.issuer.jwks_url(),
        "id_token_signing_alg_values_supported": settings.keys.published_algorithms(),
    })
}

fn handle(state: &Jwks, request: &Request) -> Result<Response<Body>, ApiError> {
    if request.method() != Method::GET {
        return Err(ApiError::MethodNotAllowed { allow: "GET" });
    }
    let path = request.uri().path();
    let (mut response, cache) = if path.ends_with("/.well-known/openid-configuration") {
        (json(StatusCode::OK, &state.discovery), DISCOVERY_MAX_AGE)
    } else if path.ends_with("/.well-known/jwks.json") {
        (json(StatusCode::OK, &state.keys), JWKS_MAX_AGE)
    } else {
        return Err(ApiError::NotFound);
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response.headers_mut().remove(header::PRAGMA);
    Ok(response)
}
