//! `DELETE /auth/account`. All logic lives in `auth_service::handlers`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    use auth_service::handlers::{Account, account};
    auth_service::serve(Account::from_env(), account).await
}
