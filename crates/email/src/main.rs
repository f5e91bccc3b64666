//! `POST /auth/email/verify and /verify/resend`. All logic lives in `auth_service::handlers`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    use auth_service::handlers::{Account, email};
    auth_service::serve(Account::from_env(), email).await
}
