use http::StatusCode;
use lambda_http::{Body, Request, Response};

use super::{IssuedSession, Refresh, respond};
use crate::error::ApiError;
use crate::http::request::{presented_refresh_token, require_post};
use crate::sessions::RotationOutcome;
use auth_core::token::RefreshToken;

/// `POST /auth/refresh` with the `refreshToken` cookie or a JSON `{refreshToken}` body →
/// a new access token and the rotated refresh token. One DynamoDB write in the common case.
pub async fn refresh(state: &Refresh, request: Request) -> Response<Body> {
    respond("refresh", handle(state, request).await)
}

async fn handle(state: &Refresh, request: Request) -> Result<Response<Body>, ApiError> {
    require_post(&request)?;
    let presented = presented_refresh_token(&request)?.ok_or(ApiError::MissingRefreshToken)?;
    if !presented.from_body {
        state.csrf.check(request.headers())?;
    }
    let token = RefreshToken::parse(&presented.raw).ok_or(ApiError::InvalidRefreshToken)?;
    let (session, successor) = match state.sessions.rotate(&token).await? {
        RotationOutcome::Rotated { session, successor }
        | RotationOutcome::Replayed { session, successor } => (session, successor),
        RotationOutcome::Reused => return Err(ApiError::RefreshTokenReused),
        RotationOutcome::Invalid => return Err(ApiError::InvalidRefreshToken),
    };
    let issued = IssuedSession {
        user: &session.user_id,
        role: &session.role,
        session: &session.session_id,
        expires_at: session.expires_at,
        refresh_token: &successor,
    };
    state.issuer.respond(
        StatusCode::OK,
        &issued,
        None,
        presented.from_body,
        state.sessions.now(),
    )
}
