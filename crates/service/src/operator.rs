//! What an operator does by hand (through `local-dev`), audited like any other event.

use auth_core::domain::Email;

use crate::audit::{Audit, AuditEvent, Subject};
use crate::http::client::ClientInfo;
use crate::store::{Store, StoreError};

/// Removes the factors of the account with `email` and ends its sessions. `false` when no
/// account has that email.
pub async fn remove_factors(
    store: &Store,
    audit: &Audit,
    email: &Email,
) -> Result<bool, StoreError> {
    let Some(credentials) = store.credentials_by_email(email).await? else {
        return Ok(false);
    };
    let removed = store.remove_factors(email).await?;
    if removed {
        audit.record(
            AuditEvent::MfaRemovedByOperator,
            Subject::user(credentials.profile.id.as_str()),
            &ClientInfo::default(),
        );
    }
    Ok(removed)
}
