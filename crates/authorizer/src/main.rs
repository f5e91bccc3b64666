//! The lean authorizer (`AuthorizerFunction`): stateless JWT verification, no AWS SDK linked.
//! Strict mode needs the `authorizer-strict` binary, which the template deploys instead when
//! `AuthorizerCheckRevocation=true`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    authorizer::run(async |_| Err(auth_core::config::strict_mode_not_built())).await
}
