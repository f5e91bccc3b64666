//! The API Gateway Lambda authorizer's process: keys and route rules are parsed once at init,
//! then every event is answered by `auth_core::authorizer`. Two binaries run it and differ only
//! in how strict mode reaches sessions: this package's lean `authorizer` links no AWS SDK and
//! makes no network call anywhere on its path; `authorizer-strict` (its own package, so no
//! feature of it can reach the lean build) connects to DynamoDB.

use std::sync::Arc;

use auth_core::authorizer::{Authorizer, SessionCheck};
use auth_core::clock::SystemClock;
use auth_core::config::{AuthorizerSettings, ConfigError, StoreSettings};
use auth_core::token::AccessTokens;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::value::RawValue;

/// Runs the authorizer; `connect` reaches the session store when the environment asks for
/// strict mode (`AUTHORIZER_CHECK_REVOCATION=true`).
pub async fn run(
    connect: impl AsyncFnOnce(&StoreSettings) -> Result<Box<dyn SessionCheck>, ConfigError>,
) -> Result<(), lambda_runtime::Error> {
    let authorizer = auth_core::function::start(init(connect)).await?;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<Box<RawValue>>| async move {
            authorizer.handle(event.payload.get()).await
        },
    ))
    .await
}

async fn init(
    connect: impl AsyncFnOnce(&StoreSettings) -> Result<Box<dyn SessionCheck>, ConfigError>,
) -> Result<Authorizer, ConfigError> {
    // Under HS256 a deployed authorizer reads its key through the secrets extension.
    let settings =
        AuthorizerSettings::from_env(&auth_core::secrets::environment_via_extension().await?)?;
    let sessions = match &settings.strict_mode {
        Some(store) => Some(connect(store).await?),
        None => None,
    };
    Ok(Authorizer::new(
        AccessTokens::new(settings.access),
        settings.options,
        sessions,
        Arc::new(SystemClock),
    ))
}
