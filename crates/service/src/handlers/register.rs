use auth_core::assurance::Assurance;
use auth_core::domain::{DisplayName, Password, Role, UserId, UserProfile};
use auth_core::token::RefreshToken;
use http::StatusCode;
use lambda_http::{Body, Request, Response};

use super::signup;
use super::source_limit::{count_source_attempt, limited_source, refuse_if_over, source_attempts};
use super::{IssuedSession, SignIn, respond};
use crate::audit::{AuditEvent, Subject};
use crate::config::RegistrationMode;
use crate::error::ApiError;
use crate::http::client::ClientInfo;
use crate::http::request::{require_post, required_json_object, string_field};
use crate::sessions::SessionOwner;
use crate::store::{MailKind, NewSession, NewUser, OutboxMail, Registration};

/// `POST /auth/register {name, email, password}` → 201 with an access token and a refresh cookie;
/// the verification mail leaves through the outbox written in the same transaction. In
/// confirm-first mode, 202 alike for any address instead (`signup`). Every valid registration
/// counts against its source address's limit. `POST /auth/register/confirm` finishes a
/// confirm-first sign-up.
pub async fn register(state: &SignIn, request: Request) -> Response<Body> {
    let client = state.sources.client(&request);
    if request
        .uri()
        .path()
        .trim_end_matches('/')
        .ends_with("/register/confirm")
    {
        return respond(
            "register-confirm",
            signup::confirm(state, request, &client).await,
        );
    }
    respond("register", handle(state, request, &client).await)
}

async fn handle(
    state: &SignIn,
    request: Request,
    client: &ClientInfo,
) -> Result<Response<Body>, ApiError> {
    require_post(&request)?;
    let body = required_json_object(&request)?;
    let name = DisplayName::parse_new(&string_field(&body, "name")?)?;
    let email = crate::address::registration_email(&string_field(&body, "email")?)?;
    let password = Password::parse_new(string_field(&body, "password")?)?;

    let source = limited_source(state, client);
    let checked_at = state.sessions.now();
    let counts = source_attempts(state, source.as_deref(), checked_at).await?;
    refuse_if_over(state, counts, checked_at, client)?;
    // The count is written while argon2 runs.
    let (password_hash, counted) = tokio::join!(
        state.passwords.hash(password.into_secret()),
        count_source_attempt(state, source.as_deref(), checked_at),
    );
    counted?;
    let password_hash = password_hash.map_err(ApiError::internal)?;
    let now = state.sessions.now();
    if state.registration == RegistrationMode::ConfirmFirst {
        return signup::request(state, name, email, password_hash, now, client).await;
    }
    let profile = UserProfile {
        id: UserId::generate(),
        name,
        email,
        role: Role::user(),
        email_verified: false,
    };
    let owner = SessionOwner {
        user: &profile.id,
        role: &profile.role,
        email_verified: false,
        device: client.device(),
        epoch: 0,
        assurance: Assurance::password(),
    };
    let (session, refresh_token) = state.sessions.start(owner, now);
    let verification = OutboxMail::new(
        MailKind::EmailVerification,
        profile.email.clone(),
        Some(profile.id.clone()),
        now,
    );
    let user = NewUser {
        profile,
        password_hash,
        created_at: now,
    };
    if state.store.register(&user, &session, &verification).await? == Registration::EmailTaken {
        return Err(ApiError::EmailTaken);
    }
    registered(state, &user.profile, &session, &refresh_token, client, now)
}

/// The answer to a registration that created an account (open, or a confirmed sign-up):
/// audited, 201 with the access token, the user and the refresh cookie.
pub(super) fn registered(
    state: &SignIn,
    profile: &UserProfile,
    session: &NewSession,
    refresh_token: &RefreshToken,
    client: &ClientInfo,
    now: i64,
) -> Result<Response<Body>, ApiError> {
    state.audit.record(
        AuditEvent::UserRegistered,
        Subject::session(profile.id.as_str(), session.session_id.as_str()),
        client,
    );
    let issued = IssuedSession::started(profile, session, refresh_token);
    state
        .issuer
        .respond(StatusCode::CREATED, &issued, Some(profile), false, now)
}
