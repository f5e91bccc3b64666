//! The auth functions' settings. Together with `auth_core::config` (keys, claims, the store),
//! the only code that knows these variable names; every function gets only what it uses.

use std::time::Duration;

use auth_core::config::{
    ConfigError, Env, KeyUse, StoreSettings, access_tokens, duration_or, invalid, number_or,
    optional_secret, same_secret, secret,
};
use auth_core::token::AccessTokenConfig;
use secrecy::{ExposeSecret, SecretString};

use crate::audit::AuditSettings;
use crate::http::client::SourcePolicy;
use crate::http::cookie::{DEFAULT_REFRESH_COOKIE_PATH, is_valid_cookie_path};
use crate::http::csrf::CsrfPolicy;
use crate::ip_limit::IpLimitPolicy;
use crate::mail_budget::{MailBudgets, PoolLimits};
use crate::mfa::policy::MfaPolicy;
use crate::password::PasswordPolicy;
use crate::sessions::SessionPolicy;
use crate::throttle::{BackoffPolicy, STREAK_MEMORY};

/// The refresh chain keys (`JWT_REFRESH_SECRET`, `JWT_REFRESH_SECRET_PREVIOUS`), refused when
/// equal to an access secret.
pub struct RefreshKeySettings {
    pub current: SecretString,
    pub previous: Option<SecretString>,
}

impl std::fmt::Debug for RefreshKeySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshKeySettings(<redacted>)")
    }
}

/// Register and login: issue tokens and start sessions; hash and verify passwords.
#[derive(Debug)]
pub struct SignInSettings {
    pub store: StoreSettings,
    pub access: AccessTokenConfig,
    pub refresh_keys: RefreshKeySettings,
    pub sessions: SessionPolicy,
    pub passwords: PasswordPolicy,
    pub cookie_path: String,
    pub backoff: BackoffPolicy,
    pub ip_limit: IpLimitPolicy,
    pub sources: SourcePolicy,
    pub audit: AuditSettings,
    /// A login of an account with MFA answers with a challenge of this policy's lifetime.
    pub mfa: MfaPolicy,
    /// `REGISTRATION_MODE` (`open`): how sign-up works.
    pub registration: RegistrationMode,
    /// `VERIFY_TOKEN_TTL` (24h): how long a confirm-first sign-up waits for its link.
    pub signup_ttl: Duration,
}

/// How sign-up works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationMode {
    /// `open`: register answers 201 with a session, or 409 `EMAIL_TAKEN` (the seed's flow).
    Open,
    /// `confirm-first`: register answers 202 alike for new and taken addresses and mails the
    /// address; the account exists once its link comes back with the sign-up's password.
    ConfirmFirst,
}

fn registration_mode(env: &dyn Env) -> Result<RegistrationMode, ConfigError> {
    match env.get("REGISTRATION_MODE").as_deref().map(str::trim) {
        None | Some("open") => Ok(RegistrationMode::Open),
        Some("confirm-first") => Ok(RegistrationMode::ConfirmFirst),
        Some(_) => Err(invalid(
            "REGISTRATION_MODE",
            "must be open or confirm-first",
        )),
    }
}

/// The account lifecycle routes (password change/forgot/reset, email verification, account
/// deletion, the sessions list): passwords are checked with the sign-in functions' backoff and
/// per-IP limit; mail is only asked for (the outbox), never sent here.
#[derive(Debug)]
pub struct AccountSettings {
    pub store: StoreSettings,
    pub passwords: PasswordPolicy,
    pub cookie_path: String,
    pub backoff: BackoffPolicy,
    pub ip_limit: IpLimitPolicy,
    pub sources: SourcePolicy,
    pub audit: AuditSettings,
    /// Password change and account deletion of an account with MFA need a second factor
    /// verified within `mfa.recent`.
    pub mfa: MfaPolicy,
}

impl AccountSettings {
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        Ok(Self {
            store: StoreSettings::with_outbox_from_env(env)?,
            passwords: password_policy(env)?,
            cookie_path: cookie_path(env)?,
            backoff: backoff_policy(env)?,
            ip_limit: ip_limit_policy(env)?,
            sources: source_policy(env)?,
            audit: audit_settings(env)?,
            mfa: mfa_policy(env)?,
        })
    }
}

/// The second factor's function (`mfa`): enrolment, the second login step and step-up. It
/// starts sessions and issues tokens, so it holds the signing and refresh keys, and the MFA key
/// that seals TOTP secrets and digests recovery codes.
#[derive(Debug)]
pub struct MfaSettings {
    pub store: StoreSettings,
    pub access: AccessTokenConfig,
    pub refresh_keys: RefreshKeySettings,
    pub sessions: SessionPolicy,
    pub cookie_path: String,
    pub policy: MfaPolicy,
    pub keys: MfaKeySettings,
    pub sources: SourcePolicy,
    pub audit: AuditSettings,
}

/// `MFA_ENCRYPTION_KEY` and, during a rotation, `MFA_ENCRYPTION_KEY_PREVIOUS`: used for
/// nothing else, refused when equal to a token key.
pub struct MfaKeySettings {
    pub current: SecretString,
    pub previous: Option<SecretString>,
}

impl std::fmt::Debug for MfaKeySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MfaKeySettings(<redacted>)")
    }
}

