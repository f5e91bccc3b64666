use auth_core::token::OneTimeToken;
use http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;

use super::password::usable;
use super::source_limit::admit_and_count;
use super::{Account, respond};
use crate::audit::{AuditEvent, Subject};
use crate::error::ApiError;
use crate::http::caller::caller;
use crate::http::client::ClientInfo;
use crate::http::request::{require_post, required_json_object, string_field};
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

/// `{token}` → 204: the token is used and the email marked verified on the account and its
/// live sessions (their next access token carries `email_verified: true`).
async fn verify(
    state: &Account,
    request: Request,
    client: &ClientInfo,
) -> Result<Response<Body>, ApiError> {
    require_post(&request)?;
    let body = required_json_object(&request)?;
    let token = OneTimeToken::parse(&string_field(&body, "token")?)
        .ok_or(ApiError::InvalidVerificationToken)?;
    let now = state.clock.now();
    let pending = state
        .store
        .pending_token(TokenPurpose::EmailVerification, &token.user_id)
        .await?;
    let pending = usable(pending, &token, now).ok_or(ApiError::InvalidVerificationToken)?;
    let verified = state
        .store
        .verify_email(&token.user_id, &pending.email, &pending.digest, now)
        .await?;
    if !verified {
        return Err(ApiError::InvalidVerificationToken);
    }
    state.audit.record(
        AuditEvent::EmailVerified,
        Subject::user(token.user_id.as_str()),
        client,
    );
    Ok(no_content())
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
