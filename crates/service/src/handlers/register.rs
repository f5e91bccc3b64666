use auth_core::domain::{DisplayName, Email, Password, Role, UserId, UserProfile};
use http::StatusCode;
use lambda_http::{Body, Request, Response};

use super::{IssuedSession, SignIn, respond};
use crate::error::ApiError;
use crate::http::request::{require_post, required_json_object, string_field};
use crate::store::{NewUser, Registration};

/// `POST /auth/register {name, email, password}` → 201 with an access token and a refresh cookie.
pub async fn register(state: &SignIn, request: Request) -> Response<Body> {
    respond("register", handle(state, request).await)
}

async fn handle(state: &SignIn, request: Request) -> Result<Response<Body>, ApiError> {
    require_post(&request)?;
    let body = required_json_object(&request)?;
    let name = DisplayName::parse(&string_field(&body, "name")?)?;
    let email = Email::parse(&string_field(&body, "email")?)?;
    let password = Password::parse_new(string_field(&body, "password")?)?;

    let password_hash = state
        .passwords
        .hash(password.into_secret())
        .await
        .map_err(ApiError::internal)?;
    let now = state.sessions.now();
    let profile = UserProfile {
        id: UserId::generate(),
        name,
        email,
        role: Role::user(),
    };
    let (session, refresh_token) = state.sessions.start(&profile.id, &profile.role, now);
    let user = NewUser {
        profile,
        password_hash,
        created_at: now,
    };
    if state.store.register(&user, &session).await? == Registration::EmailTaken {
        return Err(ApiError::EmailTaken);
    }
    let issued = IssuedSession {
        user: &user.profile.id,
        role: &user.profile.role,
        session: &session.session_id,
        expires_at: session.expires_at,
        refresh_token: &refresh_token,
    };
    state.issuer.respond(
        StatusCode::CREATED,
        &issued,
        Some(&user.profile),
        false,
        now,
    )
}
