//! The per-source-IP limit as the functions that take passwords or send mail apply it
//! (`crate::ip_limit`): read the source's window before any argon2 run or mail, count after.

use crate::audit::{Audit, AuditEvent, Subject};
use crate::error::ApiError;
use crate::http::client::ClientInfo;
use crate::ip_limit::{IpLimitPolicy, WindowCounts, source_key};
use crate::store::{Store, StoreError};

/// A function's abuse protection: its table, its per-IP limit and its audit trail.
pub(super) trait Guarded {
    fn store(&self) -> &Store;
    fn ip_limit(&self) -> &IpLimitPolicy;
    fn audit(&self) -> &Audit;
}

/// The counter key of the request's source, when the limit is on and the source is known.
pub(super) fn limited_source(state: &impl Guarded, client: &ClientInfo) -> Option<String> {
    client
        .ip
        .filter(|_| state.ip_limit().enabled())
        .map(source_key)
}

/// The source's window counts; nothing to read without a limited source.
pub(super) async fn source_attempts(
    state: &impl Guarded,
    source: Option<&str>,
    now: i64,
) -> Result<WindowCounts, StoreError> {
    match source {
        Some(source) => {
            state
                .store()
                .source_attempts(source, state.ip_limit(), now)
                .await
        }
        None => Ok(WindowCounts::default()),
    }
}

/// Counts one attempt against the source, if it is limited.
pub(super) async fn count_source_attempt(
    state: &impl Guarded,
    source: Option<&str>,
    now: i64,
) -> Result<(), StoreError> {
    match source {
        Some(source) => {
            state
                .store()
                .count_source_attempt(source, state.ip_limit(), now)
                .await
        }
        None => Ok(()),
    }
}

/// 429 `TOO_MANY_REQUESTS` (and its audit line) when the source is over its limit.
pub(super) fn refuse_if_over(
    state: &impl Guarded,
    counts: WindowCounts,
    now: i64,
    client: &ClientInfo,
) -> Result<(), ApiError> {
    match state.ip_limit().retry_after(counts, now) {
        Some(retry_after) => {
            state
                .audit()
                .record(AuditEvent::IpLimited, Subject::default(), client);
            Err(ApiError::TooManyRequests { retry_after })
        }
        None => Ok(()),
    }
}

/// Reads the source's window, refuses when over the limit, and counts this request: for
/// requests that cost something whatever their outcome (a registration, a mail asked for).
pub(super) async fn admit_and_count(
    state: &impl Guarded,
    client: &ClientInfo,
    now: i64,
) -> Result<(), ApiError> {
    let source = limited_source(state, client);
    let counts = source_attempts(state, source.as_deref(), now).await?;
    refuse_if_over(state, counts, now, client)?;
    count_source_attempt(state, source.as_deref(), now).await?;
    Ok(())
}
