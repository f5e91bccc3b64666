//! The API Gateway Lambda authorizer. Keys and route rules are parsed once at init; the default
//! build links no AWS SDK and makes no network call anywhere on its path. Logic lives in
//! `auth_core::authorizer`.

use std::sync::Arc;

use auth_core::authorizer::{Authorizer, SessionCheck};
use auth_core::clock::SystemClock;
use auth_core::config::{AuthorizerSettings, ConfigError, StoreSettings};
use auth_core::token::AccessTokens;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::value::RawValue;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let authorizer = auth_core::function::start(init()).await?;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<Box<RawValue>>| async move {
            authorizer.handle(event.payload.get()).await
        },
    ))
    .await
}

async fn init() -> Result<Authorizer, ConfigError> {
    // Under HS256 a deployed authorizer reads its key through the secrets extension.
    let settings =
        AuthorizerSettings::from_env(&auth_core::secrets::environment_via_extension().await?)?;
    let sessions = match &settings.strict_mode {
        Some(store) => Some(session_check(store).await?),
        None => None,
    };
    Ok(Authorizer::new(
        AccessTokens::new(settings.access),
        settings.options,
        sessions,
        Arc::new(SystemClock),
    ))
}

#[cfg(feature = "check-revocation")]
async fn session_check(store: &StoreSettings) -> Result<Box<dyn SessionCheck>, ConfigError> {
    Ok(Box::new(auth_service::store::Store::connect(store).await))
}

#[cfg(not(feature = "check-revocation"))]
async fn session_check(_: &StoreSettings) -> Result<Box<dyn SessionCheck>, ConfigError> {
    Err(auth_core::config::strict_mode_not_built())
}