impl MfaSettings {
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let access = access_tokens(env, KeyUse::Sign)?;
        let refresh_keys = refresh_keys(env, &access)?;
        let current = secret(env, "MFA_ENCRYPTION_KEY")?;
        let previous = optional_secret(env, "MFA_ENCRYPTION_KEY_PREVIOUS")?;
        for (name, key) in [
            ("MFA_ENCRYPTION_KEY", Some(&current)),
            ("MFA_ENCRYPTION_KEY_PREVIOUS", previous.as_ref()),
        ] {
            let Some(key) = key else { continue };
            let reused = access.uses_secret(key.expose_secret().as_bytes())
                || same_secret(key, &refresh_keys.current)
                || refresh_keys
                    .previous
                    .as_ref()
                    .is_some_and(|refresh| same_secret(key, refresh));
            if reused {
                return Err(invalid(
                    name,
                    "must differ from the access and refresh token keys (no key serves two purposes)",
                ));
            }
        }
        if previous
            .as_ref()
            .is_some_and(|previous| same_secret(previous, &current))
        {
            return Err(invalid(
                "MFA_ENCRYPTION_KEY_PREVIOUS",
                "must differ from MFA_ENCRYPTION_KEY",
            ));
        }
        Ok(Self {
            store: StoreSettings::from_env(env)?,
            access,
            refresh_keys,
            sessions: session_policy(env)?,
            cookie_path: cookie_path(env)?,
            policy: mfa_policy(env)?,
            keys: MfaKeySettings { current, previous },
            sources: source_policy(env)?,
            audit: audit_settings(env)?,
        })
    }
}

/// `MFA_ISSUER` (`APP_NAME`, else `JWT Auth`; at most 64 printable characters, no `:`),
/// `MFA_CHALLENGE_TTL` (5m, 1m to 15m), `MFA_MAX_FAILURES` (5), `MFA_BACKOFF` (30s),
/// `MFA_BACKOFF_MAX` (1h, at most 24h), `MFA_RECENT` (15m, 1m to 24h).
pub fn mfa_policy(env: &dyn Env) -> Result<MfaPolicy, ConfigError> {
    let defaults = MfaPolicy::default();
    let issuer = env
        .get("MFA_ISSUER")
        .or_else(|| env.get("APP_NAME"))
        .map(|issuer| issuer.trim().to_owned())
        .unwrap_or(defaults.issuer);
    if issuer.is_empty()
        || issuer.chars().count() > 64
        || issuer.chars().any(|c| c.is_control() || c == ':')
    {
        return Err(invalid(
            "MFA_ISSUER",
            "must be 1-64 printable characters without ':'",
        ));
    }
    let policy = MfaPolicy {
        issuer,
        challenge_ttl: duration_or(env, "MFA_CHALLENGE_TTL", defaults.challenge_ttl)?,
        backoff: BackoffPolicy {
            max_failures: number_or(env, "MFA_MAX_FAILURES", defaults.backoff.max_failures)?,
            backoff: duration_or(env, "MFA_BACKOFF", defaults.backoff.backoff)?,
            backoff_max: duration_or(env, "MFA_BACKOFF_MAX", defaults.backoff.backoff_max)?,
        },
        recent: duration_or(env, "MFA_RECENT", defaults.recent)?,
    };
    let minute = Duration::from_secs(60);
    if policy.challenge_ttl < minute || policy.challenge_ttl > 15 * minute {
        return Err(invalid("MFA_CHALLENGE_TTL", "must be between 1m and 15m"));
    }
    if policy.backoff.max_failures == 0 {
        return Err(invalid("MFA_MAX_FAILURES", "must be at least 1"));
    }
    if policy.backoff.backoff < Duration::from_secs(1) {
        return Err(invalid("MFA_BACKOFF", "must be at least 1s"));
    }
    if policy.backoff.backoff_max < policy.backoff.backoff
        || policy.backoff.backoff_max > STREAK_MEMORY
    {
        return Err(invalid(
            "MFA_BACKOFF_MAX",
            "must be at least MFA_BACKOFF and at most 24h",
        ));
    }
    if policy.recent < minute || policy.recent > Duration::from_secs(86_400) {
        return Err(invalid("MFA_RECENT", "must be between 1m and 24h"));
    }
    Ok(policy)
}

/// Where the mailer sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailTransport {
    /// Amazon SES v2, sending through `MAIL_CONFIGURATION_SET` when set (the template's, which
    /// puts bounces and complaints on the account's suppression list).
    Ses { configuration_set: Option<String> },
    /// One RFC 5322 `.eml` file per message in this directory (local runs and tests).
    Directory(std::path::PathBuf),
}

/// The mailer: what links point at, who mail is from, how it leaves, how long links work.
#[derive(Debug, Clone)]
pub struct MailerSettings {
    pub store: StoreSettings,
    /// `APP_URL`: the web app that serves `/reset-password` and `/verify-email`.
    pub app_url: String,
    /// `MAIL_FROM`: `no-reply@example.com` or `Example <no-reply@example.com>`.
    pub from: String,
    /// `APP_NAME`: how mail names the app (subject and greeting).
    pub app_name: String,
    pub transport: MailTransport,
    /// `RESET_TOKEN_TTL` (30m): how long a reset link works.
    pub reset_ttl: Duration,
    /// `VERIFY_TOKEN_TTL` (24h): how long a verification link works.
    pub verify_ttl: Duration,
    /// `MAIL_MIN_INTERVAL` (60s): at most one mail of a kind per user in this time.
    pub min_interval: Duration,
    /// How much mail may go to one address and to everyone (`MAIL_RECIPIENT_*`,
    /// `MAIL_RESET_*`, `MAIL_ACCOUNT_*`).
    pub budgets: MailBudgets,
    /// `MAIL_MAX_ATTEMPTS` (5): failed sends of one message before the mailer parks it for
    /// `local-dev redrive-mail`; the event source mapping retries without limit until then, so
    /// the stream never drops a message the mailer could not send.
    pub max_attempts: u32,
    pub audit: AuditSettings,
}

