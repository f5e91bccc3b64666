//! The strict-mode authorizer (`StrictAuthorizerFunction`, deployed when
//! `AuthorizerCheckRevocation=true`): the lean authorizer's verification, plus one DynamoDB read
//! of the token's session and its account's revocation epoch on every cache miss.

use auth_core::authorizer::SessionCheck;
use auth_service::store::Store;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    authorizer::run(
        async |store| Ok(Box::new(Store::connect(store).await) as Box<dyn SessionCheck>),
    )
    .await
}
