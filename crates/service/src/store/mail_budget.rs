//! The mail budgets' counters (`crate::mail_budget`): one item per budget and window, counted
//! up in the same transaction that stores the link's token, so a mail is counted exactly when
//! its token is stored, and a refused one changes nothing (the older link keeps working).
//!
//! | item     | pk                               | sk            |
//! |----------|----------------------------------|---------------|
//! | counter  | `MAIL_BUDGET#<pool>#<digest>`    | `HOUR#<n>` / `DAY#<n>` |
//! | counter  | `MAIL_BUDGET#<pool>`             | `HOUR#<n>` / `DAY#<n>` |
//! | counted  | `MAIL_COUNTED#<outbox id>`       | `BUDGET`      |
//!
//! A recipient's counters are keyed by the SHA-256 of the address (base64url), never the
//! address: they outlive a deleted account by at most a day. The "counted" marker makes a
//! retried send of one message count once. Every item expires (TTL) after its window.

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use base64::Engine as _;

use super::item::{Item, n, s};
use super::one_time::{PendingToken, TokenPurpose, token_put};
use super::schema::*;
use super::transaction::{Transaction, put_new};
use super::{Issuance, Store, StoreError};
use crate::mail_budget::{Exhausted, MailBudgets, MailPool, Window};
use auth_core::domain::UserId;

/// How long a "counted" marker outlives its message: longer than a parked message waits for
/// its redrive, so a redrive never counts a message twice.
const COUNTED_RETENTION_SECONDS: i64 = super::PARKED_RETENTION_SECONDS + 86_400;
/// Conflicts waited out: every mail of a pool writes that pool's two counters, so parallel
/// shards contend on them.
const BUDGET_CONFLICT_RETRIES: u32 = 8;

/// What became of a budgeted token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetedIssuance {
    Issued,
    /// Another message got a token for this user less than the minimum interval ago.
    TooSoon,
    /// A budget is spent for this window: no token stored, nothing counted.
    Exhausted(Exhausted),
}

/// The mail a budget is asked for: its pool, and the address it goes to.
#[derive(Debug, Clone, Copy)]
pub struct MailClaim<'a> {
    pub pool: MailPool,
    pub address: &'a str,
    pub outbox_id: &'a str,
    pub now: i64,
}

fn counter_pk(pool: MailPool, address: Option<&str>) -> String {
    match address {
        Some(address) => {
            let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, address.as_bytes());
            format!(
                "{MAIL_BUDGET_PK_PREFIX}{}#{}",
                pool.as_str(),
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref())
            )
        }
        None => format!("{MAIL_BUDGET_PK_PREFIX}{}", pool.as_str()),
    }
}

fn counter_sk(window: Window, now: i64) -> String {
    format!("{}#{}", window.as_str(), window.bucket(now))
}

/// One more on a counter, on the condition that it is below `limit`.
fn count_up(
    table: &str,
    pk: String,
    window: Window,
    now: i64,
    limit: u32,
) -> Result<TransactWriteItem, StoreError> {
    let update = Update::builder()
        .table_name(table)
        .key(PK, s(pk))
        .key(SK, s(counter_sk(window, now)))
        .update_expression("ADD #count :one SET #expires_at = :expires_at")
        .condition_expression("attribute_not_exists(#count) OR #count < :limit")
        .expression_attribute_names("#count", MAIL_COUNT)
        .expression_attribute_names("#expires_at", EXPIRES_AT)
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":limit", n(limit))
        .expression_attribute_values(":expires_at", n(window.end(now)))
        .build()
        .map_err(|error| StoreError::Unexpected(Box::new(error)))?;
    Ok(TransactWriteItem::builder().update(update).build())
}

fn counted_marker(claim: &MailClaim<'_>) -> Item {
    Item::from([
        (
            PK.to_owned(),
            s(format!("{MAIL_COUNTED_PK_PREFIX}{}", claim.outbox_id)),
        ),
        (SK.to_owned(), s(MAIL_COUNTED_SK)),
        (
            EXPIRES_AT.to_owned(),
            n(claim.now.saturating_add(COUNTED_RETENTION_SECONDS)),
        ),
    ])
}

