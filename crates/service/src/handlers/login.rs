use auth_core::domain::{Email, Password};
use auth_core::telemetry::error_chain;
use http::StatusCode;
use lambda_http::{Body, Request, Response};

use super::{IssuedSession, SignIn, respond};
use crate::error::ApiError;
use crate::http::request::{require_post, required_json_object, string_field};
use crate::password::Verification;

/// `POST /auth/login {email, password}` → 200 with an access token and a refresh cookie.
/// Unknown email and wrong password take the same path (one read, one argon2 verify) and give
/// the same answer.
pub async fn login(state: &SignIn, request: Request) -> Response<Body> {
    respond("login", handle(state, request).await)
}

async fn handle(state: &SignIn, request: Request) -> Result<Response<Body>, ApiError> {
    require_post(&request)?;
    let body = required_json_object(&request)?;
    let email = Email::parse(&string_field(&body, "email")?)?;
    let password = Password::parse_existing(string_field(&body, "password")?)?;

    let credentials = state.store.credentials_by_email(&email).await?;
    let stored_hash = credentials
        .as_ref()
        .map(|found| found.password_hash.clone());
    let verification = state
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
            state,
            &credentials.profile.email,
            &credentials.password_hash,
            password,
        )
        .await;
    }

    let now = state.sessions.now();
    let profile = credentials.profile;
    let (session, refresh_token) = state.sessions.start(&profile.id, &profile.role, now);
    state.store.create_session(&session).await?;
    let issued = IssuedSession {
        user: &profile.id,
        role: &profile.role,
        session: &session.session_id,
        expires_at: session.expires_at,
        refresh_token: &refresh_token,
    };
    state
        .issuer
        .respond(StatusCode::OK, &issued, Some(&profile), false, now)
}

/// Upgrades a hash made with old parameters. Best effort: a failure leaves the old hash,
/// which still verifies, so the login goes on.
async fn rehash(state: &SignIn, email: &Email, old_hash: &str, password: Password) {
    let outcome = match state.passwords.hash(password.into_secret()).await {
        Ok(new_hash) => state
            .store
            .replace_password_hash(email, old_hash, &new_hash)
            .await
            .map_err(|error| error_chain(&error)),
        Err(error) => Err(error_chain(&error)),
    };
    match outcome {
        Ok(replaced) => tracing::info!(replaced, "password rehashed with the current parameters"),
        Err(cause) => tracing::warn!(%cause, "password rehash failed; the old hash stays"),
    }
}
