//! `POST /auth/login`. All logic lives in `auth_core::handlers::login`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    auth_core::lambda::serve(auth_core::handlers::login).await
}
