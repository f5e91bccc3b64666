//! Confirm-first sign-up (`REGISTRATION_MODE=confirm-first`): registration gives away nothing
//! about whether the address has an account, and the account exists only once the address's
//! owner confirms with the sign-up's password.
//!
//! - `POST /auth/register` answers 202 `{}` for every valid request, with the same headers, the
//!   same argon2 run and the same two writes (a pending sign-up and a mail request, one
//!   transaction). The mailer decides what the address gets: the sign-up's link when it has no
//!   account, a notice that someone tried to sign up with it when it has one.
//! - `POST /auth/register/confirm {token, password}` creates the account (address verified)
//!   and its first session, answering as an open registration does (201). The password proves
//!   the person who opened the link is the one who signed up, so a sign-up made with someone
//!   else's address cannot become an account in their name that its maker can sign in to.
//! - Until then a login answers 401 `INVALID_CREDENTIALS`, as for any unknown address: the
//!   only person it could tell anything is the one who just signed up, who knows it already.

use auth_core::assurance::Assurance;
use auth_core::domain::{DisplayName, Email, Password, UserId};
use auth_core::token::OneTimeToken;
use http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use subtle::ConstantTimeEq;

use super::SignIn;
use super::source_limit::{count_source_attempt, limited_source, refuse_if_over, source_attempts};
use crate::audit::{AuditEvent, Subject};
use crate::error::ApiError;
use crate::http::client::ClientInfo;
use crate::http::request::{require_post, required_json_object, string_field};
use crate::http::response::json;
use crate::password::Verification;
use crate::sessions::SessionOwner;
use crate::store::{MailKind, OutboxMail, PendingSignup, SignupConfirmation, TokenPurpose};

fn seconds(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

/// The sign-up's writes once the request is validated, counted and its password hashed.
pub(super) async fn request(
    state: &SignIn,
    name: DisplayName,
    email: Email,
    password_hash: String,
    now: i64,
    client: &ClientInfo,
) -> Result<Response<Body>, ApiError> {
    let pending = PendingSignup {
        user: UserId::generate(),
        name,
        email,
        password_hash,
        created_at: now,
        expires_at: now.saturating_add(seconds(state.signup_ttl)),
    };
    let mail = OutboxMail::new(
        MailKind::SignupConfirmation,
        pending.email.clone(),
        Some(pending.user.clone()),
        now,
    );
    state.store.request_signup(&pending, &mail).await?;
    state
        .audit
        .record(AuditEvent::SignupRequested, Subject::default(), client);
    Ok(json(StatusCode::ACCEPTED, &json!({})))
}

fn refused(state: &SignIn, user: Option<&UserId>, client: &ClientInfo) -> ApiError {
    let subject = user.map_or_else(Subject::default, |user| Subject::user(user.as_str()));
    state
        .audit
        .record(AuditEvent::SignupConfirmationFailed, subject, client);
    ApiError::InvalidVerificationToken
}

/// `{token, password}` → 201 with an access token and a refresh cookie, as an open
/// registration answers. A wrong password counts against the source address's limit.
pub(super) async fn confirm(
    state: &SignIn,
    request: Request,
    client: &ClientInfo,
) -> Result<Response<Body>, ApiError> {
    require_post(&request)?;
    let body = required_json_object(&request)?;
    let token = OneTimeToken::parse(&string_field(&body, "token")?);
    let password = Password::parse_existing(string_field(&body, "password")?)?.into_secret();
    let Some(token) = token else {
        return Err(refused(state, None, client));
    };
    let source = limited_source(state, client);
    let now = state.sessions.now();
    let counts = source_attempts(state, source.as_deref(), now).await?;
    refuse_if_over(state, counts, now, client)?;
    let (link, pending) = tokio::join!(
        state
            .store
            .pending_token(TokenPurpose::Signup, &token.user_id),
        state.store.pending_signup(&token.user_id, now),
    );
    let link = link?.filter(|link| {
        let same: bool = link
            .digest
            .as_bytes()
            .ct_eq(token.digest().as_bytes())
            .into();
        same && now < link.expires_at
    });
    let (Some(link), Some(pending)) = (link, pending?) else {
        return Err(refused(state, Some(&token.user_id), client));
    };
    let checked = state
        .passwords
        .verify(password, Some(pending.password_hash.clone()))
        .await
        .map_err(ApiError::internal)?;
    if checked == Verification::Mismatch {
        count_source_attempt(state, source.as_deref(), now).await?;
        state.audit.record(
            AuditEvent::SignupConfirmationFailed,
            Subject::user(pending.user.as_str()),
            client,
        );
        return Err(ApiError::InvalidCredentials);
    }
    let account = pending.account(now);
    let owner = SessionOwner {
        user: &account.profile.id,
        role: &account.profile.role,
        email_verified: true,
        device: client.device(),
        epoch: 0,
        assurance: Assurance::password(),
    };
    let (session, refresh_token) = state.sessions.start(owner, now);
    match state
        .store
        .confirm_signup(&pending, &link.digest, &session, now)
        .await?
    {
        SignupConfirmation::Created => {}
        SignupConfirmation::LinkRefused => {
            return Err(refused(state, Some(&pending.user), client));
        }
        SignupConfirmation::EmailTaken => return Err(ApiError::EmailTaken),
    }
    super::register::registered(
        state,
        &account.profile,
        &session,
        &refresh_token,
        client,
        now,
    )
}