impl MailerSettings {
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let settings = Self {
            store: StoreSettings::from_env(env)?,
            app_url: app_url(env)?,
            from: mail_from(env)?,
            app_name: app_name(env)?,
            transport: mail_transport(env)?,
            reset_ttl: duration_or(env, "RESET_TOKEN_TTL", Duration::from_secs(30 * 60))?,
            verify_ttl: verify_ttl(env)?,
            min_interval: duration_or(env, "MAIL_MIN_INTERVAL", Duration::from_secs(60))?,
            budgets: mail_budgets(env)?,
            max_attempts: number_or(env, "MAIL_MAX_ATTEMPTS", 5)?,
            audit: audit_settings(env)?,
        };
        if !(1..=20).contains(&settings.max_attempts) {
            return Err(invalid("MAIL_MAX_ATTEMPTS", "must be between 1 and 20"));
        }
        let minute = Duration::from_secs(60);
        if settings.reset_ttl < minute || settings.reset_ttl > Duration::from_secs(86_400) {
            return Err(invalid("RESET_TOKEN_TTL", "must be between 1m and 24h"));
        }
        if settings.min_interval > Duration::from_secs(3600) {
            return Err(invalid("MAIL_MIN_INTERVAL", "must be at most 1h"));
        }
        Ok(settings)
    }
}

/// The federation function (`/auth/oauth/*`, `/auth/identities`): it starts sessions and
/// issues tokens like login (the signing and refresh keys), and holds the providers' client
/// secrets; no passwords, no MFA key.
#[derive(Debug)]
pub struct FederationSettings {
    pub store: StoreSettings,
    pub access: AccessTokenConfig,
    pub refresh_keys: RefreshKeySettings,
    pub sessions: SessionPolicy,
    pub cookie_path: String,
    pub mfa: MfaPolicy,
    pub sources: SourcePolicy,
    pub audit: AuditSettings,
    /// `OAUTH_PROVIDERS` with `OAUTH_CLIENT_SECRETS`.
    pub providers: Vec<crate::federation::provider::Provider>,
    /// `OAUTH_CALLBACK_BASE_URL`: this API's public base URL; each provider's callback is
    /// `{base}/auth/oauth/{id}/callback`, registered as exactly that at the provider.
    pub callback_base: String,
    /// `APP_URL`: where browsers return to.
    pub app_url: String,
    /// `OAUTH_STATE_TTL` (10m, 1m to 30m): how long a started sign-in may take.
    pub state_ttl: Duration,
    /// `OAUTH_TIMEOUT` (5s, 1s to 10s): each call to a provider.
    pub timeout: Duration,
}

impl FederationSettings {
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let access = access_tokens(env, KeyUse::Sign)?;
        let refresh_keys = refresh_keys(env, &access)?;
        let providers = match env.get("OAUTH_PROVIDERS") {
            Some(raw) if !raw.trim().is_empty() => crate::federation::provider::parse_providers(
                &raw,
                env.get("OAUTH_CLIENT_SECRETS").as_deref(),
            )
            .map_err(|reason| invalid("OAUTH_PROVIDERS", reason))?,
            _ => Vec::new(),
        };
        let callback_base = match env.get("OAUTH_CALLBACK_BASE_URL") {
            Some(raw) => {
                let trimmed = raw.trim().trim_end_matches('/').to_owned();
                let endpoint = crate::federation::provider::Endpoint::parse(&trimmed)
                    .map_err(|reason| invalid("OAUTH_CALLBACK_BASE_URL", reason))?;
                if endpoint.url().query().is_some() {
                    return Err(invalid("OAUTH_CALLBACK_BASE_URL", "must not have a query"));
                }
                trimmed
            }
            None if providers.is_empty() => String::new(),
            None => {
                return Err(invalid(
                    "OAUTH_CALLBACK_BASE_URL",
                    "set it to this API's public base URL (providers redirect to {base}/auth/oauth/{id}/callback)",
                ));
            }
        };
        let state_ttl = duration_or(env, "OAUTH_STATE_TTL", Duration::from_secs(600))?;
        if !(Duration::from_secs(60)..=Duration::from_secs(1800)).contains(&state_ttl) {
            return Err(invalid("OAUTH_STATE_TTL", "must be between 1m and 30m"));
        }
        let timeout = duration_or(env, "OAUTH_TIMEOUT", Duration::from_secs(5))?;
        if !(Duration::from_secs(1)..=Duration::from_secs(10)).contains(&timeout) {
            return Err(invalid("OAUTH_TIMEOUT", "must be between 1s and 10s"));
        }
        Ok(Self {
            store: StoreSettings::from_env(env)?,
            access,
            refresh_keys,
            sessions: session_policy(env)?,
            cookie_path: cookie_path(env)?,
            mfa: mfa_policy(env)?,
            sources: source_policy(env)?,
            audit: audit_settings(env)?,
            providers,
            callback_base,
            app_url: app_url(env)?,
            state_ttl,
            timeout,
        })
    }
}

