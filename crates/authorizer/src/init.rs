use std::sync::Arc;

use auth_core::authorizer::{Authorizer, AuthorizerConfig, SessionCheck};
use auth_core::clock::SystemClock;
use auth_core::config::{ConfigError, ProcessEnv};

/// Builds the authorizer from the environment, failing start-up with the variable's name.
pub async fn authorizer() -> Result<Authorizer, ConfigError> {
    auth_core::telemetry::init();
    let config = AuthorizerConfig::from_env(&ProcessEnv).inspect_err(|error| {
        tracing::error!(%error, "configuration error; the authorizer cannot start");
    })?;
    let sessions = if config.check_revocation {
        Some(session_check().await?)
    } else {
        None
    };
    Ok(Authorizer::new(config, sessions, Arc::new(SystemClock)))
}

#[cfg(feature = "check-revocation")]
async fn session_check() -> Result<Box<dyn SessionCheck>, ConfigError> {
    use auth_core::config::Env as _;
    let table = ProcessEnv.get("TABLE_NAME").ok_or(ConfigError::Missing {
        name: "TABLE_NAME",
        hint: "strict mode reads sessions from the table",
    })?;
    let client = auth_core::store::load_client(std::time::Duration::from_secs(2)).await;
    Ok(Box::new(auth_core::store::Store::new(client, table)))
}

#[cfg(not(feature = "check-revocation"))]
async fn session_check() -> Result<Box<dyn SessionCheck>, ConfigError> {
    Err(ConfigError::Invalid {
        name: "AUTHORIZER_CHECK_REVOCATION",
        reason: "this build has no DynamoDB client; build the authorizer with `--features check-revocation`".into(),
    })
}
