//! `POST /auth/logout` and `POST /auth/logout-all`. All logic lives in `auth_service::handlers`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    use auth_service::handlers::{Logout, logout};
    auth_service::serve(Logout::from_env(), logout).await
}
