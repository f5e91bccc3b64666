//! The one place that knows environment variable names. It reads them once, at init, into the
//! typed settings each function needs, and maps each component's validation error to an error
//! naming the variable. Components take plain values and never read the environment.
//!
//! Settings per function: [`AuthorizerSettings`], [`JwksSettings`], [`StoreSettings`] and
//! [`access_tokens`] here; the auth functions' own settings (`auth_service::config`) are built
//! from the same helpers.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::authorizer::{AuthorizerOptions, MfaRoutes, ResponseMode, RouteRules, TokenSource};
use crate::duration::parse_duration;
use crate::issuer::IssuerUrl;
use crate::telemetry::LogSettings;
use crate::token::{
    AccessTokenConfig, ClaimsPolicy, CurrentKey, KeyAlgorithm, KeyError, KeyMaterial, KeyRole,
    KeySet, MAX_ACCESS_TOKEN_TTL, MAX_LEEWAY, PreviousKey, PublicKeyPem,
};

/// Shortest secret accepted, in bytes (256 bits, the HS256 key size).
pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name} is not set: {hint}")]
    Missing {
        name: &'static str,
        hint: &'static str,
    },
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

pub fn invalid(name: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        name,
        reason: reason.into(),
    }
}

/// Where configuration values come from: the process environment in production, a map in tests.
pub trait Env {
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment. Empty values count as unset.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|value| !value.is_empty())
    }
}

impl Env for std::collections::BTreeMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        std::collections::BTreeMap::get(self, name)
            .filter(|value| !value.is_empty())
            .cloned()
    }
}

pub fn required(
    env: &dyn Env,
    name: &'static str,
    hint: &'static str,
) -> Result<String, ConfigError> {
    env.get(name).ok_or(ConfigError::Missing { name, hint })
}

pub fn duration_or(
    env: &dyn Env,
    name: &'static str,
    default: Duration,
) -> Result<Duration, ConfigError> {
    match env.get(name) {
        None => Ok(default),
        Some(text) => parse_duration(&text).map_err(|error| invalid(name, error.to_string())),
    }
}

pub fn number_or<T: std::str::FromStr>(
    env: &dyn Env,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError> {
    match env.get(name) {
        None => Ok(default),
        Some(text) => text
            .trim()
            .parse()
            .map_err(|_| invalid(name, format!("expected a whole number, got {text:?}"))),
    }
}

pub fn flag_or(env: &dyn Env, name: &'static str, default: bool) -> Result<bool, ConfigError> {
    match env
        .get(name)
        .map(|value| value.trim().to_ascii_lowercase())
        .as_deref()
    {
        None => Ok(default),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(other) => Err(invalid(
            name,
            format!("expected true or false, got {other:?}"),
        )),
    }
}

/// A secret, refused when shorter than [`MIN_SECRET_BYTES`]. Messages never echo it.
pub fn secret(env: &dyn Env, name: &'static str) -> Result<SecretString, ConfigError> {
    let value = required(
        env,
        name,
        "set it to a random string of at least 32 bytes, e.g. `openssl rand -base64 48`",
    )?;
    checked_secret(name, value)
}

pub fn optional_secret(
    env: &dyn Env,
    name: &'static str,
) -> Result<Option<SecretString>, ConfigError> {
    env.get(name)
        .map(|value| checked_secret(name, value))
        .transpose()
}

fn checked_secret(name: &'static str, value: String) -> Result<SecretString, ConfigError> {
    if value.len() < MIN_SECRET_BYTES {
        return Err(invalid(
            name,
            format!(
                "it is {} bytes long; use at least {MIN_SECRET_BYTES} random bytes",
                value.len()
            ),
        ));
    }
    Ok(SecretString::from(value))
}

/// The variables that hold secrets, each with the variable that may name a Secrets Manager
/// secret holding it instead (its ARN or name; the secret string is the value). Deployed
/// functions get only these references, so their configuration holds no secret value; the
/// values are read once, at init (`auth_core::secrets`).
pub const SECRET_VARIABLES: [(&str, &str); 9] = [
    ("JWT_ACCESS_SECRET", "JWT_ACCESS_SECRET_ARN"),
    (
        "JWT_ACCESS_SECRET_PREVIOUS",
        "JWT_ACCESS_SECRET_PREVIOUS_ARN",
    ),
    ("JWT_PRIVATE_KEY", "JWT_PRIVATE_KEY_ARN"),
    ("JWT_REFRESH_SECRET", "JWT_REFRESH_SECRET_ARN"),
    (
        "JWT_REFRESH_SECRET_PREVIOUS",
        "JWT_REFRESH_SECRET_PREVIOUS_ARN",
    ),
    ("MFA_ENCRYPTION_KEY", "MFA_ENCRYPTION_KEY_ARN"),
    ("PROXY_ORIGIN_SECRET", "PROXY_ORIGIN_SECRET_ARN"),
    (
        "MFA_ENCRYPTION_KEY_PREVIOUS",
        "MFA_ENCRYPTION_KEY_PREVIOUS_ARN",
    ),
    ("OAUTH_CLIENT_SECRETS", "OAUTH_CLIENT_SECRETS_ARN"),
];

/// A secret variable given by reference: the value is in Secrets Manager under `secret_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretReference {
    pub variable: &'static str,
    /// The variable holding the reference (`<variable>_ARN`), for error messages.
    pub reference: &'static str,
    pub secret_id: String,
}

