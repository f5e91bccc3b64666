use auth_core::domain::Password;
use http::Method;
use lambda_http::{Body, Request, Response};

use super::reauthenticate::reauthenticate;
use super::{Account, respond};
use crate::audit::{AuditEvent, Subject};
use crate::error::ApiError;
use crate::http::caller::{Caller, caller};
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
    if !body.contains_key("password")
        && let Some(answer) = delete_without_password(state, &caller, client).await?
    {
        return Ok(answer);
    }
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
    account_deleted(state, &caller, client).await
}

async fn account_deleted(
    state: &Account,
    caller: &Caller,
    client: &ClientInfo,
) -> Result<Response<Body>, ApiError> {
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

/// An account made through an identity provider has no password to re-enter: its deletion
/// needs this very session to have signed in through the provider within `MFA_RECENT` (sign
/// in with the provider again to renew it), and a recent second factor when it has one.
/// `None` for an account that has a password: the body must carry it.
async fn delete_without_password(
    state: &Account,
    caller: &Caller,
    client: &ClientInfo,
) -> Result<Option<Response<Body>>, ApiError> {
    let profile = state
        .store
        .profile(&caller.user)
        .await?
        .ok_or(ApiError::SessionRevoked)?;
    let Some(credentials) = state
        .store
        .credentials_by_email(&profile.email)
        .await?
        .filter(|found| found.profile.id == caller.user)
    else {
        return Err(ApiError::SessionRevoked);
    };
    if crate::password::has_password(&credentials.password_hash) {
        return Ok(None);
    }
    let now = state.clock.now();
    let session = super::step_up::live_session(&state.store, caller, now).await?;
    let recent = state.mfa.recent_seconds();
    let fresh_provider_sign_in = session
        .assurance
        .amr
        .contains(&auth_core::assurance::AuthMethod::Fed)
        && now.saturating_sub(session.created_at) < recent;
    if !fresh_provider_sign_in {
        return Err(ApiError::RecentSignInRequired);
    }
    if credentials.mfa_enabled {
        super::step_up::require_recent(&session, &state.mfa, now)?;
    }
    if !state
        .store
        .delete_account(&caller.user, &profile.email, crate::password::NO_PASSWORD)
        .await?
    {
        return Err(ApiError::Unavailable(
            "the account changed while its deletion was checked".into(),
        ));
    }
    account_deleted(state, caller, client).await.map(Some)
}