/// `APP_URL`: an absolute http(s) URL with no query, fragment, quote, angle bracket or space,
/// kept without its trailing slash. Required: links must point at the real app.
fn app_url(env: &dyn Env) -> Result<String, ConfigError> {
    let raw = auth_core::config::required(
        env,
        "APP_URL",
        "set it to the web app's address, e.g. https://app.example.com",
    )?;
    let url = raw.trim().trim_end_matches('/').to_owned();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let valid = rest.is_some_and(|rest| {
        !rest.is_empty()
            && !rest.starts_with('/')
            && url.len() <= 200
            && rest
                .chars()
                .all(|c| c.is_ascii_graphic() && !"\"'<>`?#{}|\\^".contains(c))
    });
    if !valid {
        return Err(invalid(
            "APP_URL",
            "must be an absolute http(s) URL of at most 200 characters, without query or fragment",
        ));
    }
    Ok(url)
}

/// `MAIL_FROM`: one address, optionally with a display name; no line breaks.
fn mail_from(env: &dyn Env) -> Result<String, ConfigError> {
    let from = auth_core::config::required(
        env,
        "MAIL_FROM",
        "set it to the sender, e.g. no-reply@example.com (verified in SES)",
    )?;
    let from = from.trim().to_owned();
    let address = from
        .rsplit_once('<')
        .and_then(|(_, rest)| rest.strip_suffix('>'))
        .unwrap_or(&from);
    let valid = from.len() <= 254
        && from.is_ascii()
        && !from.chars().any(|c| c.is_ascii_control())
        && address.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.contains(['<', '>', ' ', '@'])
        });
    if !valid {
        return Err(invalid(
            "MAIL_FROM",
            "must be an ASCII address like no-reply@example.com or Name <no-reply@example.com>",
        ));
    }
    Ok(from)
}

/// `APP_NAME` (default `JWT Auth`): at most 64 printable characters.
fn app_name(env: &dyn Env) -> Result<String, ConfigError> {
    let name = env
        .get("APP_NAME")
        .map(|name| name.trim().to_owned())
        .unwrap_or_else(|| "JWT Auth".to_owned());
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(invalid("APP_NAME", "must be 1-64 printable characters"));
    }
    Ok(name)
}

/// `MAIL_TRANSPORT`: `ses` (default) or `dir:<path>`.
/// The mail budgets; every limit at least 1 (`MAIL_MIN_INTERVAL` is the way to slow mail to
/// one address, not a zero budget that silently stops it).
fn mail_budgets(env: &dyn Env) -> Result<MailBudgets, ConfigError> {
    let defaults = MailBudgets::default();
    let limit = |name: &'static str, default: u32| -> Result<u32, ConfigError> {
        let value = number_or(env, name, default)?;
        if value == 0 {
            return Err(invalid(name, "must be at least 1"));
        }
        Ok(value)
    };
    let pair = |hourly: &'static str, daily: &'static str, default: PoolLimits| {
        Ok::<_, ConfigError>(PoolLimits {
            hourly: limit(hourly, default.hourly)?,
            daily: limit(daily, default.daily)?,
        })
    };
    let budgets = MailBudgets {
        recipient: pair(
            "MAIL_RECIPIENT_HOURLY",
            "MAIL_RECIPIENT_DAILY",
            defaults.recipient,
        )?,
        reset: pair("MAIL_RESET_HOURLY", "MAIL_RESET_DAILY", defaults.reset)?,
        account: pair(
            "MAIL_ACCOUNT_HOURLY",
            "MAIL_ACCOUNT_DAILY",
            defaults.account,
        )?,
    };
    for (name, limits) in [
        ("MAIL_RECIPIENT_DAILY", budgets.recipient),
        ("MAIL_RESET_DAILY", budgets.reset),
        ("MAIL_ACCOUNT_DAILY", budgets.account),
    ] {
        if limits.daily < limits.hourly {
            return Err(invalid(name, "must be at least its hourly budget"));
        }
    }
    Ok(budgets)
}

fn mail_transport(env: &dyn Env) -> Result<MailTransport, ConfigError> {
    match env.get("MAIL_TRANSPORT").as_deref().map(str::trim) {
        None | Some("ses") => Ok(MailTransport::Ses {
            configuration_set: env
                .get("MAIL_CONFIGURATION_SET")
                .map(|name| name.trim().to_owned())
                .filter(|name| !name.is_empty()),
        }),
        Some(other) => match other.strip_prefix("dir:") {
            Some(path) if !path.is_empty() => Ok(MailTransport::Directory(path.into())),
            _ => Err(invalid("MAIL_TRANSPORT", "must be ses or dir:<directory>")),
        },
    }
}

/// Refresh: rotate sessions and issue access tokens.
#[derive(Debug)]
pub struct RefreshSettings {
    pub store: StoreSettings,
    pub access: AccessTokenConfig,
    pub refresh_keys: RefreshKeySettings,
    pub sessions: SessionPolicy,
    pub cookie_path: String,
    pub csrf: CsrfPolicy,
    pub sources: SourcePolicy,
    pub audit: AuditSettings,
}

/// Logout and logout-all: delete sessions; verify the access token of logout-all.
#[derive(Debug)]
pub struct LogoutSettings {
    pub store: StoreSettings,
    pub access: AccessTokenConfig,
    pub cookie_path: String,
    pub csrf: CsrfPolicy,
    pub sources: SourcePolicy,
    pub audit: AuditSettings,
}

