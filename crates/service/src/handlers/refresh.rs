use http::StatusCode;
use lambda_http::{Body, Request, Response};

use super::{IssuedSession, Refresh, respond};
use crate::audit::{AuditEvent, Subject};
use crate::error::ApiError;
use crate::http::client::ClientInfo;
use crate::http::request::{presented_refresh_token, require_post};
use crate::http::response::with_cookie;
use crate::sessions::RotationOutcome;
use auth_core::token::RefreshToken;

/// `POST /auth/refresh` with the `refreshToken` cookie or a JSON `{refreshToken}` body →
/// a new access token and the rotated refresh token. In the common case one conditional write
/// and, beside it, one read of the account's profile (revocation, role, verification). A
/// refused token's 401 clears the cookie, so the browser stops presenting it.
pub async fn refresh(state: &Refresh, request: Request) -> Response<Body> {
    let client = state.sources.client(&request);
    let result = handle(state, request, &client).await;
    let dead_cookie = matches!(
        result,
        Err(ApiError::InvalidRefreshToken
            | ApiError::RefreshTokenReused
            | ApiError::SessionRevoked)
    );
    let response = respond("refresh", result);
    if dead_cookie {
        with_cookie(response, &state.issuer.cleared_cookie())
    } else {
        response
    }
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
    let (session, account, successor) =
        match state.sessions.rotate(&token, &client.device()).await? {
            RotationOutcome::Rotated {
                session,
                account,
                successor,
            }
            | RotationOutcome::Replayed {
                session,
                account,
                successor,
            } => (session, account, successor),
            RotationOutcome::Revoked => return Err(ApiError::SessionRevoked),
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
        role: &account.profile.role,
        session: &session.session_id,
        email_verified: account.profile.email_verified,
        expires_at: session.expires_at,
        refresh_token: &successor,
        assurance: &session.assurance,
    };
    state.issuer.respond(
        StatusCode::OK,
        &issued,
        None,
        presented.from_body,
        state.sessions.now(),
    )
}
