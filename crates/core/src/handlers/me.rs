use http::Method;
use lambda_http::{Body, Request, RequestExt, Response};

use super::respond;
use crate::config::{ConfigError, ProcessEnv, duration_or, required};
use crate::domain::UserId;
use crate::error::ApiError;
use crate::http::response::json;
use crate::store::Store;

/// What the example protected function needs: read access to profiles, and no secrets at all
/// (the authorizer has already verified the caller).
#[derive(Debug, Clone)]
pub struct Profiles {
    pub store: Store,
}

impl Profiles {
    pub async fn from_env() -> Result<Self, ConfigError> {
        let table = required(
            &ProcessEnv,
            "TABLE_NAME",
            "set it to the DynamoDB table's name",
        )?;
        let timeout = duration_or(
            &ProcessEnv,
            "DYNAMODB_TIMEOUT",
            std::time::Duration::from_secs(3),
        )?;
        Ok(Self {
            store: Store::new(crate::store::load_client(timeout).await, table),
        })
    }
}

/// The caller as the authorizer described it in the request context.
struct Caller {
    user_id: UserId,
    role: String,
}

/// Reads the authorizer's context (HTTP API: `requestContext.authorizer.lambda`). A request
/// without one did not pass through the authorizer: refuse it rather than trust anything.
fn caller(request: &Request) -> Option<Caller> {
    let context = request.request_context_ref()?;
    let fields = &context.authorizer()?.fields;
    let text = |name: &str| fields.get(name).and_then(|value| value.as_str());
    Some(Caller {
        user_id: UserId::parse(text("userId")?)?,
        role: text("role")?.to_owned(),
    })
}

/// `GET /me` returns the caller's profile; `GET /admin/users/{id}` (admins only) anyone's.
pub async fn me(profiles: &Profiles, request: Request) -> Response<Body> {
    respond("me", handle(profiles, request).await)
}

async fn handle(profiles: &Profiles, request: Request) -> Result<Response<Body>, ApiError> {
    if request.method() != Method::GET {
        return Err(ApiError::MethodNotAllowed { allow: "GET" });
    }
    let caller = caller(&request).ok_or(ApiError::MissingAccessToken)?;
    let path = request.uri().path().trim_end_matches('/');
    let target = match path.rsplit_once("/admin/users/") {
        Some((_, id)) => {
            // The authorizer already denies this route to non-admins; check again, cheaply.
            if caller.role != "admin" {
                return Err(ApiError::Forbidden);
            }
            UserId::parse(id).ok_or(ApiError::NotFound)?
        }
        None if path.ends_with("/me") => caller.user_id,
        None => return Err(ApiError::NotFound),
    };
    let profile = profiles
        .store
        .profile(&target)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(json(
        http::StatusCode::OK,
        &serde_json::json!({ "user": profile }),
    ))
}