/// The secret variables this environment gives by reference. Giving both a value and a
/// reference is refused: which one wins would be a guess.
pub fn secret_references(env: &dyn Env) -> Result<Vec<SecretReference>, ConfigError> {
    let mut references = Vec::new();
    for (variable, reference) in SECRET_VARIABLES {
        let Some(secret_id) = env.get(reference) else {
            continue;
        };
        if env.get(variable).is_some() {
            return Err(invalid(
                reference,
                format!("set either {variable} or {reference}, not both"),
            ));
        }
        references.push(SecretReference {
            variable,
            reference,
            secret_id: secret_id.trim().to_owned(),
        });
    }
    Ok(references)
}

/// An environment with the secret values read at init laid over it.
pub struct WithSecrets<E> {
    base: E,
    fetched: std::collections::BTreeMap<&'static str, SecretString>,
}

impl<E> WithSecrets<E> {
    pub fn new(base: E, fetched: std::collections::BTreeMap<&'static str, SecretString>) -> Self {
        Self { base, fetched }
    }
}

impl<E> std::fmt::Debug for WithSecrets<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.fetched.keys().copied().collect();
        f.debug_struct("WithSecrets")
            .field("fetched", &names)
            .finish()
    }
}

impl<E: Env> Env for WithSecrets<E> {
    fn get(&self, name: &str) -> Option<String> {
        match self.fetched.get(name) {
            Some(value) => Some(value.expose_secret().to_owned()),
            None => self.base.get(name),
        }
    }
}

/// The AWS Parameters and Secrets Lambda extension, through which the authorizer reads a
/// secret without linking the AWS SDK: its port (`PARAMETERS_SECRETS_EXTENSION_HTTP_PORT`,
/// default 2773, the extension's own variable) and the session token Lambda gives the function
/// (`AWS_SESSION_TOKEN`), which the extension requires on every request.
pub struct SecretsExtensionSettings {
    pub port: u16,
    pub session_token: SecretString,
}

impl SecretsExtensionSettings {
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        Ok(Self {
            port: number_or(env, "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", 2773)?,
            session_token: SecretString::from(required(
                env,
                "AWS_SESSION_TOKEN",
                "Lambda sets it; the secrets extension refuses requests without it",
            )?),
        })
    }
}

/// The DynamoDB table and the bound on one call (`TABLE_NAME`, `DYNAMODB_TIMEOUT`, default 3s),
/// and for functions that ask for mail, the outbox table (`OUTBOX_TABLE_NAME`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreSettings {
    pub table: String,
    /// Upper bound on one DynamoDB call including retries.
    pub timeout: Duration,
    /// Where mail requests are written: a table of its own, whose stream carries them to the
    /// mailer (so that stream never carries a password hash or a token digest).
    pub outbox_table: Option<String>,
}

