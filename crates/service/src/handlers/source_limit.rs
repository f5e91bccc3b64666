//! The per-source-IP limit as register and login apply it (`crate::ip_limit`): read the
//! source's window before any argon2 run, count after.

use super::SignIn;
use crate::audit::{AuditEvent, Subject};
use crate::error::ApiError;
use crate::http::client::ClientInfo;
use crate::ip_limit::{WindowCounts, source_key};
use crate::store::StoreError;

/// The counter key of the request's source, when the limit is on and the source is known.
pub(super) fn limited_source(state: &SignIn, client: &ClientInfo) -> Option<String> {
    client
        .ip
        .filter(|_| state.ip_limit.enabled())
        .map(source_key)
}

/// The source's window counts; nothing to read without a limited source.
pub(super) async fn source_attempts(
    state: &SignIn,
    source: Option<&str>,
    now: i64,
) -> Result<WindowCounts, StoreError> {
    match source {
        Some(source) => {
            state
                .store
                .source_attempts(source, &state.ip_limit, now)
                .await
        }
        None => Ok(WindowCounts::default()),
    }
}

/// Counts one attempt against the source, if it is limited.
pub(super) async fn count_source_attempt(
    state: &SignIn,
    source: Option<&str>,
    now: i64,
) -> Result<(), StoreError> {
    match source {
        Some(source) => {
            state
                .store
                .count_source_attempt(source, &state.ip_limit, now)
                .await
        }
        None => Ok(()),
    }
}

/// 429 `TOO_MANY_REQUESTS` (and its audit line) when the source is over its limit.
pub(super) fn refuse_if_over(
    state: &SignIn,
    counts: WindowCounts,
    now: i64,
    client: &ClientInfo,
) -> Result<(), ApiError> {
    match state.ip_limit.retry_after(counts, now) {
        Some(retry_after) => {
            state
                .audit
                .record(AuditEvent::IpLimited, Subject::default(), client);
            Err(ApiError::TooManyRequests { retry_after })
        }
        None => Ok(()),
    }
}
