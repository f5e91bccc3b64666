//! A signed-in user (or the holder of a verification link) proving it is still them before a
//! sensitive change (password change, account deletion, email verification): the password is
//! checked exactly as a login checks it, under the same backoff and per-IP limit, with the
//! attempt reserved first, and a wrong one counts as a failed login.

use auth_core::domain::{UserCredentials, UserId};
use secrecy::SecretString;

use super::Account;
use super::attempt::{Attempt, give_back, read_and_reserve};
use super::source_limit::limited_source;
use super::step_up::require_recent_if_enabled;
use crate::error::ApiError;
use crate::http::caller::Caller;
use crate::http::client::ClientInfo;
use crate::password::Verification;
use crate::store::ReservedAttempt;

/// `user`'s credentials once `password` is verified against them, and the reservation the
/// check ran under ([`Reauthenticated::failed`] gives it back when the request fails later).
pub(super) async fn reauthenticate<'a>(
    state: &'a Account,
    user: &UserId,
    password: SecretString,
    client: &ClientInfo,
) -> Result<Reauthenticated<'a>, ApiError> {
    // The profile names the email; a deleted account has none (its access token outlived it).
    let profile = state
        .store
        .profile(user)
        .await?
        .ok_or(ApiError::InvalidCredentials)?;
    let now = state.clock.now();
    let source = limited_source(state, client);
    let email = profile.email.clone();
    let (record, reservation) =
        read_and_reserve(state, &email, source.as_deref(), now, client).await?;
    let attempt = Attempt {
        email: &email,
        source: source.as_deref(),
        user: Some(user.as_str()),
        client,
    };
    let credentials = record.credentials.filter(|found| &found.profile.id == user);
    let stored_hash = credentials
        .as_ref()
        .map(|found| found.password_hash.clone());
    let checked = attempt
        .check(state, reservation, password, stored_hash, async {})
        .await?;
    match (checked.verification, credentials) {
        (Verification::Match { .. }, Some(credentials)) => Ok(Reauthenticated {
            credentials,
            state,
            reserved: checked.reserved,
        }),
        _ => Err(attempt.failed(state, state.clock.now()).await),
    }
}

/// A verified password, with the attempt it reserved.
pub(super) struct Reauthenticated<'a> {
    pub credentials: UserCredentials,
    state: &'a Account,
    reserved: ReservedAttempt,
}

impl Reauthenticated<'_> {
    /// Step-up after the password: an account with MFA also needs a second factor verified
    /// recently in `caller`'s session. A refusal gives the password's reservation back.
    pub async fn require_recent_second_factor(&self, caller: &Caller) -> Result<(), ApiError> {
        let state = self.state;
        let recent = require_recent_if_enabled(
            &state.store,
            caller,
            self.credentials.mfa_enabled,
            &state.mfa,
            state.clock.now(),
        )
        .await;
        match recent {
            Ok(()) => Ok(()),
            Err(error) => Err(self.failed(error).await),
        }
    }

    /// The request failed after the right password (before its commit): the reservation is
    /// given back, and `error` is the answer.
    pub async fn failed(&self, error: ApiError) -> ApiError {
        give_back(self.state, &self.credentials.profile.email, self.reserved).await;
        error
    }
}
