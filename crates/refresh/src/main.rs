//! `POST /auth/refresh`. All logic lives in `auth_service::handlers`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    use auth_service::handlers::{Refresh, refresh};
    auth_service::serve(Refresh::from_env(), refresh).await
}
