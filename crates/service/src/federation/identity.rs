//! What a provider asserted about who signed in, and every way a federated sign-in can be
//! refused, each with the code the browser gets in `#error=` (README, "Sign in with ...").

use auth_core::domain::{DisplayName, Email};

use super::provider::Provider;

/// A provider's account: keyed on `(issuer, subject)`, never on the email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderIdentity {
    pub issuer: String,
    pub subject: String,
    /// The address, when the provider gave one that parses.
    pub email: Option<String>,
    /// Whether the provider says it verified `email`.
    pub email_verified: bool,
    pub name: Option<String>,
}

impl ProviderIdentity {
    /// `subject` must be 1-255 characters without control characters (OIDC Core §2).
    pub fn new(
        provider: &Provider,
        subject: String,
        email: Option<String>,
        email_verified: bool,
        name: Option<String>,
    ) -> Result<Self, Refusal> {
        if subject.is_empty()
            || subject.chars().count() > 255
            || subject.chars().any(char::is_control)
        {
            return Err(Refusal::InvalidIdToken);
        }
        Ok(Self {
            issuer: provider.issuer().to_owned(),
            subject,
            email,
            email_verified,
            name,
        })
    }

    /// The verified address, in the form accounts are keyed by; `Err` says why there is none.
    pub fn verified_email(&self) -> Result<Email, Refusal> {
        let email = self.email.as_deref().ok_or(Refusal::EmailMissing)?;
        if !self.email_verified {
            return Err(Refusal::EmailNotVerified);
        }
        crate::address::registration_email(email).map_err(|_| Refusal::EmailMissing)
    }

    /// A display name for a new account: the provider's when it is one we accept, else the
    /// address's local part, else "User".
    pub fn display_name(&self, email: &Email) -> Result<DisplayName, Refusal> {
        let local = email.as_str().split('@').next().unwrap_or_default();
        self.name
            .as_deref()
            .and_then(|name| DisplayName::parse(name).ok())
            .or_else(|| DisplayName::parse(local).ok())
            .map_or_else(|| DisplayName::parse("User"), Ok)
            .map_err(|error| Refusal::Unavailable(error.to_string()))
    }
}

/// Why a federated sign-in (or link) ended without one. The browser gets [`Refusal::code`];
/// the audit line and the log get the detail, which never holds a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the sign-in's state is unknown, spent, expired or not this browser's")]
    StateInvalid,
    #[error("the provider named in the callback is not the one the sign-in started with")]
    ProviderMismatch,
    #[error("the authorization response's issuer is not the provider's (RFC 9207)")]
    IssuerMismatch,
    #[error("the user did not allow the sign-in at the provider")]
    ProviderDenied,
    #[error("the provider refused the sign-in: {0}")]
    ProviderError(String),
    #[error("the provider could not be used: {0}")]
    ProviderUnavailable(String),
    #[error("the ID token failed verification")]
    InvalidIdToken,
    #[error("the ID token is expired or not yet valid")]
    ExpiredIdToken,
    #[error("the ID token's nonce is not this sign-in's")]
    NonceMismatch,
    #[error("the provider gave no usable email address")]
    EmailMissing,
    #[error("the provider has not verified the email address")]
    EmailNotVerified,
    #[error("an account with this email exists and its address is not verified")]
    AccountNotVerified,
    #[error("this provider account is linked to another account")]
    IdentityTaken,
    #[error("an account with this address has a second factor: sign in to it and link from there")]
    SignInToLink,
    #[error("the session that started the link has ended, or the account changed since")]
    LinkSessionEnded,
    #[error("the account to link is gone")]
    AccountGone,
    #[error("the account could not be signed in: {0}")]
    Unavailable(String),
}

impl Refusal {
    /// The code in `#error=`, listed in the README.
    pub fn code(&self) -> &'static str {
        match self {
            Self::StateInvalid | Self::ProviderMismatch => "state_invalid",
            Self::IssuerMismatch => "issuer_mismatch",
            Self::ProviderDenied => "provider_denied",
            Self::ProviderError(_) => "provider_error",
            Self::ProviderUnavailable(_) => "provider_unavailable",
            Self::InvalidIdToken => "invalid_id_token",
            Self::ExpiredIdToken => "id_token_expired",
            Self::NonceMismatch => "nonce_mismatch",
            Self::EmailMissing => "email_missing",
            Self::EmailNotVerified => "email_not_verified",
            Self::AccountNotVerified => "account_not_verified",
            Self::IdentityTaken => "identity_taken",
            Self::SignInToLink => "sign_in_to_link",
            Self::LinkSessionEnded => "link_session_ended",
            Self::AccountGone => "account_gone",
            Self::Unavailable(_) => "temporarily_unavailable",
        }
    }
}

/// A provider's error code, kept to what can safely reach a log (it is the provider's text).
pub fn error_code_text(raw: &str) -> String {
    raw.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .take(64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn provider_error_text_is_tame(raw in ".{0,200}") {
            let text = error_code_text(&raw);
            prop_assert!(text.len() <= 64);
            prop_assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
        }
    }
}