/// The budgets in the order the transaction writes them, after the marker.
const BUDGET_ORDER: [Exhausted; 4] = [
    Exhausted::Recipient(Window::Hour),
    Exhausted::Recipient(Window::Day),
    Exhausted::Pool(Window::Hour),
    Exhausted::Pool(Window::Day),
];

impl Store {
    /// The marker and the four counters of `claim`, in [`BUDGET_ORDER`] after the marker.
    fn budget_writes(
        &self,
        claim: &MailClaim<'_>,
        budgets: &MailBudgets,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let pool = budgets.pool(claim.pool);
        let recipient = counter_pk(claim.pool, Some(claim.address));
        let everyone = counter_pk(claim.pool, None);
        Ok(vec![
            put_new(&self.table, counted_marker(claim))?,
            count_up(
                &self.table,
                recipient.clone(),
                Window::Hour,
                claim.now,
                budgets.recipient.hourly,
            )?,
            count_up(
                &self.table,
                recipient,
                Window::Day,
                claim.now,
                budgets.recipient.daily,
            )?,
            count_up(
                &self.table,
                everyone.clone(),
                Window::Hour,
                claim.now,
                pool.hourly,
            )?,
            count_up(&self.table, everyone, Window::Day, claim.now, pool.daily)?,
        ])
    }

    /// [`Store::save_token`] within the mail budgets: one transaction stores the token (on its
    /// minimum-interval condition), marks the message counted and counts it against the
    /// recipient's and the pool's hourly and daily budgets. A retry of a message already
    /// counted only stores its token again.
    pub async fn save_token_within_budget(
        &self,
        purpose: TokenPurpose,
        user: &UserId,
        token: &PendingToken,
        min_interval: i64,
        claim: &MailClaim<'_>,
        budgets: &MailBudgets,
    ) -> Result<BudgetedIssuance, StoreError> {
        let mut items = vec![
            token_put(&self.table, purpose, user, token, min_interval).into_transaction_item()?,
        ];
        items.extend(self.budget_writes(claim, budgets)?);
        Ok(
            match self
                .transact_contended(items, BUDGET_CONFLICT_RETRIES)
                .await?
            {
                Transaction::Committed => BudgetedIssuance::Issued,
                Transaction::ConditionFailed { index: 0 } => BudgetedIssuance::TooSoon,
                // Counted before: this is a retry of a message whose budget is spent already.
                Transaction::ConditionFailed { index: 1 } => {
                    match self.save_token(purpose, user, token, min_interval).await? {
                        Issuance::Issued => BudgetedIssuance::Issued,
                        Issuance::TooSoon => BudgetedIssuance::TooSoon,
                    }
                }
                Transaction::ConditionFailed { index } => exhausted(index, 2)?,
            },
        )
    }

    /// A mail without a link (a sign-up attempt notice) counted against the budgets: one
    /// transaction, the marker and the counters; a retry of a counted message passes.
    pub async fn count_within_budget(
        &self,
        claim: &MailClaim<'_>,
        budgets: &MailBudgets,
    ) -> Result<BudgetedIssuance, StoreError> {
        Ok(
            match self
                .transact_contended(self.budget_writes(claim, budgets)?, BUDGET_CONFLICT_RETRIES)
                .await?
            {
                Transaction::Committed | Transaction::ConditionFailed { index: 0 } => {
                    BudgetedIssuance::Issued
                }
                Transaction::ConditionFailed { index } => exhausted(index, 1)?,
            },
        )
    }
}

/// The budget whose counter, at transaction write `index` (the counters starting at `first`),
/// refused the mail.
fn exhausted(index: usize, first: usize) -> Result<BudgetedIssuance, StoreError> {
    index
        .checked_sub(first)
        .and_then(|budget| BUDGET_ORDER.get(budget))
        .map(|budget| BudgetedIssuance::Exhausted(*budget))
        .ok_or_else(|| StoreError::Corrupt(format!("budget transaction write {index} failed")))
}