impl StoreSettings {
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let timeout = duration_or(env, "DYNAMODB_TIMEOUT", Duration::from_secs(3))?;
        if timeout.is_zero() || timeout > Duration::from_secs(30) {
            return Err(invalid("DYNAMODB_TIMEOUT", "must be between 1s and 30s"));
        }
        Ok(Self {
            table: required(env, "TABLE_NAME", "set it to the DynamoDB table's name")?,
            timeout,
            outbox_table: env
                .get("OUTBOX_TABLE_NAME")
                .map(|name| name.trim().to_owned())
                .filter(|name| !name.is_empty()),
        })
    }

    /// [`StoreSettings::from_env`] for a function that asks for mail: `OUTBOX_TABLE_NAME` is
    /// required, so a missing one stops the function at init, not at its first sign-up.
    pub fn with_outbox_from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let settings = Self::from_env(env)?;
        if settings.outbox_table.is_none() {
            required(
                env,
                "OUTBOX_TABLE_NAME",
                "set it to the outbox table's name (mail requests go there)",
            )?;
        }
        Ok(settings)
    }
}

/// What a function does with access-token keys, which decides the key material it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUse {
    /// Issues tokens: the HS256 secret, or the private key (public key derived or given).
    Sign,
    /// Verifies tokens: the HS256 secret, or public keys only (a private key is never read).
    Verify,
    /// Publishes public keys: nothing at all for HS256.
    Publish,
}

fn algorithm_or(
    env: &dyn Env,
    name: &'static str,
    default: KeyAlgorithm,
) -> Result<KeyAlgorithm, ConfigError> {
    match env.get(name) {
        None => Ok(default),
        Some(raw) => KeyAlgorithm::parse(&raw).ok_or_else(|| {
            invalid(
                name,
                format!("expected HS256, RS256, ES256 or EdDSA, got {raw:?}"),
            )
        }),
    }
}

fn key_variable(role: KeyRole) -> &'static str {
    match role {
        KeyRole::Secret => "JWT_ACCESS_SECRET",
        KeyRole::PreviousSecret => "JWT_ACCESS_SECRET_PREVIOUS",
        KeyRole::Private => "JWT_PRIVATE_KEY",
        KeyRole::Public => "JWT_PUBLIC_KEY",
        KeyRole::PreviousPublic => "JWT_PUBLIC_KEY_PREVIOUS",
        KeyRole::NextPublic => "JWT_PUBLIC_KEY_NEXT",
    }
}

fn key_error(error: KeyError) -> ConfigError {
    invalid(key_variable(error.role), error.reason)
}

/// A PEM as given: with real line breaks, or on one line with `\n` escapes (how a template
/// parameter or a `.env` file carries it).
fn pem_lines(pem: &str) -> String {
    pem.replace("\\n", "\n")
}

/// The access-token keys for `purpose`: the current key (`JWT_ALGORITHM` and its variables),
/// the previous one (`JWT_PREVIOUS_ALGORITHM`, default the current algorithm:
/// `JWT_ACCESS_SECRET_PREVIOUS` for HS256, else `JWT_PUBLIC_KEY_PREVIOUS`) and the next one
/// (`JWT_PUBLIC_KEY_NEXT`, `JWT_NEXT_ALGORITHM`, default the current algorithm), published
/// before it signs anything.
pub fn key_set(env: &dyn Env, purpose: KeyUse) -> Result<KeySet, ConfigError> {
    let algorithm = algorithm_or(env, "JWT_ALGORITHM", KeyAlgorithm::Hs256)?;
    let current = match algorithm {
        KeyAlgorithm::Hs256 if purpose == KeyUse::Publish => CurrentKey::Unpublished,
        KeyAlgorithm::Hs256 => CurrentKey::Hmac(secret(env, "JWT_ACCESS_SECRET")?),
        algorithm => {
            let private_pem = match purpose {
                KeyUse::Sign => Some(SecretString::from(pem_lines(&required(
                    env,
                    "JWT_PRIVATE_KEY",
                    "functions that issue tokens need the PEM private key for JWT_ALGORITHM",
                )?))),
                KeyUse::Verify | KeyUse::Publish => None,
            };
            let public_pem = env.get("JWT_PUBLIC_KEY").map(|pem| pem_lines(&pem));
            if private_pem.is_none() && public_pem.is_none() {
                return Err(ConfigError::Missing {
                    name: "JWT_PUBLIC_KEY",
                    hint: "set the PEM public key of JWT_ALGORITHM",
                });
            }
            CurrentKey::Asymmetric {
                algorithm,
                private_pem,
                public_pem,
            }
        }
    };
    let previous = match algorithm_or(env, "JWT_PREVIOUS_ALGORITHM", algorithm)? {
        // A shared secret is never published.
        KeyAlgorithm::Hs256 if purpose == KeyUse::Publish => None,
        KeyAlgorithm::Hs256 => {
            optional_secret(env, "JWT_ACCESS_SECRET_PREVIOUS")?.map(PreviousKey::Hmac)
        }
        algorithm => env.get("JWT_PUBLIC_KEY_PREVIOUS").map(|pem| {
            PreviousKey::Public(PublicKeyPem {
                algorithm,
                pem: pem_lines(&pem),
            })
        }),
    };
    let next = match env.get("JWT_PUBLIC_KEY_NEXT") {
        None => None,
        Some(pem) => match algorithm_or(env, "JWT_NEXT_ALGORITHM", algorithm)? {
            KeyAlgorithm::Hs256 => {
                return Err(invalid(
                    "JWT_NEXT_ALGORITHM",
                    "the next key is published before it signs, so it is a public key: \
                     set RS256, ES256 or EdDSA",
                ));
            }
            algorithm => Some(PublicKeyPem {
                algorithm,
                pem: pem_lines(&pem),
            }),
        },
    };
    KeySet::from_material(KeyMaterial {
        current,
        previous,
        next,
    })
    .map_err(key_error)
}

