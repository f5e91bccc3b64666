use http::StatusCode;
use lambda_http::{Body, Request, Response};

use super::{App, respond};
use crate::domain::{Email, Password};
use crate::error::ApiError;
use crate::http::request::{require_post, required_json_object, string_field};
use crate::http::response::{TokenResponse, json, with_cookie};
use crate::password::Verification;

/// `POST /auth/login {email, password}` → 200 with an access token and a refresh cookie.
/// Unknown email and wrong password take the same path (one read, one argon2 verify) and give
/// the same answer.
pub async fn login(app: &App, request: Request) -> Response<Body> {
    respond("login", handle(app, request).await)
}

async fn handle(app: &App, request: Request) -> Result<Response<Body>, ApiError> {
    require_post(&request)?;
    let body = required_json_object(&request)?;
    let email = Email::parse(&string_field(&body, "email")?)?;
    let password = Password::parse_existing(string_field(&body, "password")?)?;

    let credentials = app.store.credentials_by_email(&email).await?;
    let stored_hash = credentials
        .as_ref()
        .map(|found| found.password_hash.clone());
    let verification = app
        .passwords
        .verify(password.expose().to_owned().into(), stored_hash)
        .await
        .map_err(ApiError::internal)?;
    let (Verification::Match { needs_rehash }, Some(credentials)) = (verification, credentials)
    else {
        return Err(ApiError::InvalidCredentials);
    };
    if needs_rehash {
        rehash(
            app,
            &credentials.profile.email,
            &credentials.password_hash,
            password,
        )
        .await;
    }

    let now = app.clock.now();
    let profile = credentials.profile;
    let (session, refresh_token) = app.new_session(&profile.id, &profile.role, now);
    app.store.create_session(&session).await?;
    let access = app
        .access
        .issue(&profile.id, &profile.role, &session.session_id, now)
        .map_err(ApiError::internal)?;
    let body = TokenResponse {
        access_token: &access.token,
        token_type: "Bearer",
        expires_in: access.expires_in,
        refresh_token: None,
        user: Some(&profile),
    };
    let cookie = app.refresh_cookie(&refresh_token, session.expires_at - now);
    Ok(with_cookie(json(StatusCode::OK, &body), &cookie))
}

/// Upgrades a hash made with old parameters. Best effort: a failure leaves the old hash,
/// which still verifies, so the login goes on.
async fn rehash(app: &App, email: &Email, old_hash: &str, password: Password) {
    let outcome = match app.passwords.hash(password.into_secret()).await {
        Ok(new_hash) => app
            .store
            .replace_password_hash(email, old_hash, &new_hash)
            .await
            .map_err(|error| crate::error::error_chain(&error)),
        Err(error) => Err(crate::error::error_chain(&error)),
    };
    match outcome {
        Ok(replaced) => tracing::info!(replaced, "password rehashed with the current parameters"),
        Err(cause) => tracing::warn!(%cause, "password rehash failed; the old hash stays"),
    }
}
