use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};

/// Counts HTTP requests sent to DynamoDB (retries included), for tests and benchmarks that
/// check how many round trips an operation costs.
#[derive(Debug, Clone, Default)]
pub struct RoundTripCounter {
    sent: Arc<AtomicUsize>,
}

impl RoundTripCounter {
    pub fn count(&self) -> usize {
        self.sent.load(Ordering::SeqCst)
    }

    /// The count so far, resetting it to zero.
    pub fn take(&self) -> usize {
        self.sent.swap(0, Ordering::SeqCst)
    }
}

impl Intercept for RoundTripCounter {
    fn name(&self) -> &'static str {
        "RoundTripCounter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        self.sent.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}
