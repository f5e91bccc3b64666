//! Each function's state: exactly what its handlers touch, built once at init from its
//! settings (`crate::config`) and a store.

use std::sync::Arc;

use auth_core::clock::{SharedClock, SystemClock};
use auth_core::config::{ConfigError, JwksSettings, ProcessEnv, StoreSettings};
use auth_core::token::{AccessTokens, RefreshKeys};
use jsonwebtoken::jwk::JwkSet;

use super::issue::TokenIssuer;
use crate::audit::Audit;
use crate::config::{
    AccountSettings, LogoutSettings, MfaSettings, RefreshSettings, RegistrationMode,
    SignInSettings, password_problem,
};
use crate::http::client::SourcePolicy;
use crate::http::csrf::CsrfPolicy;
use crate::ip_limit::IpLimitPolicy;
use crate::mfa::keys::MfaKeys;
use crate::mfa::policy::MfaPolicy;
use crate::password::Passwords;
use crate::sessions::Sessions;
use crate::store::Store;
use crate::throttle::BackoffPolicy;

/// Register and login: the users table, argon2, new sessions, and token issuance.
pub struct SignIn {
    pub store: Store,
    pub passwords: Passwords,
    pub sessions: Sessions,
    pub issuer: TokenIssuer,
    pub backoff: BackoffPolicy,
    pub ip_limit: IpLimitPolicy,
    pub sources: SourcePolicy,
    pub audit: Audit,
    pub mfa: MfaPolicy,
    pub registration: RegistrationMode,
    pub signup_ttl: std::time::Duration,
}

/// Refresh: session rotation and token issuance; no passwords.
pub struct Refresh {
    pub sessions: Sessions,
    pub issuer: TokenIssuer,
    pub csrf: CsrfPolicy,
    pub sources: SourcePolicy,
    pub audit: Audit,
}

/// Logout and logout-all: session deletion, and verification of logout-all's access token;
/// no signing key, no refresh key, no passwords.
pub struct Logout {
    pub store: Store,
    pub verifier: AccessTokens,
    pub cookie_path: String,
    pub csrf: CsrfPolicy,
    pub clock: SharedClock,
    pub sources: SourcePolicy,
    pub audit: Audit,
}

/// The account lifecycle: password change, forgot and reset; email verification; account
/// deletion. Argon2 and the sign-in brakes; no signing key, no refresh key.
pub struct Account {
    pub store: Store,
    pub passwords: Passwords,
    pub cookie_path: String,
    pub backoff: BackoffPolicy,
    pub ip_limit: IpLimitPolicy,
    pub sources: SourcePolicy,
    pub audit: Audit,
    pub clock: SharedClock,
    /// Step-up: how recent a second factor a password change or deletion needs.
    pub mfa: MfaPolicy,
}

/// The sessions list and revocation: the caller's own sessions, nothing else.
pub struct SessionManagement {
    pub store: Store,
    pub sources: SourcePolicy,
    pub audit: Audit,
    pub clock: SharedClock,
}

/// The example protected function: read access to profiles, and no secrets at all (the
/// authorizer has already verified the caller).
pub struct Profiles {
    pub store: Store,
}

/// The second factor: enrolment, the second login step, step-up. It starts sessions and issues
/// tokens (signing and refresh keys) and holds the MFA key; no passwords.
pub struct Mfa {
    pub store: Store,
    pub sessions: Sessions,
    pub issuer: TokenIssuer,
    pub policy: MfaPolicy,
    pub keys: MfaKeys,
    pub sources: SourcePolicy,
    pub audit: Audit,
}

impl Mfa {
    pub fn new(
        settings: MfaSettings,
        store: Store,
        clock: SharedClock,
    ) -> Result<Self, ConfigError> {
        let keys = RefreshKeys::new(
            &settings.refresh_keys.current,
            settings.refresh_keys.previous.as_ref(),
        );
        let mfa_keys = MfaKeys::new(&settings.keys.current, settings.keys.previous.as_ref())
            .map_err(|error| auth_core::config::invalid("MFA_ENCRYPTION_KEY", error.to_string()))?;
        Ok(Self {
            sessions: Sessions::new(store.clone(), keys, settings.sessions, clock),
            issuer: TokenIssuer::new(AccessTokens::new(settings.access), settings.cookie_path),
            policy: settings.policy,
            keys: mfa_keys,
            sources: settings.sources,
            audit: Audit::stdout(settings.audit),
            store,
        })
    }

