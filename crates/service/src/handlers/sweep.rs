//! Clean-up after a committed credential event: the ended sessions are already refused
//! (`store::revocation`), so deleting their items is best-effort, logged when it fails, and
//! never the request's answer. Their TTL removes whatever a failure here leaves.

use auth_core::domain::UserId;
use auth_core::telemetry::error_chain;

use crate::store::{Store, StoreError};

/// The items of sessions a credential event ended.
pub(super) async fn revoked_sessions(store: &Store, user: &UserId, now: i64) {
    report(
        store.sweep_revoked_sessions(user, now).await,
        "ended sessions",
    );
}

/// What is left of a deleted account's partition (sessions, pending tokens).
pub(super) async fn deleted_account(store: &Store, user: &UserId) {
    report(store.sweep_account(user).await, "deleted account's items");
}

fn report(outcome: Result<usize, StoreError>, what: &str) {
    match outcome {
        Ok(deleted) => tracing::info!(deleted, "{what} deleted"),
        Err(error) => tracing::warn!(
            cause = %error_chain(&error),
            "{what} not deleted (already refused; their TTL removes them)"
        ),
    }
}
