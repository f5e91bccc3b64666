//! `POST /auth/mfa/verify`: the second step of a login (`{mfaToken, code}` or
//! `{mfaToken, recoveryCode}`), answered exactly like a login; or, from a signed-in session
//! with no `mfaToken`, step-up (`{code}` / `{recoveryCode}`), answered with a fresh access
//! token at `aal2`.

use auth_core::assurance::Assurance;
use auth_core::domain::{SessionId, UserId};
use auth_core::token::{OneTimeToken, Rejection};
use http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;

use super::factor::{Presented, admitted, check};
use crate::audit::{AuditEvent, Subject};
use crate::error::ApiError;
use crate::handlers::IssuedSession;
use crate::handlers::state::Mfa;
use crate::http::caller::Caller;
use crate::http::client::ClientInfo;
use crate::http::request::{
    bearer_token, optional_string_field, require_post, required_json_object,
};
use crate::http::response::json;
use crate::sessions::SessionOwner;
use crate::store::{FactorRefusal, sessions_to_retire};

/// Most sessions one sign-in ends (they ride in its transaction), as at login.
const RETIRE_LIMIT: usize = 25;

pub(super) async fn verify(
    state: &Mfa,
    request: Request,
    client: &ClientInfo,
) -> Result<Response<Body>, ApiError> {
    require_post(&request)?;
    let body = required_json_object(&request)?;
    let presented = Presented::from_body(&body)?;
    match optional_string_field(&body, "mfaToken")? {
        Some(token) => second_step(state, &token, &presented, client).await,
        None => step_up(state, &request, &presented, client).await,
    }
}

/// The second step of a login. A wrong code leaves the challenge for another try (counted in
/// the account's code streak); success, its expiry, or the brake spend it.
async fn second_step(
    state: &Mfa,
    token: &str,
    presented: &Presented,
    client: &ClientInfo,
) -> Result<Response<Body>, ApiError> {
    let stale = ApiError::InvalidMfaCode { signing_in: true };
    let token = OneTimeToken::parse(token).ok_or(ApiError::InvalidMfaCode { signing_in: true })?;
    let user = &token.user_id;
    let digest = token.digest();
    let now = state.sessions.now();
    // The challenge, factors and profile in one batch, the user's sessions beside it. Only a
    // live challenge reserves an attempt: a made-up token cannot run down anyone's brake.
    let (step, ages) = tokio::join!(
        state.store.second_step(&digest, user, now),
        state.store.session_ages(user, now, 0),
    );
    let step = step?;
    let (Some(challenge), Some(factors), Some(account)) =
        (step.challenge, step.factors, step.profile)
    else {
        return Err(stale);
    };
    if !account.mfa_enabled || account.session_epoch != challenge.epoch {
        return Err(stale);
    }
    let reservation = state
        .store
        .reserve_code_attempt(user, &state.policy.backoff, now)
        .await?;
    let attempt = match admitted(state, user, None, client, reservation) {
        Ok(attempt) => attempt,
        Err(throttled) => {
            // The brake spends the challenge: the next try starts from the password again.
            state.store.spend_challenge(&digest).await?;
            return Err(throttled);
        }
    };
    let Some(used) = check(state, user, &factors, presented, now) else {
        return Err(attempt.failed(true));
    };
    let profile = &account.profile;
    let assurance =
        Assurance::first_factor(challenge.first_factor).with_second_factor(presented.method(), now);
    let owner = SessionOwner {
        user,
        role: &profile.role,
        email_verified: profile.email_verified,
        device: client.device(),
        epoch: challenge.epoch,
        assurance,
    };
    let (session, refresh_token) = state.sessions.start(owner, now);
    let retire = match ages {
        Ok(ages) => sessions_to_retire(
            ages.into_iter()
                .map(|mut age| {
                    // Read before the account's epoch was known: below it is dead too.
                    age.live = age.live && age.epoch >= challenge.epoch;
                    age
                })
                .collect(),
            state.sessions.policy().max_per_user,
            RETIRE_LIMIT,
        ),
        Err(error) => return Err(attempt.release(error.into()).await),
    };
    let committed = state
        .store
        .complete_second_step(&digest, &used, &session, &retire, now)
        .await;
    match committed {
        Ok(Ok(())) => {}
        // The code was right but another request took its step (or the challenge) first, or
        // the account changed: refused, and the attempt given back (it guessed nothing).
        Ok(Err(_refused)) => {
            let refused = attempt.failed(true);
            return Err(attempt.release(refused).await);
        }
        Err(error) => return Err(attempt.release(error.into()).await),
    }
    attempt.succeeded(&used);
    state.audit.record(
        AuditEvent::LoginSucceeded,
        Subject::session(user.as_str(), session.session_id.as_str()),
        client,
    );
    let issued = IssuedSession::started(profile, &session, &refresh_token);
    state
        .issuer
        .respond(StatusCode::OK, &issued, Some(profile), false, now)
}

