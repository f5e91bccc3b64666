//! One password check under the brakes, wherever a password is given (login, password change,
//! account deletion, email verification). The attempt is reserved in the email's failure
//! streak before argon2 runs, by one conditional write made beside the login record's read:
//! parallel guesses get no more checks than sequential ones. A wrong password then also counts
//! against the source's per-IP window.

use std::future::Future;

use auth_core::domain::Email;
use secrecy::SecretString;

use super::source_limit::{Guarded, count_source_attempt, refuse_if_over};
use crate::audit::{AuditEvent, Subject};
use crate::error::ApiError;
use crate::http::client::ClientInfo;
use crate::password::{Passwords, Verification};
use crate::store::{LoginRecord, Reservation, ReservedAttempt, SourceWindow};
use crate::throttle::BackoffPolicy;

/// Reads the login record of `email` and reserves the attempt at once (two requests in flight):
/// neither waits for the other, and the password check after them runs only once reserved. A
/// reservation made for a request then refused on other grounds (the source over its limit, a
/// failed read) is given back.
pub(super) async fn read_and_reserve(
    state: &impl Braked,
    email: &Email,
    source: Option<&str>,
    now: i64,
    client: &ClientInfo,
) -> Result<(LoginRecord, Reservation), ApiError> {
    let window = source.map(|key| SourceWindow {
        key,
        policy: state.ip_limit(),
    });
    let (record, reservation) = tokio::join!(
        state.store().login_record(email, window, now),
        state.store().reserve_attempt(email, state.backoff(), now),
    );
    let reservation = reservation?;
    let refused = match record {
        Ok(record) => match refuse_if_over(state, record.source, now, client) {
            Ok(()) => return Ok((record, reservation)),
            Err(refused) => refused,
        },
        Err(error) => error.into(),
    };
    if let Reservation::Admitted(reserved) = reservation {
        give_back(state, email, reserved).await;
    }
    Err(refused)
}

/// Gives a reservation back (best-effort: a failure leaves it counted, and says so).
pub(super) async fn give_back(state: &impl Braked, email: &Email, reserved: ReservedAttempt) {
    if let Err(cause) = state.store().release_attempt(email, reserved).await {
        tracing::warn!(
            cause = %auth_core::telemetry::error_chain(&cause),
            "reserved attempt not given back; it counts as a failure"
        );
    }
}

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
            ..Subject::default()
        }
    }

    /// Checks `password` against `stored_hash` (`None`: an unknown email, checked against a
    /// dummy hash all the same) under `reservation`, made before; `alongside` runs beside the
    /// check. 429 when the reservation found the email inside its backoff window; then no
    /// argon2 runs at all.
    pub async fn check<F: Future>(
        &self,
        state: &impl Braked,
        reservation: Reservation,
        password: SecretString,
        stored_hash: Option<String>,
        alongside: F,
    ) -> Result<Checked<F::Output>, ApiError> {
        let reserved = match reservation {
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
        give_back(state, self.email, reserved).await;
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