    pub async fn from_env() -> Result<Self, ConfigError> {
        let settings = MfaSettings::from_env(&crate::secrets::environment().await?)?;
        let store = Store::connect(&settings.store).await;
        Self::new(settings, store, Arc::new(SystemClock))
    }
}

/// Sign-in through identity providers: it starts sessions and issues tokens (signing and
/// refresh keys) and holds the providers' client secrets; no passwords, no MFA key.
pub struct Federation {
    pub store: Store,
    pub sessions: Sessions,
    pub issuer: TokenIssuer,
    pub providers: Vec<crate::federation::provider::Provider>,
    pub client: crate::federation::client::ProviderClient,
    pub cache: crate::federation::oidc::ProviderCache,
    pub callback_base: String,
    /// The binding cookie's path: the OAuth routes under the callback base's mount.
    pub binding_path: String,
    pub app_url: String,
    pub state_ttl: std::time::Duration,
    pub mfa: MfaPolicy,
    pub sources: SourcePolicy,
    pub audit: Audit,
}

impl Federation {
    pub fn new(
        settings: crate::config::FederationSettings,
        store: Store,
        clock: SharedClock,
    ) -> Result<Self, ConfigError> {
        let keys = RefreshKeys::new(
            &settings.refresh_keys.current,
            settings.refresh_keys.previous.as_ref(),
        );
        let client =
            crate::federation::client::ProviderClient::new(settings.timeout).map_err(|error| {
                auth_core::config::invalid(
                    "OAUTH_PROVIDERS",
                    format!("no TLS roots to call providers with: {error}"),
                )
            })?;
        Ok(Self {
            sessions: Sessions::new(store.clone(), keys, settings.sessions, clock),
            issuer: TokenIssuer::new(AccessTokens::new(settings.access), settings.cookie_path),
            providers: settings.providers,
            client,
            cache: crate::federation::oidc::ProviderCache::default(),
            binding_path: crate::federation::flow::binding_cookie_path(&settings.callback_base),
            callback_base: settings.callback_base,
            app_url: settings.app_url,
            state_ttl: settings.state_ttl,
            mfa: settings.mfa,
            sources: settings.sources,
            audit: Audit::stdout(settings.audit),
            store,
        })
    }

    pub async fn from_env() -> Result<Self, ConfigError> {
        let settings =
            crate::config::FederationSettings::from_env(&crate::secrets::environment().await?)?;
        let store = Store::connect(&settings.store).await;
        Self::new(settings, store, Arc::new(SystemClock))
    }
}

/// The public keys and the discovery document naming them, for verifiers that start from the
/// issuer alone (API Gateway's JWT authorizer, OIDC libraries).
pub struct Jwks {
    pub keys: JwkSet,
    pub discovery: serde_json::Value,
}

impl super::source_limit::Guarded for SignIn {
    fn store(&self) -> &Store {
        &self.store
    }
    fn ip_limit(&self) -> &IpLimitPolicy {
        &self.ip_limit
    }
    fn audit(&self) -> &Audit {
        &self.audit
    }
}

impl super::attempt::Braked for SignIn {
    fn backoff(&self) -> &BackoffPolicy {
        &self.backoff
    }
    fn passwords(&self) -> &Passwords {
        &self.passwords
    }
}

impl SignIn {
    pub fn new(
        settings: SignInSettings,
        store: Store,
        clock: SharedClock,
    ) -> Result<Self, ConfigError> {
        let keys = RefreshKeys::new(
            &settings.refresh_keys.current,
            settings.refresh_keys.previous.as_ref(),
        );
        Ok(Self {
            passwords: Passwords::new(settings.passwords).map_err(password_problem)?,
            sessions: Sessions::new(store.clone(), keys, settings.sessions, clock),
            issuer: TokenIssuer::new(AccessTokens::new(settings.access), settings.cookie_path),
            backoff: settings.backoff,
            ip_limit: settings.ip_limit,
            sources: settings.sources,
            audit: Audit::stdout(settings.audit),
            mfa: settings.mfa,
            registration: settings.registration,
            signup_ttl: settings.signup_ttl,
            store,
        })
    }