/// Access-token settings: `JWT_ISSUER` (default `jwt-auth`), `JWT_AUDIENCE` (`api`),
/// `ACCESS_TOKEN_TTL` (15m, at most 24h), `JWT_LEEWAY` (5s, at most 30s), the keys, and
/// `JWT_ROLE_SCOPES` (issue the role as a `scope` claim too; default false).
pub fn access_tokens(env: &dyn Env, purpose: KeyUse) -> Result<AccessTokenConfig, ConfigError> {
    let leeway = duration_or(env, "JWT_LEEWAY", Duration::from_secs(5))?;
    if leeway > MAX_LEEWAY {
        return Err(invalid("JWT_LEEWAY", "must be at most 30s"));
    }
    Ok(AccessTokenConfig {
        policy: ClaimsPolicy {
            issuer: env
                .get("JWT_ISSUER")
                .unwrap_or_else(|| "jwt-auth".to_owned()),
            audience: env.get("JWT_AUDIENCE").unwrap_or_else(|| "api".to_owned()),
            leeway_seconds: i64::try_from(leeway.as_secs()).unwrap_or(i64::MAX),
        },
        ttl: access_token_ttl(env)?,
        keys: key_set(env, purpose)?,
        role_scopes: flag_or(env, "JWT_ROLE_SCOPES", false)?,
    })
}

pub fn access_token_ttl(env: &dyn Env) -> Result<Duration, ConfigError> {
    let ttl = duration_or(env, "ACCESS_TOKEN_TTL", Duration::from_secs(15 * 60))?;
    if ttl.is_zero() || ttl > MAX_ACCESS_TOKEN_TTL {
        return Err(invalid(
            "ACCESS_TOKEN_TTL",
            "must be between 1s and 24h; access tokens cannot be revoked, keep them short",
        ));
    }
    Ok(ttl)
}

/// Everything the authorizer needs: verification keys, the route rules, how it answers, and
/// where API Gateway takes the token from.
#[derive(Debug)]
pub struct AuthorizerSettings {
    pub access: AccessTokenConfig,
    /// `ROUTE_ROLES` (route keys and the roles allowed on them), `ROUTE_MFA` (route keys that
    /// need an `aal2` token), `AUTHORIZER_RESPONSE`
    /// (`simple`, the default, or `iam`, for HTTP API events), `AUTHORIZER_TOKEN_SOURCE`
    /// (`header`, the default: `Authorization: Bearer`; or `cookie`: the `accessToken` cookie),
    /// which must match the identity source API Gateway caches on.
    pub options: AuthorizerOptions,
    /// `AUTHORIZER_CHECK_REVOCATION=true`: read the session on every cache miss (strict mode),
    /// from this table.
    pub strict_mode: Option<StoreSettings>,
}

