//! `POST /auth/refresh`. All logic lives in `auth_core::handlers::refresh`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    auth_core::lambda::serve(auth_core::handlers::refresh).await
}
