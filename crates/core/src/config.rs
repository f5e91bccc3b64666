//! Typed configuration, read once at init from environment variables. Every failure names the
//! variable and says what to do, and no secret value ever appears in a message.

use std::time::Duration;

#[cfg(feature = "service")]
use secrecy::ExposeSecret;
use secrecy::SecretString;

use crate::duration::parse_duration;
#[cfg(feature = "service")]
use crate::password::PasswordPolicy;
#[cfg(feature = "service")]
use crate::token::AccessTokenConfig;

/// Shortest secret accepted, in bytes (256 bits, the HS256 key size).
pub const MIN_SECRET_BYTES: usize = 32;
/// Largest clock-skew allowance accepted for token timestamps.
pub const MAX_LEEWAY: Duration = Duration::from_secs(30);

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

pub(crate) fn required(
    env: &dyn Env,
    name: &'static str,
    hint: &'static str,
) -> Result<String, ConfigError> {
    env.get(name).ok_or(ConfigError::Missing { name, hint })
}

pub(crate) fn duration_or(
    env: &dyn Env,
    name: &'static str,
    default: Duration,
) -> Result<Duration, ConfigError> {
    match env.get(name) {
        None => Ok(default),
        Some(text) => parse_duration(&text).map_err(|error| ConfigError::Invalid {
            name,
            reason: error.to_string(),
        }),
    }
}

#[cfg(feature = "service")]
pub(crate) fn number_or<T: std::str::FromStr>(
    env: &dyn Env,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError> {
    match env.get(name) {
        None => Ok(default),
        Some(text) => text.trim().parse().map_err(|_| ConfigError::Invalid {
            name,
            reason: format!("expected a whole number, got {text:?}"),
        }),
    }
}

/// A secret from the environment, refused when shorter than [`MIN_SECRET_BYTES`].
pub(crate) fn secret(env: &dyn Env, name: &'static str) -> Result<SecretString, ConfigError> {
    let value = required(
        env,
        name,
        "set it to a random string of at least 32 bytes, e.g. `openssl rand -base64 48`",
    )?;
    if value.len() < MIN_SECRET_BYTES {
        return Err(ConfigError::Invalid {
            name,
            reason: format!(
                "it is {} bytes long; use at least {MIN_SECRET_BYTES} random bytes",
                value.len()
            ),
        });
    }
    Ok(SecretString::from(value))
}

/// Lifetimes of refresh sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// Sliding lifetime, renewed on every refresh (`REFRESH_TOKEN_TTL`, default 7d).
    pub refresh_ttl: Duration,
    /// Absolute lifetime of a session from login, whatever the refreshes (`SESSION_MAX_AGE`, default 30d).
    pub max_age: Duration,
    /// How long the token just rotated out may still be presented and get the same successor
    /// (`REFRESH_REUSE_GRACE`, default 10s, 0 disables).
    pub reuse_grace: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            refresh_ttl: Duration::from_secs(7 * 86_400),
            max_age: Duration::from_secs(30 * 86_400),
            reuse_grace: Duration::from_secs(10),
        }
    }
}

impl SessionPolicy {
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let policy = Self {
            refresh_ttl: duration_or(env, "REFRESH_TOKEN_TTL", defaults.refresh_ttl)?,
            max_age: duration_or(env, "SESSION_MAX_AGE", defaults.max_age)?,
            reuse_grace: duration_or(env, "REFRESH_REUSE_GRACE", defaults.reuse_grace)?,
        };
        if policy.refresh_ttl.is_zero() {
            return Err(ConfigError::Invalid {
                name: "REFRESH_TOKEN_TTL",
                reason: "must be longer than zero".into(),
            });
        }
        if policy.max_age < policy.refresh_ttl {
            return Err(ConfigError::Invalid {
                name: "SESSION_MAX_AGE",
                reason: "must be at least REFRESH_TOKEN_TTL".into(),
            });
        }
        if policy.reuse_grace > Duration::from_secs(300) {
            return Err(ConfigError::Invalid {
                name: "REFRESH_REUSE_GRACE",
                reason: "must be at most 5m; a long grace window lets a stolen token ride along"
                    .into(),
            });
        }
        Ok(policy)
    }
}

/// Everything the register/login/refresh/logout functions need.
#[cfg(feature = "service")]
pub struct AuthConfig {
    pub table_name: String,
    pub access: AccessTokenConfig,
    pub refresh_secret: SecretString,
    pub sessions: SessionPolicy,
    pub passwords: PasswordPolicy,
    /// Upper bound on one DynamoDB call including retries (`DYNAMODB_TIMEOUT`, default 3s).
    pub dynamodb_timeout: Duration,
    /// `Path` of the refresh cookie (`REFRESH_COOKIE_PATH`, default `/auth`): must cover both
    /// the refresh and the logout routes.
    pub cookie_path: String,
}

#[cfg(feature = "service")]
impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("table_name", &self.table_name)
            .field("access", &self.access)
            .field("sessions", &self.sessions)
            .field("passwords", &self.passwords)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "service")]