impl AuthorizerSettings {
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let response = match env
            .get("AUTHORIZER_RESPONSE")
            .map(|v| v.to_ascii_lowercase())
            .as_deref()
        {
            None | Some("simple") => ResponseMode::Simple,
            Some("iam") => ResponseMode::Iam,
            Some(other) => {
                return Err(invalid(
                    "AUTHORIZER_RESPONSE",
                    format!("expected simple or iam, got {other:?}"),
                ));
            }
        };
        let token_source = match env
            .get("AUTHORIZER_TOKEN_SOURCE")
            .map(|v| v.to_ascii_lowercase())
            .as_deref()
        {
            None | Some("header") => TokenSource::AuthorizationHeader,
            Some("cookie") => TokenSource::Cookie,
            Some(other) => {
                return Err(invalid(
                    "AUTHORIZER_TOKEN_SOURCE",
                    format!("expected header or cookie, got {other:?}"),
                ));
            }
        };
        let rules = RouteRules::parse(&env.get("ROUTE_ROLES").unwrap_or_default(), response)
            .map_err(|error| invalid("ROUTE_ROLES", error.to_string()))?;
        let mfa_routes = MfaRoutes::parse(&env.get("ROUTE_MFA").unwrap_or_default(), response)
            .map_err(|error| invalid("ROUTE_MFA", error.to_string()))?;
        let strict_mode = if flag_or(env, "AUTHORIZER_CHECK_REVOCATION", false)? {
            Some(StoreSettings::from_env(env)?)
        } else {
            None
        };
        Ok(Self {
            access: access_tokens(env, KeyUse::Verify)?,
            options: AuthorizerOptions {
                rules,
                mfa_routes,
                response,
                token_source,
            },
            strict_mode,
        })
    }
}

/// Strict mode was asked for, but this is the lean authorizer, which has no DynamoDB client.
pub fn strict_mode_not_built() -> ConfigError {
    invalid(
        "AUTHORIZER_CHECK_REVOCATION",
        "the lean authorizer has no DynamoDB client; strict mode runs the authorizer-strict binary",
    )
}

/// The JWKS function publishes public keys and the discovery document naming them, and holds
/// nothing else.
#[derive(Debug)]
pub struct JwksSettings {
    pub keys: KeySet,
    /// `JWT_ISSUER` as a URL: the discovery document's `issuer`, byte for byte the tokens' `iss`.
    pub issuer: IssuerUrl,
}

impl JwksSettings {
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let issuer = required(
            env,
            "JWT_ISSUER",
            "set it to the https URL the API is served at (its custom domain); verifiers find \
             {JWT_ISSUER}/.well-known/openid-configuration",
        )?;
        Ok(Self {
            keys: key_set(env, KeyUse::Publish)?,
            issuer: IssuerUrl::parse(&issuer).map_err(|reason| invalid("JWT_ISSUER", reason))?,
        })
    }
}

/// Logging: the level from `RUST_LOG`, else `AWS_LAMBDA_LOG_LEVEL` (set by Lambda's advanced
/// logging controls), else `LOG_LEVEL`, else `info`; JSON on Lambda or with `LOG_FORMAT=json`.
/// Dependencies that log payloads stay at `info` or quieter unless
/// `LOG_DEPENDENCY_PAYLOADS=true` (a debugging aid that writes passwords and tokens to logs).
pub fn log_settings(env: &dyn Env) -> LogSettings {
    let level = ["RUST_LOG", "AWS_LAMBDA_LOG_LEVEL", "LOG_LEVEL"]
        .iter()
        .find_map(|name| env.get(name))
        .unwrap_or_else(|| "info".to_owned());
    LogSettings {
        level,
        json: env.get("AWS_LAMBDA_FUNCTION_NAME").is_some()
            || env
                .get("LOG_FORMAT")
                .is_some_and(|format| format.eq_ignore_ascii_case("json")),
        dependency_payloads: env
            .get("LOG_DEPENDENCY_PAYLOADS")
            .is_some_and(|value| value.eq_ignore_ascii_case("true")),
    }
}

/// Whether two secrets are the same bytes (configuration refuses a refresh key equal to an
/// access key); never prints either.
pub fn same_secret(a: &SecretString, b: &SecretString) -> bool {
    a.expose_secret() == b.expose_secret()
}
