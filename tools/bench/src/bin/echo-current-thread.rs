//! Bench-only: a Lambda function that returns its event unchanged, on a current-thread tokio
//! runtime (as every function of the service runs). Its CPU per invocation is the floor set by
//! `lambda_runtime`'s loop itself: polling `/next`, parsing the headers, posting the response.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::value::RawValue;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Box<RawValue>>| async move {
        Ok::<_, Error>(event.payload)
    }))
    .await
}
