//! One password check under the brakes, wherever a password is given (login, password change,
//! account deletion, email verification). The attempt is reserved in the email's failure
//! streak before argon2 runs, by one conditional write: parallel guesses get no more checks
//! than sequential ones. A wrong password then also counts against the source's per-IP window.

use std::future::Future;

use auth_core::domain::Email;
use secrecy::SecretString;

use super::source_limit::{Guarded, count_source_attempt};
use crate::audit::{AuditEvent, Subject};
use crate::error::ApiError;
use crate::http::client::ClientInfo;
use crate::password::{Passwords, Verification};
use crate::store::{Reservation, ReservedAttempt};
use crate::throttle::{BackoffPolicy, FailureStreak};

/// A password check's result, the reservation it ran under, and what ran beside it.
pub(super) struct Checked<T> {
    pub verification: Verification,
    pub beside: T,
    pub reserved: ReservedAttempt,
}

/// A function that checks passwords: the brakes and argon2.
pub(super) trait Braked: Guarded {
    fn backoff(&self) -> &BackoffPolicy;
    fn passwords(&self) -> &Passwords;
}

/// A password offered for `email` (known or not).
pub(super) struct Attempt<'a> {
    pub email: &'a Email,
    pub source: Option<&'a str>,
    pub user: Option<&'a str>,
    pub client: &'a ClientInfo,
}

impl Attempt<'_> {
    pub fn subject(&self) -> Subject<'_> {
        Subject {
            user_id: self.user,
            session_id: None,
        }
    }

    /// Checks `password` against `stored_hash` (`None`: an unknown email, checked against a
    /// dummy hash all the same) once the attempt is reserved; `alongside` runs beside the
    /// check. 429 when the email is inside its backoff window, whether the streak read said
    /// so or the reservation found it; then no argon2 runs at all.
    pub async fn check<F: Future>(
        &self,
        state: &impl Braked,
        streak: Option<FailureStreak>,
        password: SecretString,
        stored_hash: Option<String>,
        now: i64,
        alongside: F,
    ) -> Result<Checked<F::Output>, ApiError> {
        if let Some(retry_after) = state.backoff().retry_after(streak, now) {
            return Err(self.throttled(state, retry_after));
        }
        let reserved = match state
            .store()
            .reserve_attempt(self.email, streak, state.backoff(), now)
            .await?
        {
            Reservation::Admitted(reserved) => reserved,
            Reservation::Throttled { retry_after } => {
                return Err(self.throttled(state, retry_after));
            }
        };
        let (verification, beside) =
            tokio::join!(state.passwords().verify(password, stored_hash), alongside);
        Ok(Checked {
            verification: verification.map_err(ApiError::internal)?,
            beside,
            reserved,
        })
    }

    /// Gives the reservation back when the password was right but the request failed before
    /// its commit (`error`, returned as it is), so its retry is not counted twice. Best-effort.
    pub async fn release(
        &self,
        state: &impl Braked,
        reserved: ReservedAttempt,
        error: ApiError,
    ) -> ApiError {
        if let Err(cause) = state.store().release_attempt(self.email, reserved).await {
            tracing::warn!(
                cause = %auth_core::telemetry::error_chain(&cause),
                "reserved attempt not given back; it counts as a failure"
            );
        }
        error
    }

    fn throttled(&self, state: &impl Braked, retry_after: u64) -> ApiError {
        state
            .audit()
            .record(AuditEvent::LoginThrottled, self.subject(), self.client);
        ApiError::TooManyAttempts { retry_after }
    }

    /// A wrong password (already counted in the streak by its reservation): counts it against
    /// the source too and gives the error to answer with.
    pub async fn failed(&self, state: &impl Braked, now: i64) -> ApiError {
        let counted = count_source_attempt(state, self.source, now).await;
        state
            .audit()
            .record(AuditEvent::LoginFailed, self.subject(), self.client);
        match counted {
            Ok(()) => ApiError::InvalidCredentials,
            Err(error) => error.into(),
        }
    }
}
