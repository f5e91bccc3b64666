use std::sync::Arc;

use aws_sdk_dynamodb::Client;

use crate::clock::{SharedClock, SystemClock};
use crate::config::{AuthConfig, ConfigError, ProcessEnv, SessionPolicy};
use crate::domain::{Role, SessionId, UserId};
use crate::password::Passwords;
use crate::store::{NewSession, Store};
use crate::token::{AccessTokens, RefreshToken, RefreshTokens};

/// Everything the auth handlers touch, built once per container at init.
#[derive(Clone)]
pub struct App {
    pub store: Store,
    pub access: Arc<AccessTokens>,
    pub refresh: RefreshTokens,
    pub passwords: Passwords,
    pub sessions: SessionPolicy,
    pub cookie_path: String,
    pub clock: SharedClock,
}

impl App {
    pub fn new(
        config: AuthConfig,
        client: Client,
        clock: SharedClock,
    ) -> Result<Self, ConfigError> {
        if !config.access.keys.can_sign() {
            return Err(ConfigError::Missing {
                name: "JWT_PRIVATE_KEY",
                hint: "functions that issue tokens need the PEM private key for the chosen JWT_ALGORITHM",
            });
        }
        Ok(Self {
            store: Store::new(client, config.table_name),
            access: Arc::new(AccessTokens::new(config.access)),
            refresh: RefreshTokens::new(config.refresh_secret),
            passwords: Passwords::new(config.passwords)?,
            sessions: config.sessions,
            cookie_path: config.cookie_path,
            clock,
        })
    }

    /// Reads the environment and builds the DynamoDB client: the Lambda init phase.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let config = AuthConfig::from_env(&ProcessEnv)?;
        let client = crate::store::load_client(config.dynamodb_timeout).await;
        Self::new(config, client, Arc::new(SystemClock))
    }

    pub(crate) fn refresh_cookie(&self, token: &RefreshToken, max_age_seconds: i64) -> String {
        crate::http::cookie::refresh_cookie(&token.encode(), max_age_seconds, &self.cookie_path)
    }

    pub(crate) fn cleared_refresh_cookie(&self) -> String {
        crate::http::cookie::cleared_refresh_cookie(&self.cookie_path)
    }

    /// A new session (token family) for a user, and its first refresh token.
    pub(crate) fn new_session(
        &self,
        user: &UserId,
        role: &Role,
        now: i64,
    ) -> (NewSession, RefreshToken) {
        let session_id = SessionId::generate();
        let token = self.refresh.first(user, &session_id);
        let absolute_expires_at = now + self.sessions.max_age.as_secs() as i64;
        let session = NewSession {
            user_id: user.clone(),
            session_id,
            role: role.clone(),
            token_digest: token.digest(),
            created_at: now,
            expires_at: (now + self.sessions.refresh_ttl.as_secs() as i64).min(absolute_expires_at),
            absolute_expires_at,
        };
        (session, token)
    }
}