impl SignInSettings {
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let access = access_tokens(env, KeyUse::Sign)?;
        Ok(Self {
            store: StoreSettings::with_outbox_from_env(env)?,
            refresh_keys: refresh_keys(env, &access)?,
            access,
            sessions: session_policy(env)?,
            passwords: password_policy(env)?,
            cookie_path: cookie_path(env)?,
            backoff: backoff_policy(env)?,
            ip_limit: ip_limit_policy(env)?,
            sources: source_policy(env)?,
            audit: audit_settings(env)?,
            mfa: mfa_policy(env)?,
            registration: registration_mode(env)?,
            signup_ttl: verify_ttl(env)?,
        })
    }
}

/// `VERIFY_TOKEN_TTL` (24h, 1m to 7d): how long a verification or sign-up link works.
fn verify_ttl(env: &dyn Env) -> Result<Duration, ConfigError> {
    let ttl = duration_or(env, "VERIFY_TOKEN_TTL", Duration::from_secs(86_400))?;
    if ttl < Duration::from_secs(60) || ttl > Duration::from_secs(7 * 86_400) {
        return Err(invalid("VERIFY_TOKEN_TTL", "must be between 1m and 7d"));
    }
    Ok(ttl)
}

/// `LOGIN_MAX_FAILURES` (5), `LOGIN_BACKOFF` (1s), `LOGIN_BACKOFF_MAX` (15m).
pub fn backoff_policy(env: &dyn Env) -> Result<BackoffPolicy, ConfigError> {
    let defaults = BackoffPolicy::default();
    let policy = BackoffPolicy {
        max_failures: number_or(env, "LOGIN_MAX_FAILURES", defaults.max_failures)?,
        backoff: duration_or(env, "LOGIN_BACKOFF", defaults.backoff)?,
        backoff_max: duration_or(env, "LOGIN_BACKOFF_MAX", defaults.backoff_max)?,
    };
    if policy.max_failures == 0 {
        return Err(invalid("LOGIN_MAX_FAILURES", "must be at least 1"));
    }
    if policy.backoff < Duration::from_secs(1) {
        return Err(invalid("LOGIN_BACKOFF", "must be at least 1s"));
    }
    if policy.backoff_max < policy.backoff || policy.backoff_max > STREAK_MEMORY {
        return Err(invalid(
            "LOGIN_BACKOFF_MAX",
            "must be at least LOGIN_BACKOFF and at most 24h",
        ));
    }
    Ok(policy)
}

impl RefreshSettings {
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let access = access_tokens(env, KeyUse::Sign)?;
        Ok(Self {
            store: StoreSettings::from_env(env)?,
            refresh_keys: refresh_keys(env, &access)?,
            access,
            sessions: session_policy(env)?,
            cookie_path: cookie_path(env)?,
            csrf: csrf_policy(env)?,
            sources: source_policy(env)?,
            audit: audit_settings(env)?,
        })
    }
}

/// `ALLOWED_ORIGINS`: the browser origins allowed to send the refresh cookie (comma-separated,
/// as the template's `AllowedOrigins`); unset, only same-origin pages and non-browser clients.
pub fn csrf_policy(env: &dyn Env) -> Result<CsrfPolicy, ConfigError> {
    CsrfPolicy::parse(&env.get("ALLOWED_ORIGINS").unwrap_or_default())
        .map_err(|reason| invalid("ALLOWED_ORIGINS", reason))
}

impl LogoutSettings {
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        Ok(Self {
            store: StoreSettings::from_env(env)?,
            access: access_tokens(env, KeyUse::Verify)?,
            cookie_path: cookie_path(env)?,
            csrf: csrf_policy(env)?,
            sources: source_policy(env)?,
            audit: audit_settings(env)?,
        })
    }
}

/// `IP_MAX_FAILURES` (100; 0 turns the limit off), `IP_WINDOW` (15m, 1s to 24h): failed logins
/// and registrations allowed per source address (IPv6 per /64) in a sliding window.
pub fn ip_limit_policy(env: &dyn Env) -> Result<IpLimitPolicy, ConfigError> {
    let defaults = IpLimitPolicy::default();
    let policy = IpLimitPolicy {
        max_attempts: number_or(env, "IP_MAX_FAILURES", defaults.max_attempts)?,
        window: duration_or(env, "IP_WINDOW", defaults.window)?,
    };
    if policy.window < Duration::from_secs(1) || policy.window > Duration::from_secs(86_400) {
        return Err(invalid("IP_WINDOW", "must be between 1s and 24h"));
    }
    Ok(policy)
}

/// `TRUSTED_PROXY_HOPS` (0): proxies of ours in front of API Gateway whose `X-Forwarded-For`
/// entries are believed, on requests carrying `PROXY_ORIGIN_SECRET` (required with hops: the
/// value the proxy sends as `X-Origin-Verify`); 0 means the client is API Gateway's `sourceIp`.
pub fn source_policy(env: &dyn Env) -> Result<SourcePolicy, ConfigError> {
    let trusted_proxy_hops: usize = number_or(env, "TRUSTED_PROXY_HOPS", 0)?;
    if trusted_proxy_hops > 8 {
        return Err(invalid("TRUSTED_PROXY_HOPS", "must be at most 8"));
    }
    let origin_secret = optional_secret(env, "PROXY_ORIGIN_SECRET")?;
    if trusted_proxy_hops > 0 && origin_secret.is_none() {
        return Err(invalid(
            "TRUSTED_PROXY_HOPS",
            "needs PROXY_ORIGIN_SECRET (or _ARN): the X-Origin-Verify value your proxy adds, \
             without which anyone calling API Gateway directly would choose their own address",
        ));
    }
    Ok(SourcePolicy {
        trusted_proxy_hops,
        origin_secret: origin_secret.map(std::sync::Arc::new),
    })
}

