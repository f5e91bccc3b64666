//! `/auth/oauth/*` and `/auth/identities`: sign-in through identity providers and the
//! identities linked to an account. All logic lives in `auth_service::handlers`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    use auth_service::handlers::{Federation, federation};
    auth_service::serve(Federation::from_env(), federation).await
}
