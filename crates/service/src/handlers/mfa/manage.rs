//! Managing the factor (all authorized): a fresh set of recovery codes, removing the factor,
//! and its status.

use http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;

use super::enrol::{SignedIn, digests, signed_in};
use super::factor::{Presented, admitted, check};
use crate::audit::{AuditEvent, Subject};
use crate::error::ApiError;
use crate::handlers::state::Mfa;
use crate::handlers::step_up::require_recent;
use crate::handlers::sweep;
use crate::http::caller::caller;
use crate::http::client::ClientInfo;
use crate::http::request::{json_object, require_post, required_json_object};
use crate::http::response::{json, no_content};
use crate::mfa::recovery;
use crate::store::{FactorChange, FactorRefusal};

/// `{}` → 200 `{recoveryCodes}`, with a second factor verified recently: the old set is void.
pub(super) async fn recovery_codes(
    state: &Mfa,
    request: Request,
    client: &ClientInfo,
) -> Result<Response<Body>, ApiError> {
    require_post(&request)?;
    json_object(&request)?;
    let now = state.sessions.now();
    let SignedIn {
        user,
        session,
        factors,
        ..
    } = signed_in(state, &request, now).await?;
    let totp = factors
        .and_then(|factors| factors.totp)
        .ok_or(ApiError::MfaNotEnabled)?;
    require_recent(&session, &state.policy, now)?;
    let codes = recovery::generate_set();
    let stored = digests(&state.keys, &user, &codes);
    if !state
        .store
        .replace_recovery_codes(&user, &totp.sealed, &stored)
        .await?
    {
        // The factor was removed or replaced meanwhile.
        return Err(ApiError::MfaNotEnabled);
    }
    state.audit.record(
        AuditEvent::RecoveryCodesRegenerated,
        Subject::session(user.as_str(), session.session_id.as_str()),
        client,
    );
    Ok(json(StatusCode::OK, &json!({ "recoveryCodes": codes })))
}

/// `DELETE {code}` or `{recoveryCode}` → 204: one of the factor's own codes, checked under the
/// brake and spent in the removal's transaction, is the second factor verified now (a separate
/// step-up would spend this very step first). The factor goes, every other session ends (the
/// epoch), this one goes on.
pub(super) async fn remove(
    state: &Mfa,
    request: Request,
    client: &ClientInfo,
) -> Result<Response<Body>, ApiError> {
    let body = required_json_object(&request)?;
    let presented = Presented::from_body(&body)?;
    let now = state.sessions.now();
    let SignedIn {
        user,
        session,
        account,
        factors,
    } = signed_in(state, &request, now).await?;
    let factors = factors
        .filter(|factors| factors.totp.is_some())
        .ok_or(ApiError::MfaNotEnabled)?;
    let reservation = state
        .store
        .reserve_code_attempt(&user, &state.policy.backoff, now)
        .await?;
    let attempt = admitted(
        state,
        &user,
        Some(session.session_id.as_str()),
        client,
        reservation,
    )?;
    let Some(used) = check(state, &user, &factors, &presented, now) else {
        return Err(attempt.failed(true));
    };
    let change = FactorChange {
        user: &user,
        email: &account.profile.email,
        session: &session.session_id,
        epoch: session.epoch,
    };
    match state
        .store
        .remove_totp(change, &used, &session.assurance, now)
        .await
    {
        Ok(Ok(())) => {}
        Ok(Err(FactorRefusal::FactorSpent)) => return Err(attempt.failed(true)),
        // A credential event (or the account's deletion) committed meanwhile.
        Ok(Err(FactorRefusal::Gone | FactorRefusal::AccountChanged)) => {
            return Err(attempt.release(ApiError::SessionRevoked).await);
        }
        Err(error) => return Err(attempt.release(error.into()).await),
    }
    attempt.succeeded(&used);
    state.audit.record(
        AuditEvent::MfaDisabled,
        Subject::session(user.as_str(), session.session_id.as_str()),
        client,
    );
    sweep::revoked_sessions(&state.store, &user, now).await;
    Ok(no_content())
}

/// `GET` → 200 `{totp: {enabled, createdAt}, recoveryCodesLeft, enrolmentPending}`.
pub(super) async fn status(state: &Mfa, request: Request) -> Result<Response<Body>, ApiError> {
    let user = caller(&request)?.user;
    let factors = state.store.mfa_record(&user).await?.unwrap_or_default();
    let totp = factors.totp.as_ref();
    Ok(json(
        StatusCode::OK,
        &json!({
            "totp": {
                "enabled": totp.is_some(),
                "createdAt": totp.map(|totp| totp.created_at),
            },
            "recoveryCodesLeft": if totp.is_some() { factors.recovery_digests.len() } else { 0 },
            "enrolmentPending": factors.pending.is_some(),
        }),
    ))
}
