//! The login record of an email: its credentials and the counts of the client address's
//! window, read with one request; and the email's failure streak, in which every password
//! check is reserved by one conditional write made at the same time as that read.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use super::error::condition_held;
use super::item::{self, Item, n, s};
use super::schema::*;
use super::users::credentials_from;
use super::{Store, StoreError};
use crate::ip_limit::{IpLimitPolicy, WindowCounts};
use crate::throttle::{BackoffPolicy, FailureStreak, STREAK_MEMORY};
use auth_core::domain::{Email, UserCredentials, UserId};

/// What a login reads.
#[derive(Debug, Clone, Default)]
pub struct LoginRecord {
    pub credentials: Option<UserCredentials>,
    /// The client address's window (zero when it is not limited).
    pub source: WindowCounts,
}

/// The client address a login is counted under, and its limit.
#[derive(Debug, Clone, Copy)]
pub struct SourceWindow<'a> {
    pub key: &'a str,
    pub policy: &'a IpLimitPolicy,
}

fn streak_expiry(now: i64) -> i64 {
    now.saturating_add(i64::try_from(STREAK_MEMORY.as_secs()).unwrap_or(i64::MAX))
}

type Key = HashMap<String, AttributeValue>;

fn key(pk: String, sk: String) -> Key {
    HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

impl Store {
    /// The credentials of `email` and the window of `source`: one strongly consistent
    /// `BatchGetItem` (keys DynamoDB leaves unprocessed are asked again).
    pub async fn login_record(
        &self,
        email: &Email,
        source: Option<SourceWindow<'_>>,
        now: i64,
    ) -> Result<LoginRecord, StoreError> {
        let email_pk = email_pk(email);
        let mut keys = vec![key(email_pk.clone(), CREDENTIALS_SK.to_owned())];
        let windows = source.map(|source| {
            let current = source.policy.bucket(now);
            let previous = window_sk(current.saturating_sub(1));
            (source_pk(source.key), window_sk(current), previous)
        });
        if let Some((pk, current, previous)) = &windows {
            keys.push(key(pk.clone(), current.clone()));
            keys.push(key(pk.clone(), previous.clone()));
        }
        let mut record = LoginRecord::default();
        for found in self.batch_get(keys).await? {
            let (pk, sk) = (item::string(&found, PK)?, item::string(&found, SK)?);
            if pk == email_pk && sk == CREDENTIALS_SK {
                record.credentials = Some(credentials_from(&found)?);
            } else if let Some((_, current, previous)) = &windows {
                if sk == current {
                    record.source.current = item::number(&found, ATTEMPTS)?;
                } else if sk == previous {
                    record.source.previous = item::number(&found, ATTEMPTS)?;
                }
            }
        }
        Ok(record)
    }

    /// Reserves one password check for `email`, known or not, before its result is used: one
    /// conditional write counts the attempt as a failure (a success ends the streak in its own
    /// transaction), admitted only while the email is outside its backoff window. Below the
    /// threshold the write is an atomic increment bounded by it, so parallel guesses get exactly
    /// `max_failures` checks; past it each window admits one attempt (a compare-and-swap on the
    /// streak). The first write assumes no streak past the threshold, so it needs no read
    /// first; a refusal returns the item as it is, and the decision is made again from that.
    pub async fn reserve_attempt(
        &self,
        email: &Email,
        policy: &BackoffPolicy,
        now: i64,
    ) -> Result<Reservation, StoreError> {
        self.reserve_in(StreakKey::password(email), policy, now)
            .await
    }

    /// [`Store::reserve_attempt`] in any streak: the email's password streak, or a user's
    /// second-factor streak.
    pub(super) async fn reserve_in(
        &self,
        streak: StreakKey,
        policy: &BackoffPolicy,
        now: i64,
    ) -> Result<Reservation, StoreError> {
        let mut seen = Seen::Unread;
        let mut conflicts = 0;
        let mut rounds = 0;
        while rounds < RESERVE_ATTEMPTS {
            rounds += 1;
            if let Seen::Read(streak) = seen
                && let Some(retry_after) = policy.retry_after(streak, now)
            {
                return Ok(Reservation::Throttled { retry_after });
            }
            let request = self
                .client
                .update_item()
                .table_name(&self.table)
                .key(PK, s(&streak.pk))
                .key(SK, s(streak.sk))
                .expression_attribute_names("#failures", FAILURES)
                .expression_attribute_names("#last", LAST_FAILURE_AT)
                .expression_attribute_names("#expires", EXPIRES_AT)
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":expires", n(streak_expiry(now)))
                .expression_attribute_values(":one", n(1))
                .return_values(ReturnValue::UpdatedNew)
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                );
            let request = match seen {
                // Not read yet: none, or one below the threshold, counts one more.
                Seen::Unread => request
                    .update_expression(
                        "SET #failures = if_not_exists(#failures, :zero) + :one, #last = :now, \
                         #expires = :expires",
                    )
                    .condition_expression(
                        "attribute_not_exists(#pk) OR (#expires > :now AND #failures < :max)",
                    )
                    .expression_attribute_names("#pk", PK)
                    .expression_attribute_values(":zero", n(0))
                    .expression_attribute_values(":max", n(policy.max_failures)),
                // No live streak: start one at 1 (replacing one past its expiry).
                Seen::Read(None) => request
                    .update_expression("SET #failures = :one, #last = :now, #expires = :expires")
                    .condition_expression("attribute_not_exists(#pk) OR #expires <= :now")
                    .expression_attribute_names("#pk", PK),
                // Below the threshold: count, as long as the threshold is not reached.
                Seen::Read(Some(streak)) if streak.failures < policy.max_failures => request
                    .update_expression(
                        "SET #failures = #failures + :one, #last = :now, #expires = :expires",
                    )
                    .condition_expression("#expires > :now AND #failures < :max")
                    .expression_attribute_values(":max", n(policy.max_failures)),
                // Past it, with the window over: exactly one attempt takes this opening.
                Seen::Read(Some(streak)) => request
                    .update_expression(
                        "SET #failures = #failures + :one, #last = :now, #expires = :expires",
                    )
                    .condition_expression(
                        "#expires > :now AND #failures = :seen AND #last = :seen_last",
                    )
                    .expression_attribute_values(":seen", n(streak.failures))
                    .expression_attribute_values(":seen_last", n(streak.last_failure_at)),
            };
            match request.send().await {
                Ok(output) => {
                    let reserved = output.attributes().ok_or_else(|| {
                        StoreError::Corrupt("a reservation returned no streak".into())
                    })?;
                    return Ok(Reservation::Admitted(ReservedAttempt {
                        failures: item::number(reserved, FAILURES)?,
                        at: item::number(reserved, LAST_FAILURE_AT)?,
                    }));
                }
                Err(error) => match error.as_service_error() {
                    // A transaction is writing the streak this very moment (a success ending
                    // it): wait for it and count this attempt as if it came just after.
                    Some(UpdateItemError::TransactionConflictException(_))
                        if conflicts < RESERVE_CONFLICTS =>
                    {
                        tokio::time::sleep(super::transaction::conflict_pause(conflicts)).await;
                        conflicts += 1;
                        rounds -= 1;
                    }
                    Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
                        seen = Seen::Read(
                            failed
                                .item()
                                .map(|found| live_streak(found, now))
                                .transpose()?
                                .flatten(),
                        );
                    }
                    _ => return Err(error.into()),
                },
            }
        }
        // Still changing under this attempt: others are guessing at the same moment.
        Ok(Reservation::Throttled { retry_after: 1 })
    }
}

