//! The API Gateway Lambda authorizer. Keys and route rules are parsed once at init; with the
//! default build there is no AWS SDK and no network call anywhere on its path.

mod init;

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::value::RawValue;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let authorizer: &'static _ = Box::leak(Box::new(init::authorizer().await?));
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<Box<RawValue>>| async move {
            authorizer
                .handle(event.payload.get())
                .await
                .map_err(|error| Diagnostic {
                    error_type: error.error_type().to_owned(),
                    error_message: error.to_string(),
                })
        },
    ))
    .await
}
