use auth_core::domain::{Email, Password, UserId};
use auth_core::token::OneTimeToken;
use http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use subtle::ConstantTimeEq;

use super::reauthenticate::reauthenticate;
use super::source_limit::admit_and_count;
use super::sweep;
use super::{Account, respond};
use crate::audit::{AuditEvent, Subject};
use crate::error::ApiError;
use crate::http::caller::caller;
use crate::http::client::ClientInfo;
use crate::http::request::{require_post, required_json_object, string_field};
use crate::http::response::{json, no_content};
use crate::store::{
    ChangeTarget, MailKind, OutboxMail, PasswordChange, PendingToken, TokenPurpose,
};

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
/// it. One transaction sets the new hash, ends every other session of the user (the epoch),
/// keeps the calling one (re-stamped), retires a pending reset link and ends the login
/// backoff; deleting the ended sessions' items afterwards is best-effort.
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
    let proven = reauthenticate(state, &caller.user, current.into_secret(), client).await?;
    let credentials = &proven.credentials;
    proven.require_recent_second_factor(&caller).await?;
    let new_hash = match state.passwords.hash(new.into_secret()).await {
        Ok(hash) => hash,
        Err(error) => return Err(proven.failed(ApiError::internal(error)).await),
    };
    let target = ChangeTarget {
        user: &caller.user,
        session: &caller.session,
        email: &credentials.profile.email,
        verified_hash: &credentials.password_hash,
        session_epoch: credentials.session_epoch,
    };
    let refused = match state
        .store
        .change_password(target, &new_hash, state.clock.now())
        .await
    {
        Ok(PasswordChange::Changed) => None,
        Ok(PasswordChange::SessionEnded) => Some(ApiError::SessionRevoked),
        Ok(PasswordChange::CredentialsChanged) => Some(ApiError::Unavailable(
            "the password changed while this change was checked".into(),
        )),
        Err(error) => Some(error.into()),
    };
    if let Some(error) = refused {
        return Err(proven.failed(error).await);
    }
    state.audit.record(
        AuditEvent::PasswordChanged,
        Subject::session(caller.user.as_str(), caller.session.as_str()),
        client,
    );
    sweep::revoked_sessions(&state.store, &caller.user, state.clock.now()).await;
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

/// `{token, newPassword}` → 204: one conditional transaction uses the token, sets the
/// password, ends every session of the user (the epoch) and the login backoff (of two
/// concurrent resets with one token exactly one succeeds); deleting the ended sessions' items
/// afterwards is best-effort. Anything failing before that commit leaves the link usable.
async fn reset(
    state: &Account,
    request: Request,
    client: &ClientInfo,
) -> Result<Response<Body>, ApiError> {
    require_post(&request)?;
    let body = required_json_object(&request)?;
    let Some(token) = OneTimeToken::parse(&string_field(&body, "token")?) else {
        return Err(refused_link(
            state,
            AuditEvent::PasswordResetFailed,
            None,
            client,
        ));
    };
    let new = Password::parse_new(string_field(&body, "newPassword")?)?;
    let now = state.clock.now();
    let pending = state
        .store
        .pending_token(TokenPurpose::PasswordReset, &token.user_id)
        .await?;
    let Some(pending) = usable(pending, &token, now) else {
        return Err(refused_link(
            state,
            AuditEvent::PasswordResetFailed,
            Some(&token.user_id),
            client,
        ));
    };
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
        return Err(refused_link(
            state,
            AuditEvent::PasswordResetFailed,
            Some(&token.user_id),
            client,
        ));
    }
    state.audit.record(
        AuditEvent::PasswordReset,
        Subject::user(token.user_id.as_str()),
        client,
    );
    sweep::revoked_sessions(&state.store, &token.user_id, now).await;
    Ok(no_content())
}

/// A link that is malformed, unknown, used, replaced or expired: audited (naming the user the
/// token claims, which it may not prove), then refused with the purpose's error.
pub(super) fn refused_link(
    state: &Account,
    event: AuditEvent,
    claimed_user: Option<&UserId>,
    client: &ClientInfo,
) -> ApiError {
    let subject = claimed_user.map_or_else(Subject::default, |user| Subject::user(user.as_str()));
    state.audit.record(event, subject, client);
    match event {
        AuditEvent::EmailVerificationFailed => ApiError::InvalidVerificationToken,
        _ => ApiError::InvalidResetToken,
    }
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