/// The signed-in caller of step-up. The route has no authorizer (the second login step is
/// unauthenticated), so the access token is verified here, as logout-all does.
fn bearer_caller(state: &Mfa, request: &Request) -> Result<Caller, ApiError> {
    let token = bearer_token(request.headers())?.ok_or(ApiError::MissingAccessToken)?;
    let claims = state
        .issuer
        .verify(token, state.sessions.now())
        .map_err(ApiError::InvalidAccessToken)?;
    match (UserId::parse(&claims.sub), SessionId::parse(&claims.sid)) {
        (Some(user), Some(session)) => Ok(Caller { user, session }),
        _ => Err(ApiError::InvalidAccessToken(Rejection::InvalidClaims)),
    }
}

/// Step-up in a signed-in session: the session is raised to `aal2` with its second factor
/// verified now, and a fresh access token says so.
async fn step_up(
    state: &Mfa,
    request: &Request,
    presented: &Presented,
    client: &ClientInfo,
) -> Result<Response<Body>, ApiError> {
    let caller = bearer_caller(state, request)?;
    let user = &caller.user;
    let now = state.sessions.now();
    // The session and factors first: only a live session of an account with MFA reserves an
    // attempt, so a token whose session has ended cannot run down the owner's brake.
    let (signed_in, factors) = tokio::join!(
        state
            .store
            .live_session_and_account(user, &caller.session, now),
        state.store.mfa_record(user),
    );
    let (session, account) = signed_in?.ok_or(ApiError::SessionRevoked)?;
    let factors = factors?
        .filter(|factors| factors.totp.is_some())
        .ok_or(ApiError::MfaNotEnabled)?;
    let reservation = state
        .store
        .reserve_code_attempt(user, &state.policy.backoff, now)
        .await?;
    let attempt = admitted(
        state,
        user,
        Some(caller.session.as_str()),
        client,
        reservation,
    )?;
    let Some(used) = check(state, user, &factors, presented, now) else {
        return Err(attempt.failed(true));
    };
    let assurance = session
        .assurance
        .with_second_factor(presented.method(), now);
    let committed = state
        .store
        .step_up(user, &caller.session, session.epoch, &used, &assurance, now)
        .await;
    match committed {
        Ok(Ok(())) => {}
        // A right code another request used first: refused, the attempt given back.
        Ok(Err(FactorRefusal::FactorSpent)) => {
            let refused = attempt.failed(true);
            return Err(attempt.release(refused).await);
        }
        Ok(Err(_)) => return Err(attempt.release(ApiError::SessionRevoked).await),
        Err(error) => return Err(attempt.release(error.into()).await),
    }
    attempt.succeeded(&used);
    let raised = crate::store::SessionRecord {
        assurance,
        ..session
    };
    let access = state.issuer.access_token(&raised, &account.profile, now)?;
    Ok(json(
        StatusCode::OK,
        &json!({
            "accessToken": access.token,
            "tokenType": "Bearer",
            "expiresIn": access.expires_in,
        }),
    ))
}