    pub async fn from_env() -> Result<Self, ConfigError> {
        let settings = SignInSettings::from_env(&crate::secrets::environment().await?)?;
        let store = Store::connect(&settings.store).await;
        Self::new(settings, store, Arc::new(SystemClock))
    }
}

impl Refresh {
    pub fn new(settings: RefreshSettings, store: Store, clock: SharedClock) -> Self {
        let keys = RefreshKeys::new(
            &settings.refresh_keys.current,
            settings.refresh_keys.previous.as_ref(),
        );
        Self {
            sessions: Sessions::new(store, keys, settings.sessions, clock),
            issuer: TokenIssuer::new(AccessTokens::new(settings.access), settings.cookie_path),
            csrf: settings.csrf,
            sources: settings.sources,
            audit: Audit::stdout(settings.audit),
        }
    }

    pub async fn from_env() -> Result<Self, ConfigError> {
        let settings = RefreshSettings::from_env(&crate::secrets::environment().await?)?;
        let store = Store::connect(&settings.store).await;
        Ok(Self::new(settings, store, Arc::new(SystemClock)))
    }
}

impl Logout {
    pub fn new(settings: LogoutSettings, store: Store, clock: SharedClock) -> Self {
        Self {
            store,
            verifier: AccessTokens::new(settings.access),
            cookie_path: settings.cookie_path,
            csrf: settings.csrf,
            clock,
            sources: settings.sources,
            audit: Audit::stdout(settings.audit),
        }
    }

    pub async fn from_env() -> Result<Self, ConfigError> {
        let settings = LogoutSettings::from_env(&crate::secrets::environment().await?)?;
        let store = Store::connect(&settings.store).await;
        Ok(Self::new(settings, store, Arc::new(SystemClock)))
    }
}

impl super::source_limit::Guarded for Account {
    fn store(&self) -> &Store {
        &self.store
    }
    fn ip_limit(&self) -> &IpLimitPolicy {
        &self.ip_limit
    }
    fn audit(&self) -> &Audit {
        &self.audit
    }
}

impl super::attempt::Braked for Account {
    fn backoff(&self) -> &BackoffPolicy {
        &self.backoff
    }
    fn passwords(&self) -> &Passwords {
        &self.passwords
    }
}

impl Account {
    pub fn new(
        settings: AccountSettings,
        store: Store,
        clock: SharedClock,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            store,
            passwords: Passwords::new(settings.passwords).map_err(password_problem)?,
            cookie_path: settings.cookie_path,
            backoff: settings.backoff,
            ip_limit: settings.ip_limit,
            sources: settings.sources,
            audit: Audit::stdout(settings.audit),
            clock,
            mfa: settings.mfa,
        })
    }

    pub async fn from_env() -> Result<Self, ConfigError> {
        let settings = AccountSettings::from_env(&crate::secrets::environment().await?)?;
        let store = Store::connect(&settings.store).await;
        Self::new(settings, store, Arc::new(SystemClock))
    }
}

impl SessionManagement {
    pub fn new(settings: AccountSettings, store: Store, clock: SharedClock) -> Self {
        Self {
            store,
            sources: settings.sources,
            audit: Audit::stdout(settings.audit),
            clock,
        }
    }

    pub async fn from_env() -> Result<Self, ConfigError> {
        let settings = AccountSettings::from_env(&crate::secrets::environment().await?)?;
        let store = Store::connect(&settings.store).await;
        Ok(Self::new(settings, store, Arc::new(SystemClock)))
    }
}

impl Profiles {
    pub async fn from_env() -> Result<Self, ConfigError> {
        let settings = StoreSettings::from_env(&ProcessEnv)?;
        Ok(Self {
            store: Store::connect(&settings).await,
        })
    }
}

impl Jwks {
    pub fn new(settings: JwksSettings) -> Self {
        Self {
            discovery: super::jwks::discovery_document(&settings),
            keys: settings.keys.jwks(),
        }
    }

    pub async fn from_env() -> Result<Self, ConfigError> {
        Ok(Self::new(JwksSettings::from_env(&ProcessEnv)?))
    }
}
