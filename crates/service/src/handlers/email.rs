use auth_core::domain::{Password, UserId};
use auth_core::token::{OneTimeToken, RefreshToken};
use http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use subtle::ConstantTimeEq;

use super::password::{refused_link, usable};
use super::reauthenticate::reauthenticate;
use super::source_limit::admit_and_count;
use super::{Account, respond};
use crate::audit::{AuditEvent, Subject};
use crate::error::ApiError;
use crate::http::caller::caller;
use crate::http::client::ClientInfo;
use crate::http::request::{
    optional_string_field, presented_refresh_token, require_post, required_json_object,
    string_field,
};
use crate::http::response::{json, no_content};
use crate::store::{MailKind, OutboxMail, TokenPurpose};

/// Serves `POST /auth/email/verify` and `POST /auth/email/verify/resend` (authorized).
pub async fn email(state: &Account, request: Request) -> Response<Body> {
    let client = state.sources.client(&request);
    let path = request.uri().path().trim_end_matches('/').to_owned();
    if path.ends_with("/email/verify/resend") {
        respond("email-verify-resend", resend(state, request, &client).await)
    } else if path.ends_with("/email/verify") {
        respond("email-verify", verify(state, request, &client).await)
    } else {
        respond("email", Err(ApiError::NotFound))
    }
}

/// `{token, password?}` → 204: the token is used and the email marked verified on the account
/// (its sessions' next access tokens carry `email_verified: true`). Only the account's owner
/// may: the request must carry a live session of that account (the refresh cookie of the
/// browser that opened the link) or the account's password (checked as a login checks it).
/// Without either it answers 401 `PASSWORD_REQUIRED` and changes nothing, so whoever
/// registered someone else's address cannot have that address's owner verify it for them.
async fn verify(
    state: &Account,
    request: Request,
    client: &ClientInfo,
) -> Result<Response<Body>, ApiError> {
    require_post(&request)?;
    let body = required_json_object(&request)?;
    let token = OneTimeToken::parse(&string_field(&body, "token")?);
    let password = optional_string_field(&body, "password")?
        .map(Password::parse_existing)
        .transpose()?;
    let failed = |user| refused_link(state, AuditEvent::EmailVerificationFailed, user, client);
    let Some(token) = token else {
        return Err(failed(None));
    };
    let now = state.clock.now();
    let pending = state
        .store
        .pending_token(TokenPurpose::EmailVerification, &token.user_id)
        .await?;
    let Some(pending) = usable(pending, &token, now) else {
        return Err(failed(Some(&token.user_id)));
    };
    // A signed-in browser proves it by its session; otherwise the password must (and its
    // success ends the login backoff, as a login's does).
    let signed_in = carries_session_of(state, &request, &token.user_id, now).await?;
    let proven = match signed_in {
        true => None,
        false => {
            let password = password.ok_or(ApiError::OwnerProofRequired)?;
            Some(reauthenticate(state, &token.user_id, password.into_secret(), client).await?)
        }
    };
    let verified = state
        .store
        .verify_email(
            &token.user_id,
            &pending.email,
            &pending.digest,
            now,
            proven.is_some(),
        )
        .await;
    let refused = match verified {
        Ok(true) => None,
        Ok(false) => Some(failed(Some(&token.user_id))),
        Err(error) => Some(error.into()),
    };
    if let Some(error) = refused {
        return Err(match &proven {
            Some(proven) => proven.failed(error).await,
            None => error,
        });
    }
    state.audit.record(
        AuditEvent::EmailVerified,
        Subject::user(token.user_id.as_str()),
        client,
    );
    Ok(no_content())
}

/// Whether the request carries the current refresh token (cookie or body) of a live and
/// unrevoked session of `user`'s. Its digest is compared with the
/// stored ones; no key is needed.
async fn carries_session_of(
    state: &Account,
    request: &Request,
    user: &UserId,
    now: i64,
) -> Result<bool, ApiError> {
    let Ok(Some(presented)) = presented_refresh_token(request) else {
        return Ok(false);
    };
    let Some(token) = RefreshToken::parse(&presented.raw).filter(|token| &token.user_id == user)
    else {
        return Ok(false);
    };
    let Some(session) = state
        .store
        .live_session(user, &token.session_id, now)
        .await?
    else {
        return Ok(false);
    };
    // The current token only: an older one would be reuse at refresh, so it proves nothing.
    let digest = token.digest();
    let genuine: bool = session
        .current_digest
        .as_bytes()
        .ct_eq(digest.as_bytes())
        .into();
    Ok(genuine)
}

/// → 202 `{}`: asks for a new verification mail, unless the email is already verified. Counts
/// against the source's per-IP limit; the mailer sends at most one per minute per user.
async fn resend(
    state: &Account,
    request: Request,
    client: &ClientInfo,
) -> Result<Response<Body>, ApiError> {
    require_post(&request)?;
    let caller = caller(&request)?;
    let now = state.clock.now();
    admit_and_count(state, client, now).await?;
    let profile = state
        .store
        .profile(&caller.user)
        .await?
        .ok_or(ApiError::MissingAccessToken)?;
    if !profile.email_verified {
        let mail = OutboxMail::new(
            MailKind::EmailVerification,
            profile.email,
            Some(caller.user),
            now,
        );
        state.store.enqueue_mail(&mail).await?;
    }
    Ok(json(StatusCode::ACCEPTED, &json!({})))
}
