//! A wrong password, wherever it was given (login, password change, account deletion): it
//! counts toward the email's backoff and the source's per-IP limit alike.

use auth_core::domain::Email;

use super::source_limit::{Guarded, count_source_attempt};
use crate::audit::{AuditEvent, Subject};
use crate::error::ApiError;
use crate::http::client::ClientInfo;

/// A failed login, counted against the email's streak and the source's window.
pub(super) struct Failure<'a> {
    pub email: &'a Email,
    pub source: Option<&'a str>,
    pub user: Option<&'a str>,
    pub client: &'a ClientInfo,
}

impl Failure<'_> {
    pub fn subject(&self) -> Subject<'_> {
        Subject {
            user_id: self.user,
            session_id: None,
        }
    }

    /// Counts the failure (both writes at once) and gives the error to answer with.
    pub async fn count(&self, state: &impl Guarded, now: i64) -> ApiError {
        let counted = tokio::try_join!(
            state.store().record_login_failure(self.email, now),
            count_source_attempt(state, self.source, now),
        );
        state
            .audit()
            .record(AuditEvent::LoginFailed, self.subject(), self.client);
        match counted {
            Ok(_) => ApiError::InvalidCredentials,
            Err(error) => error.into(),
        }
    }
}
