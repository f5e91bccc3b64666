//! Secrets read at init. A deployed function's configuration names its secrets
//! (`JWT_PRIVATE_KEY_ARN`, ...: `config::SECRET_VARIABLES`) instead of holding them, so a role
//! that may read function configurations reads no key. Each named secret is read once, before
//! the settings are parsed, and laid over the environment ([`WithSecrets`]). Local runs give
//! plain values and read nothing.
//!
//! The issuing functions read through the AWS SDK they already link (`auth_service::secrets`);
//! the authorizer, which links no SDK, reads through the AWS Parameters and Secrets Lambda
//! extension on localhost ([`SecretsExtension`]).

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use secrecy::{ExposeSecret, SecretString};

use crate::config::{
    ConfigError, Env, ProcessEnv, SecretReference, SecretsExtensionSettings, WithSecrets, invalid,
    secret_references,
};

/// Why a secret could not be read; never contains the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SecretError(pub String);

/// Somewhere secrets can be read from by id.
pub trait SecretSource {
    fn fetch(&self, secret_id: &str) -> impl Future<Output = Result<SecretString, SecretError>>;
}

/// Reads every referenced secret from `source` and lays the values over `env`.
pub async fn resolve<E: Env, S: SecretSource>(
    env: E,
    references: &[SecretReference],
    source: &S,
) -> Result<WithSecrets<E>, ConfigError> {
    let mut fetched = BTreeMap::new();
    for reference in references {
        let value = source.fetch(&reference.secret_id).await.map_err(|error| {
            invalid(
                reference.reference,
                format!("could not read secret {:?}: {error}", reference.secret_id),
            )
        })?;
        fetched.insert(reference.variable, value);
    }
    Ok(WithSecrets::new(env, fetched))
}

/// The process environment, with any referenced secret read through the secrets extension.
pub async fn environment_via_extension() -> Result<WithSecrets<ProcessEnv>, ConfigError> {
    let references = secret_references(&ProcessEnv)?;
    if references.is_empty() {
        return Ok(WithSecrets::new(ProcessEnv, BTreeMap::new()));
    }
    let extension = SecretsExtension::new(SecretsExtensionSettings::from_env(&ProcessEnv)?);
    resolve(ProcessEnv, &references, &extension).await
}

/// The AWS Parameters and Secrets Lambda extension's HTTP endpoint on localhost.
pub struct SecretsExtension {
    client: Client<HttpConnector, Empty<Bytes>>,
    settings: SecretsExtensionSettings,
}

/// How long the extension may take to become ready at init before the function gives up.
const READY_ATTEMPTS: u32 = 20;
const READY_PAUSE: Duration = Duration::from_millis(50);

impl SecretsExtension {
    pub fn new(settings: SecretsExtensionSettings) -> Self {
        Self {
            client: Client::builder(TokioExecutor::new()).build_http(),
            settings,
        }
    }

    async fn get_once(&self, secret_id: &str) -> Result<Answer, SecretError> {
        let uri = format!(
            "http://127.0.0.1:{}/secretsmanager/get?secretId={}",
            self.settings.port,
            percent_encode(secret_id)
        );
        let request = http::Request::get(uri)
            .header(
                "X-Aws-Parameters-Secrets-Token",
                self.settings.session_token.expose_secret(),
            )
            .body(Empty::new())
            .map_err(|error| SecretError(format!("bad request: {error}")))?;
        let response = match self.client.request(request).await {
            Ok(response) => response,
            // Not listening yet: the extension may still be starting.
            Err(error) if error.is_connect() => return Ok(Answer::NotReady),
            Err(error) => return Err(SecretError(format!("secrets extension: {error}"))),
        };
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|error| SecretError(format!("secrets extension: {error}")))?
            .to_bytes();
        if status.is_success() {
            return secret_string(&body).map(Answer::Secret);
        }
        // The extension answers 400 "not ready to serve traffic" while it starts up.
        if body
            .windows(b"not ready".len())
            .any(|window| window == b"not ready")
        {
            return Ok(Answer::NotReady);
        }
        Err(SecretError(format!("secrets extension answered {status}")))
    }
}

enum Answer {
    Secret(SecretString),
    NotReady,
}

impl SecretSource for SecretsExtension {
    async fn fetch(&self, secret_id: &str) -> Result<SecretString, SecretError> {
        for _ in 0..READY_ATTEMPTS {
            match self.get_once(secret_id).await? {
                Answer::Secret(value) => return Ok(value),
                Answer::NotReady => tokio::time::sleep(READY_PAUSE).await,
            }
        }
        Err(SecretError(
            "the secrets extension did not become ready; is its layer attached?".to_owned(),
        ))
    }
}

/// The `SecretString` of a GetSecretValue answer (the extension returns the API's JSON).
fn secret_string(body: &[u8]) -> Result<SecretString, SecretError> {
    #[derive(serde::Deserialize)]
    struct Value {
        #[serde(rename = "SecretString")]
        secret_string: Option<String>,
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| SecretError("the answer is not a GetSecretValue document".to_owned()))?;
    value
        .secret_string
        .filter(|secret| !secret.is_empty())
        .map(SecretString::from)
        .ok_or_else(|| {
            SecretError(
                "the secret has no SecretString (binary secrets are not supported)".to_owned(),
            )
        })
}

/// Percent-encodes everything but RFC 3986's unreserved characters (ARNs carry `:` and `/`).
fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_are_percent_encoded() {
        assert_eq!(
            percent_encode("arn:aws:secretsmanager:eu-west-1:1:secret:jwt/key-AbC~_.1"),
            "arn%3Aaws%3Asecretsmanager%3Aeu-west-1%3A1%3Asecret%3Ajwt%2Fkey-AbC~_.1"
        );
    }

    #[test]
    fn the_secret_string_is_taken_and_nothing_else_is_accepted() {
        let value =
            secret_string(br#"{"ARN":"a","Name":"n","SecretString":"s3cret"}"#).expect("secret");
        assert_eq!(value.expose_secret(), "s3cret");
        for body in [
            &br#"{"SecretBinary":"AAAA"}"#[..],
            br#"{"SecretString":""}"#,
            b"not json",
        ] {
            let error = secret_string(body).expect_err("refused");
            assert!(!error.0.contains("AAAA"));
        }
    }
}
