use auth_core::domain::Password;
use http::Method;
use lambda_http::{Body, Request, Response};

use super::reauthenticate::reauthenticate;
use super::{Account, respond};
use crate::audit::{AuditEvent, Subject};
use crate::error::ApiError;
use crate::http::caller::caller;
use crate::http::client::ClientInfo;
use crate::http::cookie::cleared_refresh_cookie;
use crate::http::request::{required_json_object, string_field};
use crate::http::response::{no_content, with_cookie};

/// `DELETE /auth/account {password}` (authorized) → 204: the credentials, profile and streak
/// are deleted in one transaction (every session is refused from then on, the email may
/// register again); the sessions and pending tokens are then deleted best-effort; the refresh
/// cookie is cleared.
pub async fn account(state: &Account, request: Request) -> Response<Body> {
    let client = state.sources.client(&request);
    respond("account-delete", delete(state, request, &client).await)
}

async fn delete(
    state: &Account,
    request: Request,
    client: &ClientInfo,
) -> Result<Response<Body>, ApiError> {
    if request.method() != Method::DELETE {
        return Err(ApiError::MethodNotAllowed { allow: "DELETE" });
    }
    let caller = caller(&request)?;
    let body = required_json_object(&request)?;
    let password = Password::parse_existing(string_field(&body, "password")?)?;
    let proven = reauthenticate(state, &caller.user, password.into_secret(), client).await?;
    let credentials = &proven.credentials;
    proven.require_recent_second_factor(&caller).await?;
    let deleted = state
        .store
        .delete_account(
            &caller.user,
            &credentials.profile.email,
            &credentials.password_hash,
        )
        .await;
    match deleted {
        Ok(true) => {}
        Ok(false) => {
            let changed =
                ApiError::Unavailable("the account changed while its deletion was checked".into());
            return Err(proven.failed(changed).await);
        }
        Err(error) => return Err(proven.failed(error.into()).await),
    }
    state.audit.record(
        AuditEvent::AccountDeleted,
        Subject::user(caller.user.as_str()),
        client,
    );
    super::sweep::deleted_account(&state.store, &caller.user).await;
    Ok(with_cookie(
        no_content(),
        &cleared_refresh_cookie(&state.cookie_path),
    ))
}
