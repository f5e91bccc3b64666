//! The issuing functions read their referenced secrets (`auth_core::secrets`) from Secrets
//! Manager with the AWS SDK, once, at init.

use std::collections::BTreeMap;
use std::time::Duration;

use auth_core::config::{ConfigError, ProcessEnv, WithSecrets, secret_references};
use auth_core::secrets::{SecretError, SecretSource, resolve};
use auth_core::telemetry::error_chain;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::timeout::TimeoutConfig;
use secrecy::SecretString;

/// Secrets Manager through the SDK.
#[derive(Debug, Clone)]
pub struct SecretsManager {
    client: Client,
}

impl SecretsManager {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// A client from the shared AWS configuration (region, credentials, and
    /// `AWS_ENDPOINT_URL_SECRETS_MANAGER` where set), bounded so a slow endpoint fails the init
    /// phase with a clear message rather than at Lambda's init timeout.
    pub async fn connect() -> Self {
        let config =
            aws_sdk_secretsmanager::config::Builder::from(crate::aws::shared_config().await)
                .timeout_config(
                    TimeoutConfig::builder()
                        .operation_timeout(Duration::from_secs(5))
                        .build(),
                )
                .build();
        Self::new(Client::from_conf(config))
    }
}

impl SecretSource for SecretsManager {
    async fn fetch(&self, secret_id: &str) -> Result<SecretString, SecretError> {
        let output = self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|error| SecretError(error_chain(&error)))?;
        output
            .secret_string
            .filter(|value| !value.is_empty())
            .map(SecretString::from)
            .ok_or_else(|| {
                SecretError(
                    "the secret has no SecretString (binary secrets are not supported)".into(),
                )
            })
    }
}

/// The process environment with every referenced secret read from Secrets Manager; no client
/// is built, and no call made, when nothing is referenced (local runs).
pub async fn environment() -> Result<WithSecrets<ProcessEnv>, ConfigError> {
    let references = secret_references(&ProcessEnv)?;
    if references.is_empty() {
        return Ok(WithSecrets::new(ProcessEnv, BTreeMap::new()));
    }
    resolve(ProcessEnv, &references, &SecretsManager::connect().await).await
}
