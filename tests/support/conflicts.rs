//! Forces DynamoDB transaction conflicts. The first `n` TransactWriteItems requests of a client
//! go to a stand-in that answers as DynamoDB does when another transaction is writing one of
//! the items (`TransactionCanceledException`, reason `TransactionConflict`). Nothing reaches the
//! table, just as a real cancelled transaction writes nothing. DynamoDB Local serialises
//! transactions, so it never produces this answer itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};

const CONFLICT_BODY: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","Message":"Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict, None, None]","CancellationReasons":[{"Code":"TransactionConflict","Message":"Transaction is ongoing for the item"},{"Code":"None"},{"Code":"None"}]}"#;

#[derive(Debug, Clone)]
pub struct ConflictInjector {
    stand_in: String,
    remaining: Arc<AtomicUsize>,
    injected: Arc<AtomicUsize>,
}

impl ConflictInjector {
    /// Starts the stand-in; no request is diverted until [`Self::conflict_next`].
    pub async fn start() -> Self {
        let stand_in = super::stand_in::start(|_| {
            (400, "application/x-amz-json-1.0", CONFLICT_BODY.to_owned())
        })
        .await;
        Self {
            stand_in,
            remaining: Arc::default(),
            injected: Arc::default(),
        }
    }

    /// The next `count` transactions conflict.
    pub fn conflict_next(&self, count: usize) {
        self.remaining.store(count, Ordering::SeqCst);
    }

    /// How many transactions were answered with a conflict so far.
    pub fn injected(&self) -> usize {
        self.injected.load(Ordering::SeqCst)
    }
}

impl Intercept for ConflictInjector {
    fn name(&self) -> &'static str {
        "ConflictInjector"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let request = context.request_mut();
        let is_transaction =
            request.headers().get("x-amz-target") == Some("DynamoDB_20120810.TransactWriteItems");
        let divert = is_transaction
            && self
                .remaining
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                    left.checked_sub(1)
                })
                .is_ok();
        if divert {
            request.set_uri(self.stand_in.as_str())?;
            self.injected.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }
}
