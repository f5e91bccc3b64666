//! The mailer, on the table's stream (outbox inserts). All logic lives in `auth_mail`.

use auth_mail::Mailer;
use auth_mail::stream::StreamEvent;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let mailer = auth_core::function::start(Mailer::from_env()).await?;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<StreamEvent>| async move {
            Ok::<_, std::convert::Infallible>(mailer.handle(event.payload).await)
        },
    ))
    .await
}