/// What a reservation knows of the streak it writes to.
#[derive(Debug, Clone, Copy)]
enum Seen {
    Unread,
    /// As a refused write returned it (`None`: absent or past its expiry).
    Read(Option<FailureStreak>),
}

/// The outcome of [`Store::reserve_attempt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// The attempt is counted; its password check may be used.
    Admitted(ReservedAttempt),
    /// Inside the backoff window: the check must not be used.
    Throttled { retry_after: u64 },
}

/// The streak as one reservation left it: what [`Store::release_attempt`] undoes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReservedAttempt {
    pub failures: u32,
    pub at: i64,
}

impl Store {
    /// Gives back a reserved attempt whose password was right but whose request failed
    /// afterwards (a DynamoDB error before its commit), so the retry starts where the request
    /// did. Only while the streak is still exactly as the reservation left it: any attempt
    /// since then keeps its count. `false` when it was not.
    pub async fn release_attempt(
        &self,
        email: &Email,
        reserved: ReservedAttempt,
    ) -> Result<bool, StoreError> {
        self.release_in(StreakKey::password(email), reserved).await
    }

    /// [`Store::release_attempt`] in any streak.
    pub(super) async fn release_in(
        &self,
        streak: StreakKey,
        reserved: ReservedAttempt,
    ) -> Result<bool, StoreError> {
        // Back to what it was; a streak at 0 opens no window and the next success deletes it.
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(streak.pk))
            .key(SK, s(streak.sk))
            .update_expression("SET #failures = #failures - :one")
            .condition_expression("#failures = :failures AND #last = :at")
            .expression_attribute_names("#failures", FAILURES)
            .expression_attribute_names("#last", LAST_FAILURE_AT)
            .expression_attribute_values(":failures", n(reserved.failures))
            .expression_attribute_values(":at", n(reserved.at))
            .expression_attribute_values(":one", n(1))
            .send()
            .await;
        condition_held(result)
    }
}

/// Rounds of a reservation refused because the streak changed under it.
const RESERVE_ATTEMPTS: usize = 4;
/// Transaction conflicts on the streak a reservation waits out.
const RESERVE_CONFLICTS: u32 = 8;

/// A streak item as a streak, `None` once past its expiry (TTL deletes late).
fn live_streak(found: &Item, now: i64) -> Result<Option<FailureStreak>, StoreError> {
    let expires_at: i64 = item::number(found, EXPIRES_AT)?;
    if expires_at <= now {
        return Ok(None);
    }
    Ok(Some(FailureStreak {
        failures: item::number(found, FAILURES)?,
        last_failure_at: item::number(found, LAST_FAILURE_AT)?,
    }))
}

/// The key of an email's failure streak, for the delete in a login's session transaction.
pub(super) fn streak_key(email: &Email) -> [(String, AttributeValue); 2] {
    StreakKey::password(email).attributes()
}

/// Where a failure streak lives.
#[derive(Debug, Clone)]
pub(super) struct StreakKey {
    pk: String,
    sk: &'static str,
}

impl StreakKey {
    /// An email's failed passwords.
    pub fn password(email: &Email) -> Self {
        Self {
            pk: email_pk(email),
            sk: LOGIN_STREAK_SK,
        }
    }

    /// A user's failed second-factor codes, counted apart from the password's.
    pub fn second_factor(user: &UserId) -> Self {
        Self {
            pk: user_pk(user),
            sk: MFA_STREAK_SK,
        }
    }

    pub fn attributes(&self) -> [(String, AttributeValue); 2] {
        [(PK.to_owned(), s(&self.pk)), (SK.to_owned(), s(self.sk))]
    }
}
