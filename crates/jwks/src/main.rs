//! `GET /.well-known/jwks.json`: the public keys other services verify our tokens with.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    use auth_core::handlers::{Jwks, jwks};
    auth_core::lambda::serve_with(Jwks::from_env(), jwks).await
}
