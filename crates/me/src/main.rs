//! `GET /me` and `GET /admin/users/{id}` behind the authorizer: the whole chain, end to end. All logic lives in `auth_service::handlers`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    use auth_service::handlers::{Profiles, me};
    auth_service::serve(Profiles::from_env(), me).await
}
