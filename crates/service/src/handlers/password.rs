use auth_core::domain::{Email, Password};
use auth_core::token::OneTimeToken;
use http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use subtle::ConstantTimeEq;

use super::reauthenticate::reauthenticate;
use super::source_limit::admit_and_count;
use super::{Account, respond};
use crate::audit::{AuditEvent, Subject};
use crate::error::ApiError;
use crate::http::caller::caller;
use crate::http::client::ClientInfo;
use crate::http::request::{require_post, required_json_object, string_field};
use crate::http::response::{json, no_content};
use crate::store::{MailKind, OutboxMail, PendingToken, TokenPurpose};

/// Serves `POST /auth/password/change` (authorized), `/forgot` and `/reset`, chosen by the
/// path's last segment.
pub async fn password(state: &Account, request: Request) -> Response<Body> {
    let client = state.sources.client(&request);
    let path = request.uri().path().trim_end_matches('/').to_owned();
    if path.ends_with("/password/change") {
        respond("password-change", change(state, request, &client).await)
    } else if path.ends_with("/password/forgot") {
        respond("password-forgot", forgot(state, request, &client).await)
    } else if path.ends_with("/password/reset") {
        respond("password-reset", reset(state, request, &client).await)
    } else {
        respond("password", Err(ApiError::NotFound))
    }
}

/// `{currentPassword, newPassword}` → 204. The current password is checked as a login checks
/// it; every other session of the user ends, the calling one stays.
async fn change(
    state: &Account,
    request: Request,
    client: &ClientInfo,
) -> Result<Response<Body>, ApiError> {
    require_post(&request)?;
    let caller = caller(&request)?;
    let body = required_json_object(&request)?;
    let current = Password::parse_existing(string_field(&body, "currentPassword")?)?;
    let new = Password::parse_new(string_field(&body, "newPassword")?)?;
    let credentials = reauthenticate(state, &caller, current.into_secret(), client).await?;
    let new_hash = state
        .passwords
        .hash(new.into_secret())
        .await
        .map_err(ApiError::internal)?;
    let changed = state
        .store
        .replace_password_hash(
            &credentials.profile.email,
            &credentials.password_hash,
            &new_hash,
        )
        .await?;
    if !changed {
        return Err(ApiError::Unavailable(
            "the password changed while this change was checked".into(),
        ));
    }
    let ended = state
        .store
        .delete_sessions_except(&caller.user, Some(&caller.session))
        .await?;
    tracing::info!(ended, "password changed; other sessions ended");
    state.audit.record(
        AuditEvent::PasswordChanged,
        Subject::session(caller.user.as_str(), caller.session.as_str()),
        client,
    );
    Ok(no_content())
}

/// `{email}` → 202 `{}`, whether or not the address has an account: the request only writes
/// an outbox message (the same single write for any address); the mailer looks the address up
/// and mails a reset link to a known one.
async fn forgot(
    state: &Account,
    request: Request,
    client: &ClientInfo,
) -> Result<Response<Body>, ApiError> {
    require_post(&request)?;
    let body = required_json_object(&request)?;
    let email = Email::parse(&string_field(&body, "email")?)?;
    let now = state.clock.now();
    admit_and_count(state, client, now).await?;
    let mail = OutboxMail::new(MailKind::PasswordReset, email, None, now);
    state.store.enqueue_mail(&mail).await?;
    state.audit.record(
        AuditEvent::PasswordResetRequested,
        Subject::default(),
        client,
    );
    Ok(json(StatusCode::ACCEPTED, &json!({})))
}

/// `{token, newPassword}` → 204: the token is used and the password set in one conditional
/// transaction (of two concurrent resets with one token exactly one succeeds), then every
/// session of the user ends.
async fn reset(
    state: &Account,
    request: Request,
    client: &ClientInfo,
) -> Result<Response<Body>, ApiError> {
    require_post(&request)?;
    let body = required_json_object(&request)?;
    let token =
        OneTimeToken::parse(&string_field(&body, "token")?).ok_or(ApiError::InvalidResetToken)?;
    let new = Password::parse_new(string_field(&body, "newPassword")?)?;
    let now = state.clock.now();
    let pending = state
        .store
        .pending_token(TokenPurpose::PasswordReset, &token.user_id)
        .await?;
    let pending = usable(pending, &token, now).ok_or(ApiError::InvalidResetToken)?;
    let new_hash = state
        .passwords
        .hash(new.into_secret())
        .await
        .map_err(ApiError::internal)?;
    let reset = state
        .store
        .reset_password(
            &token.user_id,
            &pending.email,
            &pending.digest,
            &new_hash,
            now,
        )
        .await?;
    if !reset {
        return Err(ApiError::InvalidResetToken);
    }
    let ended = state.store.delete_all_sessions(&token.user_id).await?;
    tracing::info!(ended, "password reset; every session ended");
    state.audit.record(
        AuditEvent::PasswordReset,
        Subject::user(token.user_id.as_str()),
        client,
    );
    Ok(no_content())
}

/// The stored token, if `presented` is it and it has not expired. The digests are compared in
/// constant time; the write that uses the token checks both again.
pub(super) fn usable(
    pending: Option<PendingToken>,
    presented: &OneTimeToken,
    now: i64,
) -> Option<PendingToken> {
    pending.filter(|pending| {
        let same: bool = pending
            .digest
            .as_bytes()
            .ct_eq(presented.digest().as_bytes())
            .into();
        same && now < pending.expires_at
    })
}
