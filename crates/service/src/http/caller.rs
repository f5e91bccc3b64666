//! The caller of a route behind the authorizer, read from the context the authorizer set.

use auth_core::authorizer::AuthorizerContext;
use auth_core::domain::{SessionId, UserId};
use lambda_http::{Request, RequestExt};
use serde_json::{Map, Value};

use crate::error::ApiError;

/// The authorizer's context, read as the very type the authorizer serialises. A request without
/// one did not pass through the authorizer: refuse it rather than trust anything.
pub fn authorizer_context(request: &Request) -> Option<AuthorizerContext> {
    let fields = &request.request_context_ref()?.authorizer()?.fields;
    let object: Map<String, Value> = fields
        .iter()
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    serde_json::from_value(Value::Object(object)).ok()
}

/// Who is calling: the user and the session of their access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user: UserId,
    pub session: SessionId,
}

/// The caller, or 401 `MISSING_TOKEN` when the request carries no valid authorizer context.
pub fn caller(request: &Request) -> Result<Caller, ApiError> {
    let context = authorizer_context(request).ok_or(ApiError::MissingAccessToken)?;
    match (
        UserId::parse(&context.user_id),
        SessionId::parse(&context.session_id),
    ) {
        (Some(user), Some(session)) => Ok(Caller { user, session }),
        _ => Err(ApiError::MissingAccessToken),
    }
}
