//! `POST /auth/login`. All logic lives in `auth_service::handlers`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    use auth_service::handlers::{SignIn, login};
    auth_service::serve(SignIn::from_env(), login).await
}
