//! Bench-only: the same echo function on tokio's default multi-thread runtime, to show what the
//! runtime flavour alone costs per invocation.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::value::RawValue;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Box<RawValue>>| async move {
        Ok::<_, Error>(event.payload)
    }))
    .await
}