/// `METRICS_NAMESPACE` (`JwtAuth`) and `SERVICE_NAME` (`jwt-auth`, the `Service` dimension) of
/// the audit events' metrics.
pub fn audit_settings(env: &dyn Env) -> Result<AuditSettings, ConfigError> {
    let defaults = AuditSettings::default();
    let settings = AuditSettings {
        namespace: env.get("METRICS_NAMESPACE").unwrap_or(defaults.namespace),
        service: env.get("SERVICE_NAME").unwrap_or(defaults.service),
    };
    // CloudWatch's namespace rule: 1-255 of letters, digits and . - _ / # : (no leading ':').
    let namespace_ok = (1..=255).contains(&settings.namespace.len())
        && !settings.namespace.starts_with(':')
        && settings
            .namespace
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_/#: ".contains(c));
    if !namespace_ok {
        return Err(invalid(
            "METRICS_NAMESPACE",
            "must be 1-255 letters, digits, spaces or . - _ / # :",
        ));
    }
    if settings.service.is_empty() || settings.service.len() > 1024 {
        return Err(invalid("SERVICE_NAME", "must be 1-1024 characters"));
    }
    Ok(settings)
}

fn refresh_keys(
    env: &dyn Env,
    access: &AccessTokenConfig,
) -> Result<RefreshKeySettings, ConfigError> {
    let current = secret(env, "JWT_REFRESH_SECRET")?;
    let previous = optional_secret(env, "JWT_REFRESH_SECRET_PREVIOUS")?;
    for (name, key) in [
        ("JWT_REFRESH_SECRET", Some(&current)),
        ("JWT_REFRESH_SECRET_PREVIOUS", previous.as_ref()),
    ] {
        if let Some(key) = key
            && access.uses_secret(key.expose_secret().as_bytes())
        {
            return Err(invalid(
                name,
                "must differ from JWT_ACCESS_SECRET (and its previous value)",
            ));
        }
    }
    if previous
        .as_ref()
        .is_some_and(|previous| same_secret(previous, &current))
    {
        return Err(invalid(
            "JWT_REFRESH_SECRET_PREVIOUS",
            "must differ from JWT_REFRESH_SECRET",
        ));
    }
    Ok(RefreshKeySettings { current, previous })
}

/// `REFRESH_TOKEN_TTL` (7d, sliding), `SESSION_MAX_AGE` (30d, absolute), `REFRESH_REUSE_GRACE`
/// (10s, at most 5m, 0 disables), `MAX_SESSIONS_PER_USER` (20, 1 to 1000).
pub fn session_policy(env: &dyn Env) -> Result<SessionPolicy, ConfigError> {
    let defaults = SessionPolicy::default();
    let policy = SessionPolicy {
        refresh_ttl: duration_or(env, "REFRESH_TOKEN_TTL", defaults.refresh_ttl)?,
        max_age: duration_or(env, "SESSION_MAX_AGE", defaults.max_age)?,
        reuse_grace: duration_or(env, "REFRESH_REUSE_GRACE", defaults.reuse_grace)?,
        max_per_user: number_or(env, "MAX_SESSIONS_PER_USER", defaults.max_per_user)?,
    };
    if !(1..=1000).contains(&policy.max_per_user) {
        return Err(invalid(
            "MAX_SESSIONS_PER_USER",
            "must be between 1 and 1000 (a login reads every session of its user)",
        ));
    }
    if policy.refresh_ttl.is_zero() {
        return Err(invalid("REFRESH_TOKEN_TTL", "must be longer than zero"));
    }
    if policy.max_age < policy.refresh_ttl {
        return Err(invalid(
            "SESSION_MAX_AGE",
            "must be at least REFRESH_TOKEN_TTL",
        ));
    }
    if policy.reuse_grace > Duration::from_secs(300) {
        return Err(invalid(
            "REFRESH_REUSE_GRACE",
            "must be at most 5m; a long grace window lets a stolen token ride along",
        ));
    }
    Ok(policy)
}

/// `ARGON2_MEMORY_KIB` (19456), `ARGON2_ITERATIONS` (2), `ARGON2_PARALLELISM` (1): OWASP's.
pub fn password_policy(env: &dyn Env) -> Result<PasswordPolicy, ConfigError> {
    let defaults = PasswordPolicy::default();
    let policy = PasswordPolicy {
        memory_kib: number_or(env, "ARGON2_MEMORY_KIB", defaults.memory_kib)?,
        iterations: number_or(env, "ARGON2_ITERATIONS", defaults.iterations)?,
        parallelism: number_or(env, "ARGON2_PARALLELISM", defaults.parallelism)?,
    };
    policy.check().map_err(password_problem)?;
    Ok(policy)
}

