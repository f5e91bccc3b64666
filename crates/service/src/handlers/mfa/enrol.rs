//! `POST /auth/mfa/totp/enroll` and `POST /auth/mfa/totp/confirm` (both authorized).

use auth_core::assurance::AuthMethod;
use http::StatusCode;
use lambda_http::{Body, Request, Response};
use secrecy::ExposeSecret as _;
use serde_json::json;

use crate::audit::{AuditEvent, Subject};
use crate::error::ApiError;
use crate::handlers::state::Mfa;
use crate::handlers::step_up::require_recent;
use crate::handlers::sweep;
use crate::http::caller::caller;
use crate::http::client::ClientInfo;
use crate::http::request::{json_object, require_post, required_json_object, string_field};
use crate::http::response::json;
use crate::mfa::enrolment::{otpauth_uri, qr_svg};
use crate::mfa::recovery;
use crate::mfa::totp::{SECRET_BYTES, TotpCode, matching_step};
use crate::mfa::{base32, keys::MfaKeys};
use crate::store::{FactorChange, FactorRefusal, MfaRecord, ProfileRecord, SessionRecord};
use auth_core::domain::UserId;

/// What a factor operation starts from: the caller's live session, its account and its
/// factors (one batch read and one read, side by side), or why there is no such caller.
pub(super) struct SignedIn {
    pub user: UserId,
    pub session: SessionRecord,
    pub account: ProfileRecord,
    pub factors: Option<MfaRecord>,
}

pub(super) async fn signed_in(
    state: &Mfa,
    request: &Request,
    now: i64,
) -> Result<SignedIn, ApiError> {
    let caller = caller(request)?;
    let (signed_in, factors) = tokio::join!(
        state
            .store
            .live_session_and_account(&caller.user, &caller.session, now),
        state.store.mfa_record(&caller.user),
    );
    let (session, account) = signed_in?.ok_or(ApiError::SessionRevoked)?;
    Ok(SignedIn {
        user: caller.user,
        session,
        account,
        factors: factors?,
    })
}

/// `{}` → 200 `{secret, otpauthUri, qrCodeSvg}`: a new pending secret (replacing any pending
/// one). Only an account that proved it owns its address may enrol (403 `EMAIL_NOT_VERIFIED`),
/// and an account that already has a factor only with it verified recently (403
/// `MFA_REQUIRED`).
pub(super) async fn enroll(
    state: &Mfa,
    request: Request,
    client: &ClientInfo,
) -> Result<Response<Body>, ApiError> {
    require_post(&request)?;
    // An empty body is allowed; anything else must be a JSON object.
    json_object(&request)?;
    let now = state.sessions.now();
    let SignedIn {
        user,
        session,
        account,
        factors,
    } = signed_in(state, &request, now).await?;
    if !account.profile.email_verified {
        return Err(ApiError::EmailNotVerified);
    }
    let has_factor = factors
        .as_ref()
        .is_some_and(|factors| factors.totp.is_some());
    require_fresh_proof(&session, has_factor, state, now)?;
    let user = &user;
    let secret = auth_core::random::bytes::<SECRET_BYTES>();
    let sealed = state.keys.seal(&secret, user).map_err(ApiError::internal)?;
    state.store.save_pending_totp(user, &sealed, now).await?;
    state.audit.record(
        AuditEvent::MfaEnrolmentStarted,
        Subject::session(user.as_str(), session.session_id.as_str()),
        client,
    );
    let uri = otpauth_uri(
        &state.policy.issuer,
        account.profile.email.as_str(),
        &secret,
    );
    Ok(json(
        StatusCode::OK,
        &json!({
            "secret": base32::encode(&secret),
            "otpauthUri": uri,
            "qrCodeSvg": qr_svg(&uri),
        }),
    ))
}

