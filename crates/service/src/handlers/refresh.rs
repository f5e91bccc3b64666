use http::StatusCode;
use lambda_http::{Body, Request, Response};

use super::{IssuedSession, Refresh, respond};
use crate::audit::{AuditEvent, Subject};
use crate::error::ApiError;
use crate::http::client::ClientInfo;
use crate::http::request::{presented_refresh_token, require_post};
use crate::sessions::RotationOutcome;
use auth_core::token::RefreshToken;

/// `POST /auth/refresh` with the `refreshToken` cookie or a JSON `{refreshToken}` body →
/// a new access token and the rotated refresh token. One DynamoDB write in the common case.
pub async fn refresh(state: &Refresh, request: Request) -> Response<Body> {
    let client = state.sources.client(&request);
    respond("refresh", handle(state, request, &client).await)
}

async fn handle(
    state: &Refresh,
    request: Request,
    client: &ClientInfo,
) -> Result<Response<Body>, ApiError> {
    require_post(&request)?;
    let presented = presented_refresh_token(&request)?.ok_or(ApiError::MissingRefreshToken)?;
    if !presented.from_body && state.csrf.check(request.headers()).is_err() {
        state
            .audit
            .record(AuditEvent::CsrfRejected, Subject::default(), client);
        return Err(ApiError::CsrfRejected);
    }
    let token = RefreshToken::parse(&presented.raw).ok_or(ApiError::InvalidRefreshToken)?;
    let (session, successor) = match state.sessions.rotate(&token, &client.device()).await? {
        RotationOutcome::Rotated { session, successor }
        | RotationOutcome::Replayed { session, successor } => (session, successor),
        RotationOutcome::Reused => {
            state.audit.record(
                AuditEvent::RefreshReuseDetected,
                Subject::session(token.user_id.as_str(), token.session_id.as_str()),
                client,
            );
            return Err(ApiError::RefreshTokenReused);
        }
        RotationOutcome::Invalid => return Err(ApiError::InvalidRefreshToken),
    };
    state.audit.record(
        AuditEvent::TokenRefreshed,
        Subject::session(session.user_id.as_str(), session.session_id.as_str()),
        client,
    );
    let issued = IssuedSession {
        user: &session.user_id,
        role: &session.role,
        session: &session.session_id,
        email_verified: session.email_verified,
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
