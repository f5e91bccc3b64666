//! The authorizer where it needs DynamoDB: strict mode, and the protected example function
//! reading the context the authorizer sets. The pure authorizer tests (event shapes, policies,
//! the attack suite, keys, interop) live in `crates/core/tests/authorizer`, without DynamoDB.

mod protected_function;
mod strict_mode;

use std::collections::BTreeMap;
use std::sync::Arc;

use auth_core::authorizer::Authorizer;
use auth_core::clock::SystemClock;
use auth_core::config::AuthorizerSettings;
use auth_core::token::AccessTokens;

/// The sample events the pure authorizer tests in `crates/core` run (so `events.rs` knows every
/// file in `events/` has a test).
pub const EVENT_FILES: &[&str] = &[
    "authorizer-rest-token.json",
    "authorizer-rest-token-missing.json",
    "authorizer-rest-token-malformed.json",
    "authorizer-rest-request-header.json",
    "authorizer-rest-request-cookie.json",
    "authorizer-http-api.json",
    "authorizer-http-api-cookie.json",
    "authorizer-http-api-admin-route.json",
    "authorizer-http-api-no-token.json",
    "me.json",
    "me-admin-user.json",
    "me-without-authorizer.json",
];

/// An authorizer over the app's own settings (same secret, issuer, audience), strict when
/// `sessions` is given.
pub fn authorizer(
    settings: &BTreeMap<String, String>,
    sessions: Option<Box<dyn auth_core::authorizer::SessionCheck>>,
) -> Authorizer {
    let mut settings = settings.clone();
    settings.insert("ROUTE_ROLES".into(), "GET /admin/users/{id}=admin".into());
    let settings = AuthorizerSettings::from_env(&settings).expect("authorizer settings");
    Authorizer::new(
        AccessTokens::new(settings.access),
        settings.options,
        sessions,
        Arc::new(SystemClock),
    )
}

pub fn rest_token_event(authorization: &str) -> String {
    serde_json::json!({
        "type": "TOKEN",
        "authorizationToken": authorization,
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:api1234567/prod/GET/me"
    })
    .to_string()
}