/// `REFRESH_COOKIE_PATH` (default `/auth`): must cover both the refresh and the logout routes.
pub fn cookie_path(env: &dyn Env) -> Result<String, ConfigError> {
    let path = env
        .get("REFRESH_COOKIE_PATH")
        .unwrap_or_else(|| DEFAULT_REFRESH_COOKIE_PATH.to_owned());
    if !is_valid_cookie_path(&path) {
        return Err(invalid(
            "REFRESH_COOKIE_PATH",
            "must start with '/' and contain no spaces, ';' or ','",
        ));
    }
    Ok(path)
}

/// A password policy argon2 refuses, named by its variable.
pub fn password_problem(problem: crate::password::PolicyProblem) -> ConfigError {
    let name = match problem.parameter {
        crate::password::Parameter::Memory => "ARGON2_MEMORY_KIB",
        crate::password::Parameter::Iterations => "ARGON2_ITERATIONS",
        crate::password::Parameter::Parallelism => "ARGON2_PARALLELISM",
    };
    invalid(name, problem.reason)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use auth_core::config::{AuthorizerSettings, JwksSettings};

    use super::*;

    const ACCESS: &str = "an-access-secret-of-at-least-32-bytes!!";
    const REFRESH: &str = "a-refresh-secret-of-at-least-32-bytes!!";

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut env = BTreeMap::from([
            ("TABLE_NAME".to_owned(), "auth".to_owned()),
            ("OUTBOX_TABLE_NAME".to_owned(), "auth-outbox".to_owned()),
            ("JWT_ACCESS_SECRET".to_owned(), ACCESS.to_owned()),
            ("JWT_REFRESH_SECRET".to_owned(), REFRESH.to_owned()),
            (
                "JWT_ISSUER".to_owned(),
                "https://auth.example.com".to_owned(),
            ),
        ]);
        for (key, value) in pairs {
            env.insert((*key).to_owned(), (*value).to_owned());
        }
        env
    }

    /// Every function's settings from one environment: the first error, as text.
    fn first_error(pairs: &[(&str, &str)]) -> Option<String> {
        let env = env(pairs);
        [
            SignInSettings::from_env(&env).err(),
            RefreshSettings::from_env(&env).err(),
            LogoutSettings::from_env(&env).err(),
            AuthorizerSettings::from_env(&env).err(),
            JwksSettings::from_env(&env).err(),
            StoreSettings::from_env(&env).err(),
        ]
        .into_iter()
        .flatten()
        .map(|error| error.to_string())
        .next()
    }

    fn mailer(pairs: &[(&str, &str)]) -> Result<MailerSettings, ConfigError> {
        let mut all = vec![
            ("APP_URL", "https://app.example.com"),
            ("MAIL_FROM", "no-reply@example.com"),
        ];
        all.extend_from_slice(pairs);
        MailerSettings::from_env(&env(&all))
    }

    #[test]
    fn the_mailer_budgets_default_to_the_documented_values_and_refuse_nonsense() {
        let settings = mailer(&[]).expect("valid");
        assert_eq!(settings.budgets, MailBudgets::default());
        assert_eq!(settings.max_attempts, 5);
        assert_eq!(
            settings.transport,
            MailTransport::Ses {
                configuration_set: None
            }
        );
        let custom = mailer(&[
            ("MAIL_RECIPIENT_HOURLY", "2"),
            ("MAIL_RESET_DAILY", "30000"),
            ("MAIL_CONFIGURATION_SET", "auth-mail"),
        ])
        .expect("valid");
        assert_eq!(custom.budgets.recipient.hourly, 2);
        assert_eq!(custom.budgets.reset.daily, 30_000);
        assert_eq!(custom.budgets.account, MailBudgets::default().account);
        assert_eq!(
            custom.transport,
            MailTransport::Ses {
                configuration_set: Some("auth-mail".into())
            }
        );
        for (pairs, variable) in [
            (
                &[("MAIL_RECIPIENT_HOURLY", "0")][..],
                "MAIL_RECIPIENT_HOURLY",
            ),
            (&[("MAIL_ACCOUNT_DAILY", "many")], "MAIL_ACCOUNT_DAILY"),
            (
                &[
                    ("MAIL_RECIPIENT_HOURLY", "20"),
                    ("MAIL_RECIPIENT_DAILY", "10"),
                ],
                "MAIL_RECIPIENT_DAILY",
            ),
            (&[("MAIL_RESET_DAILY", "100")], "MAIL_RESET_DAILY"),
            (&[("MAIL_MAX_ATTEMPTS", "0")], "MAIL_MAX_ATTEMPTS"),
            (&[("MAIL_MAX_ATTEMPTS", "21")], "MAIL_MAX_ATTEMPTS"),
        ] {
            let error = mailer(pairs).expect_err("refused");
            assert!(error.to_string().contains(variable), "{pairs:?}: {error}");
        }
    }

    #[test]
    fn defaults_follow_the_documented_values() {
        let settings = SignInSettings::from_env(&env(&[])).expect("valid");
        assert_eq!(settings.sessions, SessionPolicy::default());
        assert_eq!(settings.access.ttl, Duration::from_secs(900));
        assert_eq!(settings.cookie_path, "/auth");
        assert_eq!(settings.passwords, PasswordPolicy::default());
        assert_eq!(settings.store.timeout, Duration::from_secs(3));
        assert!(first_error(&[]).is_none());
    }

    #[test]
    fn each_bad_value_is_refused_naming_its_variable_and_never_echoing_a_secret() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("TABLE_NAME", "")], "TABLE_NAME"),
            (&[("OUTBOX_TABLE_NAME", "")], "OUTBOX_TABLE_NAME"),
            (&[("DYNAMODB_TIMEOUT", "soon")], "DYNAMODB_TIMEOUT"),
            (&[("DYNAMODB_TIMEOUT", "0")], "DYNAMODB_TIMEOUT"),
            (&[("JWT_ACCESS_SECRET", "short")], "JWT_ACCESS_SECRET"),
            (
                &[("JWT_ACCESS_SECRET_PREVIOUS", "short")],
                "JWT_ACCESS_SECRET_PREVIOUS",
            ),
            (&[("JWT_REFRESH_SECRET", "")], "JWT_REFRESH_SECRET"),
            (&[("JWT_REFRESH_SECRET", "short")], "JWT_REFRESH_SECRET"),
            (&[("JWT_REFRESH_SECRET", ACCESS)], "JWT_REFRESH_SECRET"),
            (
                &[("JWT_REFRESH_SECRET_PREVIOUS", REFRESH)],
                "JWT_REFRESH_SECRET_PREVIOUS",
            ),
            (
                &[("JWT_REFRESH_SECRET_PREVIOUS", ACCESS)],
                "JWT_REFRESH_SECRET_PREVIOUS",
            ),
            (
                &[("JWT_ACCESS_SECRET_PREVIOUS", REFRESH)],
                "JWT_REFRESH_SECRET",
            ),
            (&[("JWT_ALGORITHM", "none")], "JWT_ALGORITHM"),
            (&[("JWT_ALGORITHM", "ES256")], "JWT_PRIVATE_KEY"),
            (
                &[("JWT_ALGORITHM", "ES256"), ("JWT_PRIVATE_KEY", "not a pem")],
                "JWT_PRIVATE_KEY",
            ),
            (&[("JWT_LEEWAY", "31s")], "JWT_LEEWAY"),
            (&[("ACCESS_TOKEN_TTL", "2d")], "ACCESS_TOKEN_TTL"),
            (&[("ACCESS_TOKEN_TTL", "0")], "ACCESS_TOKEN_TTL"),
            (&[("REFRESH_TOKEN_TTL", "forever")], "REFRESH_TOKEN_TTL"),
            (&[("REFRESH_TOKEN_TTL", "0")], "REFRESH_TOKEN_TTL"),
            (&[("SESSION_MAX_AGE", "1d")], "SESSION_MAX_AGE"),
            (&[("REFRESH_REUSE_GRACE", "1h")], "REFRESH_REUSE_GRACE"),
            (&[("MAX_SESSIONS_PER_USER", "0")], "MAX_SESSIONS_PER_USER"),
            (
                &[("MAX_SESSIONS_PER_USER", "1001")],
                "MAX_SESSIONS_PER_USER",
            ),
            (
                &[("MAX_SESSIONS_PER_USER", "many")],
                "MAX_SESSIONS_PER_USER",
            ),
            (&[("ARGON2_ITERATIONS", "two")], "ARGON2_ITERATIONS"),
            (&[("ARGON2_ITERATIONS", "0")], "ARGON2_ITERATIONS"),
            (&[("ARGON2_MEMORY_KIB", "1")], "ARGON2_MEMORY_KIB"),
            (&[("ARGON2_PARALLELISM", "0")], "ARGON2_PARALLELISM"),
            (
                &[("REFRESH_COOKIE_PATH", "/a; Domain=evil")],
                "REFRESH_COOKIE_PATH",
            ),
            (&[("ROUTE_ROLES", "GET /admin/*=admin")], "ROUTE_ROLES"),
            (&[("AUTHORIZER_RESPONSE", "maybe")], "AUTHORIZER_RESPONSE"),
            (
                &[("AUTHORIZER_TOKEN_SOURCE", "query")],
                "AUTHORIZER_TOKEN_SOURCE",
            ),
            (
                &[("AUTHORIZER_CHECK_REVOCATION", "yes")],
                "AUTHORIZER_CHECK_REVOCATION",
            ),
            (
                &[("AUTHORIZER_CHECK_REVOCATION", "true"), ("TABLE_NAME", "")],
                "TABLE_NAME",
            ),
        ];
        for (pairs, variable) in cases {
            let message = first_error(pairs).unwrap_or_else(|| panic!("{pairs:?} was accepted"));
            assert!(message.contains(variable), "{pairs:?}: {message}");
            assert!(
                !message.contains(ACCESS) && !message.contains(REFRESH),
                "{message}"
            );
        }
    }

    #[test]
    fn grace_may_be_disabled_and_the_jwks_function_needs_no_secret_under_hs256() {
        let settings =
            RefreshSettings::from_env(&env(&[("REFRESH_REUSE_GRACE", "0")])).expect("valid");
        assert_eq!(settings.sessions.reuse_grace, Duration::ZERO);
        let bare = BTreeMap::from([(
            "JWT_ISSUER".to_owned(),
            "https://auth.example.com".to_owned(),
        )]);
        let jwks = JwksSettings::from_env(&bare).expect("no key material needed");
        assert!(jwks.keys.jwks().keys.is_empty());
        assert!(jwks.keys.published_algorithms().is_empty());
        // Its one required setting: the issuer verifiers start from.
        let error = JwksSettings::from_env(&BTreeMap::new()).expect_err("no issuer");
        assert!(error.to_string().contains("JWT_ISSUER"), "{error}");
    }
}
