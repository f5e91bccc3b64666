//! `/auth/mfa/*`: TOTP enrolment, the second login step, step-up, recovery codes. All logic
//! lives in `auth_service::handlers`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    use auth_service::handlers::{Mfa, mfa};
    auth_service::serve(Mfa::from_env(), mfa).await
}
