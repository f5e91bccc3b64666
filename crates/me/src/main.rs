//! `GET /me` and `GET /admin/users/{id}` behind the authorizer: the whole chain, end to end.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    use auth_core::handlers::{Profiles, me};
    auth_core::lambda::serve_with(Profiles::from_env(), me).await
}
