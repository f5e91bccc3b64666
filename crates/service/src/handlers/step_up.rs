//! Step-up: for an account with a second factor, sensitive changes (password change, account
//! deletion, managing factors) need that factor verified within `MFA_RECENT` in this very
//! session, else 403 `MFA_REQUIRED`; `POST /auth/mfa/verify {code}` from the session renews it.

use crate::error::ApiError;
use crate::http::caller::Caller;
use crate::mfa::policy::MfaPolicy;
use crate::store::{SessionRecord, Store};

/// Whether `session` verified its second factor recently enough.
pub(super) fn require_recent(
    session: &SessionRecord,
    policy: &MfaPolicy,
    now: i64,
) -> Result<(), ApiError> {
    if session
        .assurance
        .second_factor_within(policy.recent_seconds(), now)
    {
        Ok(())
    } else {
        Err(ApiError::MfaRequired)
    }
}

/// For an account that has MFA (`mfa_enabled`, as its credentials said), reads the caller's
/// session and requires a recent second factor in it; nothing for an account without.
pub(super) async fn require_recent_if_enabled(
    store: &Store,
    caller: &Caller,
    mfa_enabled: bool,
    policy: &MfaPolicy,
    now: i64,
) -> Result<(), ApiError> {
    if !mfa_enabled {
        return Ok(());
    }
    require_recent(&live_session(store, caller, now).await?, policy, now)
}

/// The caller's own session, still live, else 401 `SESSION_REVOKED`.
pub(super) async fn live_session(
    store: &Store,
    caller: &Caller,
    now: i64,
) -> Result<SessionRecord, ApiError> {
    store
        .session(&caller.user, &caller.session)
        .await?
        .filter(|session| session.is_live(now))
        .ok_or(ApiError::SessionRevoked)
}