impl AuthConfig {
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let access = AccessTokenConfig::from_env(env)?;
        let refresh_secret = secret(env, "JWT_REFRESH_SECRET")?;
        if access.uses_secret(refresh_secret.expose_secret().as_bytes()) {
            return Err(ConfigError::Invalid {
                name: "JWT_REFRESH_SECRET",
                reason: "must differ from JWT_ACCESS_SECRET (and its previous value)".into(),
            });
        }
        Ok(Self {
            table_name: required(env, "TABLE_NAME", "set it to the DynamoDB table's name")?,
            access,
            refresh_secret,
            sessions: SessionPolicy::from_env(env)?,
            passwords: PasswordPolicy::from_env(env)?,
            dynamodb_timeout: duration_or(env, "DYNAMODB_TIMEOUT", Duration::from_secs(3))?,
            cookie_path: cookie_path(env)?,
        })
    }
}

#[cfg(feature = "service")]
fn cookie_path(env: &dyn Env) -> Result<String, ConfigError> {
    use crate::http::cookie::{DEFAULT_REFRESH_COOKIE_PATH, is_valid_cookie_path};
    let path = env
        .get("REFRESH_COOKIE_PATH")
        .unwrap_or_else(|| DEFAULT_REFRESH_COOKIE_PATH.to_owned());
    if !is_valid_cookie_path(&path) {
        return Err(ConfigError::Invalid {
            name: "REFRESH_COOKIE_PATH",
            reason: "must start with '/' and contain no spaces, ';' or ','".into(),
        });
    }
    Ok(path)
}

#[cfg(all(test, feature = "service"))]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    const ACCESS: &str = "an-access-secret-of-at-least-32-bytes!!";
    const REFRESH: &str = "a-refresh-secret-of-at-least-32-bytes!!";

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut env = BTreeMap::from([
            ("TABLE_NAME".to_owned(), "auth".to_owned()),
            ("JWT_ACCESS_SECRET".to_owned(), ACCESS.to_owned()),
            ("JWT_REFRESH_SECRET".to_owned(), REFRESH.to_owned()),
        ]);
        for (key, value) in pairs {
            env.insert((*key).to_owned(), (*value).to_owned());
        }
        env
    }

    fn error(pairs: &[(&str, &str)]) -> String {
        AuthConfig::from_env(&env(pairs))
            .expect_err("invalid configuration")
            .to_string()
    }

    #[test]
    fn defaults_follow_the_documented_values() {
        let config = AuthConfig::from_env(&env(&[])).expect("valid");
        assert_eq!(config.sessions, SessionPolicy::default());
        assert_eq!(config.access.ttl, Duration::from_secs(900));
        assert_eq!(config.cookie_path, "/auth");
        assert_eq!(config.passwords, PasswordPolicy::default());
    }

    #[test]
    fn each_bad_value_is_refused_naming_its_variable_and_never_echoing_a_secret() {
        let cases = [
            (vec![("TABLE_NAME", "")], "TABLE_NAME"),
            (vec![("JWT_REFRESH_SECRET", "")], "JWT_REFRESH_SECRET"),
            (vec![("JWT_REFRESH_SECRET", "short")], "JWT_REFRESH_SECRET"),
            (vec![("JWT_REFRESH_SECRET", ACCESS)], "JWT_REFRESH_SECRET"),
            (
                vec![("JWT_ACCESS_SECRET_PREVIOUS", REFRESH)],
                "JWT_REFRESH_SECRET",
            ),
            (vec![("REFRESH_TOKEN_TTL", "forever")], "REFRESH_TOKEN_TTL"),
            (vec![("REFRESH_TOKEN_TTL", "0")], "REFRESH_TOKEN_TTL"),
            (vec![("SESSION_MAX_AGE", "1d")], "SESSION_MAX_AGE"),
            (vec![("REFRESH_REUSE_GRACE", "1h")], "REFRESH_REUSE_GRACE"),
            (vec![("ACCESS_TOKEN_TTL", "2d")], "ACCESS_TOKEN_TTL"),
            (vec![("ARGON2_ITERATIONS", "two")], "ARGON2_ITERATIONS"),
            (vec![("ARGON2_MEMORY_KIB", "1")], "ARGON2_MEMORY_KIB"),
            (vec![("JWT_ALGORITHM", "none")], "JWT_ALGORITHM"),
            (vec![("DYNAMODB_TIMEOUT", "soon")], "DYNAMODB_TIMEOUT"),
        ];
        for (pairs, variable) in cases {
            let message = error(&pairs);
            assert!(message.contains(variable), "{pairs:?}: {message}");
            assert!(
                !message.contains(ACCESS) && !message.contains(REFRESH),
                "{message}"
            );
        }
    }

    #[test]
    fn grace_may_be_disabled() {
        let config = AuthConfig::from_env(&env(&[("REFRESH_REUSE_GRACE", "0")])).expect("valid");
        assert_eq!(config.sessions.reuse_grace, Duration::ZERO);
    }
}
