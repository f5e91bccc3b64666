//! Echo handlers for `scripts/bench`: the floor under every function's CPU per invocation.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::value::RawValue;

/// Answers every event with itself.
pub async fn run_echo() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Box<RawValue>>| async move {
        Ok::<_, Error>(event.payload)
    }))
    .await
}
