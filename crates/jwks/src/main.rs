//! `GET /.well-known/jwks.json`: the public keys other services verify our tokens with. All logic lives in `auth_service::handlers`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    use auth_service::handlers::{Jwks, jwks};
    auth_service::serve(Jwks::from_env(), jwks).await
}
