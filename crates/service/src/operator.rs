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

/// What a redrive did: messages put back in the outbox, and how many another redrive took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Redrive {
    pub requeued: usize,
    pub taken_by_another: usize,
}

/// Puts every parked message back in the outbox (as a new message the stream carries to the
/// mailer), oldest first, pages of 100 until none is left or a page moves nothing (what the
/// mailer parks again meanwhile waits for the next run); each audited (`mail_redriven`).
pub async fn redrive_parked_mail(
    store: &Store,
    audit: &Audit,
    now: i64,
) -> Result<Redrive, StoreError> {
    let mut done = Redrive::default();
    loop {
        let parked = store.parked_mail(100).await?;
        if parked.is_empty() {
            return Ok(done);
        }
        let before = done.requeued;
        for message in &parked {
            match store.redrive_parked(message, now).await? {
                Some(_) => {
                    done.requeued += 1;
                    let subject = message
                        .mail
                        .user_id
                        .as_ref()
                        .map_or_else(Subject::default, |user| Subject::user(user.as_str()));
                    audit.record(AuditEvent::MailRedriven, subject, &ClientInfo::default());
                }
                None => done.taken_by_another += 1,
            }
        }
        if done.requeued == before {
            return Ok(done);
        }
    }
}