/// `{code}` → 200 `{recoveryCodes, accessToken, tokenType, expiresIn}`: the pending secret
/// becomes the account's factor. The same transaction ends every other session (the epoch)
/// and raises this one to `aal2`; the code used is spent. A wrong code is 400
/// `INVALID_MFA_CODE`.
pub(super) async fn confirm(
    state: &Mfa,
    request: Request,
    client: &ClientInfo,
) -> Result<Response<Body>, ApiError> {
    require_post(&request)?;
    let body = required_json_object(&request)?;
    let code = TotpCode::parse(&string_field(&body, "code")?)
        .ok_or(ApiError::InvalidMfaCode { signing_in: false })?;
    let now = state.sessions.now();
    let SignedIn {
        user,
        session,
        account,
        factors,
    } = signed_in(state, &request, now).await?;
    let factors = factors.unwrap_or_default();
    if !account.profile.email_verified {
        return Err(ApiError::EmailNotVerified);
    }
    require_fresh_proof(&session, factors.totp.is_some(), state, now)?;
    let wrong = ApiError::InvalidMfaCode { signing_in: false };
    // A secret shown long ago is not confirmed: enrolment starts again.
    let Some((pending, _)) = factors
        .pending
        .as_ref()
        .filter(|(_, at)| now < at.saturating_add(PENDING_ENROLMENT_SECONDS))
    else {
        return Err(wrong);
    };
    let Some(step) = pending_step(&state.keys, pending, &user, &code, now) else {
        return Err(wrong);
    };
    let codes = recovery::generate_set();
    let digests = digests(&state.keys, &user, &codes);
    let assurance = session.assurance.with_second_factor(AuthMethod::Otp, now);
    let change = FactorChange {
        user: &user,
        email: &account.profile.email,
        session: &session.session_id,
        epoch: session.epoch,
    };
    match state
        .store
        .confirm_totp(change, pending, step, &digests, &assurance, now)
        .await?
    {
        Ok(()) => {}
        Err(FactorRefusal::FactorSpent) => return Err(wrong),
        // A credential event (or the account's deletion) committed meanwhile: this session
        // has ended.
        Err(FactorRefusal::Gone | FactorRefusal::AccountChanged) => {
            return Err(ApiError::SessionRevoked);
        }
    }
    state.audit.record(
        AuditEvent::MfaEnabled,
        Subject::session(user.as_str(), session.session_id.as_str()),
        client,
    );
    sweep::revoked_sessions(&state.store, &user, now).await;
    let raised = SessionRecord {
        assurance,
        epoch: session.epoch.saturating_add(1),
        ..session
    };
    let access = state.issuer.access_token(&raised, &account.profile, now)?;
    Ok(json(
        StatusCode::OK,
        &json!({
            "recoveryCodes": codes,
            "accessToken": access.token,
            "tokenType": "Bearer",
            "expiresIn": access.expires_in,
        }),
    ))
}

/// What enrolling needs besides the session: with a factor already, that factor verified
/// within `MFA_RECENT` (403 `MFA_REQUIRED`); without one, a password sign-in within
/// `MFA_RECENT` (403 `REAUTHENTICATION_REQUIRED`). A factor outlives a password reset, so an
/// access token stolen from a session signed in long ago must not be able to plant one.
fn require_fresh_proof(
    session: &SessionRecord,
    has_factor: bool,
    state: &Mfa,
    now: i64,
) -> Result<(), ApiError> {
    if has_factor {
        return require_recent(session, &state.policy, now);
    }
    if now
        < session
            .created_at
            .saturating_add(state.policy.recent_seconds())
    {
        Ok(())
    } else {
        Err(ApiError::ReauthenticationRequired)
    }
}

/// How long an enrolment may wait for its confirmation.
const PENDING_ENROLMENT_SECONDS: i64 = 3600;

/// The step the code is valid for under the pending secret.
fn pending_step(
    keys: &MfaKeys,
    sealed: &str,
    user: &UserId,
    code: &TotpCode,
    now: i64,
) -> Option<u64> {
    let secret = keys.open(sealed, user)?;
    matching_step(secret.expose_secret(), code, now, None)
}

/// The digests a set of recovery codes is stored as.
pub(super) fn digests(keys: &MfaKeys, user: &UserId, codes: &[String]) -> Vec<String> {
    codes
        .iter()
        .filter_map(|code| recovery::normalize(code))
        .map(|code| keys.recovery_digest(user, &code))
        .collect()
}
