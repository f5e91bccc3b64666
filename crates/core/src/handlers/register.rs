use http::StatusCode;
use lambda_http::{Body, Request, Response};

use super::{App, respond};
use crate::domain::{DisplayName, Email, Password, Role, UserId, UserProfile};
use crate::error::ApiError;
use crate::http::request::{require_post, required_json_object, string_field};
use crate::http::response::{TokenResponse, json, with_cookie};
use crate::store::{NewUser, Registration};

/// `POST /auth/register {name, email, password}` → 201 with an access token and a refresh cookie.
pub async fn register(app: &App, request: Request) -> Response<Body> {
    respond("register", handle(app, request).await)
}

async fn handle(app: &App, request: Request) -> Result<Response<Body>, ApiError> {
    require_post(&request)?;
    let body = required_json_object(&request)?;
    let name = DisplayName::parse(&string_field(&body, "name")?)?;
    let email = Email::parse(&string_field(&body, "email")?)?;
    let password = Password::parse_new(string_field(&body, "password")?)?;

    let password_hash = app
        .passwords
        .hash(password.into_secret())
        .await
        .map_err(ApiError::internal)?;
    let now = app.clock.now();
    let profile = UserProfile {
        id: UserId::generate(),
        name,
        email,
        role: Role::user(),
    };
    let (session, refresh_token) = app.new_session(&profile.id, &profile.role, now);
    let user = NewUser {
        profile,
        password_hash,
        created_at: now,
    };
    if app.store.register(&user, &session).await? == Registration::EmailTaken {
        return Err(ApiError::EmailTaken);
    }

    let access = app
        .access
        .issue(
            &user.profile.id,
            &user.profile.role,
            &session.session_id,
            now,
        )
        .map_err(ApiError::internal)?;
    let body = TokenResponse {
        access_token: &access.token,
        token_type: "Bearer",
        expires_in: access.expires_in,
        refresh_token: None,
        user: Some(&user.profile),
    };
    let cookie = app.refresh_cookie(&refresh_token, session.expires_at - now);
    Ok(with_cookie(json(StatusCode::CREATED, &body), &cookie))
}
