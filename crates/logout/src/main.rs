//! `POST /auth/logout` and `POST /auth/logout-all`. All logic lives in `auth_core::handlers::logout`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    auth_core::lambda::serve(auth_core::handlers::logout).await
}
