//! The init phase every function's `main` goes through, the authorizer's included: logging,
//! then the function's state from its settings. A configuration error stops the init phase
//! with a message naming the variable.

use std::future::Future;

use crate::config::{ConfigError, ProcessEnv, log_settings};

/// Initialises logging, then builds the function's state once. The state lives as long as the
/// execution environment; leaking it gives handlers a plain `&'static` reference without
/// reference counting on every request.
pub async fn start<S: 'static>(
    init: impl Future<Output = Result<S, ConfigError>>,
) -> Result<&'static S, ConfigError> {
    crate::telemetry::init(&log_settings(&ProcessEnv));
    match init.await {
        Ok(state) => Ok(Box::leak(Box::new(state))),
        Err(error) => {
            tracing::error!(%error, "configuration error; the function cannot start");
            Err(error)
        }
    }
}
