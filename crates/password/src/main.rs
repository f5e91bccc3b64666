//! `POST /auth/password/change, /forgot and /reset`. All logic lives in `auth_service::handlers`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    use auth_service::handlers::{Account, password};
    auth_service::serve(Account::from_env(), password).await
}
