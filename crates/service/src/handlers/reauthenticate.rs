//! A signed-in user proving it is still them before a sensitive change (password change,
//! account deletion): the password is checked exactly as a login checks it, under the same
//! backoff and per-IP limit, and a wrong one counts as a failed login.

use auth_core::domain::UserCredentials;
use secrecy::SecretString;

use super::Account;
use super::failure::Failure;
use super::source_limit::{limited_source, refuse_if_over};
use crate::audit::{AuditEvent, Subject};
use crate::error::ApiError;
use crate::http::caller::Caller;
use crate::http::client::ClientInfo;
use crate::password::Verification;
use crate::store::SourceWindow;

/// The caller's credentials once `password` is verified against them.
pub(super) async fn reauthenticate(
    state: &Account,
    caller: &Caller,
    password: SecretString,
    client: &ClientInfo,
) -> Result<UserCredentials, ApiError> {
    // The profile names the email; a deleted account has none (its access token outlived it).
    let profile = state
        .store
        .profile(&caller.user)
        .await?
        .ok_or(ApiError::InvalidCredentials)?;
    let now = state.clock.now();
    let source = limited_source(state, client);
    let window = source.as_deref().map(|key| SourceWindow {
        key,
        policy: &state.ip_limit,
    });
    let record = state
        .store
        .login_record(&profile.email, window, now)
        .await?;
    refuse_if_over(state, record.source, now, client)?;
    let failure = Failure {
        email: &profile.email,
        source: source.as_deref(),
        user: Some(caller.user.as_str()),
        client,
    };
    if let Some(retry_after) = state.backoff.retry_after(record.streak, now) {
        state.audit.record(
            AuditEvent::LoginThrottled,
            Subject::user(caller.user.as_str()),
            client,
        );
        return Err(ApiError::TooManyAttempts { retry_after });
    }
    let credentials = record
        .credentials
        .filter(|found| found.profile.id == caller.user);
    let verification = state
        .passwords
        .verify(
            password,
            credentials
                .as_ref()
                .map(|found| found.password_hash.clone()),
        )
        .await
        .map_err(ApiError::internal)?;
    match (verification, credentials) {
        (Verification::Match { .. }, Some(credentials)) => Ok(credentials),
        _ => Err(failure.count(state, state.clock.now()).await),
    }
}
