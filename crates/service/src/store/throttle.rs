//! The login record of an email: its credentials and its failure streak, both in the email's
//! partition, so a login reads them with one query and pays no extra round trip for the backoff.

use aws_sdk_dynamodb::types::AttributeValue;

use super::error::condition_held;
use super::item::{self, n, s};
use super::schema::*;
use super::users::credentials_from;
use super::{Store, StoreError};
use crate::throttle::{FailureStreak, STREAK_MEMORY};
use auth_core::domain::{Email, UserCredentials};

/// What a login reads.
#[derive(Debug, Clone, Default)]
pub struct LoginRecord {
    pub credentials: Option<UserCredentials>,
    /// `None` when there is no streak, or it has expired (TTL deletes late; expiry is checked).
    pub streak: Option<FailureStreak>,
}

fn streak_expiry(now: i64) -> i64 {
    now.saturating_add(i64::try_from(STREAK_MEMORY.as_secs()).unwrap_or(i64::MAX))
}

impl Store {
    /// The credentials and live failure streak of `email`: one strongly consistent query.
    pub async fn login_record(&self, email: &Email, now: i64) -> Result<LoginRecord, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":pk", s(email_pk(email)))
            .consistent_read(true)
            .send()
            .await?;
        let mut record = LoginRecord::default();
        for found in output.items() {
            match item::string(found, SK)? {
                CREDENTIALS_SK => record.credentials = Some(credentials_from(found)?),
                LOGIN_STREAK_SK => {
                    let expires_at: i64 = item::number(found, EXPIRES_AT)?;
                    if expires_at > now {
                        record.streak = Some(FailureStreak {
                            failures: item::number(found, FAILURES)?,
                            last_failure_at: item::number(found, LAST_FAILURE_AT)?,
                        });
                    }
                }
                _ => {}
            }
        }
        Ok(record)
    }

    /// Counts a failed login for `email`, known or not. Atomic: concurrent failures all count.
    /// A streak past its expiry (not yet deleted by TTL) starts over at one.
    pub async fn record_login_failure(&self, email: &Email, now: i64) -> Result<(), StoreError> {
        for _ in 0..3 {
            let counted = self
                .client
                .update_item()
                .table_name(&self.table)
                .key(PK, s(email_pk(email)))
                .key(SK, s(LOGIN_STREAK_SK))
                .update_expression(
                    "SET #failures = if_not_exists(#failures, :zero) + :one, \
                     #last = :now, #expires = :expires",
                )
                .condition_expression("attribute_not_exists(#pk) OR #expires > :now")
                .expression_attribute_names("#failures", FAILURES)
                .expression_attribute_names("#last", LAST_FAILURE_AT)
                .expression_attribute_names("#expires", EXPIRES_AT)
                .expression_attribute_names("#pk", PK)
                .expression_attribute_values(":zero", n(0))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":expires", n(streak_expiry(now)))
                .send()
                .await;
            if condition_held(counted)? {
                return Ok(());
            }
            // An expired streak: replace it, unless a concurrent failure already did.
            let restarted = self
                .client
                .put_item()
                .table_name(&self.table)
                .item(PK, s(email_pk(email)))
                .item(SK, s(LOGIN_STREAK_SK))
                .item(FAILURES, n(1))
                .item(LAST_FAILURE_AT, n(now))
                .item(EXPIRES_AT, n(streak_expiry(now)))
                .condition_expression("#expires <= :now")
                .expression_attribute_names("#expires", EXPIRES_AT)
                .expression_attribute_values(":now", n(now))
                .send()
                .await;
            if condition_held(restarted)? {
                return Ok(());
            }
        }
        Err(StoreError::Unavailable(
            "the failure streak kept changing while it was counted".into(),
        ))
    }
}

/// The key of an email's failure streak, for the delete in a login's session transaction.
pub(super) fn streak_key(email: &Email) -> [(String, AttributeValue); 2] {
    [
        (PK.to_owned(), s(email_pk(email))),
        (SK.to_owned(), s(LOGIN_STREAK_SK)),
    ]
}
