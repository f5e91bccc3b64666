use auth_core::domain::UserId;
use http::Method;
use lambda_http::{Body, Request, Response};

use super::{Profiles, respond};
use crate::error::ApiError;
use crate::http::caller::authorized;
use crate::http::response::json;

/// `GET /me` returns the caller's profile; `GET /admin/users/{id}` (admins only) anyone's.
pub async fn me(profiles: &Profiles, request: Request) -> Response<Body> {
    respond("me", handle(profiles, request).await)
}

async fn handle(profiles: &Profiles, request: Request) -> Result<Response<Body>, ApiError> {
    if request.method() != Method::GET {
        return Err(ApiError::MethodNotAllowed { allow: "GET" });
    }
    let caller = authorized(&request)
        .ok_or(ApiError::MissingAccessToken)?
        .context;
    let path = request.uri().path().trim_end_matches('/');
    let target = match path.rsplit_once("/admin/users/") {
        Some((_, id)) => {
            // The authorizer already denies this route to non-admins; check again, cheaply.
            if caller.role != "admin" {
                return Err(ApiError::Forbidden);
            }
            UserId::parse(id).ok_or(ApiError::NotFound)?
        }
        None if path.ends_with("/me") => {
            UserId::parse(&caller.user_id).ok_or(ApiError::MissingAccessToken)?
        }
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
