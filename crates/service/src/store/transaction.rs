//! TransactWriteItems with DynamoDB's transaction conflicts retried, and a cancellation turned
//! into which of the writes' conditions failed.
//!
//! DynamoDB cancels a transaction with reason `TransactionConflict` when another transaction
//! is writing one of its items at that moment (two registrations of one email, a login racing
//! a role change). Nothing was written, so the transaction is retried after a short random
//! pause; the retry then sees the other transaction's result in its conditions.

use std::time::Duration;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};

use super::item::Item;
use super::schema::PK;
use super::{Store, StoreError};

/// Retries after a conflict before answering "unavailable, retry later".
const CONFLICT_RETRIES: u32 = 3;

/// The outcome of a transaction that DynamoDB accepted or refused on a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Transaction {
    Committed,
    /// The condition of the write at this index (in the order given) failed; nothing was written.
    ConditionFailed {
        index: usize,
    },
}

/// What the cancellation reasons of a refused transaction say, in order of precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cancellation {
    ConditionFailed { index: usize },
    Conflict,
    Other,
}

fn cancellation(error: &TransactWriteItemsError) -> Cancellation {
    let TransactWriteItemsError::TransactionCanceledException(canceled) = error else {
        return Cancellation::Other;
    };
    let codes: Vec<Option<&str>> = canceled
        .cancellation_reasons()
        .iter()
        .map(|reason| reason.code())
        .collect();
    if let Some(index) = codes
        .iter()
        .position(|code| *code == Some("ConditionalCheckFailed"))
    {
        Cancellation::ConditionFailed { index }
    } else if codes.contains(&Some("TransactionConflict")) {
        Cancellation::Conflict
    } else {
        Cancellation::Other
    }
}

/// 10-20 ms, doubling per attempt: random, so two conflicting writers do not retry in step.
pub(super) fn conflict_pause(attempt: u32) -> Duration {
    let [jitter] = auth_core::random::bytes::<1>();
    let base = 10u64 << attempt.min(4);
    Duration::from_millis(base + u64::from(jitter) % base)
}

/// A Put of a new item: its condition fails when an item with its key exists.
pub(super) fn put_new(table: &str, item: Item) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(#pk)")
        .expression_attribute_names("#pk", PK)
        .build()
        .map_err(|error| StoreError::Unexpected(Box::new(error)))?;
    Ok(TransactWriteItem::builder().put(put).build())
}

impl Store {
    pub(super) async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<Transaction, StoreError> {
        self.transact_contended(items, CONFLICT_RETRIES).await
    }

    /// [`Store::transact`] with `retries` conflicts waited out: for writes many requests make
    /// on one item at once (one code presented in parallel), where every loser must end in
    /// its refused condition.
    pub(super) async fn transact_contended(
        &self,
        items: Vec<TransactWriteItem>,
        retries: u32,
    ) -> Result<Transaction, StoreError> {
        let mut attempt = 0;
        loop {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let error = match result {
                Ok(_) => return Ok(Transaction::Committed),
                Err(error) => error,
            };
            match error.as_service_error().map(cancellation) {
                Some(Cancellation::ConditionFailed { index }) => {
                    return Ok(Transaction::ConditionFailed { index });
                }
                Some(Cancellation::Conflict) if attempt < retries => {
                    tokio::time::sleep(conflict_pause(attempt)).await;
                    attempt += 1;
                }
                // Still contended: the other writer is busy; the client may retry later.
                Some(Cancellation::Conflict) => return Err(StoreError::Unavailable(error.into())),
                Some(Cancellation::Other) | None => return Err(error.into()),
            }
        }
    }
}
