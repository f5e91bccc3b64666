//! `GET /auth/sessions and DELETE /auth/sessions/{id}`. All logic lives in `auth_service::handlers`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    use auth_service::handlers::{SessionManagement, sessions};
    auth_service::serve(SessionManagement::from_env(), sessions).await
}
