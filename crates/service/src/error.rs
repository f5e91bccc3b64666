//! Errors typed by what the client must do, mapped to HTTP in exactly one place.
//! Clients see `{"error": "...", "code": "..."}`; causes go to the logs, never to the body.

use http::StatusCode;

use crate::store::StoreError;
use auth_core::domain::InvalidField;
use auth_core::token::Rejection;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("Request body is not valid JSON")]
    InvalidJson,
    #[error("{0}")]
    InvalidField(#[from] InvalidField),
    #[error("Invalid credentials")]
    InvalidCredentials,
    #[error("Missing access token")]
    MissingAccessToken,
    #[error("Invalid or expired access token")]
    InvalidAccessToken(Rejection),
    #[error("Missing refresh token")]
    MissingRefreshToken,
    #[error("Invalid or expired refresh token")]
    InvalidRefreshToken,
    #[error("Refresh token was already used; the session has been revoked")]
    RefreshTokenReused,
    #[error("This session has ended; sign in again")]
    SessionRevoked,
    #[error("Sign in or enter this account's password to confirm the address")]
    OwnerProofRequired,
    #[error("Not allowed")]
    Forbidden,
    /// A second-factor code that is wrong, already used, or for a spent or unknown challenge:
    /// 401 where it was to sign in, 400 where it was to confirm an enrolment.
    #[error("The code is invalid, used or expired")]
    InvalidMfaCode { signing_in: bool },
    #[error("Verify your second factor again to do this")]
    MfaRequired,
    #[error("Verify your email address first")]
    EmailNotVerified,
    #[error("Sign in again to turn on two-factor authentication")]
    ReauthenticationRequired,
    #[error("This account has no second factor")]
    MfaNotEnabled,
    #[error("Cross-site request refused")]
    CsrfRejected,
    #[error("Too many failed attempts; retry later")]
    TooManyAttempts { retry_after: u64 },
    #[error("Too many attempts from this network; retry later")]
    TooManyRequests { retry_after: u64 },
    #[error("Email is already registered")]
    EmailTaken,
    #[error(
        "This is the account's last way to sign in; set a password or link another provider first"
    )]
    LastSignInMethod,
    #[error("Verify this account's email address before linking a provider to it")]
    AccountNotVerified,
    #[error("Sign in with your identity provider again to do this")]
    RecentSignInRequired,
    #[error("The password reset link is invalid, used or expired")]
    InvalidResetToken,
    #[error("The verification link is invalid, used or expired")]
    InvalidVerificationToken,
    #[error("Not found")]
    NotFound,
    #[error("Method not allowed")]
    MethodNotAllowed { allow: &'static str },
    #[error("Request body is larger than 16 KiB")]
    PayloadTooLarge,
    #[error("Content-Type must be application/json")]
    UnsupportedMediaType,
    #[error("Service temporarily unavailable, retry shortly")]
    Unavailable(#[source] BoxError),
    #[error("Internal error")]
    Internal(#[source] BoxError),
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(_) => Self::Unavailable(Box::new(error)),
            StoreError::Unexpected(_) | StoreError::Corrupt(_) => Self::Internal(Box::new(error)),
        }
    }
}

impl ApiError {
    pub fn internal(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal(Box::new(error))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidJson
            | Self::InvalidField(_)
            | Self::InvalidResetToken
            | Self::InvalidVerificationToken
            | Self::InvalidMfaCode { signing_in: false }
            | Self::MfaNotEnabled => StatusCode::BAD_REQUEST,
            Self::InvalidCredentials
            | Self::MissingAccessToken
            | Self::InvalidAccessToken(_)
            | Self::MissingRefreshToken
            | Self::InvalidRefreshToken
            | Self::RefreshTokenReused
            | Self::SessionRevoked
            | Self::OwnerProofRequired
            | Self::InvalidMfaCode { signing_in: true } => StatusCode::UNAUTHORIZED,
            Self::Forbidden
            | Self::CsrfRejected
            | Self::MfaRequired
            | Self::EmailNotVerified
            | Self::ReauthenticationRequired
            | Self::RecentSignInRequired => StatusCode::FORBIDDEN,
            Self::TooManyAttempts { .. } | Self::TooManyRequests { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::EmailTaken | Self::LastSignInMethod | Self::AccountNotVerified => {
                StatusCode::CONFLICT
            }
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidJson => "INVALID_JSON",
            Self::InvalidField(_) => "VALIDATION_ERROR",
            Self::InvalidCredentials => "INVALID_CREDENTIALS",
            Self::MissingAccessToken => "MISSING_TOKEN",
            Self::InvalidAccessToken(_) => "INVALID_TOKEN",
            Self::MissingRefreshToken => "MISSING_REFRESH_TOKEN",
            Self::InvalidRefreshToken => "INVALID_REFRESH_TOKEN",
            Self::RefreshTokenReused => "REFRESH_TOKEN_REUSED",
            Self::SessionRevoked => "SESSION_REVOKED",
            Self::OwnerProofRequired => "PASSWORD_REQUIRED",
            Self::EmailTaken => "EMAIL_TAKEN",
            Self::LastSignInMethod => "LAST_SIGN_IN_METHOD",
            Self::RecentSignInRequired => "RECENT_SIGN_IN_REQUIRED",
            Self::AccountNotVerified => "ACCOUNT_NOT_VERIFIED",
            Self::InvalidResetToken => "INVALID_RESET_TOKEN",
            Self::InvalidVerificationToken => "INVALID_VERIFICATION_TOKEN",
            Self::Forbidden => "FORBIDDEN",
            Self::InvalidMfaCode { .. } => "INVALID_MFA_CODE",
            Self::MfaRequired => "MFA_REQUIRED",
            Self::EmailNotVerified => "EMAIL_NOT_VERIFIED",
            Self::ReauthenticationRequired => "REAUTHENTICATION_REQUIRED",
            Self::MfaNotEnabled => "MFA_NOT_ENABLED",
            Self::CsrfRejected => "CSRF_REJECTED",
            Self::TooManyAttempts { .. } => "TOO_MANY_ATTEMPTS",
            Self::TooManyRequests { .. } => "TOO_MANY_REQUESTS",
            Self::NotFound => "NOT_FOUND",
            Self::MethodNotAllowed { .. } => "METHOD_NOT_ALLOWED",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::Unavailable(_) => "SERVICE_UNAVAILABLE",
            Self::Internal(_) => "INTERNAL_ERROR",
        }
    }

    /// The field a validation error is about, echoed so clients can highlight it.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Self::InvalidField(invalid) => Some(invalid.field),
            _ => None,
        }
    }

    /// The `WWW-Authenticate` challenge of a 401 (RFC 6750).
    pub fn challenge(&self) -> Option<&'static str> {
        match self {
            Self::InvalidCredentials
            | Self::MissingAccessToken
            | Self::MissingRefreshToken
            | Self::OwnerProofRequired => Some("Bearer"),
            Self::InvalidAccessToken(_)
            | Self::InvalidRefreshToken
            | Self::RefreshTokenReused
            | Self::SessionRevoked => Some(r#"Bearer error="invalid_token""#),
            Self::MfaRequired | Self::RecentSignInRequired => {
                Some(r#"Bearer error="insufficient_user_authentication""#)
            }
            _ => None,
        }
    }
}
