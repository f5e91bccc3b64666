//! A second factor presented in a request body (`{code}` or `{recoveryCode}`), checked
//! against the user's factors under the per-account brake: the attempt is reserved in the
//! code streak before any check, so parallel guesses get no more tries than sequential ones.

use auth_core::assurance::AuthMethod;
use auth_core::domain::{InvalidField, UserId};
use secrecy::ExposeSecret as _;
use serde_json::{Map, Value};

use crate::audit::{AuditEvent, Subject};
use crate::error::ApiError;
use crate::handlers::state::Mfa;
use crate::http::client::ClientInfo;
use crate::http::request::optional_string_field;
use crate::mfa::recovery;
use crate::mfa::totp::{TotpCode, matching_step};
use crate::store::{FactorUse, MfaRecord, Reservation, ReservedAttempt};

/// What the request offers as its second factor. No `Debug`: it holds a code.
pub(super) enum Presented {
    Totp(TotpCode),
    /// A recovery code in its normalized form.
    RecoveryCode(String),
}

impl Presented {
    /// Exactly one of `code` (six digits) and `recoveryCode`.
    pub fn from_body(body: &Map<String, Value>) -> Result<Self, ApiError> {
        let code = optional_string_field(body, "code")?;
        let recovery_code = optional_string_field(body, "recoveryCode")?;
        match (code, recovery_code) {
            (Some(code), None) => TotpCode::parse(&code).map(Self::Totp).ok_or_else(|| {
                InvalidField::new("code", "code must be the six digits your app shows").into()
            }),
            (None, Some(code)) => recovery::normalize(&code)
                .map(Self::RecoveryCode)
                .ok_or_else(|| {
                    InvalidField::new(
                        "recoveryCode",
                        "recoveryCode must be one of your recovery codes, like abcde-12345",
                    )
                    .into()
                }),
            (None, None) => {
                Err(InvalidField::new("code", "code or recoveryCode is required").into())
            }
            (Some(_), Some(_)) => {
                Err(InvalidField::new("code", "give either code or recoveryCode, not both").into())
            }
        }
    }

    pub fn method(&self) -> AuthMethod {
        match self {
            Self::Totp(_) => AuthMethod::Otp,
            Self::RecoveryCode(_) => AuthMethod::RecoveryCode,
        }
    }
}

/// The use the presented factor would make of `factors`, if it is right: a TOTP code's step
/// (later than the last one taken), or a recovery code still in the set.
pub(super) fn check(
    state: &Mfa,
    user: &UserId,
    factors: &MfaRecord,
    presented: &Presented,
    now: i64,
) -> Option<FactorUse> {
    let totp = factors.totp.as_ref()?;
    match presented {
        Presented::Totp(code) => {
            let secret = state.keys.open(&totp.sealed, user)?;
            let step = matching_step(secret.expose_secret(), code, now, totp.last_step)?;
            Some(FactorUse::Totp {
                sealed: totp.sealed.clone(),
                step,
            })
        }
        Presented::RecoveryCode(code) => state
            .keys
            .recovery_digest_candidates(user, code)
            .into_iter()
            .find(|digest| factors.recovery_digests.contains(digest))
            .map(|digest| FactorUse::RecoveryCode { digest }),
    }
}

/// A code check of `user`'s, reserved in the code streak.
pub(super) struct CodeAttempt<'a> {
    pub state: &'a Mfa,
    pub user: &'a UserId,
    pub session: Option<&'a str>,
    pub client: &'a ClientInfo,
    pub reserved: ReservedAttempt,
}

/// Turns a reservation into an attempt, or 429 (audited) inside the backoff window.
pub(super) fn admitted<'a>(
    state: &'a Mfa,
    user: &'a UserId,
    session: Option<&'a str>,
    client: &'a ClientInfo,
    reservation: Reservation,
) -> Result<CodeAttempt<'a>, ApiError> {
    match reservation {
        Reservation::Admitted(reserved) => Ok(CodeAttempt {
            state,
            user,
            session,
            client,
            reserved,
        }),
        Reservation::Throttled { retry_after } => {
            state
                .audit
                .record(AuditEvent::MfaThrottled, subject(user, session), client);
            Err(ApiError::TooManyAttempts { retry_after })
        }
    }
}

fn subject<'a>(user: &'a UserId, session: Option<&'a str>) -> Subject<'a> {
    Subject {
        user_id: Some(user.as_str()),
        session_id: session,
        ..Subject::default()
    }
}

impl CodeAttempt<'_> {
    /// A wrong, used or stale code (already counted by its reservation): audited, and the
    /// error to answer with.
    pub fn failed(&self, signing_in: bool) -> ApiError {
        self.state.audit.record(
            AuditEvent::MfaFailed,
            subject(self.user, self.session),
            self.client,
        );
        ApiError::InvalidMfaCode { signing_in }
    }

    /// A right code whose request failed before its commit: the attempt is given back.
    pub async fn release(&self, error: ApiError) -> ApiError {
        if let Err(cause) = self
            .state
            .store
            .release_code_attempt(self.user, self.reserved)
            .await
        {
            tracing::warn!(
                cause = %auth_core::telemetry::error_chain(&cause),
                "reserved code attempt not given back; it counts as a failure"
            );
        }
        error
    }

    /// A code accepted: audited as verified, and as a recovery code's use when it was one.
    pub fn succeeded(&self, used: &FactorUse) {
        self.state.audit.record(
            AuditEvent::MfaVerified,
            subject(self.user, self.session),
            self.client,
        );
        if matches!(used, FactorUse::RecoveryCode { .. }) {
            self.state.audit.record(
                AuditEvent::RecoveryCodeUsed,
                subject(self.user, self.session),
                self.client,
            );
        }
    }
}
