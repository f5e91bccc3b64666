//! Clean-up after a committed credential event: the ended sessions are already refused
//! (`store::revocation`), so deleting their items is best-effort, logged when it fails, and
//! never the request's answer. Their TTL removes whatever a failure here leaves.

use auth_core::domain::UserId;
use auth_core::telemetry::error_chain;

use crate::store::Store;

pub(super) async fn revoked_sessions(store: &Store, user: &UserId) {
    match store.sweep_revoked_sessions(user).await {
        Ok(deleted) => tracing::info!(deleted, "ended sessions deleted"),
        Err(error) => tracing::warn!(
            cause = %error_chain(&error),
            "ended sessions not deleted (already refused; their TTL removes them)"
        ),
    }
}

/// What is left of a deleted account's partition (sessions, pending tokens).
pub(super) async fn deleted_account(store: &Store, user: &UserId) {
    match store.sweep_account(user).await {
        Ok(deleted) => tracing::info!(deleted, "deleted account's items removed"),
        Err(error) => tracing::warn!(
            cause = %error_chain(&error),
            "deleted account's items not removed (already refused; their TTL removes them)"
        ),
    }
}
