//! The three event shapes API Gateway sends an authorizer, and the one credential each carries.
//!
//! API Gateway caches an authorizer's answer per identity source: the configured header (and,
//! for HTTP API simple responses, `$context.routeKey`). The credential is therefore read only
//! from there, never from another header or cookie the same request happens to carry:
//! otherwise one caller's answer, context included, could be served to another.

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequest, ApiGatewayCustomAuthorizerRequestTypeRequest,
    ApiGatewayV2CustomAuthorizerV2Request,
};
use serde::Deserialize;

use crate::credentials::{CookieLookup, find_cookie, parse_bearer};
use crate::token::Rejection;

/// The cookie that carries the access token when [`TokenSource::Cookie`] is configured.
pub const ACCESS_TOKEN_COOKIE: &str = "accessToken";

/// Where API Gateway takes the token from; it must match the authorizer's identity source in
/// `template.yaml` (a test checks [`TokenSource::identity_sources`] against it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// `Authorization: Bearer <token>` (`$request.header.Authorization`).
    AuthorizationHeader,
    /// The `accessToken` cookie (`$request.header.Cookie`).
    Cookie,
}

impl TokenSource {
    /// The HTTP API identity sources this source needs, in order. Simple responses are cached
    /// per route too, so `$context.routeKey` follows the credential.
    pub fn identity_sources(self, response: super::ResponseMode) -> Vec<&'static str> {
        let credential = match self {
            Self::AuthorizationHeader => "$request.header.Authorization",
            Self::Cookie => "$request.header.Cookie",
        };
        match response {
            super::ResponseMode::Simple => vec![credential, "$context.routeKey"],
            super::ResponseMode::Iam => vec![credential],
        }
    }

    fn header(self) -> http::HeaderName {
        match self {
            Self::AuthorizationHeader => http::header::AUTHORIZATION,
            Self::Cookie => http::header::COOKIE,
        }
    }

    /// The token in the identity source's value, or why there is none. A value that is present
    /// but not exactly one well-formed credential is refused, never passed over.
    pub fn token(self, value: Option<&str>) -> Result<&str, Rejection> {
        let value = value.ok_or(Rejection::Missing)?;
        match self {
            Self::AuthorizationHeader => parse_bearer(value).ok_or(Rejection::Malformed),
            Self::Cookie => match find_cookie([value], ACCESS_TOKEN_COOKIE) {
                CookieLookup::Found(token) => Ok(token),
                CookieLookup::Absent => Err(Rejection::Missing),
                CookieLookup::Ambiguous => Err(Rejection::Malformed),
            },
        }
    }
}

/// An authorizer event, told apart by `version` (HTTP API payload 2.0 also says `type: REQUEST`)
/// and then `type`.
#[derive(Debug)]
pub enum AuthorizerEvent {
    RestToken(Box<ApiGatewayCustomAuthorizerRequest>),
    RestRequest(Box<ApiGatewayCustomAuthorizerRequestTypeRequest>),
    HttpApi(Box<ApiGatewayV2CustomAuthorizerV2Request>),
}

#[derive(Deserialize)]
struct EventShape {
    version: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

impl AuthorizerEvent {
    /// Parses the JSON API Gateway sent; `None` for anything that is not one of the three shapes.
    pub fn parse(json: &str) -> Option<Self> {
        let shape: EventShape = serde_json::from_str(json).ok()?;
        match (shape.version.as_deref(), shape.kind.as_deref()) {
            (Some("2.0"), _) => serde_json::from_str(json).ok().map(Self::HttpApi),
            (_, Some("TOKEN")) => serde_json::from_str(json).ok().map(Self::RestToken),
            (_, Some("REQUEST")) => serde_json::from_str(json).ok().map(Self::RestRequest),
            _ => None,
        }
    }

    /// The value of the identity source that carries the credential, exactly as API Gateway
    /// caches it: `authorizationToken` (REST TOKEN), the configured header (REST REQUEST), or
    /// the first `identitySource` entry (HTTP API).
    pub fn credential(&self, source: TokenSource) -> Option<&str> {
        match self {
            Self::RestToken(event) => event.authorization_token.as_deref(),
            Self::RestRequest(event) => {
                let header = source.header();
                let mut values = event.headers.get_all(&header).iter();
                // A repeated header (API Gateway lists repeats in multiValueHeaders): which value
                // the cache key holds cannot be told, so the credential is refused.
                let repeated = event.multi_value_headers.get_all(&header).iter().count() > 1;
                match (values.next(), values.next()) {
                    (Some(value), None) if !repeated => value.to_str().ok(),
                    (Some(_), _) => Some(""),
                    (None, _) => None,
                }
            }
            Self::HttpApi(event) => event
                .identity_source
                .as_ref()
                .and_then(|sources| sources.first())
                .map(String::as_str),
        }
    }

    /// The route key an HTTP API simple answer is cached for: the identity source entry after
    /// the credential (`$context.routeKey`).
    pub fn cached_route_key(&self) -> Option<&str> {
        match self {
            // The template's second identity source is `$context.routeKey` (a template test
            // checks it), so the answer follows the cache key exactly.
            Self::HttpApi(event) => event
                .identity_source
                .as_ref()
                .and_then(|sources| sources.get(1))
                .map(String::as_str),
            Self::RestToken(_) | Self::RestRequest(_) => None,
        }
    }

    /// The `execute-api` ARN the request is for (its API and stage name the policy's scope).
    pub fn route_arn(&self) -> Option<&str> {
        match self {
            Self::RestToken(event) => event.method_arn.as_deref(),
            Self::RestRequest(event) => event.method_arn.as_deref(),
            Self::HttpApi(event) => event.route_arn.as_deref(),
        }
    }

    /// The route as the logs name it (not part of any answer).
    pub fn route_for_logs(&self) -> Option<String> {
        match self {
            Self::RestToken(_) => None,
            Self::RestRequest(event) => Some(format!(
                "{} {}",
                event.http_method.as_ref().map_or("-", http::Method::as_str),
                event.resource.as_deref().unwrap_or("-")
            )),
            Self::HttpApi(event) => event.route_key.clone(),
        }
    }
}
